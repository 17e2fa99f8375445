//! # focal-loss
//!
//! The classification losses imbalanced data needs — weighted negative
//! log-likelihood, cross-entropy, softmax (multiclass) focal loss — each with
//! an exact analytic gradient fused with the forward pass, over
//! [`ndarray`] arrays of `f32` or `f64`.
//!
//! ## Which loss when
//!
//! | situation | loss |
//! |---|---|
//! | model outputs log-probabilities | [`NllLoss`] |
//! | multiclass, mild imbalance | [`CrossEntropyLoss`] with class weights |
//! | multiclass, easy majority classes swamp the rare ones | [`FocalLoss`] with a per-class alpha |
//! | binary or multi-label, rare positives | [`BceWithLogitsLoss`] with `pos_weight = n_neg / n_pos` |
//! | binary or multi-label, many easy negatives (detection, segmentation) | [`SigmoidFocalLoss`] (targets may be [`Masked`]) |
//!
//! ## The contract
//!
//! - Inputs have shape `(N, C)` or `(N, C, d1, .., dk)`, class axis 1 (as in
//!   PyTorch); targets `(N, d1, .., dk)` of class indices, or
//!   [`Probs`] of the input's shape. Any memory layout is accepted;
//!   contiguous row-major inputs avoid a copy.
//! - Every parameter is validated when set and every input when a loss is
//!   called; bad input returns a [`LossError`] naming the position or
//!   parameter and its value, never a panic or a silent NaN. NaN and `+inf`
//!   inputs are errors; `-inf` logits mask a class (an error only if the
//!   target puts weight on that class).
//! - An empty batch, or one where every target is ignored, gives loss `0`
//!   and a zero gradient (PyTorch gives NaN).
//! - Losses are computed in the input's precision; sums over positions are
//!   accumulated in `f64`. `f32` results agree with `f64` to about `1e-5`
//!   relative.
//!
//! ## Example
//!
//! ```
//! use focal_loss::{FocalLoss, Reduction};
//! use ndarray::array;
//!
//! let logits = array![[2.0_f32, 0.5, -1.0, 0.0], [0.1, 0.2, 3.0, -0.5]];
//! let targets = array![0_usize, 3];
//! let focal = FocalLoss::new(2.0)?.with_alpha([0.5, 0.5, 0.5, 4.0])?;
//! let (loss, grad) = focal.forward_backward(&logits, &targets)?;
//! assert!(loss > 0.0 && grad.dim() == (2, 4));
//! # Ok::<(), focal_loss::LossError>(())
//! ```
#![deny(missing_docs)]
#![warn(clippy::unwrap_used)]

mod bce;
pub mod class_weight;
mod cross_entropy;
mod driver;
mod error;
mod float;
mod focal;
mod kernel;
mod methods;
pub mod metrics;
mod nll;
mod params;
mod reduction;
mod sigmoid_driver;
mod sigmoid_focal;
mod targets;

pub use bce::BceWithLogitsLoss;
pub use cross_entropy::CrossEntropyLoss;
pub use error::LossError;
pub use float::LossFloat;
pub use focal::FocalLoss;
pub use nll::NllLoss;
pub use reduction::Reduction;
pub use sigmoid_driver::{BinaryTargetView, BinaryTargets, Masked};
pub use sigmoid_focal::SigmoidFocalLoss;
pub use targets::{IndexTargets, Probs, TargetView, Targets};
