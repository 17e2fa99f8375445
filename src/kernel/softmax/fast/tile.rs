//! The tile kernel: up to `LANES` positions, gathered class-major into
//! stack scratch so every step vectorises across positions.

#[cfg(all(target_arch = "x86_64", focal_avx512))]
use super::avx512;
use super::prefetch::prefetch;
use super::row::ACC;
use super::terms::{Lanes, Terms};
use super::{transpose, Consts, LANES, SCRATCH};
use crate::kernel::float::LossFloat;
use crate::kernel::label::Labels;
use crate::kernel::level::{exp, Fallback};
use crate::kernel::Outputs;

/// Where a tile lies: `P` positions starting at position `p0`, whose class-0
/// logits start at `base` and step by `pstride`; classes step by `cstride`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tile {
    pub p0: usize,
    pub np: usize,
    pub base: usize,
    pub pstride: usize,
    pub cstride: usize,
}

/// K-dim tiles with at most this many classes prefetch the next tile. On
/// an AMD Zen 4: 1.09x at `C = 2`, 1.19x at 10, 1.25x at 19, none at 64,
/// and 3-7% slower at `C >= 100`, where a tile is narrower (`np * C <=
/// SCRATCH`) and the requests outnumber the lines used soon. On an Intel
/// Xeon (AVX-512), cross-entropy, 4M logits, against a limit of 32: 1.21x
/// at `C = 33` (and 4.5x in runs where `C = 33` without it took 12 ms
/// instead of 3.3), 1.12-1.21x at 40-61, 1.15x at 64, 1.06x at 80 (against
/// 64), 1.00x at 100, 0.91-0.94x at 128 and 181; focal loss 1.24x at 33,
/// 1.10x at 48.
const PREFETCH_MAX_C: usize = 64;

