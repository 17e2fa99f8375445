//! Soft targets for K-dim inputs (`(N, C, d1..dk)`, `M > 1` positions per
//! item) and for rows of few classes (`M = 1`, see [`blocks_for_rows`]):
//! cross-entropy with probability targets, focal loss with probability
//! targets or label smoothing. Blocks of `L` consecutive positions (of one
//! item, or rows) are processed together, vectorised across the positions
//! (each class's logits of a K-dim block are contiguous; rows of at most
//! `GATHER_MAX_C` classes are transposed into class-major scratch a tile
//! at a time, wider ones read with stride `C`), with the scalar kernel's
//! formulas per position: `lp_k = (z_k - mx) - ln Σ`,
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
use super::prefetch::prefetch;
use super::soft::MAX_MASS;
use super::soft_curv::Curv;
use super::transpose::transpose_of;
use super::Consts;
use crate::kernel::chunks::Work;
use crate::kernel::float::LossFloat;
use crate::kernel::label::Labels;
use crate::kernel::level::{dispatch_levels, exp, Fallback, Level};
use crate::kernel::softmax::spec::SoftmaxKind;
use crate::kernel::Upstream;

/// Rows with fewer classes than this use the blocks (rows transposed a
/// tile at a time) instead of the row kernels, whose per-row overhead
/// dominates there: cross-entropy, and focal loss (whose per-class work is
/// larger, so the row kernel catches up later). Measured with `f32`, one
/// thread, on an Intel Xeon (AVX-512), blocks against rows: cross-entropy
/// with probabilities 1.41x at C = 17, 1.01x at 31, 0.66x at 32 (4M logits;
/// 1.5x at C = 31 in cache), 0.82x at 40; focal loss with smoothing 2.1x
/// at C = 40, 1.44x at 64 (all that the tiles take).
pub(super) fn blocks_for_rows<F: LossFloat>(k: &Consts<'_, F>, c: usize) -> bool {
    match k.kind {
        SoftmaxKind::Focal { .. } => c <= GATHER_MAX_C,
        _ => c < 32,
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

/// Rows of at most this many classes are moved into class-major scratch a
/// tile at a time, not read with stride `C` in every pass (wider rows come
/// here only for focal loss's Hessian). `f32`, Intel Xeon (AVX-512): CE
/// with probabilities 2.4-2.7x at C = 4, 10, 16 with blocks of 16 rows
/// transposed (and the grouped validation pass), 1.09-1.24x more with
/// tiles of 64+ rows; focal with smoothing 1.7-2.1x, then 1.06-1.38x.
const GATHER_MAX_C: usize = 64;

/// K-dim blocks with this many classes prefetch the next block into the
/// second-level cache: each block reads one or two cache lines in each of
/// `C` planes, more streams than the hardware prefetcher follows. Intel
/// Xeon (AVX-512), 4M `f32` logits, same binary with and without, min of
/// 3 alternated medians: cross-entropy with probabilities 1.9x at
/// `C = 40`, 1.5x at 64, 1.6x at 100, 1.3x at 181, 1.1x at 256, 1.6x at
/// 362, but 0.8x at 512, 0.9x at 1024 and 0.94x at 19; focal loss with
/// probabilities 1.1-1.5x at 40..362 and 1.19x at `(8, 150, 128, 128)`;
/// with smoothing 1.1-1.2x at 40..181, 0.9x at 19.
const PREFETCH_C: std::ops::RangeInclusive<usize> = 33..=384;

/// A chunk's inputs and outputs, and its four partial sums.
struct Chunk<'a, 'o, 'u, F, const FMA: bool, const FH: bool> {
    k: &'a Consts<'a, F>,
    c: usize,
    w: Work<'a, 'o, 'u, F>,
    probs: bool,
    focal: bool,
    acc: [f64; 4],
}

/// What a block's passes read and write: the logits, the probability
/// targets (or empty), the gradient with its upstream factors, the Hessian.
struct Io<'s, 'u, F> {
    z: &'s [F],
    aux: &'s [F],
    g: Option<(&'s mut [F], Upstream<'u, F>)>,
    h: Option<&'s mut [F]>,
}

/// The chunk's state a block's passes need besides its [`Io`].
struct Shared<'a, 's, F> {
    k: &'a Consts<'a, F>,
    c: usize,
    t: Labels<'a>,
    probs: bool,
    focal: bool,
    acc: &'s mut [f64; 4],
    pt: Option<&'s mut [F]>,
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
    if m == 1 && c <= GATHER_MAX_C {
        ch.gathered_rows(n)?;
    } else {
        for_blocks(n, c, m, &mut ch)?;
    }
    let a = ch.acc;
    Ok((a[0] + a[1]) + (a[2] + a[3]))
}

impl<F: LossFloat, const FMA: bool, const FH: bool> OnBlock for Chunk<'_, '_, '_, F, FMA, FH> {
    /// One block, whose first position is `p0`, read in place; `FH` when
    /// focal loss's Hessian is asked for.
    #[inline(always)]
    fn block<const FULL: bool, const ROWS: bool>(
        &mut self,
        blk: Block<FULL, ROWS>,
        p0: usize,
    ) -> Result<(), Fallback> {
        if !ROWS && PREFETCH_C.contains(&self.c) {
            // The next block (of the same item, but for an item's last):
            // one line per class of each of logits, targets and gradient.
            let ahead = blk.at + L;
            let w = &self.w;
            for kk in 0..self.c {
                let i = ahead + kk * blk.m;
                prefetch::<_, true>(w.z, i, 1);
                prefetch::<_, true>(w.aux, i, 1);
                if let Some((g, _)) = w.grad.as_ref() {
                    prefetch::<_, true>(g, i, 1);
                }
            }
        }
        let (mut sh, io) = self.split();
        sh.passes::<FMA, FH, FULL, ROWS>(blk, p0, io)
    }
}

