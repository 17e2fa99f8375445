//! The row kernel: one contiguous row of `C >= ROW_MIN_C` classes,
//! vectorised along the row with per-lane accumulators.

#[cfg(all(target_arch = "x86_64", focal_avx512))]
use super::avx512;
use super::terms::{Lanes, Terms};
use super::{Consts, LANES, SCRATCH};
use crate::kernel::float::LossFloat;
use crate::kernel::level::{exp, Fallback};
use crate::kernel::softmax::spec::Weights;
use crate::kernel::Outputs;

/// Accumulator width for reductions along a row.
pub(super) const ACC: usize = 16;

/// Rows of fewer classes stage their exponentials in the scratch (a block
/// of `LANES` rows fits). Measured with `f32` on Zen 4 (AVX-512), CE
/// forward + backward: 1.14-1.23x at C = 19 and 24, both in cache (256K
/// logits) and streaming (4M); at C = 32 and 40 it was 0.91-0.94x
/// streaming (1.02-1.15x in cache), so it stopped below 32. On an AMD
/// EPYC with 48 KiB of L1d (4M logits, medians of 5 alternated runs
/// against that limit): CE 1.24x at C = 33, 1.21x at 35, 1.23x at 40,
/// 1.05x at 48, 1.12x at 56 (1.22x at 40 in cache); focal loss γ = 2
/// 1.24x at 33, 1.25x at 40, 1.06x at 48, 1.02x at 56. So it now stops
/// below 64, which may cost Zen 4 its 6-9% at C = 32..40 (not measured
/// there since).
const STAGE_MAX_C: usize = 64;
const _: () = assert!(LANES * STAGE_MAX_C <= SCRATCH);

/// Whether no value is NaN or `+inf` (`-inf`, a masked class, is allowed);
/// vectorised. The plain finiteness check runs first: the second pass is
/// paid only by inputs with an infinity (as one pass, the check ran NLL
/// 1.5-2.2x slower).
#[inline(always)]
pub(super) fn finite_or_masked<F: LossFloat>(v: &[F]) -> bool {
    all_finite(v) || below_pos_inf(v)
}

/// Whether every value is finite (no NaN, no infinity); vectorised.
#[inline(always)]
fn all_finite<F: LossFloat>(v: &[F]) -> bool {
    // v * 0 is NaN exactly for NaN and infinite v.
    let mut chk = [F::zero(); ACC];
    let mut chunks = v.chunks_exact(ACC);
    for ch in &mut chunks {
        for i in 0..ACC {
            chk[i] = chk[i] + ch[i] * F::zero();
        }
    }
    for (i, &x) in chunks.remainder().iter().enumerate() {
        chk[i] = chk[i] + x * F::zero();
    }
    !sum_acc(&chk).is_nan()
}

/// Whether no value is NaN or `+inf` (the comparison is false for both).
#[inline(always)]
fn below_pos_inf<F: LossFloat>(v: &[F]) -> bool {
    v.iter().fold(true, |ok, &x| ok & (x < F::infinity()))
}

/// Row maximum (NaN values are skipped: they surface later as a NaN sum).
#[inline(always)]
fn row_max<F: LossFloat>(zr: &[F]) -> F {
    let mut mx = [F::neg_infinity(); ACC];
    let n = zr.len();
    let body = n / ACC * ACC;
    for ch in zr[..body].chunks_exact(ACC) {
        for i in 0..ACC {
            mx[i] = if ch[i] > mx[i] { ch[i] } else { mx[i] };
        }
    }
    if n >= ACC {
        // The last full vector covers the tail (max is idempotent).
        let ch = &zr[n - ACC..n];
        for i in 0..ACC {
            mx[i] = if ch[i] > mx[i] { ch[i] } else { mx[i] };
        }
    } else {
        for (m, &v) in mx.iter_mut().zip(&zr[body..]) {
            *m = if v > *m { v } else { *m };
        }
    }
    // A tree, so the lanes combine in a few vector steps.
    for i in 0..8 {
        mx[i] = if mx[i + 8] > mx[i] { mx[i + 8] } else { mx[i] };
    }
    for i in 0..4 {
        mx[i] = if mx[i + 4] > mx[i] { mx[i + 4] } else { mx[i] };
    }
    for i in 0..2 {
        mx[i] = if mx[i + 2] > mx[i] { mx[i + 2] } else { mx[i] };
    }
    if mx[1] > mx[0] {
        mx[1]
    } else {
        mx[0]
    }
}

