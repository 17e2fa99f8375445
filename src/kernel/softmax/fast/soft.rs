//! Softmax focal loss with soft target mass, rows (`M = 1`): probability
//! targets, or class-index targets with label smoothing. (The rows' loop
//! also serves cross-entropy with probability targets, whose row is
//! `probs::row`.) With
//! `t'_k = (1 - eps) t_k + eps / C` (`t` one-hot for an index target),
//! `a_k = w_k t'_k` and `lp_k = (z_k - mx) - ln Σ`, the row's loss is
//! `Σ_k -a_k (1 - p_k)^gamma lp_k` and its gradient
//! `g_k = s (G_k - p_k Σ_c G_c)`, with `G_k = a_k g(lp_k)` and `g` the
//! focal derivative of `focal_with` (as the scalar kernel's `soft_row`).
//!
//! Passes over the row: the maximum; the exponentials and their sum (in
//! the gradient row); the focal terms per class, vectorised along the row,
//! accumulating the loss and `Σ G` (with `G_k` stored in the gradient
//! row); and, with a gradient, `p_k` again and the gradient in place. A
//! class with `t'_k = 0` adds nothing (so a masked `-inf` logit there stays
//! on this path); other non-finite values make the row's loss or sum
//! non-finite and the chunk goes to the scalar kernel, as do rows with a
//! weighted target mass above [`MAX_MASS`]. Focal loss's Hessian is the
//! blocks' (`soft_kdim`; `Fallback` here when one is requested).

use super::probs::{self, fixed};
use super::row::{exp_row, finite_or_masked, max_of, sum_acc, ACC};
use super::{Consts, SCRATCH};
use crate::kernel::chunks::Work;
use crate::kernel::float::LossFloat;
use crate::kernel::level::{dispatch_levels, Fallback, Level};
use crate::kernel::softmax::spec::{SoftmaxKind, Weights};

dispatch_levels! {
    /// Soft targets on one chunk of rows: cross-entropy with probability
    /// targets (`probs::row`), focal loss with soft target mass.
    fn run_level<F>(k: &Consts<'_, F>, c: usize, w: Work<'_, '_, '_, F>) -> Result<f64, Fallback> {
        generic => run::<F, false, false>(k, c, w),
        avx2 => run::<F, true, false>(k, c, w),
        avx512 => run::<F, true, true>(k, c, w),
    }
}

/// A row's targets.
#[derive(Clone, Copy)]
enum Soft<'a, F> {
    /// Probabilities `t_k`.
    Probs(&'a [F]),
    /// A class index (with label smoothing).
    Hot(usize),
}

impl<F: LossFloat> Soft<'_, F> {
    /// `t'_k` for the classes `off .. off + n` (`n <= ACC`), and `eps / C`
    /// (no target) in the lanes past `n`.
    #[inline(always)]
    fn fill(&self, k: &Consts<'_, F>, off: usize, n: usize) -> [F; ACC] {
        match *self {
            Soft::Probs(t) => {
                let mut tc = [F::zero(); ACC];
                if n == ACC {
                    tc = fixed(&t[off..]);
                } else {
                    tc[..n].copy_from_slice(&t[off..off + n]);
                }
                // A loop, not `tc.map(..)` (see `soft_kdim`).
                for v in &mut tc {
                    *v = k.one_m_eps * *v + k.e;
                }
                tc
            }
            Soft::Hot(y) => {
                let mut tp = [k.e; ACC];
                if (off..off + n).contains(&y) {
                    tp[y - off] = k.one_m_eps + k.e;
                }
                tp
            }
        }
    }
}

#[inline(always)]
fn run<F: LossFloat, const FMA: bool, const W512: bool>(
    k: &Consts<'_, F>,
    c: usize,
    w: Work<'_, '_, '_, F>,
) -> Result<f64, Fallback> {
    let (z, n) = (w.z, w.n);
    let probs = !w.aux.is_empty();
    let shapes_ok = if probs {
        w.aux.len() == z.len()
    } else {
        w.t.len() == n
    };
    // The Hessian only for cross-entropy (and with a gradient); the
    // dispatch sends focal loss's to the blocks.
    let focal = matches!(k.kind, SoftmaxKind::Focal { .. });
    if (w.hess.is_some() && (focal || w.grad.is_none())) || !shapes_ok {
        return Err(Fallback);
    }
    let (mut pt, mut grad, mut hess) = (w.per_target, w.grad, w.hess);
    let mut scratch = [F::zero(); SCRATCH];
    // Four partial sums (fixed order), as the other kernels.
    let mut acc = [0.0f64; 4];
    for r in 0..n {
        let span = r * c..(r + 1) * c;
        let zr = &z[span.clone()];
        let mut g = grad.as_mut().map(|(g, u)| (&mut g[span.clone()], u.at(r)));
        let soft = if probs {
            Soft::Probs(&w.aux[span.clone()])
        } else {
            Soft::Hot(w.t.key(r))
        };
        let loss = match soft {
            Soft::Hot(y) if k.ignore == Some(y) => {
                if !finite_or_masked(zr) {
                    return Err(Fallback);
                }
                if let Some((g, _)) = g {
                    g.fill(F::zero());
                }
                F::zero()
            }
            Soft::Probs(tr) if !focal => {
                let h = hess.as_deref_mut().map(|h| &mut h[span.clone()]);
                probs::row::<F, FMA, W512>(k, zr, tr, g, h, &mut scratch)?
            }
            _ => row::<F, FMA, W512>(k, zr, soft, g.as_mut(), &mut scratch)?,
        };
        acc[r % 4] += loss.to_f64_();
        if let Some(p) = pt.as_deref_mut() {
            p[r] = loss;
        }
    }
    Ok((acc[0] + acc[1]) + (acc[2] + acc[3]))
}

