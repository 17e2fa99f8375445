//! Soft targets for K-dim inputs (`(N, C, d1..dk)`, `M > 1` positions per
//! item) and for rows of few classes (`M = 1`, see [`blocks_for_rows`]):
//! cross-entropy with probability targets, focal loss with probability
//! targets or label smoothing. Blocks of `L` consecutive positions (of one
//! item, or rows) are processed together, vectorised across the positions
//! (each class's logits of a K-dim block are contiguous; rows are gathered
//! with stride `C`), with the
//! scalar kernel's formulas per position: `lp_k = (z_k - mx) - ln Σ`,
//! `a_k = w_k t'_k`, loss `Σ_k -a_k (1 - p_k)^gamma lp_k` (`gamma = 0` for
//! cross-entropy), `G_k = a_k g(lp_k)` (`-a_k` for cross-entropy), gradient
//! `s (G_k - p_k Σ G)` and Hessian diagonal: `s A p_k (1 - p_k)`,
//! `A = Σ_k a_k`, for cross-entropy; for focal loss the form of
//! `scalar::soft_hess` (see [`Curv`]), the only vectorised focal Hessian
//! with soft targets (rows of any width come here for it).
//!
//! Passes over a block: the maximum, the sum of exponentials, the terms
//! (with `G_k` stored in the gradient; for focal loss's Hessian `B_k` in
//! the Hessian and the most probable class), focal loss's `S`, and the
//! gradient with the Hessian. Non-finite
//! values, a position with every class masked, and focal positions with a
//! weighted target mass above `MAX_MASS` send the chunk to the scalar
//! kernel, as in the row kernels.

use super::blocks::{for_blocks, Block, OnBlock, L};
use super::soft::MAX_MASS;
use super::Consts;
use crate::kernel::chunks::Work;
use crate::kernel::float::LossFloat;
use crate::kernel::level::{dispatch_levels, exp, Fallback, Level};
use crate::kernel::softmax::spec::SoftmaxKind;

/// Rows with at most this many classes use the blocks (gathered across 16
/// rows) instead of the row kernels, whose per-row overhead dominates
/// there: cross-entropy, and focal loss (whose per-class work is larger,
/// so the row kernel catches up later). Measured with `f32`, 4M logits:
/// cross-entropy with probabilities 270 M logits/s in blocks at C = 16,
/// 334 in rows at C = 17; focal loss with smoothing about 260 in blocks at
/// C <= 32, 120 in rows at C = 17, 247 at C = 32, 288 at C = 48.
pub(super) fn blocks_for_rows<F: LossFloat>(k: &Consts<'_, F>, c: usize) -> bool {
    match k.kind {
        SoftmaxKind::Focal { .. } => c <= 32,
        _ => c <= 16,
    }
}

/// Soft targets on one chunk: focal loss's Hessian has an entry point of
/// its own (`FH`), since compiled into the same function its passes cost
/// the plain blocks up to 70% (`f32`, C = 4, one-off A/B).
pub(super) fn run_level<F: LossFloat>(
    level: Level,
    k: &Consts<'_, F>,
    c: usize,
    m: usize,
    w: Work<'_, '_, '_, F>,
) -> Result<f64, Fallback> {
    if matches!(k.kind, SoftmaxKind::Focal { .. }) && w.hess.is_some() {
        run_level_fh(level, k, c, m, w)
    } else {
        run_level_plain(level, k, c, m, w)
    }
}

dispatch_levels! {
    /// Soft targets on one chunk of K-dim items or rows.
    fn run_level_plain<F>(k: &Consts<'_, F>, c: usize, m: usize, w: Work<'_, '_, '_, F>) -> Result<f64, Fallback> {
        generic => run::<F, false, false>(k, c, m, w),
        avx2 => run::<F, true, false>(k, c, m, w),
        avx512 => run::<F, true, false>(k, c, m, w),
    }
}

