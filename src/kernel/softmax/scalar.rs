//! The reference softmax-family kernel: one position at a time, std
//! maths, any targets; it reports errors exactly and handles what the
//! vectorised kernels decline (masked classes, probability targets, ..).

use super::spec::{SoftmaxKind, SoftmaxSpec, TargetSlice};
use crate::kernel::float::LossFloat;
use crate::kernel::{Geom, KernelError, Outputs};

/// `(1 - p)^gamma` and `g = (1 - p)^gamma (gamma p r - 1)` for `lp = ln p`,
/// with `1 - p = -expm1(lp)` and `r = lp / (1 - p)` (`-1` at `lp = 0`), so
/// that `d/d lp [-(1-p)^gamma lp] = g` stays finite for every `gamma >= 0`.
#[inline(always)]
pub(crate) fn focal_terms<F: LossFloat>(lp: F, gamma: F) -> (F, F) {
    if gamma == F::zero() {
        return (F::one(), -F::one());
    }
    let p = lp.exp();
    let omp = -lp.exp_m1();
    let md = omp.powf(gamma);
    let r = if lp == F::zero() { -F::one() } else { lp / omp };
    // p r -> 0 as p -> 0; where p underflows to 0 with lp = -inf (a logit
    // spread beyond the float range) take the limit instead of 0 * inf.
    let pr = if p == F::zero() { F::zero() } else { p * r };
    (md, md * (gamma * pr - F::one()))
}

/// The reference kernel: one position at a time, std maths, any targets.
pub(crate) fn run_scalar<F: LossFloat>(
    spec: &SoftmaxSpec<'_, F>,
    z: &[F],
    targets: TargetSlice<'_, F>,
    geom: Geom,
    mut out: Outputs<'_, '_, F>,
) -> Result<f64, KernelError> {
    let Geom { n, c, m } = geom;
    let weight_sum = spec.weight.sum(c);
    let mut total = 0.0_f64;
    for b in 0..n {
        for j in 0..m {
            let p = b * m + j;
            let row = Row {
                base: b * c * m + j,
                stride: m,
                c,
            };
            let grad = out.grad.as_mut().map(|(g, u)| (&mut **g, u.at(p)));
            let loss = match targets {
                TargetSlice::Index(t) => {
                    let y = t.key(p);
                    if spec.ignore_index == Some(y) {
                        row.check_finite(z)?;
                        if let Some((g, _)) = grad {
                            row.fill(g, F::zero());
                        }
                        F::zero()
                    } else {
                        index_row(spec, weight_sum, z, row, y, grad)?
                    }
                }
                TargetSlice::Probs(t) => {
                    let eps = smoothing(spec.kind);
                    let cf = F::from_f64_(c as f64);
                    let tp = |k: usize| {
                        let v = t[row.at(k)];
                        if eps == F::zero() {
                            v
                        } else {
                            (F::one() - eps) * v + eps / cf
                        }
                    };
                    soft_row(spec, z, row, tp, grad)?
                }
            };
            if let Some(pt) = out.per_target.as_deref_mut() {
                pt[p] = loss;
            }
            total += loss.to_f64_();
        }
    }
    Ok(total)
}

fn smoothing<F: LossFloat>(kind: SoftmaxKind<F>) -> F {
    match kind {
        SoftmaxKind::Nll => F::zero(),
        SoftmaxKind::CrossEntropy { smoothing } | SoftmaxKind::Focal { smoothing, .. } => smoothing,
    }
}

/// A row's log-sum-exp in two parts, so that `lp = (z - mx) - lns` keeps
/// full relative precision even when `|mx|` is large (in `f32`, `mx + lns`
/// rounded to one number would cost up to `ulp(mx)` in every `lp`).
#[derive(Debug, Clone, Copy)]
struct Lse<F> {
    mx: F,
    lns: F,
}

impl<F: LossFloat> Lse<F> {
    /// `ln p = (z - mx) - ln Σ`.
    #[inline(always)]
    fn lp(&self, z: F) -> F {
        (z - self.mx) - self.lns
    }
    /// `-ln p = (mx - z) + ln Σ`.
    #[inline(always)]
    fn neg_lp(&self, z: F) -> F {
        (self.mx - z) + self.lns
    }
}

/// One position: offset of class 0 and the stride between classes.
#[derive(Debug, Clone, Copy)]
struct Row {
    base: usize,
    stride: usize,
    c: usize,
}

impl Row {
    #[inline(always)]
    fn at(&self, k: usize) -> usize {
        self.base + k * self.stride
    }

    /// Maximum of the row; NaN or `+inf` is an error.
    #[inline(always)]
    fn max<F: LossFloat>(&self, z: &[F]) -> Result<F, KernelError> {
        let mut mx = F::neg_infinity();
        for k in 0..self.c {
            let v = z[self.at(k)];
            if v.is_nan() || v == F::infinity() {
                return Err(KernelError::NonFinite(self.at(k)));
            }
            if v > mx {
                mx = v;
            }
        }
        Ok(mx)
    }

    fn check_finite<F: LossFloat>(&self, z: &[F]) -> Result<(), KernelError> {
        self.max(z).map(|_| ())
    }

    /// The row's log-sum-exp, kept as `(max, ln Σ exp(z_k - max))`.
    #[inline(always)]
    fn lse<F: LossFloat>(&self, z: &[F]) -> Result<Lse<F>, KernelError> {
        let mx = self.max(z)?;
        if mx == F::neg_infinity() {
            // Every class masked: exp(lp) = 0 for all, and no NaN.
            return Ok(Lse {
                mx: F::zero(),
                lns: F::zero(),
            });
        }
        let mut s = F::zero();
        for k in 0..self.c {
            s = s + (z[self.at(k)] - mx).exp();
        }
        Ok(Lse { mx, lns: s.ln() })
    }

