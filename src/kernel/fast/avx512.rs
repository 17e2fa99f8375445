//! Explicit AVX-512 `f32` primitives for the row and tile kernels.
//!
//! The auto-vectorised generic loops keep some accumulators in stack memory
//! and reduce lanes in 2-lane steps; written with intrinsics, a row of `C`
//! classes is `ceil(C / 16)` masked vectors per pass, the lane reductions
//! are single trees, and `e^x` scales by `2^n` with `vscalefps` (no integer
//! exponent arithmetic and no overflow clamp, since `x <= 0` here).
//!
//! Every function requires AVX-512F; callers reach them only from code
//! compiled with `#[target_feature(enable = "avx512f")]` after run-time
//! detection (see `Level::Avx512`). The module is compiled only by Rust
//! 1.89 or later, where these intrinsics are stable (see `build.rs`).

use crate::float::LossFloat;
use std::any::TypeId;
use std::arch::x86_64::{
    __m512, __mmask16, _mm512_add_ps, _mm512_cmp_ps_mask, _mm512_fmadd_ps, _mm512_fnmadd_ps,
    _mm512_loadu_ps, _mm512_mask_add_ps, _mm512_mask_loadu_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_max_ps, _mm512_min_ps, _mm512_mul_ps, _mm512_reduce_add_ps,
    _mm512_reduce_max_ps, _mm512_roundscale_ps, _mm512_scalef_ps, _mm512_set1_ps,
    _mm512_setzero_ps, _mm512_storeu_ps, _mm512_sub_ps, _CMP_LT_OQ, _CMP_ORD_Q,
};

/// Lanes per vector.
pub(super) const V: usize = 16;

/// `v` as `f32` when `F` is `f32` (the type test folds away when compiled).
#[inline(always)]
pub(super) fn as_f32<F: LossFloat>(v: &[F]) -> Option<&[f32]> {
    if TypeId::of::<F>() == TypeId::of::<f32>() {
        // SAFETY: `F` is `f32`, so the slice has that element type.
        Some(unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<f32>(), v.len()) })
    } else {
        None
    }
}

/// Mutable [`as_f32`].
#[inline(always)]
pub(super) fn as_f32_mut<F: LossFloat>(v: &mut [F]) -> Option<&mut [f32]> {
    if TypeId::of::<F>() == TypeId::of::<f32>() {
        // SAFETY: `F` is `f32`, so the slice has that element type.
        Some(unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<f32>(), v.len()) })
    } else {
        None
    }
}

/// Mask of the first `k < 16` lanes.
#[inline(always)]
pub(super) fn head_mask(k: usize) -> __mmask16 {
    ((1u32 << k) - 1) as __mmask16
}

/// `e^x` for `x <= 0` (NaN stays NaN, `-inf` gives 0), accurate to about
/// 1 ulp: `x = n ln2 + r` with `|r| <= ln2 / 2`, then
/// `e^r = 1 + r + r^2 q(r)` with `q` of degree 4 (relative error of the
/// fit 3e-9, far under `f32` rounding; `scripts/fit_exp_poly.py`), then
/// `vscalefps` by `2^n`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn exp_le0(x: __m512) -> __m512 {
    // Below -104, e^x is under half the least subnormal. `max(c, x)` keeps a
    // NaN `x` (the second operand is returned when either is NaN).
    let x = _mm512_max_ps(_mm512_set1_ps(-104.0), x);
    // Round to nearest even, exceptions suppressed.
    let n =
        _mm512_roundscale_ps::<0x08>(_mm512_mul_ps(x, _mm512_set1_ps(std::f32::consts::LOG2_E)));
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_359_4), x);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.121_944_4e-4), r);
    let mut q = _mm512_set1_ps(1.381_457_1e-3);
    for c in [
        8.368_703e-3,
        4.166_839e-2,
        1.666_652_1e-1,
        0.499_999_94,
        1.0,
        1.0,
    ] {
        q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(c));
    }
    _mm512_scalef_ps(q, n)
}

/// Maximum of a row of at least one element (NaN values may be skipped:
/// they surface later as a NaN sum).
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn row_max(z: &[f32]) -> f32 {
    let n = z.len();
    let p = z.as_ptr();
    let ninf = _mm512_set1_ps(f32::NEG_INFINITY);
    let (mut m0, mut m1) = (ninf, ninf);
    let mut i = 0;
    while i + 2 * V <= n {
        m0 = _mm512_max_ps(m0, _mm512_loadu_ps(p.add(i)));
        m1 = _mm512_max_ps(m1, _mm512_loadu_ps(p.add(i + V)));
        i += 2 * V;
    }
    if i + V <= n {
        m0 = _mm512_max_ps(m0, _mm512_loadu_ps(p.add(i)));
        i += V;
    }
    if i < n {
        let v = _mm512_mask_loadu_ps(ninf, head_mask(n - i), p.add(i));
        m1 = _mm512_max_ps(m1, v);
    }
    _mm512_reduce_max_ps(_mm512_max_ps(m0, m1))
}