dispatch_levels! {
    /// [`run_level_plain`] with focal loss's Hessian.
    fn run_level_fh<F>(k: &Consts<'_, F>, c: usize, m: usize, w: Work<'_, '_, '_, F>) -> Result<f64, Fallback> {
        generic => run::<F, false, true>(k, c, m, w),
        avx2 => run::<F, true, true>(k, c, m, w),
        avx512 => run::<F, true, true>(k, c, m, w),
    }
}

/// A chunk's inputs and outputs, and its four partial sums.
struct Chunk<'a, 'o, 'u, F, const FMA: bool, const FH: bool> {
    k: &'a Consts<'a, F>,
    c: usize,
    w: Work<'a, 'o, 'u, F>,
    probs: bool,
    focal: bool,
    acc: [f64; 4],
}

#[inline(always)]
fn run<F: LossFloat, const FMA: bool, const FH: bool>(
    k: &Consts<'_, F>,
    c: usize,
    m: usize,
    w: Work<'_, '_, '_, F>,
) -> Result<f64, Fallback> {
    let (z, n) = (w.z, w.n);
    let probs = !w.aux.is_empty();
    let focal = matches!(k.kind, SoftmaxKind::Focal { .. });
    let shapes_ok = if probs {
        w.aux.len() == z.len()
    } else {
        w.t.len() == n * m
    };
    let hess_ok = w.grad.is_some() && (!focal || u32::try_from(c).is_ok());
    if !shapes_ok || (w.hess.is_some() && !hess_ok) {
        return Err(Fallback);
    }
    let mut ch = Chunk::<F, FMA, FH> {
        k,
        c,
        w,
        probs,
        focal,
        acc: [0.0; 4],
    };
    for_blocks(n, c, m, &mut ch)?;
    let a = ch.acc;
    Ok((a[0] + a[1]) + (a[2] + a[3]))
}