/// One tile; returns the sum of its per-position losses in position order.
///
/// Hot loops run over equal-length slices (zip), so the compiler can drop
/// bounds checks and vectorise across positions.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn tile<F: LossFloat, const FMA: bool, const W512: bool>(
    k: &Consts<'_, F>,
    c: usize,
    z: &[F],
    t: Labels<'_>,
    tl: Tile,
    out: &mut Outputs<'_, '_, F>,
    zs: &mut [F; SCRATCH],
    es: &mut [F; SCRATCH],
) -> Result<f64, Fallback> {
    let np = tl.np;
    debug_assert!(np <= LANES && np * c <= SCRATCH);
    let es = &mut es[..c * np];
    // Class rows of the tile: for K-dim inputs (positions contiguous) they
    // are read in place; otherwise they are gathered class-major into `zs`.
    let direct = tl.pstride == 1;
    if direct && c <= PREFETCH_MAX_C {
        // The next tile's class rows (logits, and the gradient it will
        // write), asked for while this one is computed: a K-dim tile reads
        // C rows a plane apart, more streams than the hardware prefetcher
        // follows.
        let next = tl.base + np;
        let g = out.grad.as_ref().map(|(g, _)| &**g);
        for cl in 0..c {
            prefetch::<F, false>(z, next + cl * tl.cstride, np);
            if let Some(g) = g {
                prefetch::<F, false>(g, next + cl * tl.cstride, np);
            }
        }
    }
    if !direct {
        // Rows are contiguous here (M = 1, so pstride == C).
        transpose::transpose_of::<F, FMA, true>(&z[tl.base..][..np * c], c, np, &mut zs[..np * c]);
    }
    // Class `cl`'s row of the tile is `zall[cl * stride..][..np]`.
    let (zall, stride): (&[F], usize) = if direct {
        (&z[tl.base..], tl.cstride)
    } else {
        (&zs[..], np)
    };
    let zrow = |cl: usize| -> &[F] { &zall[cl * stride..][..np] };
    let mut y = [0usize; LANES];
    let mut valid = [false; LANES];
    let mut keys = [0usize; LANES];
    t.keys(tl.p0, &mut keys[..np]);
    let (y, valid) = (&mut y[..np], &mut valid[..np]);
    for ((yj, vj), &v) in y.iter_mut().zip(valid.iter_mut()).zip(&keys[..np]) {
        *vj = k.ignore != Some(v);
        *yj = if *vj { v } else { 0 };
    }
    // Target classes as floats, for the selects in the gradient pass
    // (exact as floats for C <= SCRATCH).
    let mut yf = [F::zero(); LANES];
    let yf = &mut yf[..np];
    for (f, &yj) in yf.iter_mut().zip(&*y) {
        *f = F::from_f64_(yj as f64);
    }
    // Row maxima and minima, the exponentials and their sums, and the
    // target logits.
    let mut mx = [F::neg_infinity(); LANES];
    let mut sum = [F::zero(); LANES];
    let mut zy = [F::zero(); LANES];
    let (mx, sum, zy) = (&mut mx[..np], &mut sum[..np], &mut zy[..np]);
    if np >= ACC {
        let whole = if direct {
            passes_of::<F, W512>(c, np, (zall, stride), mx, es, sum)
        } else {
            None
        };
        match whole {
            Some(true) => {}
            Some(false) => return Err(Fallback),
            None => {
                for s0 in strips(np) {
                    if !extremes_of::<F, W512>(c, (zall, stride), &zrow, s0, mx) {
                        return Err(Fallback);
                    }
                }
                for s0 in strips(np) {
                    exp_of::<F, FMA, W512>(c, np, (zall, stride), &zrow, s0, mx, es, sum);
                }
            }
        }
    } else if !narrow_extremes_exp::<F, FMA>(c, np, &zrow, mx, es, sum) {
        return Err(Fallback);
    }
    // Indexed directly, not through `zrow`: through the closure this gather
    // ran about 15% slower at C = 4 (bench_json, A/B).
    for ((zj, &yj), j) in zy.iter_mut().zip(&*y).zip(0..) {
        *zj = zall[yj * stride + j];
    }
    // ln Σ, kept apart from the max: lp = (z - mx) - lns (see softmax::Lse).
    let mut lns = [F::zero(); LANES];
    let lns = &mut lns[..np];
    for (l, &sm) in lns.iter_mut().zip(&*sum) {
        *l = sm.vln();
    }
    // Cross-entropy with smoothing: Σ_c w_c ((mx - z_c) + ln Σ).
    // (A plain `if`: as a closure handed to `bool::then`, the loop was
    // compiled outside the kernel's target features.)
    let mut acc = [F::zero(); LANES];
    let smooth = if k.smoothing() {
        rows_smoothing(k, c, &zrow, mx, lns, &mut acc[..np]);
        Some(&acc[..np])
    } else {
        None
    };
    let lanes = Lanes {
        p0: tl.p0,
        y,
        valid,
        zy,
        mx,
        sum,
        lns,
    };
    let up = out.grad.as_ref().map(|(_, u)| *u);
    let mut tm = Terms::zeroed();
    tm.set(k, &lanes, smooth, up, out.hess.is_some());
    let (a, d, s, b, hc) = (&tm.a[..np], &tm.d[..np], &tm.s[..np], tm.b, &tm.hc);
    // The Hessian, from the exponentials before the gradient pass below
    // overwrites them: straight into its class rows for K-dim tiles, else
    // class-major into `zs` (free now) and scattered by `finish`.
    if let (Some(h), Some(hc)) = (out.hess.as_deref_mut(), hc) {
        for (cl, er) in es.chunks_exact(np).enumerate() {
            let hr = if direct {
                &mut h[tl.base + cl * tl.cstride..][..np]
            } else {
                &mut zs[cl * np..][..np]
            };
            hc.tile_row(cl, yf, er, hr);
        }
    }
    match out.grad.as_mut() {
        Some((g, _)) if direct => {
            // Straight into the gradient's class rows: no scratch, no copy.
            // `d` is added at the target class in the same pass (a select
            // on the class index, exact as a float for C <= SCRATCH).
            for (cl, er) in es.chunks_exact(np).enumerate() {
                let bw = b * k.w.at(cl);
                let clf = F::from_f64_(cl as f64);
                let gr = &mut g[tl.base + cl * tl.cstride..][..np];
                let coef = a.iter().zip(s).zip(yf.iter().zip(d));
                for ((gv, &e), ((&aj, &sj), (&yj, &dj))) in gr.iter_mut().zip(er).zip(coef) {
                    let v = e * aj + sj * bw;
                    *gv = if yj == clf { v + dj } else { v };
                }
            }
        }
        Some(_) => {
            for (cl, er) in es.chunks_exact_mut(np).enumerate() {
                let bw = b * k.w.at(cl);
                let clf = F::from_f64_(cl as f64);
                let coef = a.iter().zip(s).zip(yf.iter().zip(d));
                for (e, ((&aj, &sj), (&yj, &dj))) in er.iter_mut().zip(coef) {
                    let v = *e * aj + sj * bw;
                    *e = if yj == clf { v + dj } else { v };
                }
            }
        }
        None => {}
    }
    if !tm.finite(valid) {
        return Err(Fallback);
    }
    Ok(finish::<F, FMA>(tl, c, &tm.loss[..np], out, es, zs))
}