/// `dst[k] = exp(zr[k] - mx)`; returns `Σ_k dst[k]`.
///
/// Two independent accumulator vectors keep the `exp` chains apart; the
/// tail is one more full vector ending at the last element, whose lanes
/// already done are rewritten with the same values and left out of the sum
/// (no partial vector, no scalar loop, no copy through the stack).
#[inline(always)]
fn exp_store_sum<F: LossFloat, const FMA: bool>(zr: &[F], mx: F, dst: &mut [F]) -> F {
    let n = zr.len();
    if n < ACC {
        return exp_store_sum_short::<F, FMA>(zr, mx, dst);
    }
    let mut a0 = [F::zero(); ACC];
    let mut a1 = [F::zero(); ACC];
    let body = n / (2 * ACC) * (2 * ACC);
    let pairs = zr[..body]
        .chunks_exact(2 * ACC)
        .zip(dst[..body].chunks_exact_mut(2 * ACC));
    for (zch, dch) in pairs {
        let (dl, dh) = dch.split_at_mut(ACC);
        exp_lanes::<F, FMA>(&zch[..ACC], mx, dl, &mut a0);
        exp_lanes::<F, FMA>(&zch[ACC..], mx, dh, &mut a1);
    }
    let mut done = body;
    if n - done >= ACC {
        let (zch, dch) = (&zr[done..done + ACC], &mut dst[done..done + ACC]);
        exp_lanes::<F, FMA>(zch, mx, dch, &mut a0);
        done += ACC;
    }
    if done < n {
        let skip = ACC - (n - done);
        let (zch, dch) = (&zr[n - ACC..n], &mut dst[n - ACC..n]);
        for i in 0..ACC {
            let e = exp::<F, FMA>(zch[i] - mx);
            dch[i] = e;
            a1[i] = a1[i] + if i >= skip { e } else { F::zero() };
        }
    }
    for i in 0..ACC {
        a0[i] = a0[i] + a1[i];
    }
    sum_acc(&a0)
}

/// One vector of [`exp_store_sum`]: `d[i] = exp(z[i] - mx)`, added to `acc[i]`.
#[inline(always)]
fn exp_lanes<F: LossFloat, const FMA: bool>(z: &[F], mx: F, d: &mut [F], acc: &mut [F; ACC]) {
    let (z, d) = (&z[..ACC], &mut d[..ACC]);
    for i in 0..ACC {
        let e = exp::<F, FMA>(z[i] - mx);
        d[i] = e;
        acc[i] = acc[i] + e;
    }
}

/// [`exp_store_sum`] for pieces shorter than one accumulator vector.
#[inline(always)]
fn exp_store_sum_short<F: LossFloat, const FMA: bool>(zr: &[F], mx: F, dst: &mut [F]) -> F {
    let mut acc = F::zero();
    for (d, &z) in dst.iter_mut().zip(zr) {
        let e = exp::<F, FMA>(z - mx);
        *d = e;
        acc = acc + e;
    }
    acc
}

/// Sum of the lanes, pairwise in a fixed order (halves, then quarters…).
/// The steps are written out so the accumulator stays in registers.
#[inline(always)]
pub(super) fn sum_acc<F: LossFloat>(acc: &[F; ACC]) -> F {
    const _: () = assert!(ACC == 16);
    let mut v = *acc;
    for i in 0..8 {
        v[i] = v[i] + v[i + 8];
    }
    for i in 0..4 {
        v[i] = v[i] + v[i + 4];
    }
    for i in 0..2 {
        v[i] = v[i] + v[i + 2];
    }
    v[0] + v[1]
}

