//! Target types: class indices (with an optional ignore index) and
//! probability ("soft") targets.

use crate::float::LossFloat;
use ndarray::{ArrayBase, ArrayViewD, Data, Dimension};

/// Probability ("soft") targets: a wrapper that tells a loss its targets
/// are per-class probabilities of the logits' shape `(N, C, d1, .., dk)`,
/// not class indices.
///
/// Entries must be finite and non-negative. As in PyTorch, rows need not sum
/// to 1; the loss is linear in the target.
///
/// # Examples
///
/// ```
/// use focal_loss::{CrossEntropyLoss, Probs, Reduction};
/// use ndarray::array;
///
/// let logits = array![[1.0_f64, 2.0, 0.5]];
/// let soft = array![[0.1_f64, 0.8, 0.1]];
/// let ce = CrossEntropyLoss::new().with_reduction(Reduction::Mean);
/// let loss = ce.forward(&logits, &Probs(&soft))?;
/// assert!(loss > 0.0);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
pub struct Probs<'a, S: Data, D: Dimension>(pub &'a ArrayBase<S, D>);

impl<S: Data, D: Dimension> Clone for Probs<'_, S, D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S: Data, D: Dimension> Copy for Probs<'_, S, D> {}

impl<S: Data, D: Dimension> std::fmt::Debug for Probs<'_, S, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Probs(shape {:?})", self.0.shape())
    }
}

/// A borrowed view of targets, as the losses see them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TargetView<'a, F> {
    /// Class indices of shape `(N, d1, .., dk)`.
    Index(ArrayViewD<'a, usize>),
    /// Probabilities of shape `(N, C, d1, .., dk)`.
    Probs(ArrayViewD<'a, F>),
}

/// Anything a softmax-family loss accepts as targets: an array of class
/// indices (`usize`), or [`Probs`] wrapping an array of probabilities.
pub trait Targets<F: LossFloat> {
    /// Borrows the targets as a [`TargetView`].
    fn target_view(&self) -> TargetView<'_, F>;
}

impl<F: LossFloat, S: Data<Elem = usize>, D: Dimension> Targets<F> for ArrayBase<S, D> {
    fn target_view(&self) -> TargetView<'_, F> {
        TargetView::Index(self.view().into_dyn())
    }
}

impl<F: LossFloat, S: Data<Elem = F>, D: Dimension> Targets<F> for Probs<'_, S, D> {
    fn target_view(&self) -> TargetView<'_, F> {
        TargetView::Probs(self.0.view().into_dyn())
    }
}

/// Class-index targets only (what [`NllLoss`](crate::NllLoss) accepts):
/// an array of `usize`.
pub trait IndexTargets<F: LossFloat>: Targets<F> {}

impl<F: LossFloat, S: Data<Elem = usize>, D: Dimension> IndexTargets<F> for ArrayBase<S, D> {}
