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
//! allocation), `per_target` (PyTorch's `reduction='none'`),
//! `per_target_backward` (its vector-Jacobian product), and
//! `forward_grad_hess` / `forward_grad_hess_into` (the exact diagonal of the
//! Hessian too, for gradient boosting). Optional features put them into
//! other frameworks: `candle` (module `focal_loss::candle`: the losses as
//! candle graph nodes), `burn` (module `focal_loss::burn`: the losses as
//! burn autodiff ops) and `perpetual` (module `focal_loss::perpetual`: a
//! gradient-boosting objective).
//!
//! ## Class weights with focal loss
//!
//! `gamma` down-weights easy examples of every class; it does not correct
//! class imbalance. For that, give [`FocalLoss::with_alpha`] one weight per
//! class — e.g. [`class_weight::balanced`] or the milder
//! [`class_weight::effective_number`] — indexed by each sample's target
//! class. A single scalar alpha weights all classes alike (and cancels out
//! under [`Reduction::WeightedMean`]). The README shows the evidence on real
//! imbalanced data (`cargo run --release -p wine_quality`).
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
//! **Shapes.** Softmax-family inputs (logits; log-probabilities for
//! [`NllLoss`]) are `(N, C)` or `(N, C, d1, .., dk)`, class axis 1 as in
//! PyTorch; index targets are `(N, d1, .., dk)` of `usize`, [`Probs`]
//! targets have the input's shape. Sigmoid-family inputs are `(N)` (one
//! class) or `(N, C, ..)`; their targets and [`Masked`] ignore mask have the
//! input's shape. The gradient always has the input's shape; `per_target`
//! returns one loss per position (`(N, d1, .., dk)`; the input's shape for
//! the sigmoid losses) and `per_target_backward` takes an `upstream` of that
//! shape. Any memory layout is accepted — reversed (negative-stride),
//! transposed, permuted, strided and broadcast views — with results bitwise
//! identical to those of a contiguous copy; contiguous row-major inputs
//! avoid the copy.
//!
//! **Validation.** Parameters are checked when set, inputs when a loss is
//! called; nothing is clamped or skipped silently. Every error names the
//! parameter or array, the value and its position (a full index):
//!
//! | checked | rejected | error |
//! |---|---|---|
//! | `new`, `with_*` | `gamma` outside `[0, f32::MAX]`; label smoothing outside `[0, 1]`; sigmoid scalar `alpha` outside `[0, 1]`; softmax scalar `alpha` neither 0 nor a normal `f32` number | [`InvalidParameter`](LossError::InvalidParameter) |
//! | `with_*` | an entry of `weight`, `alpha` or `pos_weight` neither 0 nor a normal `f32` number (`1.2e-38 ..= 3.4e38`; sigmoid `alpha` at most 1) | [`InvalidParameterEntry`](LossError::InvalidParameterEntry) |
//! | call | softmax input with fewer than 2 dimensions, sigmoid input with 0 | [`TooFewDimensions`](LossError::TooFewDimensions) |
//! | call | class axis of length 0 | [`NoClasses`](LossError::NoClasses) |
//! | call | a per-class vector whose length is not `C` | [`LengthMismatch`](LossError::LengthMismatch) |
//! | call | targets, ignore mask, `grad` buffer or `upstream` of the wrong shape | [`ShapeMismatch`](LossError::ShapeMismatch) (both shapes) |
//! | call | a class index `>= C` that is not the ignore index | [`TargetOutOfRange`](LossError::TargetOutOfRange) |
//! | call | NaN or `+inf` anywhere in the input (ignored positions included); NaN or `±inf` in `upstream` | [`NonFiniteInput`](LossError::NonFiniteInput) (the first one) |
//! | call | a `-inf` logit on a class the target puts weight on | [`MaskedTarget`](LossError::MaskedTarget) |
//! | call | a probability target negative, NaN or infinite, or one where the batch's total target mass passes `2^512`; a binary target outside `[0, 1]` where not masked | [`InvalidTarget`](LossError::InvalidTarget) |
//!
//! Parameters are limited to what `f32` represents because one configured
//! loss serves both precisions. The [`class_weight`] and [`metrics`]
//! functions use the other variants (unknown labels, classes without
//! samples, zero total weight, ..; a class count too large to allocate for
//! is an `InvalidParameter` named `n_classes`); each function lists its own
//! under `# Errors`.
//!
//! **Masked classes.** A `-inf` logit masks its class: its probability is
//! 0, its gradient is 0, and the loss is that of the same row without the
//! class. It is an error only where the target puts weight on it: the
//! target class of an index target; with label smoothing, every class of
//! the row (smoothing spreads `eps / C` onto all of them); a probability
//! target with non-zero mass there; for the sigmoid losses, an element whose
//! (smoothed) target is not 0. A row of ignored targets may be all `-inf`.
//!
//! **Empty and ignored.** An empty batch (`N = 0` or a spatial dimension
//! 0) is not an error. Ignored targets (the ignore index, or `true` in a
//! [`Masked`] mask) have loss 0 and gradient 0 and are left out of the
//! `Mean` and `WeightedMean` denominators. A zero denominator — an empty
//! batch, every target ignored, or every target weighted 0 — gives loss `0`
//! and a zero gradient, never NaN (PyTorch gives NaN).
//!
//! **Finite in, finite out.** For finite inputs the results are finite, for
//! logits up to `±1e300` in `f64` and `±1e4` in `f32`, for `gamma` in
//! `(0, 1)` where `p_t = 1` exactly, and around masked classes; never NaN.
//! Where the true result itself exceeds the precision's range
//! (cross-entropy of the logits `[MAX, -MAX]`, say) the loss is `+inf`
//! while the gradient stays finite. Extreme but valid magnitudes — weights
//! near `f32::MAX`, large probability-target masses, a huge `gamma` or
//! `upstream`, a tiny `WeightedMean` denominator — are detected before the
//! kernels run: an `f32` call is then computed in `f64` (from copies, so it
//! allocates) and rounded back, and so is an `f32` call whose loss came out
//! non-finite; an `f64` call gets its gradient scaled after the kernel
//! (`u · g`, never a difference of overflowed products), and an `f64`
//! loss whose per-position terms pass `f64::MAX` (a weight of `3e38` times
//! a loss of `1e300`, say) is summed again with the weights scaled by
//! `2^-700`, so the reduced loss is `inf` only where it truly exceeds the
//! range. Ordinary inputs take none of these paths.
//! Probability targets must total at most `2^512` (`1.3e154`) over the
//! batch ([`InvalidTarget`](LossError::InvalidTarget) otherwise), which keeps
//! every intermediate of the gradient finite.
//!
//! **Precision.** Losses and gradients are computed in the input's
//! precision (but see the `f64` fallback above); per-position losses are summed in `f64` in a fixed order, so
//! results do not depend on the number of threads. For the same
//! (`f32`-representable) inputs, an `f32` result `a` and the `f64` result
//! `b` satisfy `|a - b| <= 1e-6 S + 1e-5 |b|`, with `S` the largest class
//! weight (at least 1) and, for a gradient entry, at least the largest
//! gradient entry of the array: `1e-5` relative for values of order one and
//! above; absolute for tiny values, such as the loss of a confidently
//! correct prediction (`f32` has about `1e-7` absolute resolution in
//! `-ln p` near `p = 1`). The `f64` results are checked against PyTorch to
//! `1e-12 + 1e-10 |b|`.
//!
//! ## Instruction sets
//!
//! The vectorised kernels pick, once per process, the best instruction set
//! the CPU has: AVX-512F (when built with Rust 1.89 or later), AVX2 + FMA,
//! or the baseline. Results can differ in the last bits from one to the
//! other. Setting the environment variable `FOCAL_LOSS_ISA` to `avx2` or
//! `generic` caps the choice (other values are ignored): the same bits on
//! every machine that has that level, or a comparison of the levels on one
//! machine.
//!
//! ## Layout
//!
//! Three layers; data flows one way, and no module imports from a layer
//! above it:
//!
//! ```text
//!  loss types        softmax/ (nll, cross_entropy, focal, targets)   sigmoid/ (bce, focal, targets)
//!    │ builder.rs (shared builder methods), params.rs (validated parameters)
//!    ▼ call/methods.rs: the five methods, written once for both families
//!  call path         softmax/call.rs | sigmoid/call.rs   validate, lay out, count the denominator
//!    │               call/mod.rs    one path: range guard (call/guard.rs) → kernel → reduction
//!    ▼
//!  kernels           kernel/softmax/ (scalar.rs, fast/: row, tile, nll kernels)   kernel/sigmoid/
//!                    kernel/{float, vmath, level, chunks}.rs   (import nothing above them)
//!  beside them       class_weight/, metrics.rs, error.rs, reduction.rs
//! ```
//!
//! Where a change goes:
//!
//! - **a new loss**: a type in `softmax/` or `sigmoid/` holding its settings and
//!   a `config()`; `loss_methods!` gives it the five methods, `builder.rs` its
//!   shared setters. A new kind of computation adds a `SoftmaxKind` /
//!   `SigmoidSpec` field and its arithmetic in the family's scalar kernel
//!   first (the reference the vectorised kernels are tested against).
//! - **where the focal gradient is computed**: `kernel/softmax/scalar.rs`
//!   (`focal_terms`, the reference) and `kernel/softmax/fast/` (vectorised);
//!   for sigmoid focal, `kernel/sigmoid/scalar.rs` and `vector.rs`.
//! - **a new kernel level** (an instruction set): `kernel/level.rs`
//!   (`Level`, and `dispatch_levels!` for the target-feature entry points).
//! - **a new reduction**: `Reduction` in `reduction.rs` and its denominator in
//!   `call/mod.rs` (one place for both families).
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

#[cfg(any(feature = "candle", feature = "burn"))]
mod bridge;
mod builder;
#[cfg(feature = "burn")]
pub mod burn;
mod call;
#[cfg(feature = "candle")]
pub mod candle;
pub mod class_weight;
mod error;
mod kernel;
pub mod metrics;
mod params;
#[cfg(feature = "perpetual")]
pub mod perpetual;
mod reduction;
mod sigmoid;
mod softmax;

pub use error::LossError;
pub use kernel::float::LossFloat;
pub use kernel::label::Label;
/// The `ndarray` this crate is built on (0.17), re-exported so that a
/// crate on another ndarray version can name the same array types.
pub use ndarray;
pub use params::{ClassValue, ClassValues};
pub use reduction::Reduction;
pub use sigmoid::{BceWithLogitsLoss, BinaryTargetView, BinaryTargets, Masked, SigmoidFocalLoss};
pub use softmax::{CrossEntropyLoss, FocalLoss, IndexTargets, NllLoss, Probs, TargetView, Targets};
