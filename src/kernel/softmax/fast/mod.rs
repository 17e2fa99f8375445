//! Vectorised softmax-family kernels for class-index targets (NLL,
//! cross-entropy with any smoothing, focal without smoothing), and, for
//! rows only, the soft target kernels (`probs`: cross-entropy with
//! probability targets; `soft`: focal loss with probability targets or
//! label smoothing).
//!
//! Four layouts:
//! - **rows** (`M = 1`, `C >= ROW_MIN_C`): each row is contiguous; max,
//!   `exp`, sum and the gradient are vectorised along the row, with the
//!   exponentials stored in the gradient row and rescaled in place;
//! - **wide blocks** (`C >= WIDE_MIN_C`, `M >= WIDE_MIN_M`): up to 512
//!   positions of one item read in place, vectorised across positions, the
//!   exponentials stored in the gradient and rescaled in place (`wide`);
//! - **strips** (`M > 1`, `C >= STRIP_MIN_C`): blocks of 16 positions of
//!   one item read in place, vectorised across positions, exponentials
//!   recomputed in each pass (`strip`);
//! - **tiles** (everything else): up to `LANES` consecutive positions are
//!   gathered class-major into stack scratch (`s[k][j]`), so every step is
//!   vectorised across positions, then the gradient is scattered back.
//!   For K-dim inputs the class rows are read in place.
//!
//! Reductions over classes use per-lane accumulators, so no floating-point
//! reassociation is needed for vectorisation and results are deterministic.
//! A `-inf` logit masking a class (away from the target, without label
//! smoothing) is handled in both layouts. Any other non-finite input (NaN,
//! `+inf`, a masked target, a masked class with smoothing, a position with
//! every class masked) returns `Err(Fallback)`, and the caller reruns the
//! scalar kernel, which reports or handles it exactly.

use super::spec::{SoftmaxKind, SoftmaxSpec, Weights};
use crate::kernel::chunks::Work;
use crate::kernel::float::LossFloat;
use crate::kernel::level::{dispatch_levels, Fallback, Level};
use crate::kernel::Outputs;

#[cfg(all(target_arch = "x86_64", focal_avx512))]
#[clippy::msrv = "1.89"]
mod avx512;
mod blocks;
mod cache;
mod f32s;
mod hess;
mod nll;
mod prefetch;
mod probs;
mod row;
mod soft;
mod soft_curv;
mod soft_kdim;
mod strip;
mod terms;
mod tile;
mod transpose;
#[cfg(target_arch = "x86_64")]
mod transpose256;
mod wide;

pub(crate) use tile::{tile, Tile};

/// Positions per tile.
pub(crate) const LANES: usize = 64;
/// Elements per scratch buffer (two buffers per tile).
pub(crate) const SCRATCH: usize = 4096;
/// Rows at least this long use the row kernel when `M = 1`.
pub(crate) const ROW_MIN_C: usize = 17;

/// How `(1 - p)^gamma` is evaluated.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pow {
    Zero,
    Half,
    One,
    Two,
    General,
}

/// Loss-specific constants, in precision `F`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Consts<'a, F> {
    kind: SoftmaxKind<F>,
    w: Weights<'a, F>,
    ignore: Option<usize>,
    /// Label smoothing `eps`, `1 - eps`, `eps / C`, `Σ_c w_c` (cross-entropy).
    eps: F,
    one_m_eps: F,
    e: F,
    wsum: F,
    gamma: F,
    pow: Pow,
}

impl<'a, F: LossFloat> Consts<'a, F> {
    /// `None` when the fast kernels do not cover this configuration.
    pub fn new(spec: &SoftmaxSpec<'a, F>, c: usize) -> Option<Self> {
        match spec.kind {
            SoftmaxKind::Focal { smoothing, .. } if smoothing != F::zero() => None,
            _ => Some(Self::any(spec, c)),
        }
    }

    /// Every configuration (focal loss with smoothing too: only the soft
    /// target kernels take that).
    fn any(spec: &SoftmaxSpec<'a, F>, c: usize) -> Self {
        let cf = F::from_f64_(c as f64);
        let (eps, gamma) = match spec.kind {
            SoftmaxKind::Nll => (F::zero(), F::zero()),
            SoftmaxKind::CrossEntropy { smoothing } => (smoothing, F::zero()),
            SoftmaxKind::Focal { gamma, smoothing } => (smoothing, gamma),
        };
        let pow = if gamma == F::zero() {
            Pow::Zero
        } else if gamma == F::from_f64_(0.5) {
            Pow::Half
        } else if gamma == F::one() {
            Pow::One
        } else if gamma == F::from_f64_(2.0) {
            Pow::Two
        } else {
            Pow::General
        };
        Self {
            kind: spec.kind,
            w: spec.weight,
            ignore: spec.ignore_index,
            eps,
            one_m_eps: F::one() - eps,
            e: eps / cf,
            wsum: spec.weight.sum(c),
            gamma,
            pow,
        }
    }

