//! Weighted negative log-likelihood on log-probabilities.

use crate::driver::Config;
use crate::error::LossError;
use crate::float::LossFloat;
use crate::kernel::softmax::{SoftmaxKind, SoftmaxSpec, Weights};
use crate::methods::softmax_methods;
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
    ignore_index: Option<usize>,
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

    /// Sets one weight per class: `0` or a normal `f32` number
    /// (`1.2e-38 ..= 3.4e38`), so one loss serves `f32` and `f64` inputs.
    ///
    /// # Errors
    ///
    /// [`LossError::InvalidParameterEntry`] naming the first negative, NaN or
    /// infinite weight. The length is checked against `C` when called.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::NllLoss;
    /// assert!(NllLoss::new().with_weight([1.0, -1.0]).is_err());
    /// ```
    pub fn with_weight(mut self, weight: impl AsRef<[f64]>) -> Result<Self, LossError> {
        self.weight = Some(PerClass::new("weight", weight.as_ref())?);
        Ok(self)
    }

    /// Targets equal to `index` are ignored: loss 0, gradient 0, and left
    /// out of every denominator (PyTorch's `ignore_index`).
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::NllLoss;
    /// assert_eq!(NllLoss::new().with_ignore_index(255).ignore_index(), Some(255));
    /// ```
    #[must_use]
    pub fn with_ignore_index(mut self, index: usize) -> Self {
        self.ignore_index = Some(index);
        self
    }

    /// Sets the reduction (default [`Reduction::WeightedMean`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::{NllLoss, Reduction};
    /// let nll = NllLoss::new().with_reduction(Reduction::Sum);
    /// assert_eq!(nll.reduction(), Reduction::Sum);
    /// ```
    #[must_use]
    pub fn with_reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// The class weights, if set.
    #[must_use]
    pub fn weight(&self) -> Option<&[f64]> {
        self.weight.as_ref().map(PerClass::as_f64)
    }

    /// The ignore index, if set.
    #[must_use]
    pub fn ignore_index(&self) -> Option<usize> {
        self.ignore_index
    }

    /// The reduction.
    #[must_use]
    pub fn reduction(&self) -> Reduction {
        self.reduction
    }

    fn config<F: LossFloat>(&self) -> Config<'_, F> {
        Config {
            spec: SoftmaxSpec {
                kind: SoftmaxKind::Nll,
                weight: self
                    .weight
                    .as_ref()
                    .map_or(Weights::Uniform(F::one()), |w| Weights::PerClass(w.get())),
                ignore_index: self.ignore_index,
            },
            reduction: self.reduction,
            input_name: "log_probs",
        }
    }
}

softmax_methods!(NllLoss, IndexTargets, "log_probs", "NllLoss::new()");
