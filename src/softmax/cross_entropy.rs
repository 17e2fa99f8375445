//! Cross-entropy on logits, with class weights, ignore index, label
//! smoothing and probability targets (PyTorch `CrossEntropyLoss`).

use super::call::{class_weights, Config};
use crate::builder::{
    ignore_index_methods, label_smoothing_methods, per_class_methods, reduction_methods,
};
use crate::call::methods::loss_methods;
use crate::kernel::float::LossFloat;
use crate::kernel::softmax::SoftmaxKind;
use crate::params::PerClass;
use crate::reduction::Reduction;

/// Softmax cross-entropy on logits `z`, with exactly PyTorch's semantics.
///
/// With `lp = log_softmax(z)` along axis 1, class weights `w` (default 1),
/// label smoothing `eps` and `C` classes:
///
/// - class-index target `y`:
///   `l_n = (1-eps) w[y] (-lp_y) + (eps/C) Σ_c w_c (-lp_c)`,
///   `∂l_n/∂z_k = p_k [(1-eps) w[y] + (eps/C) Σ_c w_c] - (1-eps) w[y] δ_ky - (eps/C) w_k`;
/// - probability target `t` ([`Probs`](crate::Probs)), `t' = (1-eps) t + eps/C`:
///   `l_n = -Σ_c w_c t'_c lp_c`, `∂l_n/∂z_k = p_k Σ_c w_c t'_c - w_k t'_k`.
///
/// Default reduction [`Reduction::WeightedMean`]: `Σ l_n / Σ_n w[y_n]`
/// (PyTorch's `'mean'` for class indices, even with smoothing). For
/// probability targets its denominator is `Σ_n Σ_c w_c t'_c`; PyTorch's
/// `'mean'` there is [`Reduction::Mean`] (divide by `N · d1 ⋯ dk`).
///
/// # Examples
///
/// ```
/// use focal_loss::CrossEntropyLoss;
/// use ndarray::array;
///
/// let logits = array![[2.0_f32, 0.5, -1.0], [0.1, 0.2, 3.0]];
/// let targets = array![0_usize, 2];
/// let ce = CrossEntropyLoss::new().with_weight([1.0, 1.0, 4.0])?;
/// let (loss, grad) = ce.forward_backward(&logits, &targets)?;
/// assert!(loss > 0.0);
/// // Without smoothing, each row of the gradient sums to zero.
/// assert!(grad.sum_axis(ndarray::Axis(1)).iter().all(|s| s.abs() < 1e-6));
/// # Ok::<(), focal_loss::LossError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CrossEntropyLoss {
    weight: Option<PerClass>,
    ignore_index: Option<i128>,
    label_smoothing: f64,
    reduction: Reduction,
}

impl Default for CrossEntropyLoss {
    fn default() -> Self {
        Self::new()
    }
}

impl CrossEntropyLoss {
    /// Unweighted cross-entropy, no smoothing, no ignore index, reduction
    /// `WeightedMean` (PyTorch's defaults, but with no ignore index).
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::CrossEntropyLoss;
    /// assert_eq!(CrossEntropyLoss::new().label_smoothing(), 0.0);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            weight: None,
            ignore_index: None,
            label_smoothing: 0.0,
            reduction: Reduction::WeightedMean,
        }
    }

    fn config<F: LossFloat>(&self) -> Config<'_, F> {
        let smoothing = F::from_f64_(self.label_smoothing);
        let w = class_weights(self.weight.as_ref());
        let (ignore, reduction) = (self.ignore_index, self.reduction);
        Config::new(
            SoftmaxKind::CrossEntropy { smoothing },
            w,
            ignore,
            reduction,
            "logits",
        )
    }
}

loss_methods!(
    CrossEntropyLoss,
    softmax,
    crate::Targets<F>,
    "CrossEntropyLoss::new()"
);
per_class_methods!(
    CrossEntropyLoss,
    "CrossEntropyLoss::new()",
    with_weight,
    weight,
    "Sets one weight `w_c` per class (PyTorch's `weight`)."
);
ignore_index_methods!(
    CrossEntropyLoss,
    "CrossEntropyLoss::new()",
    "Applies to class-index targets only."
);
label_smoothing_methods!(
    CrossEntropyLoss,
    "CrossEntropyLoss::new()",
    "Sets label smoothing `eps` in `[0, 1]` (PyTorch's `label_smoothing`; see the type docs)."
);
reduction_methods!(CrossEntropyLoss, WeightedMean, "CrossEntropyLoss::new()");
