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

/// The curvature of the focal term `f(u) = -(1-p)^gamma u`, `u = ln p`:
/// returns `(B, q)` with `q = 1 - p = -expm1(u)` and
/// `B = q² f''(u) = gamma p q^(gamma+1) (r + 2 - gamma p r)`, `r = u / q`
/// (`-1` at `u = 0`), given `md = q^gamma`. `f''` itself diverges as
/// `p -> 1` for `gamma < 1`; `B` does not (it tends to 0), and every
/// Hessian entry is `B` times a ratio in `[0, 1]` squared.
#[inline(always)]
pub(crate) fn focal_curvature<F: LossFloat>(lp: F, gamma: F, md: F) -> (F, F) {
    let q = -lp.exp_m1();
    if gamma == F::zero() {
        return (F::zero(), q);
    }
    let p = lp.exp();
    let r = if lp == F::zero() { -F::one() } else { lp / q };
    // p r -> 0 as p -> 0 (see `focal_terms`).
    let pr = if p == F::zero() { F::zero() } else { p * r };
    let b = gamma * md * q * (pr + p + p - gamma * p * pr);
    (b, q)
}

/// `min(x / q, 1)` for `0 <= x <= q` up to rounding (`0` where `x = 0`).
#[inline(always)]
fn ratio<F: LossFloat>(x: F, q: F) -> F {
    if x == F::zero() {
        F::zero()
    } else if x >= q {
        F::one()
    } else {
        x / q
    }
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
            let hess = out.hess.as_deref_mut();
            let loss = match targets {
                TargetSlice::Index(t) => {
                    let y = t.key(p);
                    if spec.ignore_index == Some(y) {
                        row.check_finite(z)?;
                        if let Some((g, _)) = grad {
                            row.fill(g, F::zero());
                        }
                        if let Some(h) = hess {
                            row.fill(h, F::zero());
                        }
                        F::zero()
                    } else {
                        index_row(spec, weight_sum, z, row, y, grad, hess)?
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
                    soft_row(spec, z, row, tp, grad, hess)?
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
    hess: Option<&mut [F]>,
) -> Result<F, KernelError> {
    let w = spec.weight;
    let wy = w.at(y);
    let upstream = grad.as_ref().map_or(F::zero(), |(_, s)| *s);
    match spec.kind {
        SoftmaxKind::Nll => {
            row.check_finite(z)?;
            let xy = row.unmasked(z, y)?;
            if let Some((g, s)) = grad {
                row.fill(g, F::zero());
                g[row.at(y)] = -s * wy;
            }
            if let Some(h) = hess {
                // Linear in its input.
                row.fill(h, F::zero());
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
            let coef = (F::one() - eps) * wy + e * weight_sum;
            if let Some((g, s)) = grad {
                for k in 0..row.c {
                    let pk = lse.lp(z[row.at(k)]).exp();
                    g[row.at(k)] = s * (pk * coef - e * w.at(k));
                }
                g[row.at(y)] = g[row.at(y)] - s * (F::one() - eps) * wy;
            }
            if let Some(h) = hess {
                // h_k = A p_k (1 - p_k), A = Σ_c a_c the row's target weight.
                for k in 0..row.c {
                    let pk = lse.lp(z[row.at(k)]).exp();
                    h[row.at(k)] = upstream * coef * pk * (F::one() - pk);
                }
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
                return soft_row(spec, z, row, tp, grad, hess);
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
            if let Some(h) = hess {
                let (b, q) = focal_curvature(lp, gamma, md);
                let su = upstream * wy;
                for k in 0..row.c {
                    let pk = lse.lp(z[row.at(k)]).exp();
                    // (δ_ky - p_k)² f''(u) with f'' = B / q²: ρ_k = 1 at y,
                    // p_k / q elsewhere (p_k <= 1 - p_y = q).
                    let rho = if k == y { F::one() } else { ratio(pk, q) };
                    h[row.at(k)] = su * (b * rho * rho - gy * pk * (F::one() - pk));
                }
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
    hess: Option<&mut [F]>,
) -> Result<F, KernelError> {
    let w = spec.weight;
    let lse = row.lse(z)?;
    let upstream = grad.as_ref().map_or(F::zero(), |(_, s)| *s);
    let gamma = match spec.kind {
        SoftmaxKind::Focal { gamma, .. } => gamma,
        _ => F::zero(),
    };
    let is_focal = matches!(spec.kind, SoftmaxKind::Focal { .. });
    // The row's loss and sum_c G_c, with G_c = w_c t'_c g_c (g_c = -1 for
    // cross-entropy), summed in f64: C terms of one sign summed one by one
    // in f32 lose up to C/2 ulps (2.4e-4 relative at C = 4100).
    let mut loss = 0.0_f64;
    let mut gsum = 0.0_f64;
    let mut grad = grad;
    for k in 0..row.c {
        let t = tp(k);
        let mut gk = F::zero();
        if t != F::zero() {
            let lp = lse.lp(row.unmasked(z, k)?);
            let wt = w.at(k) * t;
            if is_focal {
                let (md, gf) = focal_terms(lp, gamma);
                loss -= wmul(wt, md * lp).to_f64_();
                gk = wt * gf;
            } else {
                loss -= wmul(wt, lp).to_f64_();
                gk = -wt;
            }
            gsum += gk.to_f64_();
        }
        if let Some((g, _)) = grad.as_mut() {
            g[row.at(k)] = gk;
        }
    }
    let (loss, gsum) = (F::from_f64_(loss), F::from_f64_(gsum));
    if let Some((g, s)) = grad {
        for k in 0..row.c {
            let pk = lse.lp(z[row.at(k)]).exp();
            let i = row.at(k);
            g[i] = s * (g[i] - pk * gsum);
        }
    }
    if let Some(h) = hess {
        soft_hess(spec, z, row, &lse, &tp, gamma, gsum, upstream, h);
    }
    Ok(loss)
}

/// The Hessian diagonal of a row with per-class target mass `tp(k)`:
/// `l = Σ_c f_c(lp_c)` with `f_c(u) = -a_c (1-p_c)^gamma u`, `a_c = w_c t'_c`,
/// so `h_k = Σ_c B_c ρ_ck² - p_k (1 - p_k) Σ_c a_c g_c`, with
/// `B_c = q_c² f_c''` (see [`focal_curvature`]), `ρ_kk = 1` and
/// `ρ_ck = p_k / q_c` (`c != k`). Only the most probable class `m` can have
/// `q_m < 1/2`; for the others `B_c / q_c²` is bounded, so
/// `Σ_{c != k} B_c ρ_ck² = p_k² (S - T_k) + [k != m] B_m ρ_mk²` with
/// `T_c = B_c / q_c²` and `S = Σ_{c != m} T_c`: two passes, `O(C)`. The
/// row of `h` holds `B_c` between the passes. Cross-entropy (`gamma = 0`)
/// has `B = 0` and gives `h_k = A p_k (1 - p_k)`.
#[allow(clippy::too_many_arguments)]
fn soft_hess<F: LossFloat>(
    spec: &SoftmaxSpec<'_, F>,
    z: &[F],
    row: Row,
    lse: &Lse<F>,
    tp: &impl Fn(usize) -> F,
    gamma: F,
    gsum: F,
    upstream: F,
    h: &mut [F],
) {
    let p = |k: usize| lse.lp(z[row.at(k)]).exp();
    // The most probable class, and B_c in h.
    let mut m = 0;
    for k in 0..row.c {
        let t = tp(k);
        let mut b = F::zero();
        if t != F::zero() && gamma != F::zero() {
            let lp = lse.lp(z[row.at(k)]);
            let (md, _) = focal_terms(lp, gamma);
            b = spec.weight.at(k) * t * focal_curvature(lp, gamma, md).0;
        }
        h[row.at(k)] = b;
        if p(k) > p(m) {
            m = k;
        }
    }
    let q = |k: usize| -lse.lp(z[row.at(k)]).exp_m1();
    let t_of = |k: usize, b: F| {
        if b == F::zero() {
            F::zero()
        } else {
            b / (q(k) * q(k))
        }
    };
    let mut s_rest = F::zero();
    for k in 0..row.c {
        if k != m {
            s_rest = s_rest + t_of(k, h[row.at(k)]);
        }
    }
    let bm = h[row.at(m)];
    let qm = q(m);
    for k in 0..row.c {
        let pk = p(k);
        let bk = h[row.at(k)];
        let others = if k == m {
            pk * pk * s_rest
        } else {
            let rho = ratio(pk, qm);
            pk * pk * (s_rest - t_of(k, bk)) + bm * rho * rho
        };
        h[row.at(k)] = upstream * (bk + others - pk * (F::one() - pk) * gsum);
    }
}