    #[inline(always)]
    fn smoothing(&self) -> bool {
        // `eps` itself: `1 - eps` and `eps / C` can round to 1 and 0 for a
        // tiny eps > 0 (the scalar kernel tests `eps > 0`).
        self.eps != F::zero()
    }

    /// `(1-p)^gamma` and `g = (1-p)^gamma (gamma p r - 1)` from `lp = ln p`
    /// (see `softmax::focal_terms`) for many positions: the power is chosen
    /// once, outside the loop, so each loop vectorises.
    #[inline(always)]
    fn focal_lanes(&self, lp: &[F], md: &mut [F], g: &mut [F]) {
        let gamma = self.gamma;
        let lanes = lp.iter().zip(md.iter_mut()).zip(g.iter_mut());
        match self.pow {
            Pow::Zero => {
                for ((_, m), gg) in lanes {
                    *m = F::one();
                    *gg = -F::one();
                }
            }
            Pow::Half => {
                // One correctly rounded square root instead of exp(ln / 2).
                for ((&l, m), gg) in lanes {
                    (*m, *gg) = focal_with(l, gamma, |omp| omp.sqrt());
                }
            }
            Pow::One => {
                for ((&l, m), gg) in lanes {
                    (*m, *gg) = focal_with(l, gamma, |omp| omp);
                }
            }
            Pow::Two => {
                for ((&l, m), gg) in lanes {
                    (*m, *gg) = focal_with(l, gamma, |omp| omp * omp);
                }
            }
            Pow::General => {
                for ((&l, m), gg) in lanes {
                    (*m, *gg) = focal_with(l, gamma, |omp| pow_general(omp, gamma));
                }
            }
        }
    }
}

impl<F: LossFloat> Consts<'_, F> {
    /// Focal loss's curvature `b = gamma md q (p r + 2 p - gamma p (p r))`
    /// and `q = 1 - p` from `lp = ln p` and `md = q^gamma` (see
    /// `scalar::focal_curvature`; `b = 0` for `gamma = 0`), for many
    /// positions: branch-free, so the loop vectorises.
    #[inline(always)]
    fn curvature_lanes(&self, lp: &[F], md: &[F], b: &mut [F], q: &mut [F]) {
        let gamma = self.gamma;
        let keep = if self.pow == Pow::Zero {
            F::zero()
        } else {
            F::one()
        };
        let lanes = lp.iter().zip(md).zip(b.iter_mut().zip(q.iter_mut()));
        for ((&l, &m), (bj, qj)) in lanes {
            let p = l.vexp();
            let omp = -l.vexpm1();
            let r = l / omp;
            let r = if l == F::zero() { -F::one() } else { r };
            // p r -> 0 as p -> 0 (see `scalar::focal_curvature`).
            let pr = p * r;
            let pr = if p == F::zero() { F::zero() } else { pr };
            let v = gamma * m * omp * (pr + p + p - gamma * p * pr);
            *bj = if keep == F::zero() { F::zero() } else { v };
            *qj = omp;
        }
    }
}

/// `(1-p)^gamma` (by `pow`) and `g = (1-p)^gamma (gamma p r - 1)` from
/// `lp = ln p`, with `1 - p = -expm1(lp)` and `r = lp / (1 - p)` (`-1` at 0).
#[inline(always)]
fn focal_with<F: LossFloat>(lp: F, gamma: F, pow: impl Fn(F) -> F) -> (F, F) {
    let p = lp.vexp();
    let omp = -lp.vexpm1();
    let md = pow(omp);
    let r = if lp == F::zero() { -F::one() } else { lp / omp };
    // p r -> 0 as p -> 0 (see `softmax::focal_terms`).
    let pr = if p == F::zero() { F::zero() } else { p * r };
    (md, md * (gamma * pr - F::one()))
}

/// `x^gamma` for `x >= 0`, `gamma > 0`, as `exp(gamma ln x)` (0 at x = 0).
#[inline(always)]
fn pow_general<F: LossFloat>(x: F, gamma: F) -> F {
    let v = (gamma * x.vln()).vexp();
    if x > F::zero() {
        v
    } else {
        F::zero()
    }
}

