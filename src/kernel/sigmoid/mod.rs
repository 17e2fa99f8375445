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

use crate::kernel::chunks::{self, Work};
use crate::kernel::float::LossFloat;
use crate::kernel::label::Labels;
use crate::kernel::level::{Fallback, Level};
use crate::kernel::{Geom, KernelError, Outputs};

mod elem;
mod ln1p;
pub(crate) mod scalar;
mod spec;
mod targets;
pub(crate) mod vector;

pub(crate) use spec::{Alpha, SigmoidSpec};

#[cfg(test)]
mod tests;

pub(crate) use scalar::run_scalar;
pub(crate) use targets::{check_targets, weight_sum};

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
        t: Labels::Usize(&[]),
        aux: t,
        per_target: out.per_target.as_deref_mut(),
        grad: out.grad.as_mut().map(|(g, u)| (&mut **g, *u)),
        hess: out.hess.as_deref_mut(),
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