/// Strip starts covering `np >= ACC` lanes with full strips of `ACC`; the
/// last one may overlap the one before (per-lane work recomputed with the
/// same inputs gives the same values).
#[inline(always)]
fn strips(np: usize) -> impl Iterator<Item = usize> {
    let full = np / ACC;
    let tail = (np % ACC != 0).then_some(np - ACC);
    (0..full).map(|i| i * ACC).chain(tail)
}

/// Maxima over classes of lanes `[s0, s0 + ACC)`, into `mx`; false when a
/// value is NaN or infinite (`-inf` masks a class: the scalar kernel
/// handles it) or a spread `max - min` overflows.
#[inline(always)]
fn strip_extremes<'z, F: LossFloat>(
    c: usize,
    zrow: &impl Fn(usize) -> &'z [F],
    s0: usize,
    mx: &mut [F],
) -> bool {
    let mut m = [F::neg_infinity(); ACC];
    let mut n = [F::infinity(); ACC];
    let mut ck = [F::zero(); ACC];
    for cl in 0..c {
        let v = &zrow(cl)[s0..s0 + ACC];
        for i in 0..ACC {
            extremes_step(&mut ck[i], &mut m[i], &mut n[i], v[i]);
        }
    }
    let mut ok = true;
    for i in 0..ACC {
        ok &= extremes_ok(ck[i], m[i], n[i]);
    }
    mx[s0..s0 + ACC].copy_from_slice(&m);
    ok
}

/// `es[cl][j] = exp(z[cl][j] - mx[j])` and `sum[j] = Σ_cl es[cl][j]` (in
/// class order) for lanes `[s0, s0 + ACC)`.
#[inline(always)]
fn strip_exp<'z, F: LossFloat, const FMA: bool>(
    c: usize,
    np: usize,
    zrow: &impl Fn(usize) -> &'z [F],
    s0: usize,
    mx: &[F],
    es: &mut [F],
    sum: &mut [F],
) {
    let mut m = [F::zero(); ACC];
    m.copy_from_slice(&mx[s0..s0 + ACC]);
    let mut acc = [F::zero(); ACC];
    for cl in 0..c {
        let v = &zrow(cl)[s0..s0 + ACC];
        let e = &mut es[cl * np + s0..cl * np + s0 + ACC];
        for i in 0..ACC {
            let x = exp::<F, FMA>(v[i] - m[i]);
            e[i] = x;
            acc[i] = acc[i] + x;
        }
    }
    sum[s0..s0 + ACC].copy_from_slice(&acc);
}

