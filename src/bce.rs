//! Binary cross-entropy on logits (PyTorch `BCEWithLogitsLoss`), with
//! per-class `weight` and `pos_weight`.

use crate::error::LossError;
use crate::float::LossFloat;
use crate::kernel::sigmoid::{Alpha, SigmoidSpec};
use crate::params::PerClass;
use crate::reduction::Reduction;
use crate::sigmoid_driver::{sigmoid_methods, Config};

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

    /// Sets one weight `w_k` per class (`0` or a normal `f32` number), scaling the whole
    /// loss of every element of class `k`.
    ///
    /// # Errors
    ///
    /// [`LossError::InvalidParameterEntry`] naming the first negative, NaN
    /// or infinite entry. The length is checked against `C` when called.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::BceWithLogitsLoss;
    /// let bce = BceWithLogitsLoss::new().with_weight([1.0, 2.0])?;
    /// assert_eq!(bce.weight(), Some(&[1.0, 2.0][..]));
    /// assert!(BceWithLogitsLoss::new().with_weight([-1.0]).is_err());
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    pub fn with_weight(mut self, weight: impl AsRef<[f64]>) -> Result<Self, LossError> {
        self.weight = Some(PerClass::new("weight", weight.as_ref())?);
        Ok(self)
    }

    /// Sets one positive weight `pw_k` per class (`0` or a normal `f32` number; e.g.
    /// `n_neg / n_pos`), scaling only the positive term `y log σ(x)`.
    ///
    /// # Errors
    ///
    /// [`LossError::InvalidParameterEntry`] naming the first negative, NaN
    /// or infinite entry. The length is checked against `C` when called.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::BceWithLogitsLoss;
    /// let bce = BceWithLogitsLoss::new().with_pos_weight([3.0, 0.5])?;
    /// assert_eq!(bce.pos_weight(), Some(&[3.0, 0.5][..]));
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    pub fn with_pos_weight(mut self, pos_weight: impl AsRef<[f64]>) -> Result<Self, LossError> {
        self.pos_weight = Some(PerClass::new("pos_weight", pos_weight.as_ref())?);
        Ok(self)
    }

    /// Sets the reduction (default [`Reduction::Mean`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::{BceWithLogitsLoss, Reduction};
    /// let bce = BceWithLogitsLoss::new().with_reduction(Reduction::Sum);
    /// assert_eq!(bce.reduction(), Reduction::Sum);
    /// ```
    #[must_use]
    pub fn with_reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// The per-class weights, if set.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::BceWithLogitsLoss;
    /// assert_eq!(BceWithLogitsLoss::new().weight(), None);
    /// ```
    #[must_use]
    pub fn weight(&self) -> Option<&[f64]> {
        self.weight.as_ref().map(PerClass::as_f64)
    }

    /// The per-class positive weights, if set.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::BceWithLogitsLoss;
    /// assert_eq!(BceWithLogitsLoss::new().pos_weight(), None);
    /// ```
    #[must_use]
    pub fn pos_weight(&self) -> Option<&[f64]> {
        self.pos_weight.as_ref().map(PerClass::as_f64)
    }

    /// The reduction.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::{BceWithLogitsLoss, Reduction};
    /// let bce = BceWithLogitsLoss::new().with_reduction(Reduction::WeightedMean);
    /// assert_eq!(bce.reduction(), Reduction::WeightedMean);
    /// ```
    #[must_use]
    pub fn reduction(&self) -> Reduction {
        self.reduction
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

sigmoid_methods!(BceWithLogitsLoss, "BceWithLogitsLoss::new()");
