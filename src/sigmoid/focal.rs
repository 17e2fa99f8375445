//! Sigmoid (binary / multi-label) focal loss, torchvision semantics plus
//! per-class alpha, pos_weight, label smoothing and an ignore mask.

use super::call::Config;
use crate::builder::{
    focal_getters, label_smoothing_methods, per_class_methods, reduction_methods,
};
use crate::call::methods::loss_methods;
use crate::error::LossError;
use crate::kernel::float::LossFloat;
use crate::kernel::sigmoid::{Alpha as KernelAlpha, SigmoidSpec};
use crate::params::{check_gamma, check_unit, Alpha, PerClass};
use crate::reduction::Reduction;

/// Sigmoid focal loss (Lin et al. 2017; torchvision
/// `ops.sigmoid_focal_loss`), elementwise over logits of any shape, for
/// binary and multi-label problems.
///
/// For each element with logit `x`, target `y` in `[0, 1]` (hard or soft),
/// class `k` (its index on axis 1) and `p = σ(x)`:
///
/// - `y' = y (1 - eps) + eps / 2` (label smoothing `eps`, default 0);
/// - `p_t = p y' + (1 - p)(1 - y')`, computed as
///   `1 - p_t = y' σ(-x) + (1 - y') σ(x)` (no cancellation);
/// - `alpha_t = alpha_k y' + (1 - alpha_k)(1 - y')` (`1` without alpha);
/// - `BCE = -[pw_k y' log σ(x) + (1 - y') log σ(-x)]` (`pw_k = 1` without
///   `pos_weight`), with `log σ(x) = -softplus(-x)`;
/// - **`l = alpha_t (1 - p_t)^gamma BCE`**.
///
/// The gradient is closed-form:
/// `∂l/∂x = alpha_t (1-p_t)^gamma [BCE' + gamma (1 - 2y') r BCE]`, with
/// `BCE' = (1-y') σ(x) - pw_k y' σ(-x)` and
/// `r = σ(x) σ(-x) / (1 - p_t)` in `[0, 1]`. No `(1-p_t)^(gamma-1)` appears,
/// so loss and gradient are finite for every finite logit (`±1e4` in `f32`,
/// `±1e300` in `f64`) and every `gamma >= 0`, including `0 < gamma < 1` as
/// `p_t → 1`, where torchvision's autograd gives NaN and its forward
/// rounds `1 - p_t` to 0.
///
/// With `alpha` scalar, no `pos_weight` and no smoothing this is exactly
/// torchvision's `sigmoid_focal_loss(x, y, alpha, gamma)`; without alpha it
/// is torchvision's `alpha = -1`. Note that torchvision's *default* alpha is
/// `0.25`, while the default here is no alpha. With `gamma = 0` and no
/// alpha it is [`BceWithLogitsLoss`](crate::BceWithLogitsLoss) with the same
/// `pos_weight` (same arithmetic, same bits).
///
/// Reductions (default [`Reduction::Mean`], torchvision's `'mean'`), over
/// the non-ignored elements `i` (see [`Masked`](crate::Masked)):
/// `Sum` = `Σ l_i`; `Mean` = `Σ l_i / #{i}`;
/// `WeightedMean` = `Σ l_i / Σ alpha_t,i` (the factor that scaled each
/// element, with the smoothed target; `pos_weight` does not enter it;
/// equals `Mean` without alpha).
///
/// Logits `(N)` are read as `(N, 1)`: one class, so a per-class alpha or
/// `pos_weight` must have length 1 there. A `-inf` logit is allowed where
/// the smoothed target is 0 (loss 0, gradient 0).
///
/// # Examples
///
/// ```
/// use focal_loss::{Masked, SigmoidFocalLoss};
/// use ndarray::array;
///
/// // Multi-label: 2 samples, 3 labels; label 2 is rare.
/// let logits = array![[2.0_f32, -1.0, 0.3], [-0.5, 1.2, -3.0]];
/// let targets = array![[1.0_f32, 0.0, 1.0], [0.0, 1.0, 0.0]];
/// let focal = SigmoidFocalLoss::new(2.0)?
///     .with_alpha_scalar(0.25)?
///     .with_pos_weight([1.0, 1.0, 4.0])?;
/// let (loss, grad) = focal.forward_backward(&logits, &targets)?;
/// assert!(loss > 0.0 && grad.dim() == (2, 3));
///
/// // Ignore the label we do not know.
/// let unknown = array![[false, false, false], [false, false, true]];
/// let masked = Masked { targets: &targets, ignore: &unknown };
/// assert!(focal.forward(&logits, &masked)?.is_finite());
/// # Ok::<(), focal_loss::LossError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SigmoidFocalLoss {
    gamma: f64,
    alpha: Alpha,
    pos_weight: Option<PerClass>,
    label_smoothing: f64,
    reduction: Reduction,
}

