//! Target types of the sigmoid losses: values in `[0, 1]` of the logits'
//! shape, optionally with an ignore mask ([`Masked`]).

use crate::kernel::float::LossFloat;
use ndarray::{ArrayBase, ArrayViewD, Data, Dimension};

/// Binary targets with an ignore mask: `ignore[i] = true` leaves element `i`
/// out of the loss (loss 0, gradient 0) and out of every reduction
/// denominator.
///
/// `targets` and `ignore` must both have the logits' shape. Targets at
/// ignored elements are not read, so any placeholder (`-1`, `255`, NaN)
/// may sit there.
///
/// # Examples
///
/// ```
/// use focal_loss::{Masked, SigmoidFocalLoss};
/// use ndarray::array;
///
/// let x = array![[2.0_f64, -1.0], [0.5, 3.0]];
/// let y = array![[1.0, 0.0], [-1.0, 1.0]]; // -1: label unknown
/// let ignore = array![[false, false], [true, false]];
/// let loss = SigmoidFocalLoss::new(2.0)?;
/// let l = loss.forward(&x, &Masked { targets: &y, ignore: &ignore })?;
/// assert!(l > 0.0);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
pub struct Masked<'a, S: Data, D: Dimension, M: Data<Elem = bool>, E: Dimension> {
    /// Targets in `[0, 1]`, the logits' shape.
    pub targets: &'a ArrayBase<S, D>,
    /// `true` where an element is ignored; the logits' shape.
    pub ignore: &'a ArrayBase<M, E>,
}

impl<S: Data, D: Dimension, M: Data<Elem = bool>, E: Dimension> Clone for Masked<'_, S, D, M, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S: Data, D: Dimension, M: Data<Elem = bool>, E: Dimension> Copy for Masked<'_, S, D, M, E> {}

impl<S: Data, D: Dimension, M: Data<Elem = bool>, E: Dimension> std::fmt::Debug
    for Masked<'_, S, D, M, E>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Masked(targets shape {:?}, ignore shape {:?})",
            self.targets.shape(),
            self.ignore.shape()
        )
    }
}

/// A borrowed view of binary targets (and an optional ignore mask), as the
/// sigmoid losses see them. Built by [`BinaryTargets::binary_view`].
///
/// # Examples
///
/// ```
/// use focal_loss::BinaryTargets;
/// use ndarray::array;
///
/// let y = array![[1.0_f64, 0.0]];
/// let view = BinaryTargets::<f64>::binary_view(&y);
/// assert_eq!(view.targets().shape(), &[1, 2]);
/// assert!(view.ignore().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct BinaryTargetView<'a, F> {
    pub(crate) targets: ArrayViewD<'a, F>,
    pub(crate) ignore: Option<ArrayViewD<'a, bool>>,
}

impl<'a, F> BinaryTargetView<'a, F> {
    /// The targets.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::BinaryTargets;
    /// use ndarray::array;
    ///
    /// let y = array![1.0_f32, 0.0, 0.5];
    /// assert_eq!(BinaryTargets::<f32>::binary_view(&y).targets()[2], 0.5);
    /// ```
    #[must_use]
    pub fn targets(&self) -> &ArrayViewD<'a, F> {
        &self.targets
    }

    /// The ignore mask, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::{BinaryTargets, Masked};
    /// use ndarray::array;
    ///
    /// let (y, ignore) = (array![1.0_f64, 0.0], array![false, true]);
    /// let masked = Masked { targets: &y, ignore: &ignore };
    /// let view = BinaryTargets::<f64>::binary_view(&masked);
    /// assert_eq!(view.ignore().map(|m| m[1]), Some(true));
    /// ```
    #[must_use]
    pub fn ignore(&self) -> Option<&ArrayViewD<'a, bool>> {
        self.ignore.as_ref()
    }
}

/// Anything a sigmoid-family loss accepts as targets: an array of values in
/// `[0, 1]` (hard or soft labels) of the logits' shape, or [`Masked`]
/// targets with an ignore mask.
///
/// # Examples
///
/// ```
/// use focal_loss::{BceWithLogitsLoss, BinaryTargets, LossError, LossFloat};
/// use ndarray::Array1;
///
/// // Generic over any target kind the sigmoid losses accept.
/// fn bce<F: LossFloat, T: BinaryTargets<F>>(x: &Array1<F>, t: &T) -> Result<F, LossError> {
///     BceWithLogitsLoss::new().forward(x, t)
/// }
/// let x = Array1::from(vec![0.5_f64, -1.0]);
/// assert!(bce(&x, &Array1::from(vec![1.0, 0.0]))? > 0.0);
/// # Ok::<(), LossError>(())
/// ```
pub trait BinaryTargets<F: LossFloat> {
    /// Borrows the targets as a [`BinaryTargetView`].
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::BinaryTargets;
    /// use ndarray::array;
    ///
    /// let y = array![[1.0_f64, 0.0]];
    /// assert!(BinaryTargets::<f64>::binary_view(&y).ignore().is_none());
    /// ```
    fn binary_view(&self) -> BinaryTargetView<'_, F>;
}

impl<F: LossFloat, S: Data<Elem = F>, D: Dimension> BinaryTargets<F> for ArrayBase<S, D> {
    fn binary_view(&self) -> BinaryTargetView<'_, F> {
        BinaryTargetView {
            targets: self.view().into_dyn(),
            ignore: None,
        }
    }
}

impl<F: LossFloat, S: Data<Elem = F>, D: Dimension, M: Data<Elem = bool>, E: Dimension>
    BinaryTargets<F> for Masked<'_, S, D, M, E>
{
    fn binary_view(&self) -> BinaryTargetView<'_, F> {
        BinaryTargetView {
            targets: self.targets.view().into_dyn(),
            ignore: Some(self.ignore.view().into_dyn()),
        }
    }
}