impl<F: LossFloat, const FMA: bool, const FH: bool> OnBlock for Chunk<'_, '_, '_, F, FMA, FH> {
    /// One block, whose first position is `p0`; `FH` when focal loss's
    /// Hessian is asked for.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // one lane per index, as in the kernels
    fn block<const FULL: bool, const ROWS: bool>(
        &mut self,
        blk: Block<FULL, ROWS>,
        p0: usize,
    ) -> Result<(), Fallback> {
        let (k, c, probs, focal) = (self.k, self.c, self.probs, self.focal);
        let (z, aux, t) = (self.w.z, self.w.aux, self.w.t);
        let zero = [F::zero(); L];
        // Index targets (none for probabilities) and ignored lanes.
        let (mut y, mut valid) = ([usize::MAX; L], [false; L]);
        for l in 0..blk.nl {
            valid[l] = true;
            if !probs {
                y[l] = t.key(p0 + l);
                valid[l] = k.ignore != Some(y[l]);
            }
        }
        let mut mx = [F::neg_infinity(); L];
        for kk in 0..c {
            let zc = blk.load(z, kk);
            for l in 0..L {
                mx[l] = if zc[l] > mx[l] { zc[l] } else { mx[l] };
            }
        }
        let mut sum = zero;
        for kk in 0..c {
            let zc = blk.load(z, kk);
            for l in 0..L {
                sum[l] = sum[l] + exp::<F, FMA>(zc[l] - mx[l]);
            }
        }
        let lns = sum.map(|s| s.vln());
        let (mut loss, mut gsum, mut mass) = (zero, zero, zero);
        let mut cv = Curv::<F>::new();
        for kk in 0..c {
            let (zc, wk) = (blk.load(z, kk), k.w.at(kk));
            let mut lp = zero;
            for l in 0..L {
                lp[l] = (zc[l] - mx[l]) - lns[l];
            }
            let mut tp = [k.e; L];
            if probs {
                let tc = blk.load(aux, kk);
                for l in 0..L {
                    tp[l] = k.one_m_eps * tc[l] + k.e;
                }
            } else {
                for l in 0..L {
                    let hot = if y[l] == kk { k.one_m_eps } else { F::zero() };
                    tp[l] = hot + k.e;
                }
            }
            let (mut md, mut gf) = ([F::one(); L], [-F::one(); L]);
            if focal {
                k.focal_lanes(&lp, &mut md, &mut gf);
            }
            let mut a = zero;
            for l in 0..L {
                a[l] = wk * tp[l];
            }
            for l in 0..L {
                mass[l] = mass[l] + a[l];
            }
            for l in 0..L {
                // No target mass, no term (a masked class has lp = -inf).
                let v = if tp[l] == F::zero() {
                    F::zero()
                } else {
                    a[l] * (md[l] * lp[l])
                };
                loss[l] = loss[l] - v;
            }
            for l in 0..L {
                gf[l] = if tp[l] == F::zero() {
                    F::zero()
                } else {
                    a[l] * gf[l]
                };
            }
            for l in 0..L {
                gsum[l] = gsum[l] + gf[l];
            }
            if let Some((g, _)) = self.w.grad.as_mut() {
                blk.store(g, kk, &gf);
            }
            if let (Some(h), true) = (self.w.hess.as_deref_mut(), FH) {
                // B_k = a_k b(lp_k) into the Hessian until the last pass,
                // and the most probable class (see `scalar::soft_hess`).
                let (mut bc, mut q) = (zero, zero);
                k.curvature_lanes(&lp, &md, &mut bc, &mut q);
                for l in 0..L {
                    let v = a[l] * bc[l];
                    bc[l] = if tp[l] == F::zero() { F::zero() } else { v };
                }
                for l in 0..L {
                    let top = lp[l] > cv.best[l];
                    cv.best[l] = if top { lp[l] } else { cv.best[l] };
                    cv.top[l] = if top { kk as u32 } else { cv.top[l] };
                    cv.bm[l] = if top { bc[l] } else { cv.bm[l] };
                    cv.qm[l] = if top { q[l] } else { cv.qm[l] };
                }
                blk.store(h, kk, &bc);
            }
        }
        for l in 0..blk.nl {
            // NaN or +inf anywhere, or every class masked, makes the sum
            // non-finite (ignored positions are checked too).
            let bad = !sum[l].is_finite()
                || (valid[l]
                    && (!loss[l].is_finite()
                        || !gsum[l].is_finite()
                        || (focal && (mass[l].is_nan() || mass[l] > F::from_f64_(MAX_MASS)))));
            if bad {
                return Err(Fallback);
            }
            let v = if valid[l] { loss[l] } else { F::zero() };
            self.acc[(p0 + l) % 4] += v.to_f64_();
            if let Some(p) = self.w.per_target.as_deref_mut() {
                p[p0 + l] = v;
            }
        }
        if let (Some(h), true) = (self.w.hess.as_deref(), FH) {
            cv.rest(c, blk, z, h, &mx, &lns);
        }
        if let Some((g, u)) = self.w.grad.as_mut() {
            let mut s = zero;
            for l in 0..blk.nl {
                s[l] = if valid[l] { u.at(p0 + l) } else { F::zero() };
            }
            for kk in 0..c {
                let (zc, gc) = (blk.load(z, kk), blk.load(g, kk));
                let mut p = zero;
                for l in 0..L {
                    p[l] = exp::<F, FMA>((zc[l] - mx[l]) - lns[l]);
                }
                // (Ignored positions get 0, whatever their terms.)
                let mut out = zero;
                for l in 0..L {
                    let v = s[l] * (gc[l] - p[l] * gsum[l]);
                    out[l] = if valid[l] { v } else { F::zero() };
                }
                if let Some(h) = self.w.hess.as_deref_mut() {
                    let mut hk = zero;
                    if FH {
                        let mut lp = zero;
                        for l in 0..L {
                            lp[l] = (zc[l] - mx[l]) - lns[l];
                        }
                        let e = cv.entries(kk, &lp, &p, &blk.load(h, kk), &gsum);
                        for l in 0..L {
                            let v = s[l] * e[l];
                            hk[l] = if valid[l] { v } else { F::zero() };
                        }
                    } else {
                        for l in 0..L {
                            let v = s[l] * (mass[l] * (p[l] * (F::one() - p[l])));
                            hk[l] = if valid[l] { v } else { F::zero() };
                        }
                    }
                    blk.store(h, kk, &hk);
                }
                blk.store(g, kk, &out);
            }
        }
        Ok(())
    }
}

