//! # focal-loss
//!
//! The classification losses imbalanced data needs — weighted negative
//! log-likelihood, cross-entropy, softmax (multiclass) focal loss, sigmoid
//! focal loss and BCE with logits — each with an exact analytic gradient
//! fused with the forward pass, over [`ndarray`] arrays of `f32` or `f64`;
//! plus [`class_weight`] (scikit-learn's class weights and the schemes
//! beyond them) and [`metrics`] (balanced accuracy, macro-F1, ..).
//!
//! Every loss has the same methods: `forward` (the reduced loss),
//! `forward_backward` (loss and gradient in one pass),
//! `forward_backward_into` (gradient into a caller's buffer, no heap
//! allocation), `per_target` (PyTorch's `reduction='none'`) and
//! `per_target_backward` (its vector-Jacobian product).
//!
//! ## Class weights with focal loss
//!
//! `gamma` down-weights easy examples of every class; it does not correct
//! class imbalance. For that, give [`FocalLoss::with_alpha`] one weight per
//! class — e.g. [`class_weight::balanced`] or the milder
//! [`class_weight::effective_number`] — indexed by each sample's target
//! class. A single scalar alpha weights all classes alike (and cancels out
//! under [`Reduction::WeightedMean`]). The README shows the evidence on real
//! imbalanced data (`cargo run --release --example wine_quality`).
//!
//! ```
//! use focal_loss::{class_weight, FocalLoss};
//! use ndarray::array;
//!
//! let labels = [0_usize, 0, 0, 0, 0, 0, 1, 1, 2];
//! let alpha = class_weight::balanced(&labels, 3)?; // n / (K n_c)
//! let focal = FocalLoss::new(2.0)?.with_alpha(alpha)?;
//! let logits = array![[2.0_f64, 0.1, -1.0], [0.3, 0.2, 0.1]];
//! let (loss, grad) = focal.forward_backward(&logits, &array![0_usize, 2])?;
//! assert!(loss > 0.0 && grad.iter().all(|g| g.is_finite()));
//! # Ok::<(), focal_loss::LossError>(())
//! ```
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
