//! Sigmoid-family kernel: sigmoid focal loss and BCE with logits, one fused
//! elementwise pass over a contiguous `(N, C, M)` buffer.
//!
//! Notation, per element: `x` logit, `y` target after label smoothing,
//! `a = σ(x)`, `b = σ(-x) = 1 - a`, `sp(x) = ln(1 + e^x)` (softplus, so
//! `ln a = -sp(-x)` and `ln b = -sp(x)`), `pw` the positive weight of the
//! element's class, `W` the weight that scales the element
//! (`weight_k · alpha_t`), `gamma >= 0`.
//!
//! - `B = pw y sp(-x) + (1-y) sp(x)`, the (pos-weighted) BCE;
//! - `q = 1 - p_t = y b + (1-y) a`, a sum of two non-negative terms (no
//!   cancellation), and `M = q^gamma`;
//! - `l = W M B`;
//! - `dl/dx = W M [B' + gamma (1 - 2y) r B]`, with `B' = (1-y) a - pw y b`
//!   and `r = a b / q` (`= a` at `y = 1`, `= b` at `y = 0`).
//!
//! `r` lies in `[0, 1]` (`q >= min(a, b) >= a b`), so no `q^(gamma-1)`
//! appears and the gradient is finite for every finite `x` and every
//! `gamma >= 0`, including `0 < gamma < 1` as `p_t → 1`. For hard labels
//! `M` is computed in log space: `M = exp(-gamma sp(x))` at `y = 1`,
//! `exp(-gamma sp(-x))` at `y = 0`, so it does not underflow before the
//! true value does.
//!
//! Two implementations: [`scalar`] (the reference, std maths, one element
//! at a time, exact error reporting) and [`vector`] (branch-free blocks
//! that vectorise, at the instruction-set level picked at run time, over
//! fixed chunks combined by `chunks::reduce`). [`run`] tries the vector
//! kernel and reruns the scalar one when it declines (any non-finite
//! logit).

use super::chunks::{self, Work};
use super::fast::{Fallback, Level};
use super::{Geom, KernelError, Upstream};
use crate::float::LossFloat;

pub(crate) mod scalar;
mod targets;
pub(crate) mod vector;

#[cfg(test)]
mod tests;

pub(crate) use scalar::run_scalar;
pub(crate) use targets::{check_targets, weight_sum};

/// The class-balance factor `alpha`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Alpha<'a, F> {
    /// No alpha: `alpha_t = 1`.
    None,
    /// One alpha for every class.
    Scalar(F),
    /// One alpha per class (class axis 1).
    PerClass(&'a [F]),
}

/// A fully validated sigmoid-family problem description.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SigmoidSpec<'a, F> {
    /// Focusing parameter (`0` for BCE).
    pub gamma: F,
    /// `alpha_t = alpha y + (1 - alpha)(1 - y)`.
    pub alpha: Alpha<'a, F>,
    /// Per-class weight (BCE `weight`), default 1.
    pub weight: Option<&'a [F]>,
    /// Per-class positive weight, default 1.
    pub pos_weight: Option<&'a [F]>,
    /// Label smoothing `eps`: `y' = y (1 - eps) + eps / 2`.
    pub smoothing: F,
}

/// The constants of one class.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Class<F> {
    alpha: Option<F>,
    weight: F,
    pos_weight: F,
}

impl<F: LossFloat> SigmoidSpec<'_, F> {
    #[inline(always)]
    pub(crate) fn class(&self, k: usize) -> Class<F> {
        let pick = |v: Option<&[F]>| v.map_or(F::one(), |v| v[k]);
        Class {
            alpha: match self.alpha {
                Alpha::None => None,
                Alpha::Scalar(a) => Some(a),
                Alpha::PerClass(a) => Some(a[k]),
            },
            weight: pick(self.weight),
            pos_weight: pick(self.pos_weight),
        }
    }

    /// The smoothed target `y' = y (1 - eps) + eps / 2`.
    #[inline(always)]
    pub fn smooth(&self, y: F) -> F {
        let eps = self.smoothing;
        if eps == F::zero() {
            y
        } else {
            y * (F::one() - eps) + eps * F::from_f64_(0.5)
        }
    }

    /// The weight `W = weight_k · alpha_t(y')` that scales an element of
    /// class `k` with smoothed target `y'` (the `WeightedMean` summand).
    #[inline(always)]
    pub fn element_weight(&self, k: usize, y: F) -> F {
        self.class(k).scale(y)
    }
}

