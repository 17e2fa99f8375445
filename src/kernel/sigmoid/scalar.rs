//! The scalar reference kernel of the sigmoid family (std maths, one
//! element at a time), against which the vectorised kernel is tested and
//! to which it falls back.

use super::spec::SigmoidSpec;
use crate::kernel::float::LossFloat;
use crate::kernel::Outputs;
use crate::kernel::{Geom, KernelError};

/// `(σ(x), σ(-x), sp(x), sp(-x))` for a finite `x`: with `e = exp(-|x|)`
/// in `(0, 1]`, `σ(|x|) = 1 / (1 + e)`, `σ(-|x|) = e / (1 + e)`,
/// `sp(-|x|) = ln1p(e)`, `sp(|x|) = |x| + ln1p(e)`.
#[inline(always)]
fn sigmoids<F: LossFloat>(x: F) -> (F, F, F, F) {
    let e = (-x.abs()).exp();
    let l1 = e.ln_1p();
    let inv = F::one() / (F::one() + e);
    if x >= F::zero() {
        (inv, e * inv, x + l1, l1)
    } else {
        (e * inv, inv, l1, l1 - x)
    }
}

/// The focal factor `M = q^gamma` and `r = a b / q` for the smoothed
/// target `y` (`ym = 1 - y`); `M` in log space for hard labels, so it does
/// not underflow before the true value does.
#[inline(always)]
fn focal_factor<F: LossFloat>(y: F, ym: F, gamma: F, (a, b, sp_x, sp_mx): (F, F, F, F)) -> (F, F) {
    if y == F::one() {
        ((-gamma * sp_x).exp(), a)
    } else if y == F::zero() {
        ((-gamma * sp_mx).exp(), b)
    } else {
        let q = y * b + ym * a;
        (q.powf(gamma), a * b / q)
    }
}

/// Loss `l = w M B` of one element with finite logit `x`, smoothed target
/// `y` in `[0, 1]`, element weight `w` and positive weight `pw`, and (when
/// `want_grad`) its derivative `dl/dx` (otherwise `0`).
#[inline(always)]
pub(crate) fn element<F: LossFloat>(x: F, y: F, gamma: F, w: F, pw: F, want_grad: bool) -> (F, F) {
    let one = F::one();
    let zero = F::zero();
    if w == zero {
        // Not `0 * inf` where the BCE term overflows (x near -MAX, pw > 1).
        return (zero, zero);
    }
    let (a, b, sp_x, sp_mx) = sigmoids(x);
    let ym = one - y;
    let bce = pw * y * sp_mx + ym * sp_x;
    if gamma == zero {
        let d = if want_grad {
            w * (ym * a - pw * y * b)
        } else {
            zero
        };
        return (w * bce, d);
    }
    let (m, r) = focal_factor(y, ym, gamma, (a, b, sp_x, sp_mx));
    let loss = if bce.is_infinite() {
        // `pw y sp(-x)` overflowed (x near -MAX, pw > 1) while the focal
        // factor m may be tiny: multiply in log space.
        let ln_m = if y == one {
            -gamma * sp_x
        } else if y == zero {
            -gamma * sp_mx
        } else {
            gamma * q_ln(y, ym, a, b)
        };
        // `w` folded into the exponent: `w · bce · m` may be finite (a
        // rescaled weight) although `bce · m` is not.
        (w.ln() + ln_sum(pw * y, sp_mx, ym, sp_x) + ln_m).exp()
    } else {
        w * (bce * m)
    };
    if !want_grad {
        return (loss, zero);
    }
    // r -> 0 faster than bce -> inf as |x| grows: take the limit 0 where
    // r underflows and bce overflows (x near -MAX with pw > 1).
    let rb = if r == zero { zero } else { r * bce };
    let d = w * m * ((ym * a - pw * y * b) + gamma * (ym - y) * rb);
    (loss, d)
}

/// The second derivative `d²l/dx²` of one element's loss `l = w M B` (see
/// [`element`]): with `s = 1 - 2y`, `r = a b / q` in `[0, 1]`,
/// `B' = (1-y) a - pw y b` and `B'' = a b (1 - y + pw y)`,
///
/// `l'' = w M [B'' + 2 gamma s r B' + gamma s r (1 - 2a) B + gamma (gamma - 1) s² r² B]`,
///
/// from `M' = gamma s r M` and `r' = r (1 - 2a) - s r²`. No `q^(gamma-2)`
/// appears, so it is finite for every finite `x` and `gamma >= 0`. With
/// `gamma = 0` it is BCE's `w a b (1 - y + pw y)`.
pub(crate) fn element_hess<F: LossFloat>(x: F, y: F, gamma: F, w: F, pw: F) -> F {
    let (one, zero) = (F::one(), F::zero());
    if w == zero {
        return zero;
    }
    let (a, b, sp_x, sp_mx) = sigmoids(x);
    let ym = one - y;
    let ab = a * b;
    let b2 = ab * (ym + pw * y);
    if gamma == zero {
        return w * b2;
    }
    let bce = pw * y * sp_mx + ym * sp_x;
    let (m, r) = focal_factor(y, ym, gamma, (a, b, sp_x, sp_mx));
    if m == zero {
        return zero;
    }
    let s = ym - y;
    let b1 = ym * a - pw * y * b;
    // r B -> 0 where r underflows and B overflows (see `element`).
    let rb = if r == zero { zero } else { r * bce };
    let inner = b2
        + gamma * s * (r * b1 + r * b1)
        + gamma * s * (one - a - a) * rb
        + gamma * (gamma - one) * s * s * r * rb;
    w * m * inner
}