/// The soft target kernels' constants: cross-entropy with probability
/// targets, focal loss with probability targets or label smoothing, rows
/// (`M = 1`) or K-dim; `None` (the scalar kernel) otherwise.
pub(crate) fn soft_covers<'a, F: LossFloat>(
    spec: &SoftmaxSpec<'a, F>,
    c: usize,
    m: usize,
    probs: bool,
) -> Option<Consts<'a, F>> {
    let covered = match spec.kind {
        SoftmaxKind::Nll => false,
        SoftmaxKind::CrossEntropy { .. } => probs,
        SoftmaxKind::Focal { smoothing, .. } => probs || smoothing != F::zero(),
    };
    (covered && m > 0 && c > 0).then(|| Consts::any(spec, c))
}

/// Runs the vectorised kernel on one chunk at the given level: the soft
/// target kernels for probability targets (`w.aux`) and for focal loss
/// with smoothing (see [`soft_covers`]), the index kernels otherwise. NLL
/// and the soft target kernels have entry points of their own: their
/// loops, compiled once per label type, would otherwise sit inside every
/// softmax entry point (NLL's cost the focal row kernel at C = 1000 about
/// 10%).
pub(crate) fn run_level<F: LossFloat>(
    level: Level,
    k: &Consts<'_, F>,
    c: usize,
    m: usize,
    w: Work<'_, '_, '_, F>,
) -> Result<f64, Fallback> {
    let focal_smoothing = matches!(k.kind, SoftmaxKind::Focal { .. }) && k.smoothing();
    if !w.aux.is_empty() || focal_smoothing {
        // (Only the blocks compute focal loss's Hessian with soft targets.)
        let focal_hess = matches!(k.kind, SoftmaxKind::Focal { .. }) && w.hess.is_some();
        if m > 1 || soft_kdim::blocks_for_rows(k, c) || focal_hess {
            return soft_kdim::run_level(level, k, c, m, w);
        }
        return soft::run_level(level, k, c, w);
    }
    if let SoftmaxKind::Nll = k.kind {
        return nll::run_level(level, k, c, m, w);
    }
    run_softmax(level, k, c, m, w)
}

dispatch_levels! {
    /// The cross-entropy and focal kernels at the given level.
    fn run_softmax<F>(k: &Consts<'_, F>, c: usize, m: usize, w: Work<'_, '_, '_, F>) -> Result<f64, Fallback> {
        generic => run_work::<F, false, false>(k, c, m, w),
        avx2 => run_work::<F, true, false>(k, c, m, w),
        avx512 => run_work::<F, true, true>(k, c, m, w),
    }
}

/// The vectorised kernel over a sub-batch of `w.n` items; `FMA` when the
/// caller enabled the `fma` target feature (fused `exp`), `W512` when it
/// enabled `avx512f` (explicit AVX-512 row primitives for `f32`).
#[inline(always)]
fn run_work<F: LossFloat, const FMA: bool, const W512: bool>(
    k: &Consts<'_, F>,
    c: usize,
    m: usize,
    w: Work<'_, '_, '_, F>,
) -> Result<f64, Fallback> {
    if wide::takes::<F>(c, m) {
        return wide::run::<F, FMA>(k, c, m, w);
    }
    if m > 1 && c >= strip::STRIP_MIN_C {
        return strip::run::<F, FMA>(k, c, m, w);
    }
    let mut zs = [F::zero(); SCRATCH];
    let mut es = [F::zero(); SCRATCH];
    let n = w.n;
    let (z, t) = (w.z, w.t);
    let mut out = Outputs {
        per_target: w.per_target,
        grad: w.grad,
        hess: w.hess,
    };
    let mut total = 0.0;
    if m == 1 && c >= ROW_MIN_C {
        let mut r0 = 0;
        while r0 < n {
            let nr = LANES.min(n - r0);
            // The block's target keys (the row kernel reads each once).
            let mut keys = [0usize; LANES];
            t.keys(r0, &mut keys[..nr]);
            total += row::rows::<F, FMA, W512>(k, c, z, &keys[..nr], r0, nr, &mut out, &mut zs)?;
            r0 += nr;
        }
        return Ok(total);
    }
    let lanes = LANES.min(SCRATCH / c);
    if m == 1 {
        let mut p0 = 0;
        while p0 < n {
            let np = lanes.min(n - p0);
            let tl = Tile {
                p0,
                np,
                base: p0 * c,
                pstride: c,
                cstride: 1,
            };
            total += tile::<F, FMA, W512>(k, c, z, t, tl, &mut out, &mut zs, &mut es)?;
            p0 += np;
        }
    } else {
        for b in 0..n {
            let mut j0 = 0;
            while j0 < m {
                let np = lanes.min(m - j0);
                let tl = Tile {
                    p0: b * m + j0,
                    np,
                    base: b * c * m + j0,
                    pstride: 1,
                    cstride: m,
                };
                total += tile::<F, FMA, W512>(k, c, z, t, tl, &mut out, &mut zs, &mut es)?;
                j0 += np;
            }
        }
    }
    Ok(total)
}
