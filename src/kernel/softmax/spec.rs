//! What a softmax-family kernel call is told: the loss, its weights, the
//! targets and where to write.

use crate::kernel::float::LossFloat;
use crate::kernel::label::Labels;

/// Which softmax-family loss to compute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SoftmaxKind<F> {
    /// Input is log-probabilities; `l = -w_y x_y`.
    Nll,
    /// Cross-entropy with label smoothing `eps`.
    CrossEntropy { smoothing: F },
    /// Softmax focal loss with focusing parameter `gamma` and smoothing `eps`.
    Focal { gamma: F, smoothing: F },
}

/// A fully validated softmax-family problem description.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SoftmaxSpec<'a, F> {
    pub kind: SoftmaxKind<F>,
    /// Class weights (alpha for focal).
    pub weight: Weights<'a, F>,
    pub ignore_index: Option<usize>,
}

/// Per-class weights: one value for every class, or one per class.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Weights<'a, F> {
    Uniform(F),
    PerClass(&'a [F]),
}

impl<F: LossFloat> Weights<'_, F> {
    #[inline(always)]
    pub fn at(&self, k: usize) -> F {
        match *self {
            Weights::Uniform(w) => w,
            Weights::PerClass(w) => w[k],
        }
    }

    /// `Σ_c w_c` over `c` classes.
    pub fn sum(&self, c: usize) -> F {
        match *self {
            Weights::Uniform(w) => w * F::from_f64_(c as f64),
            Weights::PerClass(w) => w.iter().copied().sum(),
        }
    }
}

/// Targets as contiguous slices: `N * M` indices, or `N * C * M` probabilities.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TargetSlice<'a, F> {
    Index(Labels<'a>),
    Probs(&'a [F]),
}
