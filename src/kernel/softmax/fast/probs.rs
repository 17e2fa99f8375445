//! Cross-entropy with probability targets (distillation, soft labels),
//! rows (`M = 1`): the row kernel's maximum and exponentials (stored in the
//! gradient row), one vectorised pass for the weighted target mass
//! `A = Σ_k a_k` and gap `B = Σ_k a_k (mx - z_k)`, with
//! `a_k = w_k ((1 - eps) t_k + eps / C)`, so that the row's loss is
//! `B + A ln Σ`, and one pass for the gradient
//! `g_k = s (A e_k / Σ - a_k)`. Non-finite logits make the loss or the sum
//! non-finite, and the chunk goes to the scalar kernel.

use super::row::{exp_sum, max_of, sum_acc, ACC};
use super::{Consts, SCRATCH};
use crate::kernel::chunks::Work;
use crate::kernel::float::LossFloat;
use crate::kernel::level::{dispatch_levels, Fallback, Level};
use crate::kernel::softmax::spec::Weights;
use crate::kernel::vmath::madd;

dispatch_levels! {
    /// Cross-entropy with probability targets on one chunk of rows.
    fn run_level<F>(k: &Consts<'_, F>, c: usize, w: Work<'_, '_, '_, F>) -> Result<f64, Fallback> {
        generic => run::<F, false, false>(k, c, w),
        avx2 => run::<F, true, false>(k, c, w),
        avx512 => run::<F, true, true>(k, c, w),
    }
}

#[inline(always)]
fn run<F: LossFloat, const FMA: bool, const W512: bool>(
    k: &Consts<'_, F>,
    c: usize,
    w: Work<'_, '_, '_, F>,
) -> Result<f64, Fallback> {
    if w.hess.is_some() || w.aux.len() != w.z.len() {
        return Err(Fallback);
    }
    let (z, t, n) = (w.z, w.aux, w.n);
    let (mut pt, mut grad) = (w.per_target, w.grad);
    let mut scratch = [F::zero(); SCRATCH];
    // Four partial sums (fixed order), as the other kernels.
    let mut acc = [0.0f64; 4];
    for r in 0..n {
        let (zr, tr) = (&z[r * c..(r + 1) * c], &t[r * c..(r + 1) * c]);
        let m = max_of::<F, W512>(zr);
        let sum = match grad.as_mut() {
            Some((g, _)) => {
                let g = &mut g[r * c..(r + 1) * c];
                let mut s = F::zero();
                for (zc, gc) in zr.chunks(SCRATCH).zip(g.chunks_mut(SCRATCH)) {
                    s = s + exp_sum::<F, FMA, W512>(zc, m, gc);
                }
                s
            }
            None => {
                let mut s = F::zero();
                for ch in zr.chunks(SCRATCH) {
                    s = s + exp_sum::<F, FMA, W512>(ch, m, &mut scratch[..ch.len()]);
                }
                s
            }
        };
        let (mass, gap) = mass_gap(k, zr, tr, m);
        let loss = gap + mass * sum.vln();
        if !(loss.is_finite() && sum.is_finite()) {
            return Err(Fallback);
        }
        acc[r % 4] += loss.to_f64_();
        if let Some(p) = pt.as_deref_mut() {
            p[r] = loss;
        }
        if let Some((g, u)) = grad.as_mut() {
            let s = u.at(r);
            gradient_row::<F, FMA>(k, &mut g[r * c..(r + 1) * c], tr, s * mass / sum, s);
        }
    }
    Ok((acc[0] + acc[1]) + (acc[2] + acc[3]))
}

/// `(A, B)`: `Σ_k a_k` and `Σ_k a_k (mx - z_k)`, vectorised with per-lane
/// accumulators.
#[inline(always)]
fn mass_gap<F: LossFloat>(k: &Consts<'_, F>, zr: &[F], tr: &[F], mx: F) -> (F, F) {
    let (ome, e) = (k.one_m_eps, k.e);
    // (Three simple loops per vector: one fused loop stayed scalar.)
    let mut am = [F::zero(); ACC];
    let mut gp = [F::zero(); ACC];
    let body = zr.len() / ACC * ACC;
    let (zb, tb) = (zr[..body].chunks_exact(ACC), tr[..body].chunks_exact(ACC));
    match k.w {
        Weights::Uniform(wv) => {
            for (zc, tc) in zb.zip(tb) {
                let mut a = [F::zero(); ACC];
                for i in 0..ACC {
                    a[i] = wv * (ome * tc[i] + e);
                }
                for i in 0..ACC {
                    am[i] = am[i] + a[i];
                }
                for i in 0..ACC {
                    gp[i] = gp[i] + a[i] * (mx - zc[i]);
                }
            }
            for (i, (&zk, &tk)) in zr[body..].iter().zip(&tr[body..]).enumerate() {
                let a = wv * (ome * tk + e);
                am[i] = am[i] + a;
                gp[i] = gp[i] + a * (mx - zk);
            }
        }
        Weights::PerClass(ws) => {
            for ((zc, tc), wc) in zb.zip(tb).zip(ws[..body].chunks_exact(ACC)) {
                let mut a = [F::zero(); ACC];
                for i in 0..ACC {
                    a[i] = wc[i] * (ome * tc[i] + e);
                }
                for i in 0..ACC {
                    am[i] = am[i] + a[i];
                }
                for i in 0..ACC {
                    gp[i] = gp[i] + a[i] * (mx - zc[i]);
                }
            }
            let tail = zr[body..].iter().zip(&tr[body..]).zip(&ws[body..]);
            for (i, ((&zk, &tk), &wk)) in tail.enumerate() {
                let a = wk * (ome * tk + e);
                am[i] = am[i] + a;
                gp[i] = gp[i] + a * (mx - zk);
            }
        }
    }
    (sum_acc(&am), sum_acc(&gp))
}

/// `g_k = e_k alpha - s a_k` over a row whose `g` holds the exponentials.
#[inline(always)]
fn gradient_row<F: LossFloat, const FMA: bool>(
    k: &Consts<'_, F>,
    g: &mut [F],
    tr: &[F],
    alpha: F,
    s: F,
) {
    let (ome, e) = (k.one_m_eps, k.e);
    match k.w {
        Weights::Uniform(wv) => {
            let sw = -s * wv;
            for (gk, &tk) in g.iter_mut().zip(tr) {
                *gk = madd::<F, FMA>(*gk, alpha, sw * (ome * tk + e));
            }
        }
        Weights::PerClass(ws) => {
            for ((gk, &tk), &wk) in g.iter_mut().zip(tr).zip(ws) {
                *gk = madd::<F, FMA>(*gk, alpha, -s * wk * (ome * tk + e));
            }
        }
    }
}
