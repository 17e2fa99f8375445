//! Target types: class indices (with an optional ignore index) and
//! probability ("soft") targets; and the validation pass over class-index
//! targets.

use crate::kernel::float::LossFloat;
use crate::kernel::label::Label;
use crate::kernel::softmax::Weights;
use ndarray::{ArrayBase, ArrayView1, ArrayViewD, Data, Dimension};

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

/// A borrowed view of targets, as the losses see them; `L` is the label
/// type of class-index targets.
///
/// # Examples
///
/// ```
/// use focal_loss::{Probs, TargetView, Targets};
/// use ndarray::array;
///
/// let labels = array![2_u32, 0, 1];
/// match Targets::<f32>::target_view(&labels) {
///     TargetView::Index(v) => assert_eq!(v.len(), 3),
///     _ => unreachable!(),
/// }
/// let soft = array![[0.2_f32, 0.8]];
/// assert!(matches!(Targets::<f32>::target_view(&Probs(&soft)), TargetView::Probs(_)));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TargetView<'a, F, L = usize> {
    /// Class indices of shape `(N, d1, .., dk)`.
    Index(ArrayViewD<'a, L>),
    /// Probabilities of shape `(N, C, d1, .., dk)`.
    Probs(ArrayViewD<'a, F>),
}

/// Anything a softmax-family loss accepts as targets: class indices of any
/// [`Label`] type (`u8` .. `u64`, `usize`, `i32`, `i64`) in an ndarray
/// array or view, a slice or a `Vec`; or [`Probs`] wrapping an array of
/// probabilities. Contiguous targets are read in place, never converted.
///
/// # Examples
///
/// ```
/// use focal_loss::CrossEntropyLoss;
/// use ndarray::array;
///
/// let x = array![[2.0_f32, 0.5], [0.1, 1.0]];
/// let ce = CrossEntropyLoss::new();
/// let a = ce.forward(&x, &array![0_usize, 1])?;
/// assert_eq!(a, ce.forward(&x, &array![0_u32, 1])?); // candle's labels
/// assert_eq!(a, ce.forward(&x, &array![0_i64, 1])?); // burn's / PyTorch's
/// assert_eq!(a, ce.forward(&x, &vec![0_u8, 1])?);
/// assert_eq!(a, ce.forward(&x, &[0_i32, 1][..])?);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
pub trait Targets<F: LossFloat> {
    /// The label type of class-index targets (`usize` for [`Probs`]).
    type Label: Label;
    /// Borrows the targets as a [`TargetView`].
    fn target_view(&self) -> TargetView<'_, F, Self::Label>;
}

impl<F: LossFloat, S: Data, D: Dimension> Targets<F> for ArrayBase<S, D>
where
    S::Elem: Label,
{
    type Label = S::Elem;
    fn target_view(&self) -> TargetView<'_, F, S::Elem> {
        TargetView::Index(self.view().into_dyn())
    }
}

impl<F: LossFloat, L: Label> Targets<F> for [L] {
    type Label = L;
    fn target_view(&self) -> TargetView<'_, F, L> {
        TargetView::Index(ArrayView1::from(self).into_dyn())
    }
}

impl<F: LossFloat, L: Label> Targets<F> for Vec<L> {
    type Label = L;
    fn target_view(&self) -> TargetView<'_, F, L> {
        TargetView::Index(ArrayView1::from(self.as_slice()).into_dyn())
    }
}

impl<F: LossFloat, S: Data<Elem = F>, D: Dimension> Targets<F> for Probs<'_, S, D> {
    type Label = usize;
    fn target_view(&self) -> TargetView<'_, F> {
        TargetView::Probs(self.0.view().into_dyn())
    }
}

/// Class-index targets only (what [`NllLoss`](crate::NllLoss) accepts):
/// an array, slice or `Vec` of any [`Label`] type.
///
/// # Examples
///
/// ```
/// use focal_loss::{IndexTargets, LossError, NllLoss};
/// use ndarray::{array, Array2};
///
/// fn nll<T: IndexTargets<f64> + ?Sized>(x: &Array2<f64>, t: &T) -> Result<f64, LossError> {
///     NllLoss::new().forward(x, t)
/// }
/// let log_probs = array![[-0.1_f64, -2.4], [-1.9, -0.16]];
/// assert!(nll(&log_probs, &array![0_i64, 1])? > 0.0);
/// # Ok::<(), LossError>(())
/// ```
pub trait IndexTargets<F: LossFloat>: Targets<F> {}

impl<F: LossFloat, S: Data, D: Dimension> IndexTargets<F> for ArrayBase<S, D> where S::Elem: Label {}
impl<F: LossFloat, L: Label> IndexTargets<F> for [L] {}
impl<F: LossFloat, L: Label> IndexTargets<F> for Vec<L> {}

/// The number of non-ignored class-index targets and the sum of their
/// weights (`count · w` for a uniform weight), or the first position whose
/// target is out of range. Four partial sums, combined in a fixed order,
/// keep the additions from forming one serial chain.
pub(crate) fn index_stats<F: LossFloat, L: Label>(
    t: &[L],
    ignore: Option<usize>,
    c: usize,
    w: Weights<'_, F>,
) -> Result<(usize, f64), usize> {
    let (mut n, mut ws) = ([0usize; 4], [0.0f64; 4]);
    let mut step = |i: usize, p: usize, y: L| {
        let y = y.key();
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
