//! The sigmoid family: elementwise losses for binary and multi-label
//! problems ([`BceWithLogitsLoss`], [`SigmoidFocalLoss`]), their target
//! types, and their part of the call path (`call`). The gradients
//! themselves are computed in `kernel::sigmoid`.

mod bce;
pub(crate) mod call;
mod focal;
mod targets;

pub use bce::BceWithLogitsLoss;
pub use focal::SigmoidFocalLoss;
pub use targets::{BinaryTargetView, BinaryTargets, Masked};