    fn fill<F: LossFloat>(&self, g: &mut [F], v: F) {
        for k in 0..self.c {
            g[self.at(k)] = v;
        }
    }

    /// Errors if the logit of class `k` is `-inf` (a masked class).
    #[inline(always)]
    fn unmasked<F: LossFloat>(&self, z: &[F], k: usize) -> Result<F, KernelError> {
        let v = z[self.at(k)];
        if v == F::neg_infinity() {
            Err(KernelError::Masked(self.at(k)))
        } else {
            Ok(v)
        }
    }
}

/// One position with a class-index target `y` (already range-checked).
fn index_row<F: LossFloat>(
    spec: &SoftmaxSpec<'_, F>,
    weight_sum: F,
    z: &[F],
    row: Row,
    y: usize,
    grad: Option<(&mut [F], F)>,
) -> Result<F, KernelError> {
    let w = spec.weight;
    let wy = w.at(y);
    match spec.kind {
        SoftmaxKind::Nll => {
            row.check_finite(z)?;
            let xy = row.unmasked(z, y)?;
            if let Some((g, s)) = grad {
                row.fill(g, F::zero());
                g[row.at(y)] = -s * wy;
            }
            Ok(-wy * xy)
        }
        SoftmaxKind::CrossEntropy { smoothing: eps } => {
            let lse = row.lse(z)?;
            let zy = row.unmasked(z, y)?;
            // `wmul`: a zero weight times an infinite -ln p (a logit spread
            // beyond the float range) contributes 0, not NaN.
            let mut loss = wmul((F::one() - eps) * wy, lse.neg_lp(zy));
            let cf = F::from_f64_(row.c as f64);
            let e = eps / cf;
            if eps > F::zero() {
                let mut acc = F::zero();
                for k in 0..row.c {
                    acc = acc + wmul(w.at(k), lse.neg_lp(row.unmasked(z, k)?));
                }
                loss = loss + wmul(e, acc);
            }
            if let Some((g, s)) = grad {
                let coef = (F::one() - eps) * wy + e * weight_sum;
                for k in 0..row.c {
                    let pk = lse.lp(z[row.at(k)]).exp();
                    g[row.at(k)] = s * (pk * coef - e * w.at(k));
                }
                g[row.at(y)] = g[row.at(y)] - s * (F::one() - eps) * wy;
            }
            Ok(loss)
        }
        SoftmaxKind::Focal {
            gamma,
            smoothing: eps,
        } => {
            if eps > F::zero() {
                let cf = F::from_f64_(row.c as f64);
                let tp = |k: usize| {
                    let hot = if k == y { F::one() - eps } else { F::zero() };
                    hot + eps / cf
                };
                return soft_row(spec, z, row, tp, grad);
            }
            let lse = row.lse(z)?;
            let lp = lse.lp(row.unmasked(z, y)?);
            let (md, gy) = focal_terms(lp, gamma);
            if let Some((g, s)) = grad {
                let f = s * wy * gy;
                for k in 0..row.c {
                    let pk = lse.lp(z[row.at(k)]).exp();
                    g[row.at(k)] = -f * pk;
                }
                g[row.at(y)] = g[row.at(y)] + f;
            }
            Ok(-wmul(wy, md * lp))
        }
    }
}

/// `w v`, with `0 v = 0` even for an infinite `v`.
#[inline(always)]
fn wmul<F: LossFloat>(w: F, v: F) -> F {
    if w == F::zero() {
        F::zero()
    } else {
        w * v
    }
}

/// One position with per-class target mass `tp(k)` (probability targets, or
/// a smoothed index target for focal loss).
fn soft_row<F: LossFloat>(
    spec: &SoftmaxSpec<'_, F>,
    z: &[F],
    row: Row,
    tp: impl Fn(usize) -> F,
    grad: Option<(&mut [F], F)>,
) -> Result<F, KernelError> {
    let w = spec.weight;
    let lse = row.lse(z)?;
    let gamma = match spec.kind {
        SoftmaxKind::Focal { gamma, .. } => gamma,
        _ => F::zero(),
    };
    let is_focal = matches!(spec.kind, SoftmaxKind::Focal { .. });
    let mut loss = F::zero();
    // sum_c G_c, with G_c = w_c t'_c g_c (g_c = -1 for cross-entropy).
    let mut gsum = F::zero();
    let mut grad = grad;
    for k in 0..row.c {
        let t = tp(k);
        let mut gk = F::zero();
        if t != F::zero() {
            let lp = lse.lp(row.unmasked(z, k)?);
            let wt = w.at(k) * t;
            if is_focal {
                let (md, gf) = focal_terms(lp, gamma);
                loss = loss - wmul(wt, md * lp);
                gk = wt * gf;
            } else {
                loss = loss - wmul(wt, lp);
                gk = -wt;
            }
            gsum = gsum + gk;
        }
        if let Some((g, _)) = grad.as_mut() {
            g[row.at(k)] = gk;
        }
    }
    if let Some((g, s)) = grad {
        for k in 0..row.c {
            let pk = lse.lp(z[row.at(k)]).exp();
            let i = row.at(k);
            g[i] = s * (g[i] - pk * gsum);
        }
    }
    Ok(loss)
}
