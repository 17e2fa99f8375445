//! Class-index targets on K-dim inputs with many classes and positions
//! (`C >= WIDE_MIN_C`, `M >= WIDE_MIN_M`): blocks of up to `MAX_P`
//! consecutive positions of one item, read in place and vectorised across
//! positions, with the tile kernel's formulas (see `terms`).
//!
//! Why wide blocks: each class's values of a block are a contiguous run of
//! one plane, and the planes are `M` apart. The tile kernel's blocks are
//! `SCRATCH / C` positions wide (40 at `C = 100`: 160 bytes per plane) and
//! the strip kernel's 16, so at large `C` every pass touches one or two
//! cache lines in each of `C` planes, more streams than the hardware
//! prefetcher follows. A plain read-then-write of that pattern (maximum
//! over classes, then a write per class) over 4M `f32` logits took 9.3 ms
//! at 40 positions per block and `C = 100`, 14 ms at 16, against 3.3 ms at
//! 512 and 2.8 at 1024 (Intel Xeon, AVX-512; a copy of the same bytes:
//! 1.3-2 ms). Blocks as wide as `M` allows were fastest at every `C`
//! measured, 80 to 32000, even where a block outgrows the caches: limiting
//! a block to 8 MiB of logits cost 1.6x at `(4, 32000, 128)`.
//!
//! Passes over a block:
//! 1. the extremes (the finiteness and masking checks): little work per
//!    value, so many of the block's cache misses are in flight at once
//!    (computing the sums in the same pass, with a running maximum, took
//!    2x as long);
//! 2. `e_k = exp(z_k - max)` and their sums; with a gradient, each `e_k` is
//!    stored in the gradient, in place (its rows asked for `GRAD_AHEAD`
//!    classes ahead);
//! 3. cross-entropy's smoothing term, when smoothing;
//! 4. from the gradient's stored `e_k`, the Hessian when asked for (its
//!    rows asked for ahead likewise), then the gradient `e_k a + s b w_k`
//!    (`+ d` at the target) in place.

use super::prefetch::prefetch;
use super::terms::{Lanes, Terms};
use super::tile::{rows_extremes, rows_smoothing};
use super::{Consts, LANES};
use crate::kernel::chunks::Work;
use crate::kernel::float::LossFloat;
use crate::kernel::level::{exp, Fallback};

/// K-dim inputs with at least this many classes use wide blocks (from
/// `M = 64` on, against the tile kernel, cross-entropy, 4M `f32` logits:
/// 2.4-2.9x at `C = 80..256`; at `C = 40` and 64, where the tile kernel
/// prefetches, both took the same time).
pub(super) const WIDE_MIN_C: usize = 65;
/// ... and at least this many positions. Against the tile and strip
/// kernels, 4M logits: 0.6x at `M = 32` (`C = 100`: blocks that short run
/// the vectorised loops' remainders), 1.0-1.2x at 64, 1.3-1.8x at 128,
/// 1.1-2.3x at 256.
pub(super) const WIDE_MIN_M: usize = 64;
/// Whether wide blocks take `C` classes in precision `F`: the gradient pass
/// finds each position's target by comparing class indices as floats,
/// exact up to `2 / epsilon` (`2^24` for `f32`). Beyond that the strip
/// kernel, which corrects the targets' entries by index, runs instead.
#[inline(always)]
pub(super) fn takes<F: LossFloat>(c: usize, m: usize) -> bool {
    c >= WIDE_MIN_C && m >= WIDE_MIN_M && (c as f64) <= 2.0 / F::epsilon().to_f64_()
}
/// Positions per block at most (a multiple of `LANES`).
const MAX_P: usize = 512;
/// Positions per block at least, where an item is split into blocks.
const MIN_P: usize = 128;
/// Groups of `LANES` positions per block at most.
const GROUPS: usize = MAX_P / LANES;
/// Blocks of at most this many bytes of logits prefetch the next block's
/// logits into the second-level cache (about 1.2x at `C = 80` and 181;
/// 0.9x at 362, where three blocks outgrow a 2 MiB cache).
const PREFETCH_BYTES: usize = 512 * 1024;
/// The exponentials' pass asks for the gradient's class row this many
/// classes ahead (first-level cache). AMD EPYC, cross-entropy, 4M `f32`
/// logits, medians of 5 alternated runs against none: 1.12x at `C = 80`,
/// 1.15x at 181, 1.14x at 512, 1.31x at 1448, 1.12x at
/// `(8, 150, 128, 128)`; 16 classes ahead measured the same, and the next
/// block's gradient asked for with its logits (into L2) gained less
/// (1.0-1.2x) and nothing on top of this.
const GRAD_AHEAD: usize = 8;
/// Per-position scratch of one block.
struct Scratch<F> {
    mx: [F; MAX_P],
    mn: [F; MAX_P],
    ck: [F; MAX_P],
    sum: [F; MAX_P],
    lns: [F; MAX_P],
    zy: [F; MAX_P],
    yf: [F; MAX_P],
    sm: [F; MAX_P],
    y: [usize; MAX_P],
    keys: [usize; MAX_P],
    valid: [bool; MAX_P],
}

