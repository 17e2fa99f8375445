//! The row kernel: one contiguous row of `C >= ROW_MIN_C` classes,
//! vectorised along the row with per-lane accumulators.

use super::{Consts, Fallback, SCRATCH};
use crate::float::LossFloat;
use crate::kernel::softmax::{SoftmaxKind, Weights};

/// Accumulator width for reductions along a row.
const ACC: usize = 16;

/// Whether every value is finite (no NaN, no infinity); vectorised.
#[inline(always)]
pub(super) fn all_finite<F: LossFloat>(v: &[F]) -> bool {
    // v * 0 is NaN exactly for NaN and infinite v.
    let mut chk = [F::zero(); ACC];
    let mut chunks = v.chunks_exact(ACC);
    for ch in &mut chunks {
        for i in 0..ACC {
            chk[i] = chk[i] + ch[i] * F::zero();
        }
    }
    for (i, &x) in chunks.remainder().iter().enumerate() {
        chk[i] = chk[i] + x * F::zero();
    }
    !sum_acc(&chk).is_nan()
}

/// Row maximum, and whether every value is finite; vectorised.
#[inline(always)]
pub(super) fn row_max<F: LossFloat>(zr: &[F]) -> (F, bool) {
    let mut mx = [F::neg_infinity(); ACC];
    // Turns NaN if any value is NaN or infinite (v * 0).
    let mut chk = [F::zero(); ACC];
    let mut chunks = zr.chunks_exact(ACC);
    for ch in &mut chunks {
        for i in 0..ACC {
            let v = ch[i];
            chk[i] = chk[i] + v * F::zero();
            mx[i] = if v > mx[i] { v } else { mx[i] };
        }
    }
    // The tail as one padded vector: -inf for the max, 0 for the check.
    let tail = chunks.remainder();
    let mut pm = [F::neg_infinity(); ACC];
    let mut pc = [F::zero(); ACC];
    pm[..tail.len()].copy_from_slice(tail);
    pc[..tail.len()].copy_from_slice(tail);
    for i in 0..ACC {
        chk[i] = chk[i] + pc[i] * F::zero();
        mx[i] = if pm[i] > mx[i] { pm[i] } else { mx[i] };
    }
    let mut m = mx[0];
    for &v in &mx[1..] {
        m = if v > m { v } else { m };
    }
    (m, !sum_acc(&chk).is_nan())
}

/// `dst[k] = exp(zr[k] - mx)`; returns `Σ_k dst[k]`.
#[inline(always)]
fn exp_store_sum<F: LossFloat>(zr: &[F], mx: F, dst: &mut [F]) -> F {
    let mut acc = [F::zero(); ACC];
    let mut zc = zr.chunks_exact(ACC);
    let mut dc = dst.chunks_exact_mut(ACC);
    for (zch, dch) in (&mut zc).zip(&mut dc) {
        for i in 0..ACC {
            let e = (zch[i] - mx).vexp();
            dch[i] = e;
            acc[i] = acc[i] + e;
        }
    }
    // The tail as one padded vector (exp(-inf) = 0), not a scalar loop.
    let (zt, dt) = (zc.remainder(), dc.into_remainder());
    let mut pad = [F::neg_infinity(); ACC];
    pad[..zt.len()].copy_from_slice(zt);
    for i in 0..ACC {
        let e = (pad[i] - mx).vexp();
        pad[i] = e;
        acc[i] = acc[i] + e;
    }
    dt.copy_from_slice(&pad[..dt.len()]);
    sum_acc(&acc)
}

#[inline(always)]
fn sum_acc<F: LossFloat>(acc: &[F; ACC]) -> F {
    // Pairwise, fixed order.
    let mut v = *acc;
    let mut w = ACC;
    while w > 1 {
        w /= 2;
        for i in 0..w {
            v[i] = v[i] + v[i + w];
        }
    }
    v[0]
}

/// One contiguous row of `C >= ROW_MIN_C` classes with target `y` (not
/// ignored). `g` is the gradient row, or `None` for the loss alone.
#[inline(always)]
pub(crate) fn row<F: LossFloat>(
    k: &Consts<'_, F>,
    zr: &[F],
    y: usize,
    g: Option<(&mut [F], F)>,
    scratch: &mut [F; SCRATCH],
) -> Result<F, Fallback> {
    let (mx, finite) = row_max(zr);
    if !finite {
        // NaN, +inf, or -inf (masked classes): the scalar kernel handles it.
        return Err(Fallback);
    }
    let wy = k.w.at(y);
    let mut g = g;
    let sum = match g.as_mut() {
        Some((g, _)) => exp_store_sum(zr, mx, g),
        None => {
            let mut sum = F::zero();
            for ch in zr.chunks(SCRATCH) {
                sum = sum + exp_store_sum(ch, mx, &mut scratch[..ch.len()]);
            }
            sum
        }
    };
    let lns = sum.vln();
    let zy = zr[y];
    let (loss, a, b, d) = if let SoftmaxKind::Focal { .. } = k.kind {
        let lp = (zy - mx) - lns;
        let (md, gf) = k.focal(lp);
        let f = wy * gf;
        (-wy * md * lp, -f / sum, F::zero(), f)
    } else {
        let mut loss = k.one_m_eps * wy * ((mx - zy) + lns);
        if k.smoothing() {
            let mut acc = [F::zero(); ACC];
            let mut zc = zr.chunks_exact(ACC);
            let mut cl = 0;
            for ch in &mut zc {
                for i in 0..ACC {
                    acc[i] = acc[i] + k.w.at(cl + i) * ((mx - ch[i]) + lns);
                }
                cl += ACC;
            }
            for (i, &v) in zc.remainder().iter().enumerate() {
                acc[i] = acc[i] + k.w.at(cl + i) * ((mx - v) + lns);
            }
            loss = loss + k.e * sum_acc(&acc);
        }
        let coef = k.one_m_eps * wy + k.e * k.wsum;
        (loss, coef / sum, -k.e, -k.one_m_eps * wy)
    };
    if let Some((g, s)) = g {
        let (a, b, d) = (s * a, s * b, s * d);
        match k.w {
            Weights::Uniform(w) => {
                let bw = b * w;
                for gv in g.iter_mut() {
                    *gv = *gv * a + bw;
                }
            }
            Weights::PerClass(w) => {
                for (gv, &wc) in g.iter_mut().zip(w) {
                    *gv = *gv * a + b * wc;
                }
            }
        }
        g[y] = g[y] + d;
    }
    Ok(loss)
}