/// `d[k] = e^(z[k] - mx)` for a row `z` with `mx >= max(z)`; returns
/// `Σ_k d[k]` (two accumulator vectors, then one lane tree).
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn exp_store_sum(z: &[f32], mx: f32, d: &mut [f32]) -> f32 {
    let n = z.len().min(d.len());
    let (p, q) = (z.as_ptr(), d.as_mut_ptr());
    let m = _mm512_set1_ps(mx);
    let (mut a0, mut a1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    let mut i = 0;
    while i + 2 * V <= n {
        let e0 = exp_le0(_mm512_sub_ps(_mm512_loadu_ps(p.add(i)), m));
        let e1 = exp_le0(_mm512_sub_ps(_mm512_loadu_ps(p.add(i + V)), m));
        _mm512_storeu_ps(q.add(i), e0);
        _mm512_storeu_ps(q.add(i + V), e1);
        a0 = _mm512_add_ps(a0, e0);
        a1 = _mm512_add_ps(a1, e1);
        i += 2 * V;
    }
    if i + V <= n {
        let e = exp_le0(_mm512_sub_ps(_mm512_loadu_ps(p.add(i)), m));
        _mm512_storeu_ps(q.add(i), e);
        a0 = _mm512_add_ps(a0, e);
        i += V;
    }
    if i < n {
        let k = head_mask(n - i);
        let e = exp_le0(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, p.add(i)), m));
        _mm512_mask_storeu_ps(q.add(i), k, e);
        a1 = _mm512_mask_add_ps(a1, k, a1, e);
    }
    _mm512_reduce_add_ps(_mm512_add_ps(a0, a1))
}

/// `g[k] = g[k] a + b` for every `k`.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn scale_uniform(g: &mut [f32], a: f32, b: f32) {
    let n = g.len();
    let q = g.as_mut_ptr();
    let (av, bv) = (_mm512_set1_ps(a), _mm512_set1_ps(b));
    let mut i = 0;
    while i + V <= n {
        _mm512_storeu_ps(q.add(i), _mm512_fmadd_ps(_mm512_loadu_ps(q.add(i)), av, bv));
        i += V;
    }
    if i < n {
        let k = head_mask(n - i);
        let v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, q.add(i)), av, bv);
        _mm512_mask_storeu_ps(q.add(i), k, v);
    }
}

/// `g[k] = g[k] a + b w[k]` for every `k` (`w` at least as long as `g`).
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn scale_weighted(g: &mut [f32], a: f32, b: f32, w: &[f32]) {
    let n = g.len().min(w.len());
    let (q, wp) = (g.as_mut_ptr(), w.as_ptr());
    let (av, bv) = (_mm512_set1_ps(a), _mm512_set1_ps(b));
    let mut i = 0;
    while i + V <= n {
        let bw = _mm512_mul_ps(bv, _mm512_loadu_ps(wp.add(i)));
        _mm512_storeu_ps(q.add(i), _mm512_fmadd_ps(_mm512_loadu_ps(q.add(i)), av, bw));
        i += V;
    }
    if i < n {
        let k = head_mask(n - i);
        let bw = _mm512_mul_ps(bv, _mm512_maskz_loadu_ps(k, wp.add(i)));
        let v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, q.add(i)), av, bw);
        _mm512_mask_storeu_ps(q.add(i), k, v);
    }
}