/// Positions per block for `C` classes and `M` positions per item:
/// - the whole item when `M <= MAX_P`: its class rows are then one
///   contiguous run (at `(4, 2048, 512)` 2.1 ms, against 4.5 in blocks of
///   128 to 384 positions);
/// - else as many as keep a block's logits within 3/8 of the second-level
///   cache, in multiples of `LANES`, from `MIN_P` to `L2 / 4 KiB` (256 for
///   1 MiB, 512 for 2 MiB). On an AMD EPYC with 1 MiB per core (which
///   favoured 192-256 positions at `C <= 512` and 128 at 724..1448),
///   cross-entropy, 4M `f32` logits, against blocks of 512 (medians of 5
///   alternated runs): 1.15x at `C = 80`, 1.1-1.2x at 100..256, 1.4-1.46x
///   at 362..1024, 1.2x at 1448 and at `(8, 150, 128, 128)`. On the Intel
///   Xeon (2 MiB) the rule keeps 512 up to `C = 384` and narrows blocks
///   beyond, which was not measured there;
/// - `MAX_P` when even `MIN_P` positions outgrow the cache: blocks that
///   cannot stay cached read the longest runs (on an Intel Xeon, at
///   `(1, 32000, 1024)`: 82 ms in blocks of 512, 137 in blocks of 64).
#[inline]
fn block_positions<F>(c: usize, m: usize) -> usize {
    let l2 = super::cache::l2_bytes();
    let row = c * std::mem::size_of::<F>();
    if m <= MAX_P || MIN_P * row > l2 {
        return MAX_P;
    }
    let most = (l2 / 4096 / LANES * LANES).clamp(MIN_P, MAX_P);
    (l2 * 3 / 8 / row / LANES * LANES).clamp(MIN_P, most)
}

/// Every item of the chunk, block by block; returns the loss sum.
#[inline(always)]
pub(super) fn run<F: LossFloat, const FMA: bool>(
    k: &Consts<'_, F>,
    c: usize,
    m: usize,
    mut w: Work<'_, '_, '_, F>,
) -> Result<f64, Fallback> {
    let z = F::zero();
    let mut s = Scratch {
        mx: [z; MAX_P],
        mn: [z; MAX_P],
        ck: [z; MAX_P],
        sum: [z; MAX_P],
        lns: [z; MAX_P],
        zy: [z; MAX_P],
        yf: [z; MAX_P],
        sm: [z; MAX_P],
        y: [0; MAX_P],
        keys: [0; MAX_P],
        valid: [false; MAX_P],
    };
    let mut terms: [Terms<F>; GROUPS] = std::array::from_fn(|_| Terms::zeroed());
    let mut acc = [0.0f64; 4];
    let most = block_positions::<F>(c, m);
    for b in 0..w.n {
        let mut j0 = 0;
        while j0 < m {
            let np = most.min(m - j0);
            block::<F, FMA>(k, c, m, &mut w, b, j0, np, &mut s, &mut terms, &mut acc)?;
            j0 += np;
        }
    }
    Ok((acc[0] + acc[1]) + (acc[2] + acc[3]))
}