impl<F: LossFloat> Class<F> {
    /// `W = weight · alpha_t(y)`.
    #[inline(always)]
    pub(crate) fn scale(&self, y: F) -> F {
        match self.alpha {
            None => self.weight,
            Some(a) => self.weight * (a * y + (F::one() - a) * (F::one() - y)),
        }
    }

    /// `(W at y = 0, W at y = 1, pw)`: `W(y) = w1 y + w0 (1 - y)`.
    #[inline(always)]
    pub(crate) fn linear(&self) -> (F, F, F) {
        let (w0, w1) = match self.alpha {
            None => (self.weight, self.weight),
            Some(a) => (self.weight * (F::one() - a), self.weight * a),
        };
        (w0, w1, self.pos_weight)
    }
}

/// Where the kernel writes: per-element losses and/or the gradient, both of
/// the logits' length.
pub(crate) struct Outputs<'o, 'u, F> {
    pub per_target: Option<&'o mut [F]>,
    /// The gradient and its per-element upstream factors.
    pub grad: Option<(&'o mut [F], Upstream<'u, F>)>,
}

/// Runs the kernel over every element; returns the sum of the per-element
/// losses (in `f64`). `t` holds the raw targets (validated to lie in
/// `[0, 1]` wherever not ignored); `ignore[i] = true` gives element `i`
/// loss 0 and gradient 0.
///
/// The vectorised kernel runs first (fixed chunks, fixed reduction tree:
/// the sum is bitwise the same for any number of threads); if it declines,
/// the scalar reference kernel recomputes everything and reports errors.
///
/// Errors: a NaN or `+inf` logit anywhere; a `-inf` logit on a
/// non-ignored element whose smoothed target is not 0.
pub(crate) fn run<F: LossFloat>(
    spec: &SigmoidSpec<'_, F>,
    z: &[F],
    t: &[F],
    ignore: Option<&[bool]>,
    geom: Geom,
    mut out: Outputs<'_, '_, F>,
) -> Result<f64, KernelError> {
    if let Ok(sum) = run_vector(Level::best(), spec, z, t, ignore, geom, &mut out) {
        return Ok(sum);
    }
    run_scalar(spec, z, t, ignore, geom, out)
}

/// The vectorised kernel at `level` over fixed chunks of whole batch
/// items; `Err(Fallback)` if any logit is not finite (the outputs are
/// then partly written, and the caller reruns the scalar kernel).
pub(crate) fn run_vector<F: LossFloat>(
    level: Level,
    spec: &SigmoidSpec<'_, F>,
    z: &[F],
    t: &[F],
    ignore: Option<&[bool]>,
    geom: Geom,
    out: &mut Outputs<'_, '_, F>,
) -> Result<f64, Fallback> {
    debug_assert_eq!(z.len(), geom.len());
    debug_assert_eq!(t.len(), geom.len());
    let k = vector::Consts::new(spec, geom);
    let work = Work {
        z,
        t: &[],
        aux: t,
        per_target: out.per_target.as_deref_mut(),
        grad: out.grad.as_mut().map(|(g, u)| (&mut **g, *u)),
        n: geom.n,
    };
    // Every per-element buffer (targets, losses, gradient, upstream) is laid
    // out like the logits, so the chunker sees one "class" of C·M positions
    // per item; the kernel recovers the class from the offset in the item.
    let flat = Geom {
        n: geom.n,
        c: 1,
        m: geom.c * geom.m,
    };
    chunks::reduce(flat, work, &|w| {
        // The chunk's offset into the whole problem, for the ignore mask
        // (chunks are sub-slices of `z`, so this is exact).
        let ig = ignore.map(|ig| {
            let off = (w.z.as_ptr() as usize - z.as_ptr() as usize) / std::mem::size_of::<F>();
            &ig[off..off + w.z.len()]
        });
        vector::run_level(level, &k, w, ig)
    })
}