/// A block of up to `LANES` contiguous rows `[r0, r0 + nr)` of
/// `C >= ROW_MIN_C` classes. Each row's max, exponentials and sum are
/// vectorised along the row; the per-row scalar work (`ln`, the focal terms,
/// the coefficients) is then done for the whole block at once, vectorised
/// across rows, and a last pass rescales each gradient row in place.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn rows<F: LossFloat, const FMA: bool, const W512: bool>(
    k: &Consts<'_, F>,
    c: usize,
    z: &[F],
    t: &[usize],
    r0: usize,
    nr: usize,
    out: &mut Outputs<'_, '_, F>,
    scratch: &mut [F; SCRATCH],
) -> Result<f64, Fallback> {
    let mut mx = [F::zero(); LANES];
    let mut sum = [F::one(); LANES];
    let mut zy = [F::zero(); LANES];
    let mut sm = [F::zero(); LANES];
    let mut valid = [false; LANES];
    // Rows of fewer than `STAGE_MAX_C` classes are staged when there is no
    // Hessian to write: the exponentials go to the (cache-resident)
    // scratch, contiguous as in `z`, and each gradient row is written once,
    // by `rescale`, instead of written, read back and rewritten.
    let staged = c < STAGE_MAX_C && out.grad.is_some() && out.hess.is_none();
    // Each row's maximum is taken one row ahead, so its lane reduction
    // overlaps the previous row's `exp` pass instead of delaying its own.
    let mut m_next = if nr > 0 {
        max_of::<F, W512>(&z[r0 * c..(r0 + 1) * c])
    } else {
        F::zero()
    };
    for j in 0..nr {
        let r = r0 + j;
        let zr = &z[r * c..(r + 1) * c];
        let m = m_next;
        if j + 1 < nr {
            m_next = max_of::<F, W512>(&z[(r + 1) * c..(r + 2) * c]);
        }
        let y = t[j];
        valid[j] = k.ignore != Some(y);
        if !valid[j] {
            if !finite_or_masked(zr) {
                return Err(Fallback);
            }
            if let Some((g, _)) = out.grad.as_mut() {
                g[r * c..(r + 1) * c].fill(F::zero());
            }
            if let Some(h) = out.hess.as_deref_mut() {
                h[r * c..(r + 1) * c].fill(F::zero());
            }
            continue;
        }
        // Non-finite input is not checked here: NaN or +inf anywhere in the
        // row, -inf at the target, or -inf with smoothing all make this
        // row's loss non-finite, which sends the block to the scalar kernel
        // below. A -inf elsewhere (a masked class) is handled exactly.
        mx[j] = m;
        sum[j] = match out.grad.as_mut() {
            Some(_) if staged => exp_sum::<F, FMA, W512>(zr, m, &mut scratch[j * c..][..c]),
            Some((g, _)) => exp_row::<F, FMA, W512>(zr, m, Some(&mut g[r * c..][..c]), scratch),
            None => exp_row::<F, FMA, W512>(zr, m, None, scratch),
        };
        zy[j] = zr[y];
        if k.smoothing() {
            sm[j] = weighted_gap(k, zr, m);
        }
    }
    // Per-row coefficients, vectorised across the block (see `terms`):
    // grad_k = e_k * a + s * b * w_k, plus d at the target.
    let mut lns = [F::zero(); LANES];
    for (l, &v) in lns.iter_mut().zip(&sum).take(nr) {
        *l = v.vln();
    }
    // Σ_c w_c (-lp_c) = Σ_c w_c (mx - z_c) + W ln Σ.
    // (A plain `if`, as in the tile kernel.)
    let smooth = if k.smoothing() {
        for (v, &l) in sm.iter_mut().zip(&lns).take(nr) {
            *v = *v + k.wsum * l;
        }
        Some(&sm[..nr])
    } else {
        None
    };
    let lanes = Lanes {
        p0: r0,
        y: &t[..nr],
        valid: &valid[..nr],
        zy: &zy[..nr],
        mx: &mx[..nr],
        sum: &sum[..nr],
        lns: &lns[..nr],
    };
    let up = out.grad.as_ref().map(|(_, u)| *u);
    let mut tm = Terms::zeroed();
    tm.set(k, &lanes, smooth, up, out.hess.is_some());
    let (loss, a, d, s, b, hc) = (&tm.loss, &tm.a, &tm.d, &tm.s, tm.b, &tm.hc);
    // (`vln` does not propagate NaN, so the sums are checked too.)
    let finite = |v: &F| v.is_finite();
    if !(loss[..nr].iter().all(finite) && sum[..nr].iter().all(finite)) {
        // NaN / infinite input (see above): the scalar kernel handles it.
        return Err(Fallback);
    }
    let mut acc = [0.0f64; 4];
    for j in 0..nr {
        let r = r0 + j;
        let l = if valid[j] { loss[j] } else { F::zero() };
        acc[j % 4] += l.to_f64_();
        if let Some(pt) = out.per_target.as_deref_mut() {
            pt[r] = l;
        }
        if !valid[j] {
            continue;
        }
        if let Some((g, _)) = out.grad.as_mut() {
            let g = &mut g[r * c..(r + 1) * c];
            let y = t[j];
            let (aj, bj) = (a[j], s[j] * b);
            if let (Some(h), Some(hc)) = (out.hess.as_deref_mut(), hc) {
                let h = &mut h[r * c..(r + 1) * c];
                let ey = g[y];
                hc.row_with_grad(j, g, h, aj, bj, k.w);
                h[y] = hc.on_target(j, ey);
                // `row_with_grad`'s value at the target, from `ey` rather
                // than read back from the row just stored.
                g[y] = (ey * aj + bj * k.w.at(y)) + d[j];
            } else {
                let e = staged.then(|| &scratch[j * c..][..c]);
                rescale::<F, FMA, W512>(e, g, aj, bj, k.w, y, d[j]);
            }
        }
    }
    Ok((acc[0] + acc[1]) + (acc[2] + acc[3]))
}