/// One block: item `b`, positions `[j0, j0 + np)`; losses added to `acc`
/// (position `p` into `acc[p % 4]`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block<F: LossFloat, const FMA: bool>(
    k: &Consts<'_, F>,
    c: usize,
    m: usize,
    w: &mut Work<'_, '_, '_, F>,
    b: usize,
    j0: usize,
    np: usize,
    s: &mut Scratch<F>,
    terms: &mut [Terms<F>; GROUPS],
    acc: &mut [f64; 4],
) -> Result<(), Fallback> {
    let at = b * c * m + j0;
    let p0 = b * m + j0;
    let z = w.z;
    let row = |cl: usize| -> &[F] { &z[at + cl * m..][..np] };
    // 1. Extremes: a pass with little work per value, so that many of a
    // block's cache misses are in flight at once.
    let (mx, mn, ck) = (&mut s.mx[..np], &mut s.mn[..np], &mut s.ck[..np]);
    mx.fill(F::neg_infinity());
    mn.fill(F::infinity());
    ck.fill(F::zero());
    if !rows_extremes(c, &row, mx, mn, ck) {
        return Err(Fallback);
    }
    // 2. Exponentials (into the gradient, when there is one) and sums.
    let sum = &mut s.sum[..np];
    sum.fill(F::zero());
    // The next `MAX_P` positions' logits (the next block, or more where
    // blocks are narrower), asked for a class row at a time while this
    // block's exponentials are computed, when this block fits in
    // `PREFETCH_BYTES`. (Asking for just the next block where blocks are
    // 128 or 256 positions wide measured 1.2-1.4x slower at C = 181 and
    // 362, and the same at 724 and 1024.)
    let next = if j0 + np < m {
        Some((at + np, (m - j0 - np).min(MAX_P)))
    } else if b + 1 < w.n {
        Some((at - j0 + c * m, m.min(MAX_P)))
    } else {
        None
    };
    let next = next.filter(|_| np * c * std::mem::size_of::<F>() <= PREFETCH_BYTES);
    for cl in 0..c {
        if let Some((nat, nlen)) = next {
            prefetch::<_, true>(z, nat + cl * m, nlen);
        }
        // This block's gradient row `GRAD_AHEAD` classes on, which this
        // pass is about to write: its lines are not in the caches, and
        // each store would otherwise wait for its line to be read.
        if let (Some((g, _)), true) = (w.grad.as_ref(), cl + GRAD_AHEAD < c) {
            prefetch::<_, false>(g, at + (cl + GRAD_AHEAD) * m, np);
        }
        let zr = row(cl);
        match w.grad.as_mut() {
            Some((g, _)) => {
                let gr = &mut g[at + cl * m..][..np];
                let lanes = gr.iter_mut().zip(zr).zip(&*mx);
                for (((gv, &v), &a), sj) in lanes.zip(sum.iter_mut()) {
                    let e = exp::<F, FMA>(v - a);
                    *gv = e;
                    *sj = *sj + e;
                }
            }
            None => {
                for ((&v, &a), sj) in zr.iter().zip(&*mx).zip(sum.iter_mut()) {
                    *sj = *sj + exp::<F, FMA>(v - a);
                }
            }
        }
    }
    // Targets, target logits, ln Σ.
    let keys = &mut s.keys[..np];
    w.t.keys(p0, keys);
    let (y, valid, yf) = (&mut s.y[..np], &mut s.valid[..np], &mut s.yf[..np]);
    let (zy, lns) = (&mut s.zy[..np], &mut s.lns[..np]);
    for (j, &key) in keys.iter().enumerate() {
        valid[j] = k.ignore != Some(key);
        y[j] = if valid[j] { key } else { 0 };
        yf[j] = F::from_f64_(y[j] as f64);
        zy[j] = z[at + y[j] * m + j];
    }
    for (l, &sm) in lns.iter_mut().zip(&*sum) {
        *l = sm.vln();
    }
    // 3. Cross-entropy with smoothing: Σ_c w_c ((mx - z_c) + ln Σ).
    // (A plain `if`, as in the tile kernel.)
    let smooth = if k.smoothing() {
        let sm = &mut s.sm[..np];
        sm.fill(F::zero());
        rows_smoothing(k, c, &row, mx, lns, sm);
        Some(&s.sm[..np])
    } else {
        None
    };
    // Per-position coefficients, a group of `LANES` at a time.
    let up = w.grad.as_ref().map(|(_, u)| *u);
    let want_hess = w.hess.is_some();
    let groups = np.div_ceil(LANES);
    for (gi, tm) in terms[..groups].iter_mut().enumerate() {
        let r = gi * LANES..np.min((gi + 1) * LANES);
        let lanes = Lanes {
            p0: p0 + r.start,
            y: &y[r.clone()],
            valid: &valid[r.clone()],
            zy: &zy[r.clone()],
            mx: &mx[r.clone()],
            sum: &sum[r.clone()],
            lns: &lns[r.clone()],
        };
        tm.set(k, &lanes, smooth.map(|a| &a[r.clone()]), up, want_hess);
        let n = r.len();
        if !tm.finite(&valid[r.clone()]) {
            return Err(Fallback);
        }
        for (j, &l) in tm.loss[..n].iter().enumerate() {
            acc[(p0 + r.start + j) % 4] += l.to_f64_();
        }
        if let Some(pt) = w.per_target.as_deref_mut() {
            pt[p0 + r.start..p0 + r.end].copy_from_slice(&tm.loss[..n]);
        }
    }
    // 4. The Hessian and the gradient, from the stored exponentials.
    let Some((g, _)) = w.grad.as_mut() else {
        return Ok(());
    };
    let bt = terms[0].b;
    for cl in 0..c {
        // Likewise the Hessian's row, first written here (1.12-1.27x for
        // cross-entropy with the Hessian at `C = 100`, 512 and
        // `(8, 150, 128, 128)`).
        if let (Some(h), true) = (w.hess.as_deref(), cl + GRAD_AHEAD < c) {
            prefetch::<_, false>(h, at + (cl + GRAD_AHEAD) * m, np);
        }
        let gr = &mut g[at + cl * m..][..np];
        if let Some(h) = w.hess.as_deref_mut() {
            let hr = &mut h[at + cl * m..][..np];
            for (((er, hg), tm), yg) in gr
                .chunks(LANES)
                .zip(hr.chunks_mut(LANES))
                .zip(terms.iter())
                .zip(yf.chunks(LANES))
            {
                if let Some(hc) = tm.hc.as_ref() {
                    hc.tile_row(cl, yg, er, hg);
                }
            }
        }
        let bw = bt * k.w.at(cl);
        let clf = F::from_f64_(cl as f64);
        for ((gg, tm), yg) in gr.chunks_mut(LANES).zip(terms.iter()).zip(yf.chunks(LANES)) {
            let n = gg.len();
            let coef = tm.a[..n]
                .iter()
                .zip(&tm.s[..n])
                .zip(yg.iter().zip(&tm.d[..n]));
            for (gv, ((&aj, &sj), (&yj, &dj))) in gg.iter_mut().zip(coef) {
                let v = *gv * aj + sj * bw;
                *gv = if yj == clf { v + dj } else { v };
            }
        }
    }
    Ok(())
}