impl<F: LossFloat, const FMA: bool, const FH: bool> Chunk<'_, '_, '_, F, FMA, FH> {
    /// The state the passes share, and the whole chunk's inputs and outputs.
    #[inline(always)]
    fn split(&mut self) -> (Shared<'_, '_, F>, Io<'_, '_, F>) {
        let w = &mut self.w;
        let sh = Shared {
            k: self.k,
            c: self.c,
            t: w.t,
            probs: self.probs,
            focal: self.focal,
            acc: &mut self.acc,
            pt: w.per_target.as_deref_mut(),
        };
        let io = Io {
            z: w.z,
            aux: w.aux,
            g: w.grad.as_mut().map(|(g, u)| (&mut **g, *u)),
            h: w.hess.as_deref_mut(),
        };
        (sh, io)
    }

    /// The chunk's `n` rows of `C <= GATHER_MAX_C` classes, in tiles of as
    /// many whole blocks of `L` rows as the scratch holds: each tile is
    /// transposed into the scratch, its blocks run there, and the gradient
    /// and Hessian are transposed back.
    #[inline(always)]
    fn gathered_rows(&mut self, n: usize) -> Result<(), Fallback> {
        let c = self.c;
        let (mut sh, mut io) = self.split();
        let n0 = [F::zero(); L * GATHER_MAX_C];
        let (mut zs, mut ts, mut gs, mut hs) = (n0, n0, n0, n0);
        let rows = (zs.len() / c / L * L).max(L);
        let mut r0 = 0;
        while r0 < n {
            let nr = rows.min(n - r0);
            let len = nr * c;
            let span = r0 * c..r0 * c + len;
            transpose_of::<F, FMA, true>(&io.z[span.clone()], c, nr, &mut zs[..len]);
            let aux: &[F] = if sh.probs {
                transpose_of::<F, FMA, true>(&io.aux[span.clone()], c, nr, &mut ts[..len]);
                &ts[..len]
            } else {
                &[]
            };
            let mut g = io.g.as_mut().map(|(g, u)| (&mut g[span.clone()], *u));
            let mut h = io.h.as_deref_mut().map(|h| &mut h[span.clone()]);
            // Class `k` of the tile's row `j` is at `k * nr + j`.
            let full = nr / L * L;
            for j0 in (0..nr).step_by(L) {
                let io = Io {
                    z: &zs[..len],
                    aux,
                    g: g.as_ref().map(|&(_, u)| (&mut gs[..len], u)),
                    h: h.as_ref().map(|_| &mut hs[..len]),
                };
                if j0 < full {
                    let blk = Block::<true, false> {
                        at: j0,
                        m: nr,
                        ps: 1,
                        nl: L,
                    };
                    sh.passes::<FMA, FH, true, false>(blk, r0 + j0, io)?;
                } else {
                    let blk = Block::<false, false> {
                        at: j0,
                        m: nr,
                        ps: 1,
                        nl: nr - j0,
                    };
                    sh.passes::<FMA, FH, false, false>(blk, r0 + j0, io)?;
                }
            }
            if let Some((g, _)) = g.as_mut() {
                transpose_of::<F, FMA, false>(&gs[..len], c, nr, g);
            }
            if let Some(h) = h.as_mut() {
                transpose_of::<F, FMA, false>(&hs[..len], c, nr, h);
            }
            r0 += nr;
        }
        Ok(())
    }
}

