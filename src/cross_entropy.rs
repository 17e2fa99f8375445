//! Cross-entropy on logits, with class weights, ignore index, label
//! smoothing and probability targets (PyTorch `CrossEntropyLoss`).

use crate::driver::Config;
use crate::error::LossError;
use crate::float::LossFloat;
use crate::kernel::softmax::{SoftmaxKind, SoftmaxSpec, Weights};
use crate::methods::softmax_methods;
use crate::params::{check_unit, PerClass};
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
    ignore_index: Option<usize>,
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
    /// use focal_loss::CrossEntropyLoss;
    /// let ce = CrossEntropyLoss::new().with_weight(vec![0.5, 2.0])?;
    /// assert_eq!(ce.weight(), Some(&[0.5, 2.0][..]));
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    pub fn with_weight(mut self, weight: impl AsRef<[f64]>) -> Result<Self, LossError> {
        self.weight = Some(PerClass::new("weight", weight.as_ref())?);
        Ok(self)
    }

    /// Targets equal to `index` are ignored: loss 0, gradient 0, and left
    /// out of every denominator. Applies to class-index targets only.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::CrossEntropyLoss;
    /// let ce = CrossEntropyLoss::new().with_ignore_index(255);
    /// assert_eq!(ce.ignore_index(), Some(255));
    /// ```
    #[must_use]
    pub fn with_ignore_index(mut self, index: usize) -> Self {
        self.ignore_index = Some(index);
        self
    }

    /// Sets label smoothing `eps` in `[0, 1]`.
    ///
    /// # Errors
    ///
    /// [`LossError::InvalidParameter`] if `eps` is outside `[0, 1]` or NaN.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::CrossEntropyLoss;
    /// assert!(CrossEntropyLoss::new().with_label_smoothing(0.1).is_ok());
    /// assert!(CrossEntropyLoss::new().with_label_smoothing(1.5).is_err());
    /// ```
    pub fn with_label_smoothing(mut self, eps: f64) -> Result<Self, LossError> {
        self.label_smoothing = check_unit("label_smoothing", eps)?;
        Ok(self)
    }

    /// Sets the reduction (default [`Reduction::WeightedMean`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::{CrossEntropyLoss, Reduction};
    /// let ce = CrossEntropyLoss::new().with_reduction(Reduction::Mean);
    /// assert_eq!(ce.reduction(), Reduction::Mean);
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

    /// The label smoothing `eps`.
    #[must_use]
    pub fn label_smoothing(&self) -> f64 {
        self.label_smoothing
    }

    /// The reduction.
    #[must_use]
    pub fn reduction(&self) -> Reduction {
        self.reduction
    }

    fn config<F: LossFloat>(&self) -> Config<'_, F> {
        Config {
            spec: SoftmaxSpec {
                kind: SoftmaxKind::CrossEntropy {
                    smoothing: F::from_f64_(self.label_smoothing),
                },
                weight: self
                    .weight
                    .as_ref()
                    .map_or(Weights::Uniform(F::one()), |w| Weights::PerClass(w.get())),
                ignore_index: self.ignore_index,
            },
            reduction: self.reduction,
            input_name: "logits",
        }
    }
}

softmax_methods!(
    CrossEntropyLoss,
    Targets,
    "logits",
    "CrossEntropyLoss::new()"
);