/// Both strip passes of a full tile through [`avx512::tile_passes`] when
/// `W512`, `F` is `f32` and `np` is its width: `Some(ok)` where it ran
/// (`ok` as from [`strip_extremes`]), `None` where it did not. Used for K-dim
/// tiles only: there the class rows are planes far apart (a multiple of
/// 4 KiB for power-of-two images), and reading one plane's tile at a time
/// measured 6% faster at (8, 19, 128, 128); on gathered tiles it was not.
#[inline(always)]
fn passes_of<F: LossFloat, const W512: bool>(
    c: usize,
    np: usize,
    zs: (&[F], usize),
    mx: &mut [F],
    es: &mut [F],
    sum: &mut [F],
) -> Option<bool> {
    #[cfg(all(target_arch = "x86_64", focal_avx512))]
    if W512 && np == avx512::TILE {
        let (z, m) = (super::f32s::as_f32(zs.0), super::f32s::as_f32_mut(mx));
        let (e, sm) = (super::f32s::as_f32_mut(es), super::f32s::as_f32_mut(sum));
        if let (Some(z), Some(m), Some(e), Some(sm)) = (z, m, e, sm) {
            // SAFETY: `W512` is set only under `run_avx512`, which runs
            // after AVX-512F was detected.
            return Some(unsafe { avx512::tile_passes(z, zs.1, c, m, e, sm) });
        }
    }
    let _ = (c, np, zs, mx, es, sum);
    None
}

/// [`strip_extremes`], through the AVX-512 primitive for `f32` when
/// `W512`; `zs.0[cl * zs.1..]` is class `cl`'s row, as `zrow(cl)` is.
#[inline(always)]
fn extremes_of<'z, F: LossFloat, const W512: bool>(
    c: usize,
    zs: (&[F], usize),
    zrow: &impl Fn(usize) -> &'z [F],
    s0: usize,
    mx: &mut [F],
) -> bool {
    #[cfg(all(target_arch = "x86_64", focal_avx512))]
    if W512 {
        if let (Some(z), Some(m)) = (super::f32s::as_f32(zs.0), super::f32s::as_f32_mut(mx)) {
            // SAFETY: `W512` is set only under `run_avx512`, which runs
            // after AVX-512F was detected.
            return unsafe { avx512::strip_extremes(z, zs.1, c, s0, m) };
        }
    }
    let _ = zs;
    strip_extremes(c, zrow, s0, mx)
}

/// [`strip_exp`], through the AVX-512 primitive for `f32` when `W512`
/// (rows as in [`extremes_of`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn exp_of<'z, F: LossFloat, const FMA: bool, const W512: bool>(
    c: usize,
    np: usize,
    zs: (&[F], usize),
    zrow: &impl Fn(usize) -> &'z [F],
    s0: usize,
    mx: &[F],
    es: &mut [F],
    sum: &mut [F],
) {
    #[cfg(all(target_arch = "x86_64", focal_avx512))]
    if W512 {
        let (z, m) = (super::f32s::as_f32(zs.0), super::f32s::as_f32(mx));
        let (e, sm) = (super::f32s::as_f32_mut(es), super::f32s::as_f32_mut(sum));
        if let (Some(z), Some(m), Some(e), Some(sm)) = (z, m, e, sm) {
            // SAFETY: as in `extremes_of`.
            unsafe { avx512::strip_exp(z, zs.1, c, np, s0, m, e, sm) };
            return;
        }
    }
    let _ = zs;
    strip_exp::<F, FMA>(c, np, zrow, s0, mx, es, sum);
}

/// One value into a lane's running check, maximum and minimum (of the
/// unmasked values: `-inf` masks a class and is skipped).
#[inline(always)]
pub(super) fn extremes_step<F: LossFloat>(ck: &mut F, m: &mut F, n: &mut F, v: F) {
    let lowest = F::min_value();
    // `-inf` becomes finite, NaN stays NaN (the comparison is false), and
    // v * 0 is NaN exactly for NaN and `+inf`.
    let vc = if v < lowest { lowest } else { v };
    *ck = *ck + vc * F::zero();
    *m = if v > *m { v } else { *m };
    *n = if v < *n && v > F::neg_infinity() {
        v
    } else {
        *n
    };
}

/// Whether a lane had no NaN or `+inf`, at least one unmasked class, and a
/// spread `max - min` of its unmasked values that does not overflow.
#[inline(always)]
pub(super) fn extremes_ok<F: LossFloat>(ck: F, m: F, n: F) -> bool {
    !ck.is_nan() & (m > F::neg_infinity()) & ((m - n) < F::infinity())
}

