//! The softmax family: losses over a class axis normalised by softmax
//! ([`NllLoss`] on log-probabilities, [`CrossEntropyLoss`], [`FocalLoss`]),
//! their target types, and their part of the call path (`call`). The
//! gradients themselves are computed in `kernel::softmax`.

pub(crate) mod call;
mod cross_entropy;
mod focal;
mod nll;
mod targets;

pub use cross_entropy::CrossEntropyLoss;
pub use focal::FocalLoss;
pub use nll::NllLoss;
pub use targets::{IndexTargets, Probs, TargetView, Targets};