/// [`row_max`], through the AVX-512 primitive for `f32` when `W512`.
#[inline(always)]
pub(super) fn max_of<F: LossFloat, const W512: bool>(zr: &[F]) -> F {
    #[cfg(all(target_arch = "x86_64", focal_avx512))]
    if W512 {
        if let Some(z) = super::f32s::as_f32(zr) {
            // SAFETY: `W512` is set only under `run_avx512`, which runs
            // after AVX-512F was detected.
            return F::from_f64_(f64::from(unsafe { avx512::row_max(z) }));
        }
    }
    row_max(zr)
}

/// `Σ_k exp(z_k - mx)` over a whole row, in `SCRATCH`-sized pieces (the
/// same sums with or without `dst`), with the exponentials stored in `dst`
/// (a row of the gradient), or in `scratch` and dropped.
#[inline(always)]
pub(super) fn exp_row<F: LossFloat, const FMA: bool, const W512: bool>(
    zr: &[F],
    mx: F,
    dst: Option<&mut [F]>,
    scratch: &mut [F; SCRATCH],
) -> F {
    let mut s = F::zero();
    match dst {
        Some(g) => {
            for (zc, gc) in zr.chunks(SCRATCH).zip(g.chunks_mut(SCRATCH)) {
                s = s + exp_sum::<F, FMA, W512>(zc, mx, gc);
            }
        }
        None => {
            for ch in zr.chunks(SCRATCH) {
                s = s + exp_sum::<F, FMA, W512>(ch, mx, &mut scratch[..ch.len()]);
            }
        }
    }
    s
}

/// [`exp_store_sum`], through the AVX-512 primitive for `f32` when `W512`.
#[inline(always)]
pub(super) fn exp_sum<F: LossFloat, const FMA: bool, const W512: bool>(
    zr: &[F],
    mx: F,
    dst: &mut [F],
) -> F {
    #[cfg(all(target_arch = "x86_64", focal_avx512))]
    if W512 {
        if let (Some(z), Some(d)) = (super::f32s::as_f32(zr), super::f32s::as_f32_mut(dst)) {
            let m = mx.to_f64_() as f32;
            // SAFETY: as in `max_of`.
            return F::from_f64_(f64::from(unsafe { avx512::exp_store_sum(z, m, d) }));
        }
    }
    exp_store_sum::<F, FMA>(zr, mx, dst)
}