impl<F: LossFloat> Shared<'_, '_, F> {
    /// The passes over one block (see the module's docs).
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // one lane per index, as in the kernels
    fn passes<const FMA: bool, const FH: bool, const FULL: bool, const ROWS: bool>(
        &mut self,
        blk: Block<FULL, ROWS>,
        p0: usize,
        mut io: Io<'_, '_, F>,
    ) -> Result<(), Fallback> {
        let (k, c, probs, focal) = (self.k, self.c, self.probs, self.focal);
        let (z, aux, t) = (io.z, io.aux, self.t);
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
        // Cross-entropy keeps `e_k` in the gradient until its last pass,
        // which then needs no second `exp` (`G_k = -a_k` is recomputed).
        let ce_g = !focal && io.g.is_some();
        let mut sum = zero;
        for kk in 0..c {
            let zc = blk.load(z, kk);
            let mut e = zero;
            for l in 0..L {
                e[l] = exp::<F, FMA>(zc[l] - mx[l]);
            }
            for l in 0..L {
                sum[l] = sum[l] + e[l];
            }
            if let (Some((g, _)), true) = (io.g.as_mut(), ce_g) {
                blk.store(g, kk, &e);
            }
        }
        // A loop, not `sum.map(..)`: that `[T; N]::map` was not inlined
        // and ran in baseline SSE code, outside the kernel's target
        // features (12% of cross-entropy's time with probabilities, C = 10).
        let mut lns = zero;
        for l in 0..L {
            lns[l] = sum[l].vln();
        }
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
            if let (Some((g, _)), false) = (io.g.as_mut(), ce_g) {
                blk.store(g, kk, &gf);
            }
            if let (Some(h), true) = (io.h.as_deref_mut(), FH) {
                // B_k = a_k b(lp_k) into the Hessian until the last pass,
                // and the most probable class (see `scalar::soft_hess`).
                let (mut bc, mut q) = (zero, zero);
                k.curvature_lanes(&lp, &md, &mut bc, &mut q);
                for l in 0..L {
                    let v = a[l] * bc[l];
                    bc[l] = if tp[l] == F::zero() { F::zero() } else { v };
                }
                cv.track(kk, &lp, &bc, &q);
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
            if let Some(p) = self.pt.as_deref_mut() {
                p[p0 + l] = v;
            }
        }
        if let (Some(h), true) = (io.h.as_deref(), FH) {
            cv.rest(c, blk, z, h, &mx, &lns);
        }
        if let Some((g, u)) = io.g.as_mut() {
            let mut s = zero;
            for l in 0..blk.nl {
                s[l] = if valid[l] { u.at(p0 + l) } else { F::zero() };
            }
            let mut inv = zero;
            for l in 0..L {
                inv[l] = F::one() / sum[l];
            }
            for kk in 0..c {
                let mut gc = blk.load(g, kk);
                // (Cross-entropy's last pass reads no logits.)
                let zc = if ce_g { zero } else { blk.load(z, kk) };
                let mut p = zero;
                if ce_g {
                    // `gc` holds `e_k`: `p_k = e_k / Σ`, `G_k = -a_k`.
                    let (tc, wk) = (blk.load(aux, kk), k.w.at(kk));
                    for l in 0..L {
                        p[l] = gc[l] * inv[l];
                    }
                    for l in 0..L {
                        let tp = k.one_m_eps * tc[l] + k.e;
                        let a = wk * tp;
                        gc[l] = if tp == F::zero() { F::zero() } else { -a };
                    }
                } else {
                    for l in 0..L {
                        p[l] = exp::<F, FMA>((zc[l] - mx[l]) - lns[l]);
                    }
                }
                // (Ignored positions get 0, whatever their terms.)
                let mut out = zero;
                for l in 0..L {
                    let v = s[l] * (gc[l] - p[l] * gsum[l]);
                    out[l] = if valid[l] { v } else { F::zero() };
                }
                if let Some(h) = io.h.as_deref_mut() {
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