/// `ln(y b + (1 - y) a)`, the log of the focal base for a soft target.
fn q_ln<F: LossFloat>(y: F, ym: F, a: F, b: F) -> F {
    (y * b + ym * a).ln()
}

/// `ln(p u + q v)` for `p, q >= 0`, `u, v >= 0`, not both products zero,
/// without forming the (overflowing) products.
fn ln_sum<F: LossFloat>(p: F, u: F, q: F, v: F) -> F {
    let term = |c: F, x: F| {
        if c > F::zero() && x > F::zero() {
            c.ln() + x.ln()
        } else {
            F::neg_infinity()
        }
    };
    let (s, t) = (term(p, u), term(q, v));
    let (hi, lo) = if s >= t { (s, t) } else { (t, s) };
    hi + (lo - hi).exp().ln_1p()
}

/// The reference kernel: std maths, one element at a time. Returns the
/// sum of the per-element losses (in `f64`, summed in element order). `t` holds the raw targets
/// (validated to lie in `[0, 1]` wherever not ignored); `ignore[i] = true`
/// gives element `i` loss 0 and gradient 0.
///
/// Errors: a NaN or `+inf` logit anywhere; a `-inf` logit on a
/// non-ignored element whose smoothed target is not 0.
pub(crate) fn run_scalar<F: LossFloat>(
    spec: &SigmoidSpec<'_, F>,
    z: &[F],
    t: &[F],
    ignore: Option<&[bool]>,
    geom: Geom,
    mut out: Outputs<'_, '_, F>,
) -> Result<f64, KernelError> {
    let Geom { n, c, m } = geom;
    debug_assert_eq!(z.len(), geom.len());
    debug_assert_eq!(t.len(), geom.len());
    let want_grad = out.grad.is_some();
    let mut total = 0.0_f64;
    for b in 0..n {
        for k in 0..c {
            let class = spec.class(k);
            let base = (b * c + k) * m;
            for i in base..base + m {
                let x = z[i];
                if x.is_nan() || x == F::infinity() {
                    return Err(KernelError::NonFinite(i));
                }
                let ignored = ignore.is_some_and(|ig| ig[i]);
                let (loss, d) = if ignored {
                    (F::zero(), F::zero())
                } else {
                    let y = spec.smooth(t[i]);
                    if x == F::neg_infinity() {
                        // σ(x) = 0: finite (zero) only for a zero target.
                        if y != F::zero() {
                            return Err(KernelError::Masked(i));
                        }
                        (F::zero(), F::zero())
                    } else {
                        element(
                            x,
                            y,
                            spec.gamma,
                            class.scale(y),
                            class.pos_weight,
                            want_grad,
                        )
                    }
                };
                if let Some(pt) = out.per_target.as_deref_mut() {
                    pt[i] = loss;
                }
                if let Some((g, u)) = out.grad.as_mut() {
                    g[i] = u.at(i) * d;
                    if let Some(h) = out.hess.as_deref_mut() {
                        h[i] = if ignored || x == F::neg_infinity() {
                            F::zero()
                        } else {
                            let y = spec.smooth(t[i]);
                            let ew = class.scale(y);
                            u.at(i) * element_hess(x, y, spec.gamma, ew, class.pos_weight)
                        };
                    }
                }
                total += loss.to_f64_();
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every finite logit, every gamma: finite loss and derivative.
    #[test]
    fn element_is_finite_at_extremes() {
        for &x in &[-1e300_f64, -1e4, -40.0, -1.0, 0.0, 1.0, 40.0, 1e4, 1e300] {
            for &y in &[0.0, 0.25, 1.0] {
                for &g in &[0.0, 0.25, 0.5, 1.0, 2.0] {
                    let (l, d) = element(x, y, g, 0.75, 3.0, true);
                    assert!(l.is_finite() && d.is_finite(), "x={x} y={y} g={g}");
                }
            }
        }
        for &x in &[-1e4_f32, -100.0, 100.0, 1e4] {
            for &y in &[0.0_f32, 0.5, 1.0] {
                for &g in &[0.0_f32, 0.5, 2.0] {
                    let (l, d) = element(x, y, g, 1.0, 2.0, true);
                    assert!(l.is_finite() && d.is_finite(), "x={x} y={y} g={g}");
                }
            }
        }
    }
}
