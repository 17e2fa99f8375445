//! Softmax (multiclass) focal loss with a per-class alpha vector.

use super::call::Config;
use crate::builder::{
    focal_getters, ignore_index_methods, label_smoothing_methods, reduction_methods,
};
use crate::call::methods::loss_methods;
use crate::error::LossError;
use crate::kernel::float::LossFloat;
use crate::kernel::softmax::{SoftmaxKind, Weights};
use crate::params::{check_gamma, check_nonneg, Alpha, PerClass};
use crate::reduction::Reduction;

/// Multiclass softmax focal loss (Lin et al. 2017, "Focal Loss for Dense
/// Object Detection"), with a per-class `alpha` vector and any `gamma >= 0`.
///
/// With `lp = log_softmax(z)`, `p = exp(lp)` and class-index target `y`:
///
/// `l_n = -alpha[y] (1 - p_y)^gamma lp_y`,
/// `∂l_n/∂z_k = alpha[y] g (δ_ky - p_k)`, with
/// `g = (1 - p_y)^gamma (gamma p_y r - 1)` and `r = lp_y / (1 - p_y)`.
///
/// `1 - p_y` is computed as `-expm1(lp_y)` and `r = -1` where `lp_y = 0`,
/// so the gradient is finite for every `gamma >= 0`, fractional `gamma < 1`
/// included, even as `p_y → 1` (the `(1-p)^(gamma-1)` form gives NaN there).
/// `gamma = 0` is exactly [`CrossEntropyLoss`](crate::CrossEntropyLoss)
/// with `weight = alpha`.
///
/// With label smoothing `eps` or probability targets `t` (`t' = (1-eps) t + eps/C`,
/// the Keras `CategoricalFocalCrossentropy` form):
/// `l_n = -Σ_c alpha_c t'_c (1 - p_c)^gamma lp_c`.
///
/// Default reduction [`Reduction::Mean`]: divide by the number of
/// non-ignored positions, as Keras's `CategoricalFocalCrossentropy` and
/// torchvision's (sigmoid) focal loss do; kornia's multiclass `'mean'`
/// divides by `N · C` positions instead (see [`Reduction`] for each
/// library's). [`Reduction::WeightedMean`] divides by `Σ_n alpha[y_n]`.
///
/// # Examples
///
/// ```
/// use focal_loss::{FocalLoss, Reduction};
/// use ndarray::array;
///
/// let logits = array![[2.0_f64, 0.5, -1.0], [0.1, 0.2, 3.0]];
/// let targets = array![0_usize, 2];
/// let focal = FocalLoss::new(2.0)?
///     .with_alpha([0.25, 0.25, 1.0])?
///     .with_reduction(Reduction::Mean);
/// let (loss, grad) = focal.forward_backward(&logits, &targets)?;
/// assert!(loss > 0.0 && grad.iter().all(|g| g.is_finite()));
/// # Ok::<(), focal_loss::LossError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FocalLoss {
    gamma: f64,
    alpha: Alpha,
    ignore_index: Option<i128>,
    label_smoothing: f64,
    reduction: Reduction,
}

impl FocalLoss {
    /// A focal loss with focusing parameter `gamma` (`0 ..= 3.4e38`), no
    /// alpha, no smoothing, no ignore index and reduction `Mean`.
    ///
    /// # Errors
    ///
    /// [`LossError::InvalidParameter`] if `gamma` is negative, NaN, or larger
    /// than `f32::MAX`.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::FocalLoss;
    /// assert_eq!(FocalLoss::new(0.5)?.gamma(), 0.5);
    /// assert!(FocalLoss::new(-1.0).is_err());
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    pub fn new(gamma: f64) -> Result<Self, LossError> {
        Ok(Self {
            gamma: check_gamma(gamma)?,
            alpha: Alpha::None,
            ignore_index: None,
            label_smoothing: 0.0,
            reduction: Reduction::Mean,
        })
    }

    /// Sets one alpha per class (`0` or a normal `f32` number; not limited to `[0, 1]`, so
    /// balanced class weights plug in directly).
    ///
    /// # Errors
    ///
    /// [`LossError::InvalidParameterEntry`] naming the first negative, NaN or
    /// infinite entry. The length is checked against `C` when called.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::FocalLoss;
    /// let focal = FocalLoss::new(2.0)?.with_alpha([0.5, 0.5, 3.0])?;
    /// assert_eq!(focal.alpha(), Some(&[0.5, 0.5, 3.0][..]));
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    pub fn with_alpha(mut self, alpha: impl crate::ClassValues) -> Result<Self, LossError> {
        self.alpha = Alpha::PerClass(PerClass::new("alpha", &alpha.class_values())?);
        Ok(self)
    }

    /// Sets one alpha for every class (`0` or a normal `f32` number). It scales the loss;
    /// under [`Reduction::WeightedMean`] it cancels out.
    ///
    /// # Errors
    ///
    /// [`LossError::InvalidParameter`] if `alpha` is negative, NaN or infinite.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::FocalLoss;
    /// let focal = FocalLoss::new(2.0)?.with_alpha_scalar(0.25)?;
    /// assert_eq!(focal.alpha_scalar(), Some(0.25));
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    pub fn with_alpha_scalar(mut self, alpha: f64) -> Result<Self, LossError> {
        self.alpha = Alpha::Scalar(check_nonneg("alpha", alpha)?);
        Ok(self)
    }

    fn config<F: LossFloat>(&self) -> Config<'_, F> {
        let weight = match &self.alpha {
            Alpha::None => Weights::Uniform(F::one()),
            Alpha::Scalar(a) => Weights::Uniform(F::from_f64_(*a)),
            Alpha::PerClass(a) => Weights::PerClass(a.get()),
        };
        let kind = SoftmaxKind::Focal {
            gamma: F::from_f64_(self.gamma),
            smoothing: F::from_f64_(self.label_smoothing),
        };
        Config::new(kind, weight, self.ignore_index, self.reduction, "logits")
    }
}

loss_methods!(
    FocalLoss,
    softmax,
    crate::Targets<F>,
    "FocalLoss::new(2.0)?"
);
ignore_index_methods!(FocalLoss, "FocalLoss::new(2.0)?", "");
label_smoothing_methods!(
    FocalLoss,
    "FocalLoss::new(2.0)?",
    "Sets label smoothing `eps` in `[0, 1]` (per-class form, see the type docs)."
);
reduction_methods!(FocalLoss, Mean, "FocalLoss::new(2.0)?");
focal_getters!(FocalLoss, "FocalLoss::new(2.0)?");
