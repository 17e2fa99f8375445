//! NLL needs no exponentials: one vectorised pass checks every input and
//! zeroes the gradient, then each position writes its one entry.

use super::row::{all_finite, sum_acc, ACC};
use super::{Consts, Fallback};
use crate::float::LossFloat;
use crate::kernel::chunks::Work;
use crate::kernel::Upstream;

/// NLL over a sub-batch of `w.n` items with `C` classes and `M` positions.
#[inline(always)]
pub(crate) fn run<F: LossFloat>(
    k: &Consts<'_, F>,
    c: usize,
    m: usize,
    w: Work<'_, '_, '_, F>,
) -> Result<f64, Fallback> {
    let (z, t) = (w.z, w.t);
    let mut grad = w.grad;
    let mut pt = w.per_target;
    let finite = match grad.as_mut() {
        Some((g, _)) => check_and_zero(z, g),
        None => all_finite(z),
    };
    if !finite {
        // NaN / +inf (an error) or -inf (log 0): the scalar kernel handles it.
        return Err(Fallback);
    }
    // Four partial sums (fixed order) instead of one serial chain.
    let mut acc = [0.0f64; 4];
    let mut g = grad;
    if m == 1 {
        for (p, &y) in t.iter().enumerate().take(w.n) {
            let l = position(k, z, &mut g, p, p * c, y, 1);
            put(&mut pt, &mut acc, p, l);
        }
    } else {
        for b in 0..w.n {
            for (j, &y) in t[b * m..(b + 1) * m].iter().enumerate() {
                let l = position(k, z, &mut g, b * m + j, b * c * m + j, y, m);
                put(&mut pt, &mut acc, b * m + j, l);
            }
        }
    }
    let total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    Ok(total)
}

/// Loss of position `p` whose class-0 input is at `i` (classes `m` apart),
/// writing its one gradient entry.
#[inline(always)]
fn position<F: LossFloat>(
    k: &Consts<'_, F>,
    z: &[F],
    g: &mut Option<(&mut [F], Upstream<'_, F>)>,
    p: usize,
    i: usize,
    y: usize,
    m: usize,
) -> F {
    if k.ignore == Some(y) {
        return F::zero();
    }
    let wy = k.w.at(y);
    if let Some((g, u)) = g.as_mut() {
        g[i + y * m] = -u.at(p) * wy;
    }
    -wy * z[i + y * m]
}

/// Records one per-position loss.
#[inline(always)]
fn put<F: LossFloat>(pt: &mut Option<&mut [F]>, acc: &mut [f64; 4], p: usize, l: F) {
    if let Some(pt) = pt.as_deref_mut() {
        pt[p] = l;
    }
    acc[p % 4] += l.to_f64_();
}

/// One pass: whether every `z` is finite, and `g = 0`.
#[inline(always)]
fn check_and_zero<F: LossFloat>(z: &[F], g: &mut [F]) -> bool {
    // v * 0 is NaN exactly for NaN and infinite v.
    let mut chk = [F::zero(); ACC];
    let mut zc = z.chunks_exact(ACC);
    let mut gc = g.chunks_exact_mut(ACC);
    for (zch, gch) in (&mut zc).zip(&mut gc) {
        for i in 0..ACC {
            chk[i] = chk[i] + zch[i] * F::zero();
            gch[i] = F::zero();
        }
    }
    for (i, (&v, gv)) in zc.remainder().iter().zip(gc.into_remainder()).enumerate() {
        chk[i] = chk[i] + v * F::zero();
        *gv = F::zero();
    }
    !sum_acc(&chk).is_nan()
}
