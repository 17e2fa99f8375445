//! Binary cross-entropy on logits (PyTorch `BCEWithLogitsLoss`), with
//! per-class `weight` and `pos_weight`.

use super::call::Config;
use crate::builder::{per_class_methods, reduction_methods};
use crate::call::methods::loss_methods;
use crate::kernel::float::LossFloat;
use crate::kernel::sigmoid::{Alpha, SigmoidSpec};
use crate::params::PerClass;
use crate::reduction::Reduction;

/// Binary cross-entropy on logits, elementwise over any shape, with
/// PyTorch `BCEWithLogitsLoss` semantics.
///
/// For each element with logit `x`, target `y` in `[0, 1]` (hard or soft)
/// and class `k` (its index on axis 1):
///
/// `l = -w_k [pw_k y log σ(x) + (1 - y) log σ(-x)]`,
/// `∂l/∂x = w_k [σ(x)(1 - y) - pw_k y σ(-x)]`,
///
/// with `log σ(x) = -softplus(-x)` computed stably (finite for every finite
/// `x`), `w` the per-class `weight` and `pw` the per-class `pos_weight`
/// (both default 1). It runs on the same kernel as
/// [`SigmoidFocalLoss`](crate::SigmoidFocalLoss) (`gamma = 0`, no alpha).
///
/// The per-class vectors apply along axis 1 for every rank. For `(N, C)`
/// input this is PyTorch's broadcasting of a `(C,)` tensor; for
/// `(N, C, d1, .., dk)` it equals PyTorch with the vector reshaped to
/// `(C, 1, .., 1)`. Logits `(N)` are read as `(N, 1)`, so vectors of
/// length 1 apply there (PyTorch's `pos_weight=torch.tensor([r])`).
///
/// Reductions (default [`Reduction::Mean`], PyTorch's `'mean'`), over the
/// non-ignored elements `i` (see [`Masked`](crate::Masked)):
/// `Sum` = `Σ l_i`; `Mean` = `Σ l_i / #{i}`; `WeightedMean` =
/// `Σ l_i / Σ w_{k(i)}` (`pos_weight` does not enter the denominator).
///
/// A `-inf` logit is allowed where the target is 0 (loss 0, gradient 0).
///
/// # Examples
///
/// ```
/// use focal_loss::BceWithLogitsLoss;
/// use ndarray::array;
///
/// let logits = array![0.8_f64, -1.2, 2.5, -0.1];
/// let targets = array![1.0, 0.0, 1.0, 0.0];
/// // One positive per three negatives: pos_weight = n_neg / n_pos.
/// let bce = BceWithLogitsLoss::new().with_pos_weight([3.0])?;
/// let (loss, grad) = bce.forward_backward(&logits, &targets)?;
/// assert!(loss > 0.0 && grad.len() == 4);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BceWithLogitsLoss {
    weight: Option<PerClass>,
    pos_weight: Option<PerClass>,
    reduction: Reduction,
}

impl Default for BceWithLogitsLoss {
    fn default() -> Self {
        Self::new()
    }
}

impl BceWithLogitsLoss {
    /// Unweighted BCE with logits, reduction `Mean` (PyTorch's defaults).
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::{BceWithLogitsLoss, Reduction};
    /// assert_eq!(BceWithLogitsLoss::new().reduction(), Reduction::Mean);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            weight: None,
            pos_weight: None,
            reduction: Reduction::Mean,
        }
    }

    fn config<F: LossFloat>(&self) -> Config<'_, F> {
        Config {
            spec: SigmoidSpec {
                gamma: F::zero(),
                alpha: Alpha::None,
                weight: self.weight.as_ref().map(PerClass::get),
                pos_weight: self.pos_weight.as_ref().map(PerClass::get),
                smoothing: F::zero(),
            },
            reduction: self.reduction,
        }
    }
}

loss_methods!(
    BceWithLogitsLoss,
    sigmoid,
    crate::BinaryTargets<F>,
    "BceWithLogitsLoss::new()"
);
per_class_methods!(
    BceWithLogitsLoss,
    "BceWithLogitsLoss::new()",
    with_weight,
    weight,
    "Sets one weight `w_k` per class, scaling the whole loss of every element of class `k`."
);
per_class_methods!(
    BceWithLogitsLoss,
    "BceWithLogitsLoss::new()",
    with_pos_weight,
    pos_weight,
    "Sets one positive weight `pw_k` per class (e.g. `n_neg / n_pos`), scaling only the \
     positive term `y log σ(x)`."
);
reduction_methods!(BceWithLogitsLoss, Mean, "BceWithLogitsLoss::new()");
