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

use std::arch::x86_64::{
    __m512, __mmask16, _mm512_add_ps, _mm512_cmp_ps_mask, _mm512_fmadd_ps, _mm512_fnmadd_ps,
    _mm512_loadu_ps, _mm512_mask_add_ps, _mm512_mask_loadu_ps, _mm512_mask_min_ps,
    _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps, _mm512_max_ps, _mm512_mul_ps,
    _mm512_reduce_add_ps, _mm512_reduce_max_ps, _mm512_roundscale_ps, _mm512_scalef_ps,
    _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps, _mm512_sub_ps, _CMP_GT_OQ, _CMP_LT_OQ,
    _CMP_NEQ_OQ, _CMP_ORD_Q,
};

/// Lanes per vector.
pub(super) const V: usize = 16;

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

/// `g[k] = e[k] a + b` for `k < n`.
///
/// # Safety
/// AVX-512F; `n` values readable at `e` and writable at `g`, which are the
/// same row or do not overlap.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn scale_uniform(e: *const f32, g: *mut f32, n: usize, a: f32, b: f32) {
    let (av, bv) = (_mm512_set1_ps(a), _mm512_set1_ps(b));
    let mut i = 0;
    while i + V <= n {
        _mm512_storeu_ps(g.add(i), _mm512_fmadd_ps(_mm512_loadu_ps(e.add(i)), av, bv));
        i += V;
    }
    if i < n {
        let k = head_mask(n - i);
        let v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, e.add(i)), av, bv);
        _mm512_mask_storeu_ps(g.add(i), k, v);
    }
}

/// `g[k] = e[k] a + b w[k]` for `k < n`.
///
/// # Safety
/// As [`scale_uniform`], and `n` values readable at `w`.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn scale_weighted(
    e: *const f32,
    g: *mut f32,
    n: usize,
    (a, b): (f32, f32),
    w: *const f32,
) {
    let (av, bv) = (_mm512_set1_ps(a), _mm512_set1_ps(b));
    let mut i = 0;
    while i + V <= n {
        let bw = _mm512_mul_ps(bv, _mm512_loadu_ps(w.add(i)));
        _mm512_storeu_ps(g.add(i), _mm512_fmadd_ps(_mm512_loadu_ps(e.add(i)), av, bw));
        i += V;
    }
    if i < n {
        let k = head_mask(n - i);
        let bw = _mm512_mul_ps(bv, _mm512_maskz_loadu_ps(k, w.add(i)));
        let v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, e.add(i)), av, bw);
        _mm512_mask_storeu_ps(g.add(i), k, v);
    }
}

/// Per-lane maxima over `c` class rows of `Q` vectors each (class `cl`'s
/// row at `p + cl * stride`), and whether every lane had no NaN or `+inf`,
/// at least one unmasked (not `-inf`) class, and a spread `max - min` of
/// its unmasked values that does not overflow (the generic `extremes_ok`).
///
/// # Safety
/// AVX-512F, and `Q * 16` readable values at each of the `c` rows.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn extremes<const Q: usize>(p: *const f32, stride: usize, c: usize) -> ([__m512; Q], bool) {
    let zero = _mm512_setzero_ps();
    let ninf = _mm512_set1_ps(f32::NEG_INFINITY);
    let lowest = _mm512_set1_ps(f32::MIN);
    let mut m = [ninf; Q];
    let mut n = [_mm512_set1_ps(f32::INFINITY); Q];
    // max(lowest, v) * 0 + ck is NaN from the first NaN or +inf v on
    // (`max` returns its second operand, v, when v is NaN; -inf becomes
    // finite).
    let mut ck = [zero; Q];
    for cl in 0..c {
        let row = p.add(cl * stride);
        for q in 0..Q {
            let v = _mm512_loadu_ps(row.add(q * V));
            m[q] = _mm512_max_ps(m[q], v);
            let unmasked = _mm512_cmp_ps_mask::<_CMP_NEQ_OQ>(v, ninf);
            n[q] = _mm512_mask_min_ps(n[q], unmasked, n[q], v);
            ck[q] = _mm512_fmadd_ps(_mm512_max_ps(lowest, v), zero, ck[q]);
        }
    }
    let inf = _mm512_set1_ps(f32::INFINITY);
    let mut fine = 0xFFFF;
    for q in 0..Q {
        // Ordered comparisons: false for NaN.
        let spread = _mm512_sub_ps(m[q], n[q]);
        fine &= _mm512_cmp_ps_mask::<_CMP_LT_OQ>(spread, inf)
            & _mm512_cmp_ps_mask::<_CMP_GT_OQ>(m[q], ninf)
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
mod tests;
