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

use super::{Geom, KernelError, Upstream};
use crate::float::LossFloat;

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
struct Class<F> {
    alpha: Option<F>,
    weight: F,
    pos_weight: F,
}

impl<F: LossFloat> SigmoidSpec<'_, F> {
    #[inline(always)]
    fn class(&self, k: usize) -> Class<F> {
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
    #[inline(always)]
    fn scale(&self, y: F) -> F {
        match self.alpha {
            None => self.weight,
            Some(a) => self.weight * (a * y + (F::one() - a) * (F::one() - y)),
        }
    }
}

/// Where the kernel writes: per-element losses and/or the gradient, both of
/// the logits' length.
pub(crate) struct Outputs<'o, 'u, F> {
    pub per_target: Option<&'o mut [F]>,
    pub grad: Option<(&'o mut [F], Upstream<'u, F>)>,
}

/// Loss `l = w M B` of one element with finite logit `x`, smoothed target
/// `y` in `[0, 1]`, element weight `w` and positive weight `pw`, and (when
/// `want_grad`) its derivative `dl/dx` (otherwise `0`).
#[inline(always)]
pub(crate) fn element<F: LossFloat>(x: F, y: F, gamma: F, w: F, pw: F, want_grad: bool) -> (F, F) {
    let one = F::one();
    let zero = F::zero();
    // e = exp(-|x|) in (0, 1]; σ(|x|) = 1 / (1 + e), σ(-|x|) = e / (1 + e),
    // sp(-|x|) = ln1p(e), sp(|x|) = |x| + ln1p(e).
    let e = (-x.abs()).exp();
    let l1 = e.ln_1p();
    let inv = one / (one + e);
    let (a, b, sp_x, sp_mx) = if x >= zero {
        (inv, e * inv, x + l1, l1)
    } else {
        (e * inv, inv, l1, l1 - x)
    };
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
    let (m, r) = if y == one {
        ((-gamma * sp_x).exp(), a)
    } else if y == zero {
        ((-gamma * sp_mx).exp(), b)
    } else {
        let q = y * b + ym * a;
        (q.powf(gamma), a * b / q)
    };
    let loss = w * bce * m;
    if !want_grad {
        return (loss, zero);
    }
    let d = w * m * ((ym * a - pw * y * b) + gamma * (ym - y) * (r * bce));
    (loss, d)
}

/// Runs the kernel over every element; returns the sum of the per-element
/// losses (in `f64`, summed in element order). `t` holds the raw targets
/// (validated to lie in `[0, 1]` wherever not ignored); `ignore[i] = true`
/// gives element `i` loss 0 and gradient 0.
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
                let (loss, d) = if ignore.is_some_and(|ig| ig[i]) {
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