/// Per-lane maxima over `c` class rows of `Q` vectors each (class `cl`'s
/// row at `p + cl * stride`), and whether every lane was finite with a
/// spread `max - min` that does not overflow.
///
/// # Safety
/// AVX-512F, and `Q * 16` readable values at each of the `c` rows.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn extremes<const Q: usize>(p: *const f32, stride: usize, c: usize) -> ([__m512; Q], bool) {
    let zero = _mm512_setzero_ps();
    let mut m = [_mm512_set1_ps(f32::NEG_INFINITY); Q];
    let mut n = [_mm512_set1_ps(f32::INFINITY); Q];
    // v * 0 + ck is NaN from the first NaN or infinite v on.
    let mut ck = [zero; Q];
    for cl in 0..c {
        let row = p.add(cl * stride);
        for q in 0..Q {
            let v = _mm512_loadu_ps(row.add(q * V));
            m[q] = _mm512_max_ps(m[q], v);
            n[q] = _mm512_min_ps(n[q], v);
            ck[q] = _mm512_fmadd_ps(v, zero, ck[q]);
        }
    }
    let inf = _mm512_set1_ps(f32::INFINITY);
    let mut fine = 0xFFFF;
    for q in 0..Q {
        // Ordered-and-less-than: false for NaN.
        let spread = _mm512_sub_ps(m[q], n[q]);
        fine &= _mm512_cmp_ps_mask::<_CMP_LT_OQ>(spread, inf)
            & _mm512_cmp_ps_mask::<_CMP_ORD_Q>(ck[q], ck[q]);
    }
    (m, fine == 0xFFFF)
}

/// `e^(v - m)` for the `Q` vectors of each of `c` class rows (as in
/// [`extremes`]), stored at `out + cl * out_stride`; returns the per-lane
/// sums, in class order.
///
/// # Safety
/// AVX-512F, `Q * 16` readable values at each row and writable ones at
/// each output row.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn exp_rows<const Q: usize>(
    p: *const f32,
    stride: usize,
    c: usize,
    m: &[__m512; Q],
    out: *mut f32,
    out_stride: usize,
) -> [__m512; Q] {
    let mut acc = [_mm512_setzero_ps(); Q];
    for cl in 0..c {
        let (row, o) = (p.add(cl * stride), out.add(cl * out_stride));
        for q in 0..Q {
            let e = exp_le0(_mm512_sub_ps(_mm512_loadu_ps(row.add(q * V)), m[q]));
            _mm512_storeu_ps(o.add(q * V), e);
            acc[q] = _mm512_add_ps(acc[q], e);
        }
    }
    acc
}

/// Per-lane maxima over `c` class rows of lanes `[s0, s0 + 16)`, where
/// class `cl`'s row starts at `z[cl * stride]`, into `mx[s0..]`; false when
/// a value is NaN or infinite or a lane's spread `max - min` overflows
/// (the generic `strip_extremes`).
///
/// # Panics
/// If `z` is shorter than `(c - 1) * stride + s0 + 16` or `mx` than `s0 + 16`.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn strip_extremes(
    z: &[f32],
    stride: usize,
    c: usize,
    s0: usize,
    mx: &mut [f32],
) -> bool {
    assert!(c >= 1 && (c - 1) * stride + s0 + V <= z.len() && s0 + V <= mx.len());
    let ([m], ok) = extremes::<1>(z.as_ptr().add(s0), stride, c);
    _mm512_storeu_ps(mx.as_mut_ptr().add(s0), m);
    ok
}

/// `es[cl * np + s0 + i] = e^(z[cl * stride + s0 + i] - mx[s0 + i])` for
/// the 16 lanes `i` and every class, with `sum[s0 + i]` their sum in class
/// order (the generic `strip_exp`).
///
/// # Panics
/// On slices too short for those indices.
#[inline]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn strip_exp(
    z: &[f32],
    stride: usize,
    c: usize,
    np: usize,
    s0: usize,
    mx: &[f32],
    es: &mut [f32],
    sum: &mut [f32],
) {
    assert!(c >= 1 && (c - 1) * stride + s0 + V <= z.len());
    assert!((c - 1) * np + s0 + V <= es.len() && s0 + V <= mx.len() && s0 + V <= sum.len());
    let m = [_mm512_loadu_ps(mx.as_ptr().add(s0))];
    let (p, q) = (z.as_ptr().add(s0), es.as_mut_ptr().add(s0));
    let [acc] = exp_rows::<1>(p, stride, c, &m, q, np);
    _mm512_storeu_ps(sum.as_mut_ptr().add(s0), acc);
}

/// Tile width of [`tile_passes`].
pub(super) const TILE: usize = 64;

