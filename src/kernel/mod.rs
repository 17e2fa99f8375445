//! Fused per-position kernels. They see contiguous (row-major) slices and a
//! `(N, C, M)` geometry (`M = d1 * .. * dk`), know nothing of the public
//! API, and never allocate.
//!
//! Work is split into fixed chunks of whole batch items, whose partial sums
//! are combined in chunk order, so results do not depend on how chunks are
//! scheduled.

pub(crate) mod chunks;
pub(crate) mod float;
pub(crate) mod label;
pub(crate) mod level;
pub(crate) mod sigmoid;
pub(crate) mod softmax;
pub(crate) mod vmath;

/// Logical geometry of a contiguous `(N, C, M)` logits buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geom {
    /// Batch size.
    pub n: usize,
    /// Classes (length of axis 1).
    pub c: usize,
    /// Positions per batch item (product of the trailing dimensions).
    pub m: usize,
}

impl Geom {
    /// Number of target positions, `N * M`.
    pub fn positions(&self) -> usize {
        self.n * self.m
    }
    /// Number of logits, `N * C * M`.
    pub fn len(&self) -> usize {
        self.n * self.c * self.m
    }
}

/// The factor each position's gradient is scaled by.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Upstream<'a, F> {
    /// The same factor everywhere (`1`, `1 / count` or `1 / Σ w`).
    Uniform(F),
    /// One factor per position (a vector-Jacobian product).
    PerPosition(&'a [F]),
}

impl<F: Copy> Upstream<'_, F> {
    #[inline(always)]
    pub fn at(&self, p: usize) -> F {
        match *self {
            Upstream::Uniform(s) => s,
            Upstream::PerPosition(u) => u[p],
        }
    }
}

/// Where a kernel writes: the per-target losses and/or the gradient with
/// its upstream factors (each `None` when not asked for).
pub(crate) struct Outputs<'o, 'u, F> {
    /// One loss per target position (per element, for the sigmoid losses).
    pub per_target: Option<&'o mut [F]>,
    /// The gradient, the logits' length, and each position's factor.
    pub grad: Option<(&'o mut [F], Upstream<'u, F>)>,
    /// The diagonal of the Hessian, the logits' length, scaled by the
    /// gradient's factors (only with a gradient).
    pub hess: Option<&'o mut [F]>,
}

impl<'o, 'u, F> Outputs<'o, 'u, F> {
    /// The outputs of one kernel call, without a Hessian.
    pub fn new(
        per_target: Option<&'o mut [F]>,
        grad: Option<(&'o mut [F], Upstream<'u, F>)>,
    ) -> Self {
        Self {
            per_target,
            grad,
            hess: None,
        }
    }
}

/// What went wrong in a kernel, at a flat offset into the logits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum KernelError {
    /// NaN or `+inf` at this offset.
    NonFinite(usize),
    /// A target puts mass on a `-inf` logit at this offset.
    Masked(usize),
}
