//! Weighted negative log-likelihood on log-probabilities.

use super::call::{class_weights, Config};
use crate::builder::{ignore_index_methods, per_class_methods, reduction_methods};
use crate::call::methods::loss_methods;
use crate::kernel::float::LossFloat;
use crate::kernel::softmax::SoftmaxKind;
use crate::params::PerClass;
use crate::reduction::Reduction;

/// Negative log-likelihood on log-probabilities `x` (PyTorch `NLLLoss`).
///
/// For a target class `y` at position `n`:
///
/// `l_n = -w[y] · x[n, y]`, and `∂l_n / ∂x[n, k] = -w[y] δ_ky`.
///
/// `w` are class weights (default 1). Positions whose target equals the
/// ignore index contribute 0 and are left out of every denominator. The
/// default reduction is [`Reduction::WeightedMean`] (`Σ l_n / Σ w[y_n]`),
/// PyTorch's `'mean'`.
///
/// # Examples
///
/// ```
/// use focal_loss::NllLoss;
/// use ndarray::array;
///
/// let log_probs = array![[-0.1_f64, -2.4], [-1.9, -0.16]];
/// let nll = NllLoss::new().with_weight([1.0, 3.0])?;
/// let loss = nll.forward(&log_probs, &array![0_usize, 1])?;
/// // (1 * 0.1 + 3 * 0.16) / (1 + 3)
/// assert!((loss - 0.145).abs() < 1e-12);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NllLoss {
    weight: Option<PerClass>,
    ignore_index: Option<i128>,
    reduction: Reduction,
}

impl Default for NllLoss {
    fn default() -> Self {
        Self::new()
    }
}

impl NllLoss {
    /// An unweighted NLL loss with reduction `WeightedMean`, no ignore index.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::{NllLoss, Reduction};
    /// assert_eq!(NllLoss::new().reduction(), Reduction::WeightedMean);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            weight: None,
            ignore_index: None,
            reduction: Reduction::WeightedMean,
        }
    }

    fn config<F: LossFloat>(&self) -> Config<'_, F> {
        let w = class_weights(self.weight.as_ref());
        let (ignore, reduction) = (self.ignore_index, self.reduction);
        Config::new(SoftmaxKind::Nll, w, ignore, reduction, "log_probs")
    }
}

loss_methods!(NllLoss, softmax, crate::IndexTargets<F>, "NllLoss::new()");
per_class_methods!(
    NllLoss,
    "NllLoss::new()",
    with_weight,
    weight,
    "Sets one weight per class: `l_n = -w[y] x[n, y]`."
);
ignore_index_methods!(NllLoss, "NllLoss::new()", "(PyTorch's `ignore_index`.)");
reduction_methods!(NllLoss, WeightedMean, "NllLoss::new()");
