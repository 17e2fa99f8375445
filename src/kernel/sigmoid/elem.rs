//! The per-element maths of the vectorised sigmoid kernel: loss, first
//! and second derivative of a block of elements, branch-free (selects
//! only), in the forms of the scalar kernel (`scalar::element`,
//! `scalar::element_hess`).

use super::ln1p::ln_1p_atanh_with;
use crate::kernel::float::LossFloat;
use crate::kernel::level::exp;
use crate::kernel::vmath::madd;

/// What [`math`] computes (`O`): the loss; and the derivative; and the
/// second derivative.
pub(super) const OUT_LOSS: u8 = 0;
pub(super) const OUT_GRAD: u8 = 1;
pub(super) const OUT_HESS: u8 = 2;

/// How `q^gamma` is evaluated (`P` of [`math`]).
pub(super) const POW_ZERO: u8 = 0;
pub(super) const POW_ONE: u8 = 1;
pub(super) const POW_TWO: u8 = 2;
pub(super) const POW_GENERAL: u8 = 3;

/// Losses, derivatives `dl/dx` (when `O >= OUT_GRAD`) and second
/// derivatives `d²l/dx²` (when `O == OUT_HESS`, see
/// `scalar::element_hess`) of a block; `P` selects the power, `HARD`
/// promises that every `y` is 0 or 1. Branch-free: the hard-label forms are
/// selected per element, so `HARD` changes no value. `FMA` fuses the
/// polynomial steps (the caller enabled the `fma` feature).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn math<F: LossFloat, const P: u8, const HARD: bool, const O: u8, const FMA: bool>(
    gamma: F,
    z: &[F],
    y: &[F],
    w0: &[F],
    w1: &[F],
    pw: &[F],
    loss: &mut [F],
    d: &mut [F],
    h: &mut [F],
) {
    let n = z.len();
    let (y, w0, w1, pw) = (&y[..n], &w0[..n], &w1[..n], &pw[..n]);
    let (loss, d, h) = (&mut loss[..n], &mut d[..n], &mut h[..n]);
    let (grad, hess) = (O >= OUT_GRAD, O == OUT_HESS);
    let (zero, one) = (F::zero(), F::one());
    let two = one + one;
    for i in 0..n {
        let x = z[i];
        let yv = y[i];
        // e = exp(-|x|); σ(|x|) = 1 / (1 + e), σ(-|x|) = e / (1 + e),
        // sp(-|x|) = ln(1 + e), sp(|x|) = |x| + ln(1 + e).
        // One reciprocal serves 1 / (1 + e) and s = e / (2 + e), whence
        // ln(1 + e) = 2 atanh(s).
        let e = exp::<F, FMA>(-x.abs());
        let d1 = one + e;
        let d2 = two + e;
        let rec = one / (d1 * d2);
        let inv = d2 * rec;
        let l1 = ln_1p_atanh_with::<F, FMA>(e * d1 * rec);
        let eb = e * inv;
        let pos = x >= zero;
        let a = if pos { inv } else { eb };
        let b = if pos { eb } else { inv };
        let sp_x = if pos { x } else { zero } + l1;
        let sp_mx = if pos { zero } else { -x } + l1;
        let ym = one - yv;
        let p = pw[i];
        let bce = madd::<F, FMA>(p * yv, sp_mx, ym * sp_x);
        let w = madd::<F, FMA>(w1[i], yv, w0[i] * ym);
        let db = madd::<F, FMA>(-(p * yv), b, ym * a);
        // B'' = a b (1 - y + pw y).
        let b2 = a * b * madd::<F, FMA>(p, yv, ym);
        if P == POW_ZERO {
            loss[i] = w * bce;
            if grad {
                d[i] = w * db;
            }
            if hess {
                h[i] = w * b2;
            }
            continue;
        }
        let is1 = yv == one;
        let is0 = yv == zero;
        let q = yv * b + ym * a;
        let r = if HARD {
            if is1 {
                a
            } else {
                b
            }
        } else {
            let r = a * b / q;
            if is1 {
                a
            } else if is0 {
                b
            } else {
                r
            }
        };
        let mm = if P == POW_ONE {
            q
        } else if P == POW_TWO {
            q * q
        } else {
            let lnq = if HARD {
                if is1 {
                    -sp_x
                } else {
                    -sp_mx
                }
            } else {
                let lq = q.vln();
                if is1 {
                    -sp_x
                } else if is0 {
                    -sp_mx
                } else {
                    lq
                }
            };
            exp::<F, FMA>(gamma * lnq)
        };
        loss[i] = w * (bce * mm);
        // As in the scalar kernel: 0, not 0 * inf, where r underflows.
        let rb = if r == zero { zero } else { r * bce };
        let sg = ym - yv;
        if grad {
            d[i] = w * mm * madd::<F, FMA>(gamma * sg, rb, db);
        }
        if hess {
            // B'' + 2 gamma s r B' + gamma s r (1 - 2a) B + gamma (gamma - 1) s² r² B.
            let gs = gamma * sg;
            let inner = b2
                + gs * (r * db + r * db)
                + gs * (one - a - a) * rb
                + gs * (gamma - one) * sg * r * rb;
            h[i] = w * mm * inner;
        }
    }
}