/// [`strip_extremes`] then [`strip_exp`] over a whole tile of
/// [`TILE`] positions, class by class: each pass reads one class row's
/// `TILE` values (four whole vectors) before the next class, with four
/// accumulator vectors per quantity, instead of visiting every class once
/// per strip. Sums are still in class order per position, so the results
/// equal the strip functions'. False, with nothing written to `es` / `sum`,
/// where a strip would be refused.
///
/// # Panics
/// If a slice is too short for the indices used.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn tile_passes(
    z: &[f32],
    stride: usize,
    c: usize,
    mx: &mut [f32],
    es: &mut [f32],
    sum: &mut [f32],
) -> bool {
    const Q: usize = TILE / V;
    assert!(c >= 1 && (c - 1) * stride + TILE <= z.len());
    assert!(c * TILE <= es.len() && TILE <= mx.len() && TILE <= sum.len());
    let (m, ok) = extremes::<Q>(z.as_ptr(), stride, c);
    for (q, v) in m.iter().enumerate() {
        _mm512_storeu_ps(mx.as_mut_ptr().add(q * V), *v);
    }
    if !ok {
        return false;
    }
    let acc = exp_rows::<Q>(z.as_ptr(), stride, c, &m, es.as_mut_ptr(), TILE);
    for (q, a) in acc.iter().enumerate() {
        _mm512_storeu_ps(sum.as_mut_ptr().add(q * V), *a);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detected() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
    }

    /// `e^x` of one vector, through [`exp_le0`].
    fn exp16(x: [f32; V]) -> [f32; V] {
        let mut out = [0.0f32; V];
        // SAFETY: only called after `detected()`.
        unsafe { _mm512_storeu_ps(out.as_mut_ptr(), exp_le0(_mm512_loadu_ps(x.as_ptr()))) };
        out
    }

    /// Distance in units in the last place between two finite `f32`s >= 0.
    fn ulps(a: f32, b: f32) -> u32 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn exp_is_within_two_ulp_of_f64_exp() {
        if !detected() {
            return;
        }
        let mut worst = 0;
        // Every 97th f32 in [-104, 0], plus the endpoints of the reduction.
        let mut xs: Vec<f32> = (0..u32::MAX / 97)
            .map(|i| f32::from_bits(0x8000_0000 | (i * 97)))
            .filter(|x| *x >= -104.0)
            .collect();
        xs.extend([0.0, -0.0, -104.0, -87.0, -0.346_573_6, -0.346_573_5]);
        for ch in xs.chunks(V) {
            let mut x = [0.0f32; V];
            x[..ch.len()].copy_from_slice(ch);
            let e = exp16(x);
            for (&xi, &ei) in x.iter().zip(&e) {
                let want = f64::from(xi).exp() as f32;
                if want >= f32::MIN_POSITIVE {
                    worst = worst.max(ulps(ei, want));
                } else {
                    // Subnormal results: within one least subnormal step.
                    assert!(
                        (ei - want).abs() <= 2.0 * f32::from_bits(1),
                        "{xi}: {ei} vs {want}"
                    );
                }
            }
        }
        // (The worst measured on this grid is 1 ulp.)
        assert!(worst <= 2, "worst error {worst} ulp");
    }

    #[test]
    fn exp_special_values() {
        if !detected() {
            return;
        }
        let mut x = [0.0f32; V];
        x[0] = f32::NEG_INFINITY;
        x[1] = f32::NAN;
        x[2] = -1e30;
        x[3] = 0.0;
        let e = exp16(x);
        assert_eq!(e[0], 0.0);
        assert!(e[1].is_nan());
        assert_eq!(e[2], 0.0);
        assert_eq!(e[3], 1.0);
    }

    #[test]
    fn row_primitives_match_plain_loops() {
        if !detected() {
            return;
        }
        for n in (1..80).chain([100, 127, 128, 129, 1000]) {
            let z: Vec<f32> = (0..n)
                .map(|i| ((i * 7919) % 113) as f32 / 17.0 - 3.0)
                .collect();
            let w: Vec<f32> = (0..n).map(|i| 0.5 + (i % 5) as f32 * 0.25).collect();
            // SAFETY: AVX-512F was detected above.
            let mx = unsafe { row_max(&z) };
            assert_eq!(
                mx,
                z.iter().copied().fold(f32::NEG_INFINITY, f32::max),
                "n = {n}"
            );
            // One element past the row must stay untouched.
            let mut d = vec![-7.0f32; n + 1];
            // SAFETY: as above.
            let s = unsafe { exp_store_sum(&z, mx, &mut d[..n]) };
            let want: f64 = z.iter().map(|&v| f64::from(v - mx).exp()).sum();
            assert!(
                (f64::from(s) - want).abs() <= 1e-6 * want,
                "n = {n}: {s} vs {want}"
            );
            for (k, (&dk, &zk)) in d.iter().zip(&z).enumerate() {
                let e = f64::from(zk - mx).exp();
                assert!((f64::from(dk) - e).abs() <= 3e-7 * e, "n = {n}, k = {k}");
            }
            assert_eq!(d[n], -7.0);
            let mut g = d.clone();
            // SAFETY: as above.
            unsafe { scale_uniform(&mut g[..n], 0.5, -0.25) };
            for (k, (&gk, &dk)) in g.iter().zip(&d).take(n).enumerate() {
                assert_eq!(gk, dk.mul_add(0.5, -0.25), "n = {n}, k = {k}");
            }
            assert_eq!(g[n], -7.0);
            let mut g = d.clone();
            // SAFETY: as above.
            unsafe { scale_weighted(&mut g[..n], 0.5, -0.25, &w) };
            for (k, ((&gk, &dk), &wk)) in g.iter().zip(&d).zip(&w).enumerate() {
                assert_eq!(gk, dk.mul_add(0.5, -0.25 * wk), "n = {n}, k = {k}");
            }
            assert_eq!(g[n], -7.0);
        }
    }

    #[test]
    fn strips_match_plain_loops() {
        if !detected() {
            return;
        }
        let (c, np, stride) = (5, 40, 53);
        let z: Vec<f32> = (0..c * stride)
            .map(|i| ((i * 7919) % 211) as f32 / 9.0 - 11.0)
            .collect();
        for s0 in [0, 16, 24] {
            let mut mx = vec![0.0f32; np];
            // SAFETY: AVX-512F was detected above.
            assert!(unsafe { strip_extremes(&z, stride, c, s0, &mut mx) });
            let mut es = vec![0.0f32; c * np];
            let mut sum = vec![0.0f32; np];
            // SAFETY: as above.
            unsafe { strip_exp(&z, stride, c, np, s0, &mx, &mut es, &mut sum) };
            for i in s0..s0 + V {
                let col = (0..c).map(|cl| z[cl * stride + i]);
                assert_eq!(mx[i], col.clone().fold(f32::NEG_INFINITY, f32::max));
                let mut want = 0.0f32;
                for (cl, v) in col.enumerate() {
                    let e = f64::from(v - mx[i]).exp();
                    assert!((f64::from(es[cl * np + i]) - e).abs() <= 3e-7 * e);
                    want += es[cl * np + i];
                }
                // Summed in class order, as the generic strip does.
                assert_eq!(sum[i], want);
            }
        }
        // Any NaN or infinity, or a spread past f32::MAX, is refused.
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 3e38] {
            let mut z = z.clone();
            z[2 * stride + 16 + 7] = bad;
            if bad == 3e38 {
                z[stride + 16 + 7] = -3e38;
            }
            let mut mx = vec![0.0f32; np];
            // SAFETY: as above.
            assert!(
                !unsafe { strip_extremes(&z, stride, c, 16, &mut mx) },
                "{bad}"
            );
            // SAFETY: as above; lanes 0..16 do not see the bad value.
            assert!(
                unsafe { strip_extremes(&z, stride, c, 0, &mut mx) },
                "{bad}"
            );
        }
    }

    #[test]
    fn tile_passes_match_the_strips() {
        if !detected() {
            return;
        }
        let (c, stride) = (7, 200);
        let z: Vec<f32> = (0..c * stride)
            .map(|i| ((i * 7919) % 211) as f32 / 9.0 - 11.0)
            .collect();
        let (mut mx, mut es, mut sum) = (
            vec![0.0f32; TILE],
            vec![0.0f32; c * TILE],
            vec![0.0f32; TILE],
        );
        // SAFETY: AVX-512F was detected above.
        assert!(unsafe { tile_passes(&z, stride, c, &mut mx, &mut es, &mut sum) });
        let (mut mx2, mut es2, mut sum2) = (mx.clone(), vec![0.0f32; c * TILE], sum.clone());
        for s0 in (0..TILE).step_by(V) {
            // SAFETY: as above.
            assert!(unsafe { strip_extremes(&z, stride, c, s0, &mut mx2) });
            // SAFETY: as above.
            unsafe { strip_exp(&z, stride, c, TILE, s0, &mx2, &mut es2, &mut sum2) };
        }
        // Bitwise: the same operations in the same order per position.
        assert_eq!(mx, mx2);
        assert_eq!(es, es2);
        assert_eq!(sum, sum2);
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut z = z.clone();
            z[3 * stride + 41] = bad;
            let mut sum = vec![-1.0f32; TILE];
            // SAFETY: as above.
            assert!(!unsafe { tile_passes(&z, stride, c, &mut mx, &mut es, &mut sum) });
            assert!(sum.iter().all(|&v| v == -1.0), "{bad}: sums written");
        }
    }
}
