//! Cross-entropy with probability targets (distillation, soft labels),
//! rows (`M = 1`). With `t'_k = (1 - eps) t_k + eps / C` and
//! `a_k = w_k t'_k`, the row's loss is `B + A ln Σ`, where `A = Σ_k a_k`,
//! `B = Σ_k a_k (mx - z_k)` and `Σ = Σ_k e_k`, `e_k = exp(z_k - mx)`; the
//! gradient is `g_k = s (A p_k - a_k)` and the Hessian diagonal
//! `h_k = s A p_k (1 - p_k)`, with `p_k = e_k / Σ`.
//!
//! Passes: the row kernel's maximum and exponentials (stored in the
//! gradient row), one for `A` and `B`, one for the gradient (and Hessian).
//! A class with `t'_k = 0` adds nothing, so a masked logit (`-inf`) there
//! stays on this path, as it is accepted by the scalar kernel; any other
//! non-finite value makes the loss or the sum non-finite, and the chunk goes
//! to the scalar kernel, which reports or handles it.

use super::row::{exp_row, max_of, sum_acc, ACC};
use super::{Consts, SCRATCH};
use crate::kernel::float::LossFloat;
use crate::kernel::level::Fallback;
use crate::kernel::softmax::spec::Weights;
use crate::kernel::vmath::madd;

/// One row `zr` with probability targets `tr`: its loss, and its gradient
/// (with upstream factor `s`) and Hessian diagonal where asked for; called
/// by the soft target rows' loop (`soft::run`).
#[inline(always)]
pub(super) fn row<F: LossFloat, const FMA: bool, const W512: bool>(
    k: &Consts<'_, F>,
    zr: &[F],
    tr: &[F],
    g: Option<(&mut [F], F)>,
    h: Option<&mut [F]>,
    scratch: &mut [F; SCRATCH],
) -> Result<F, Fallback> {
    let m = max_of::<F, W512>(zr);
    let (mut g, s) = match g {
        Some((g, s)) => (Some(g), s),
        None => (None, F::zero()),
    };
    let sum = exp_row::<F, FMA, W512>(zr, m, g.as_deref_mut(), scratch);
    let (mass, gap) = mass_gap(k, zr, tr, m);
    let loss = gap + mass * sum.vln();
    if !(loss.is_finite() && sum.is_finite()) {
        return Err(Fallback);
    }
    if let Some(g) = g {
        if let Some(h) = h {
            hessian_row(h, g, s * mass, F::one() / sum);
        }
        gradient_row::<F, FMA>(k, g, tr, mass / sum, s);
    }
    Ok(loss)
}

/// `(A, B)`: `Σ_k a_k` and `Σ_k a_k (mx - z_k)` (`0` where `t'_k = 0`),
/// vectorised with per-lane accumulators.
#[inline(always)]
fn mass_gap<F: LossFloat>(k: &Consts<'_, F>, zr: &[F], tr: &[F], mx: F) -> (F, F) {
    let mut acc = Lanes {
        mass: [F::zero(); ACC],
        gap: [F::zero(); ACC],
        ome: k.one_m_eps,
        e: k.e,
        mx,
    };
    let c = zr.len();
    let body = c / ACC * ACC;
    let mut wc = [F::zero(); ACC];
    for off in (0..body).step_by(ACC) {
        let w = match k.w {
            Weights::Uniform(v) => [v; ACC],
            Weights::PerClass(ws) => fixed(&ws[off..]),
        };
        acc.add(&fixed(&zr[off..]), &fixed(&tr[off..]), &w);
    }
    if body < c {
        // The tail, padded with classes that add exactly 0: weight 0 and
        // a logit at the maximum.
        let (mut zc, mut tc) = ([mx; ACC], [F::zero(); ACC]);
        let n = c - body;
        zc[..n].copy_from_slice(&zr[body..]);
        tc[..n].copy_from_slice(&tr[body..]);
        for (i, v) in wc[..n].iter_mut().enumerate() {
            *v = k.w.at(body + i);
        }
        acc.add(&zc, &tc, &wc);
    }
    (sum_acc(&acc.mass), sum_acc(&acc.gap))
}

/// The `ACC` values from the start of `v` (`v.len() >= ACC`).
#[inline(always)]
pub(super) fn fixed<F: Copy + Default>(v: &[F]) -> [F; ACC] {
    let mut a = [F::default(); ACC];
    a.copy_from_slice(&v[..ACC]);
    a
}

/// Per-lane partial sums of [`mass_gap`].
struct Lanes<F> {
    mass: [F; ACC],
    gap: [F; ACC],
    ome: F,
    e: F,
    mx: F,
}

impl<F: LossFloat> Lanes<F> {
    /// Adds `ACC` classes.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // one lane per index, as in the kernels
    fn add(&mut self, zc: &[F; ACC], tc: &[F; ACC], wc: &[F; ACC]) {
        let (mut tp, mut a, mut d) = ([F::zero(); ACC], [F::zero(); ACC], [F::zero(); ACC]);
        // One simple loop per quantity (a fused loop body stayed scalar).
        for i in 0..ACC {
            tp[i] = self.ome * tc[i] + self.e;
        }
        for i in 0..ACC {
            a[i] = wc[i] * tp[i];
        }
        for i in 0..ACC {
            self.mass[i] = self.mass[i] + a[i];
        }
        for i in 0..ACC {
            // `0 (mx - z)` is NaN for a masked `z`: select 0 instead.
            d[i] = if tp[i] == F::zero() {
                F::zero()
            } else {
                a[i] * (self.mx - zc[i])
            };
        }
        for i in 0..ACC {
            self.gap[i] = self.gap[i] + d[i];
        }
    }
}

/// `h_k = sa p_k (1 - p_k)`, `p_k = e_k inv`, over a row whose `g` holds
/// the exponentials `e_k` (`sa = s A`, `inv = 1 / Σ`).
#[inline(always)]
fn hessian_row<F: LossFloat>(h: &mut [F], g: &[F], sa: F, inv: F) {
    for (hk, &ek) in h.iter_mut().zip(g) {
        let p = ek * inv;
        *hk = sa * (p * (F::one() - p));
    }
}

/// `g_k = s (e_k ratio - a_k)` over a row whose `g` holds the exponentials
/// (`ratio = A / Σ`; `s` last, so a huge `s` cannot turn the difference of
/// two finite products into `inf - inf`).
#[inline(always)]
fn gradient_row<F: LossFloat, const FMA: bool>(
    k: &Consts<'_, F>,
    g: &mut [F],
    tr: &[F],
    ratio: F,
    s: F,
) {
    let (ome, e) = (k.one_m_eps, k.e);
    match k.w {
        Weights::Uniform(wv) => {
            for (gk, &tk) in g.iter_mut().zip(tr) {
                *gk = s * madd::<F, FMA>(*gk, ratio, -(wv * (ome * tk + e)));
            }
        }
        Weights::PerClass(ws) => {
            for ((gk, &tk), &wk) in g.iter_mut().zip(tr).zip(ws) {
                *gk = s * madd::<F, FMA>(*gk, ratio, -(wk * (ome * tk + e)));
            }
        }
    }
}