/// Focal loss's Hessian with soft targets, per lane (see
/// `scalar::soft_hess`): `h_k = s (B_k + Σ_{c != k} B_c ρ_ck² - p_k (1 -
/// p_k) Σ G)`, `B_c = a_c b(lp_c)`, `ρ_ck = p_k / q_c`, with the most
/// probable class `m` apart: `Σ_{c != k} B_c ρ_ck² = p_k² (S - T_k) +
/// [k != m] B_m min(p_k / q_m, 1)²`, `T_c = B_c / q_c²`, `S = Σ_{c != m} T_c`.
struct Curv<F> {
    /// The largest `lp` so far, its class `m` (`u32`, so the selects
    /// vectorise with `f32` lanes; the caller declines larger `C`), `B_m`
    /// and `q_m`.
    best: [F; L],
    top: [u32; L],
    bm: [F; L],
    qm: [F; L],
    /// `S`.
    rest: [F; L],
}

impl<F: LossFloat> Curv<F> {
    #[inline(always)]
    fn new() -> Self {
        Self {
            best: [F::neg_infinity(); L],
            top: [0; L],
            bm: [F::zero(); L],
            qm: [F::one(); L],
            rest: [F::zero(); L],
        }
    }

    /// `T_c = B_c / q_c²` (0 where `B_c = 0`), from `lp_c`.
    #[inline(always)]
    fn t_of(lp: F, b: F) -> F {
        let q = -lp.vexpm1();
        let t = b / (q * q);
        if b == F::zero() {
            F::zero()
        } else {
            t
        }
    }

    /// `S`, from the `B_c` the block's Hessian holds.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // one lane per index, as in the kernels
    fn rest<const FULL: bool, const ROWS: bool>(
        &mut self,
        c: usize,
        blk: Block<FULL, ROWS>,
        z: &[F],
        h: &[F],
        mx: &[F; L],
        lns: &[F; L],
    ) {
        for kk in 0..c {
            let (zc, bc) = (blk.load(z, kk), blk.load(h, kk));
            let kq = kk as u32;
            for l in 0..L {
                let t = Self::t_of((zc[l] - mx[l]) - lns[l], bc[l]);
                let t = if self.top[l] == kq { F::zero() } else { t };
                self.rest[l] = self.rest[l] + t;
            }
        }
    }

    /// `h_k / s` of class `kk` for every lane, from `lp_k`, `p_k`, `B_k`
    /// and `Σ G` (branch-free, so the lanes vectorise).
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // one lane per index, as in the kernels
    fn entries(&self, kk: usize, lp: &[F; L], p: &[F; L], bc: &[F; L], gsum: &[F; L]) -> [F; L] {
        let kq = kk as u32;
        let mut out = [F::zero(); L];
        for l in 0..L {
            let (pk, qm, s) = (p[l], self.qm[l], self.rest[l]);
            let rho = pk / qm;
            let rho = if pk >= qm { F::one() } else { rho };
            let rho = if pk == F::zero() { F::zero() } else { rho };
            let pp = pk * pk;
            let off = pp * (s - Self::t_of(lp[l], bc[l])) + self.bm[l] * rho * rho;
            let others = if self.top[l] == kq { pp * s } else { off };
            out[l] = bc[l] + others - pk * (F::one() - pk) * gsum[l];
        }
        out
    }
}