impl SigmoidFocalLoss {
    /// A sigmoid focal loss with focusing parameter `gamma` (`0 ..= 3.4e38`),
    /// no alpha, no `pos_weight`, no smoothing and reduction `Mean`.
    ///
    /// # Errors
    ///
    /// [`LossError::InvalidParameter`] if `gamma` is negative, NaN or infinite.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::SigmoidFocalLoss;
    /// assert_eq!(SigmoidFocalLoss::new(0.5)?.gamma(), 0.5);
    /// assert!(SigmoidFocalLoss::new(-1.0).is_err());
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    pub fn new(gamma: f64) -> Result<Self, LossError> {
        Ok(Self {
            gamma: check_gamma(gamma)?,
            alpha: Alpha::None,
            pos_weight: None,
            label_smoothing: 0.0,
            reduction: Reduction::Mean,
        })
    }

    /// Sets one alpha in `[0, 1]` for every class (torchvision's `alpha`):
    /// positives are scaled by `alpha`, negatives by `1 - alpha`.
    ///
    /// # Errors
    ///
    /// [`LossError::InvalidParameter`] if `alpha` is outside `[0, 1]` or NaN.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::SigmoidFocalLoss;
    /// let focal = SigmoidFocalLoss::new(2.0)?.with_alpha_scalar(0.25)?;
    /// assert_eq!(focal.alpha_scalar(), Some(0.25));
    /// assert!(SigmoidFocalLoss::new(2.0)?.with_alpha_scalar(1.5).is_err());
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    pub fn with_alpha_scalar(mut self, alpha: f64) -> Result<Self, LossError> {
        self.alpha = Alpha::Scalar(check_unit("alpha", alpha)?);
        Ok(self)
    }

    /// Sets one alpha in `[0, 1]` per class (class axis 1):
    /// `alpha_t = alpha_k y + (1 - alpha_k)(1 - y)`. The length is checked
    /// against `C` when the loss is called.
    ///
    /// # Errors
    ///
    /// [`LossError::InvalidParameterEntry`] naming the first entry outside
    /// `[0, 1]` or NaN.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::SigmoidFocalLoss;
    /// let focal = SigmoidFocalLoss::new(2.0)?.with_alpha([0.25, 0.5, 0.9])?;
    /// assert_eq!(focal.alpha(), Some(&[0.25, 0.5, 0.9][..]));
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    pub fn with_alpha(mut self, alpha: impl crate::ClassValues) -> Result<Self, LossError> {
        self.alpha = Alpha::PerClass(PerClass::new_unit("alpha", &alpha.class_values())?);
        Ok(self)
    }

    fn config<F: LossFloat>(&self) -> Config<'_, F> {
        let alpha = match &self.alpha {
            Alpha::None => KernelAlpha::None,
            Alpha::Scalar(a) => KernelAlpha::Scalar(F::from_f64_(*a)),
            Alpha::PerClass(a) => KernelAlpha::PerClass(a.get()),
        };
        Config {
            spec: SigmoidSpec {
                gamma: F::from_f64_(self.gamma),
                alpha,
                weight: None,
                pos_weight: self.pos_weight.as_ref().map(PerClass::get),
                smoothing: F::from_f64_(self.label_smoothing),
            },
            reduction: self.reduction,
        }
    }
}

loss_methods!(
    SigmoidFocalLoss,
    sigmoid,
    crate::BinaryTargets<F>,
    "SigmoidFocalLoss::new(2.0)?"
);
per_class_methods!(
    SigmoidFocalLoss,
    "SigmoidFocalLoss::new(2.0)?",
    with_pos_weight,
    pos_weight,
    "Sets one positive weight per class (e.g. `n_neg / n_pos`), multiplying the positive \
     term of the BCE factor: `BCE = -[pw_k y log σ(x) + (1 - y) log σ(-x)]`, as in \
     PyTorch's `BCEWithLogitsLoss(pos_weight=..)`."
);
label_smoothing_methods!(
    SigmoidFocalLoss,
    "SigmoidFocalLoss::new(2.0)?",
    "Sets label smoothing `eps` in `[0, 1]`: every target becomes `y' = y (1 - eps) + eps / 2` \
     before the loss (in `p_t`, `alpha_t` and the BCE factor alike)."
);
reduction_methods!(SigmoidFocalLoss, Mean, "SigmoidFocalLoss::new(2.0)?");
focal_getters!(SigmoidFocalLoss, "SigmoidFocalLoss::new(2.0)?");