/// One row: its loss, and its gradient in `g` (with upstream factor).
#[inline(always)]
fn row<F: LossFloat, const FMA: bool, const W512: bool>(
    k: &Consts<'_, F>,
    zr: &[F],
    soft: Soft<'_, F>,
    mut g: Option<&mut (&mut [F], F)>,
    scratch: &mut [F; SCRATCH],
) -> Result<F, Fallback> {
    let mx = max_of::<F, W512>(zr);
    let sum = exp_row::<F, FMA, W512>(zr, mx, g.as_mut().map(|(g, _)| &mut **g), scratch);
    let lns = sum.vln();
    let mut acc = Acc {
        loss: [F::zero(); ACC],
        gsum: [F::zero(); ACC],
        mass: [F::zero(); ACC],
    };
    let c = zr.len();
    for off in (0..c).step_by(ACC) {
        let n = ACC.min(c - off);
        // A short last chunk is padded with classes that add exactly 0:
        // weight 0 and a logit at the maximum.
        let (mut zc, mut wc) = ([mx; ACC], [F::zero(); ACC]);
        if n == ACC {
            zc = fixed(&zr[off..]);
            wc = match k.w {
                Weights::Uniform(v) => [v; ACC],
                Weights::PerClass(ws) => fixed(&ws[off..]),
            };
        } else {
            zc[..n].copy_from_slice(&zr[off..]);
            for (i, v) in wc[..n].iter_mut().enumerate() {
                *v = k.w.at(off + i);
            }
        }
        let gf = acc.add(k, &zc, &soft.fill(k, off, n), &wc, mx, lns);
        if let Some((g, _)) = g.as_mut() {
            g[off..off + n].copy_from_slice(&gf[..n]);
        }
    }
    let (loss, gsum) = (sum_acc(&acc.loss), sum_acc(&acc.gsum));
    if !(loss.is_finite() && sum.is_finite() && gsum.is_finite()) {
        return Err(Fallback);
    }
    let mass = sum_acc(&acc.mass);
    if mass.is_nan() || mass > F::from_f64_(MAX_MASS) {
        return Err(Fallback);
    }
    if let Some((g, s)) = g {
        for (gk, &zk) in g.iter_mut().zip(zr) {
            let p = ((zk - mx) - lns).vexp();
            *gk = *s * (*gk - p * gsum);
        }
    }
    Ok(loss)
}

/// Rows whose weighted target mass `Σ_k a_k` exceeds this run on the
/// scalar kernel. A gradient entry `G_k - p_k Σ G` cancels terms of size
/// `a_k`, so its rounding error is relative to the mass, not to the result;
/// the scalar kernel takes its sums in another order, and for rows with
/// this much mass (probability targets
/// are at most 1 per row, smoothed index targets exactly 1) the two would
/// differ by more than rounding of the result. Below it they agree to
/// about `1e-4` of the weights in `f32`.
pub(super) const MAX_MASS: f64 = 65536.0;

/// Per-lane partial sums of a row's loss, `Σ G` and `Σ a`.
struct Acc<F> {
    loss: [F; ACC],
    gsum: [F; ACC],
    mass: [F; ACC],
}

impl<F: LossFloat> Acc<F> {
    /// Adds `ACC` classes (logits `zc`, target mass `tp`, weights `wc`);
    /// returns their `G_k`.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // one lane per index, as in the kernels
    fn add(
        &mut self,
        k: &Consts<'_, F>,
        zc: &[F; ACC],
        tp: &[F; ACC],
        wc: &[F; ACC],
        mx: F,
        lns: F,
    ) -> [F; ACC] {
        let (mut lp, mut md, mut gf, mut a) = (
            [F::zero(); ACC],
            [F::zero(); ACC],
            [F::zero(); ACC],
            [F::zero(); ACC],
        );
        // One simple loop per quantity (a fused loop body stays scalar).
        for i in 0..ACC {
            lp[i] = (zc[i] - mx) - lns;
        }
        k.focal_lanes(&lp, &mut md, &mut gf);
        for i in 0..ACC {
            a[i] = wc[i] * tp[i];
        }
        for i in 0..ACC {
            self.mass[i] = self.mass[i] + a[i];
        }
        for i in 0..ACC {
            // No target mass, no term: `0 lp` would be NaN for a masked
            // class (`lp = -inf`).
            let v = if tp[i] == F::zero() {
                F::zero()
            } else {
                a[i] * (md[i] * lp[i])
            };
            self.loss[i] = self.loss[i] - v;
        }
        for i in 0..ACC {
            gf[i] = if tp[i] == F::zero() {
                F::zero()
            } else {
                a[i] * gf[i]
            };
        }
        for i in 0..ACC {
            self.gsum[i] = self.gsum[i] + gf[i];
        }
        gf
    }
}