/// `g_k = e_k a + b w_k` along a gradient row (`w_k = w` when uniform),
/// plus `d` at the target `y`; `e` is the row's exponentials when staged
/// apart, else `g` holds them.
///
/// The target's entry is computed from its exponential read before the
/// row is rewritten and stored after it, with the same operations as the
/// row's: reading it back from the row just stored would wait for a
/// masked vector store to reach the cache.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn rescale<F: LossFloat, const FMA: bool, const W512: bool>(
    e: Option<&[F]>,
    g: &mut [F],
    a: F,
    b: F,
    w: Weights<'_, F>,
    y: usize,
    d: F,
) {
    let n = g.len();
    let e = e.map(|e| &e[..n]);
    let ey = e.map_or(g[y], |e| e[y]);
    let madd = crate::kernel::vmath::madd::<F, FMA>;
    let bw = |wc: F| b * wc;
    let gy = madd(ey, a, bw(w.at(y))) + d;
    #[cfg(all(target_arch = "x86_64", focal_avx512))]
    if W512 {
        let (af, bf) = (a.to_f64_() as f32, b.to_f64_() as f32);
        if let Some(gf) = super::f32s::as_f32_mut(g) {
            let gp = gf.as_mut_ptr();
            let ep = match e.and_then(super::f32s::as_f32) {
                Some(e) => e.as_ptr(),
                None => gp.cast_const(),
            };
            let done = match w {
                Weights::Uniform(w) => {
                    let bwf = bw(w).to_f64_() as f32;
                    // SAFETY: as in `max_of`; `n` values at `ep` (`e` was
                    // cut to `n`) and at `gp`, one row or two slices.
                    unsafe { avx512::scale_uniform(ep, gp, n, af, bwf) };
                    true
                }
                Weights::PerClass(w) => match super::f32s::as_f32(&w[..n]) {
                    Some(w) => {
                        // SAFETY: as above, and `n` weights.
                        unsafe { avx512::scale_weighted(ep, gp, n, (af, bf), w.as_ptr()) };
                        true
                    }
                    None => false,
                },
            };
            if done {
                g[y] = gy;
                return;
            }
        }
    }
    match (e, w) {
        (None, Weights::Uniform(w)) => {
            let bw = bw(w);
            g.iter_mut().for_each(|gv| *gv = madd(*gv, a, bw));
        }
        (None, Weights::PerClass(w)) => {
            for (gv, &wc) in g.iter_mut().zip(w) {
                *gv = madd(*gv, a, bw(wc));
            }
        }
        (Some(e), Weights::Uniform(w)) => {
            let bw = bw(w);
            for (gv, &ev) in g.iter_mut().zip(e) {
                *gv = madd(ev, a, bw);
            }
        }
        (Some(e), Weights::PerClass(w)) => {
            for ((gv, &ev), &wc) in g.iter_mut().zip(e).zip(w) {
                *gv = madd(ev, a, bw(wc));
            }
        }
    }
    g[y] = gy;
}

/// `Σ_c w_c (mx - z_c)`, vectorised (the smoothing term without `ln Σ`).
#[inline(always)]
fn weighted_gap<F: LossFloat>(k: &Consts<'_, F>, zr: &[F], mx: F) -> F {
    let mut acc = [F::zero(); ACC];
    let mut zc = zr.chunks_exact(ACC);
    let mut cl = 0;
    for ch in &mut zc {
        for i in 0..ACC {
            acc[i] = acc[i] + k.w.at(cl + i) * (mx - ch[i]);
        }
        cl += ACC;
    }
    for (i, &v) in zc.remainder().iter().enumerate() {
        acc[i] = acc[i] + k.w.at(cl + i) * (mx - v);
    }
    sum_acc(&acc)
}