/// Per-lane running checks, maxima and minima over the `c` class rows
/// `zrow(cl)` (each as long as `mx`), into `ck`, `mx` and `mn` (which the
/// caller sets to 0, `-inf` and `+inf`); whether every lane passes
/// [`extremes_ok`].
#[inline(always)]
pub(super) fn rows_extremes<'z, F: LossFloat>(
    c: usize,
    zrow: &impl Fn(usize) -> &'z [F],
    mx: &mut [F],
    mn: &mut [F],
    ck: &mut [F],
) -> bool {
    for cl in 0..c {
        let rows = mx.iter_mut().zip(mn.iter_mut()).zip(ck.iter_mut());
        for (((m, n), chk), &v) in rows.zip(zrow(cl)) {
            extremes_step(chk, m, n, v);
        }
    }
    let lanes = ck.iter().zip(&*mx).zip(&*mn);
    lanes.fold(true, |ok, ((&chk, &m), &n)| ok & extremes_ok(chk, m, n))
}

/// Cross-entropy's smoothing term of each lane over the `c` class rows
/// `zrow(cl)`: `acc += Σ_c w_c ((mx - z_c) + ln Σ)`, in class order.
#[inline(always)]
pub(super) fn rows_smoothing<'z, F: LossFloat>(
    k: &Consts<'_, F>,
    c: usize,
    zrow: &impl Fn(usize) -> &'z [F],
    mx: &[F],
    lns: &[F],
    acc: &mut [F],
) {
    for cl in 0..c {
        let wc = k.w.at(cl);
        for (((ac, &v), &l), &m) in acc.iter_mut().zip(zrow(cl)).zip(lns).zip(mx) {
            *ac = *ac + wc * ((m - v) + l);
        }
    }
}

/// [`strip_extremes`] and [`strip_exp`] for a tile narrower than one strip.
#[inline(always)]
fn narrow_extremes_exp<'z, F: LossFloat, const FMA: bool>(
    c: usize,
    np: usize,
    zrow: &impl Fn(usize) -> &'z [F],
    mx: &mut [F],
    es: &mut [F],
    sum: &mut [F],
) -> bool {
    let mut mn = [F::infinity(); ACC];
    let mut chk = [F::zero(); ACC];
    if !rows_extremes(c, zrow, mx, &mut mn[..np], &mut chk[..np]) {
        return false;
    }
    for (cl, er) in es.chunks_exact_mut(np).enumerate() {
        for (((e, &v), &m), acc) in er.iter_mut().zip(zrow(cl)).zip(&*mx).zip(sum.iter_mut()) {
            *e = exp::<F, FMA>(v - m);
            *acc = *acc + *e;
        }
    }
    true
}

/// Writes per-position losses, the gradient (class-major in `es`) and the
/// Hessian (class-major in `hs`) out; returns the loss sum.
#[inline(always)]
fn finish<F: LossFloat, const FMA: bool>(
    tl: Tile,
    c: usize,
    loss: &[F],
    out: &mut Outputs<'_, '_, F>,
    es: &[F],
    hs: &[F],
) -> f64 {
    let np = tl.np;
    // Four partial sums (position j into acc[j % 4]) instead of one serial
    // chain. Ignored positions' losses are already 0.
    let mut acc = [0.0f64; 4];
    let mut quads = loss.chunks_exact(4);
    for q in &mut quads {
        for i in 0..4 {
            acc[i] += q[i].to_f64_();
        }
    }
    for (a, &l) in acc.iter_mut().zip(quads.remainder()) {
        *a += l.to_f64_();
    }
    if let Some(pt) = out.per_target.as_deref_mut() {
        pt[tl.p0..tl.p0 + np].copy_from_slice(loss);
    }
    let total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    // With `pstride == 1`, `tile` already wrote both in place.
    if tl.pstride != 1 {
        let n = np * c;
        let g = out.grad.as_mut().map(|(g, _)| &mut g[tl.base..][..n]);
        match (g, out.hess.as_deref_mut()) {
            (Some(g), Some(h)) => {
                let h = &mut h[tl.base..][..n];
                transpose::transpose_of::<F, FMA, false>(&es[..n], c, np, g);
                transpose::transpose_of::<F, FMA, false>(&hs[..n], c, np, h);
            }
            (Some(g), None) => transpose::transpose_of::<F, FMA, false>(es, c, np, g),
            _ => {}
        }
    }
    total
}
