//! Target types: class indices (with an optional ignore index) and
//! probability ("soft") targets; and the validation pass over class-index
//! targets.

use crate::kernel::float::LossFloat;
use crate::kernel::softmax::Weights;
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

/// The number of non-ignored class-index targets and the sum of their
/// weights (`count · w` for a uniform weight), or the first position whose
/// target is out of range. Four partial sums, combined in a fixed order,
/// keep the additions from forming one serial chain.
pub(crate) fn index_stats<F: LossFloat>(
    t: &[usize],
    ignore: Option<usize>,
    c: usize,
    w: Weights<'_, F>,
) -> Result<(usize, f64), usize> {
    let (mut n, mut ws) = ([0usize; 4], [0.0f64; 4]);
    let mut step = |i: usize, p: usize, y: usize| {
        if ignore == Some(y) {
            return Ok(());
        }
        if y >= c {
            return Err(p);
        }
        n[i] += 1;
        if let Weights::PerClass(v) = w {
            ws[i] += v[y].to_f64_();
        }
        Ok(())
    };
    let mut quads = t.chunks_exact(4);
    for (q, ch) in (&mut quads).enumerate() {
        for (i, &y) in ch.iter().enumerate() {
            step(i, 4 * q + i, y)?;
        }
    }
    let done = t.len() - quads.remainder().len();
    for (i, &y) in quads.remainder().iter().enumerate() {
        step(i, done + i, y)?;
    }
    let count = (n[0] + n[1]) + (n[2] + n[3]);
    let sum = match w {
        Weights::Uniform(v) => count as f64 * v.to_f64_(),
        Weights::PerClass(_) => (ws[0] + ws[1]) + (ws[2] + ws[3]),
    };
    Ok((count, sum))
}
