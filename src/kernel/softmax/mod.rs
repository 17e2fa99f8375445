//! Softmax-family kernels: NLL, cross-entropy and softmax focal loss, one
//! fused pass per position (row for `(N, C)`, strided column for K-dim).
//!
//! Notation: `z` logits (or log-probabilities for NLL), `lse` the
//! max-shifted log-sum-exp of the row (kept as max and log-sum), `lp_c = z_c - lse`, `p_c = exp(lp_c)`,
//! `w` class weights / alpha, `eps` label smoothing, `s` the gradient factor
//! of the position.

mod fast;
mod scalar;
mod spec;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_soft;

pub(crate) use scalar::run_scalar;
pub(crate) use spec::{SoftmaxKind, SoftmaxSpec, TargetSlice, Weights};

use crate::kernel::chunks::{self, Work};
use crate::kernel::float::LossFloat;
use crate::kernel::level::Level;
use crate::kernel::{Geom, KernelError, Outputs};

/// Runs the kernel over every position; returns the sum of per-position
/// losses (in `f64`, summed in position order).
pub(crate) fn run<F: LossFloat>(
    spec: &SoftmaxSpec<'_, F>,
    z: &[F],
    targets: TargetSlice<'_, F>,
    geom: Geom,
    mut out: Outputs<'_, '_, F>,
) -> Result<f64, KernelError> {
    let Geom { n, c, m } = geom;
    debug_assert_eq!(z.len(), geom.len());
    if let (SoftmaxKind::Nll, Some(h)) = (spec.kind, out.hess.as_deref_mut()) {
        // NLL is linear in its input: its Hessian is 0 wherever it is
        // defined (the scalar kernel writes the same zeros).
        h.fill(F::zero());
    }
    // The index kernels' constants, or else the soft target kernels' (a
    // configuration has at most one of them).
    let probs = matches!(targets, TargetSlice::Probs(_));
    let fast = match targets {
        TargetSlice::Index(_) => fast::Consts::new(spec, c),
        TargetSlice::Probs(_) => None,
    }
    .or_else(|| fast::soft_covers(spec, c, m, probs));
    if let Some(k) = fast {
        let level = Level::best();
        let nll = matches!(spec.kind, SoftmaxKind::Nll);
        let (t, aux) = match targets {
            TargetSlice::Index(t) => (t, &[][..]),
            TargetSlice::Probs(p) => (crate::kernel::label::Labels::Usize(&[]), p),
        };
        let work = Work {
            z,
            t,
            aux,
            per_target: out.per_target.as_deref_mut(),
            grad: out.grad.as_mut().map(|(g, u)| (&mut **g, *u)),
            hess: out.hess.as_deref_mut().filter(|_| !nll),
            n,
        };
        // On `Fallback` (NaN, masked targets, a Hessian for focal loss with
        // soft targets, ..) the scalar loop below recomputes everything and
        // reports or handles it exactly.
        if let Ok(sum) = chunks::reduce(geom, work, &|w| fast::run_level(level, &k, c, m, w)) {
            return Ok(sum);
        }
    }
    run_scalar(spec, z, targets, geom, out)
}
