//! AVX-512 `f32` transposes of a tile between row-major logits / gradient
//! and the class-major stack scratch (small `C`, `M = 1`).
//!
//! The generic loops compile to 8-lane gathers and scatters with 64-bit
//! indices (and 64-bit index multiplies). Here every step is one 16-lane
//! gather with 32-bit indices, and the row-major side is read or written
//! as contiguous vectors only: the gather side reads user memory with
//! gathers, and the scatter side gathers from the L1-resident scratch and
//! stores whole vectors into the gradient.
//!
//! Requires AVX-512F (see `avx512`); compiled only where `focal_avx512` is
//! set.

use super::avx512::{head_mask, V};
use std::arch::x86_64::{
    __mmask16, _mm512_add_epi32, _mm512_mask_i32gather_ps, _mm512_mask_storeu_ps,
    _mm512_mullo_epi32, _mm512_set1_epi32, _mm512_setr_epi32, _mm512_setzero_ps, _mm512_srli_epi32,
    _mm512_sub_epi32,
};

/// Largest `C` of [`scatter`] (its division by `C` is exact up to this).
pub(super) const SCATTER_MAX_C: usize = 255;
/// Largest `np * C` of either transpose: [`scatter`]'s division is proven
/// exact below it, and every tile fits (`np * C <= SCRATCH`).
const MAX_ELEMS: usize = 4096;
const _: () = assert!(super::SCRATCH <= MAX_ELEMS);

/// The mask of lanes `[0, min(rest, 16))`.
#[inline(always)]
fn mask(rest: usize) -> __mmask16 {
    if rest >= V {
        0xFFFF
    } else {
        head_mask(rest)
    }
}

/// `dst[k * np + j] = src[j * c + k]` for `j < np`, `k < c`: `np` rows of
/// `c` classes into class-major order.
///
/// # Safety
/// AVX-512F.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gather(src: &[f32], c: usize, np: usize, dst: &mut [f32]) {
    let n = np * c;
    assert!(c >= 1 && n <= MAX_ELEMS && n <= src.len() && n <= dst.len());
    let lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    // Lane l of strip j0 reads row j0 + l: offset (j0 + l) c + k.
    let rows = _mm512_mullo_epi32(lane, _mm512_set1_epi32(c as i32));
    let (p, q) = (src.as_ptr(), dst.as_mut_ptr());
    for k in 0..c {
        let mut j0 = 0;
        while j0 < np {
            let m = mask(np - j0);
            let idx = _mm512_add_epi32(rows, _mm512_set1_epi32((j0 * c + k) as i32));
            // Masked-off lanes read nothing; the others stay below n.
            let v = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), m, idx, p);
            _mm512_mask_storeu_ps(q.add(k * np + j0), m, v);
            j0 += V;
        }
    }
}

/// The inverse of [`gather`]: `dst[j * c + k] = src[k * np + j]`, written
/// as contiguous vectors. Requires `c <= SCATTER_MAX_C`.
///
/// # Safety
/// AVX-512F.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn scatter(src: &[f32], c: usize, np: usize, dst: &mut [f32]) {
    scatter_n::<1>([src], c, np, [dst]);
}

/// [`scatter`] of two tiles at once (the gradient and the Hessian): the
/// indices are computed once, and the two gathers' latencies overlap.
///
/// # Safety
/// AVX-512F.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn scatter2(src: [&[f32]; 2], c: usize, np: usize, dst: [&mut [f32]; 2]) {
    scatter_n::<2>(src, c, np, dst);
}

/// [`scatter`] of `N` tiles of the same shape.
///
/// # Safety
/// AVX-512F.
#[inline(always)]
unsafe fn scatter_n<const N: usize>(src: [&[f32]; N], c: usize, np: usize, dst: [&mut [f32]; N]) {
    let n = np * c;
    assert!((1..=SCATTER_MAX_C).contains(&c) && n <= MAX_ELEMS);
    for (s, d) in src.iter().zip(&dst) {
        assert!(n <= s.len() && n <= d.len());
    }
    // j = f / c as (f * ceil(2^20 / c)) >> 20: with e = ceil(2^20 / c) c -
    // 2^20 < c <= 255 and f < 4096, the error f e / 2^20 / c stays below the
    // 1 / c margin (f e < 2^20), so the quotient is exact; the product stays
    // below 4096 (2^19 + 1) < 2^32 (the shift is unsigned).
    let magic = _mm512_set1_epi32(((1 << 20) + c as i32 - 1) / c as i32);
    let (cv, npv) = (_mm512_set1_epi32(c as i32), _mm512_set1_epi32(np as i32));
    let lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let p = src.map(|s| s.as_ptr());
    let q = dst.map(|d| d.as_mut_ptr());
    let mut f0 = 0;
    while f0 < n {
        let m = mask(n - f0);
        let f = _mm512_add_epi32(lane, _mm512_set1_epi32(f0 as i32));
        let j = _mm512_srli_epi32::<20>(_mm512_mullo_epi32(f, magic));
        let k = _mm512_sub_epi32(f, _mm512_mullo_epi32(j, cv));
        let idx = _mm512_add_epi32(_mm512_mullo_epi32(k, npv), j);
        for (&p, &q) in p.iter().zip(&q) {
            let v = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), m, idx, p);
            _mm512_mask_storeu_ps(q.add(f0), m, v);
        }
        f0 += V;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Both transposes against plain loops for every `C` up to 70 and a
    /// grid up to 1000 (past `SCATTER_MAX_C`, for `gather` only) and tile lengths around the vector width,
    /// with the element past the end untouched.
    #[test]
    fn transposes_match_plain_loops() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            return;
        }
        for c in (1..=70usize).chain([100, 127, 128, 200, 254, 255, 256, 300, 1000]) {
            for np in [1usize, 2, 15, 16, 17, 31, 33, 64] {
                let n = np * c;
                if n > MAX_ELEMS {
                    continue;
                }
                let src: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 3.0).collect();
                let mut want = vec![0.0f32; n];
                for j in 0..np {
                    for k in 0..c {
                        want[k * np + j] = src[j * c + k];
                    }
                }
                let mut got = vec![7.0f32; n + 1];
                // SAFETY: AVX-512F was detected above.
                unsafe { gather(&src, c, np, &mut got) };
                assert_eq!(&got[..n], &want[..], "gather c {c} np {np}");
                assert_eq!(got[n], 7.0, "gather c {c} np {np} wrote past the end");
                if c <= SCATTER_MAX_C {
                    let mut back = vec![7.0f32; n + 1];
                    // SAFETY: as above.
                    unsafe { scatter(&want, c, np, &mut back) };
                    assert_eq!(&back[..n], &src[..], "scatter c {c} np {np}");
                    assert_eq!(back[n], 7.0, "scatter c {c} np {np} wrote past the end");
                    // Two tiles at once: the second one negated.
                    let neg: Vec<f32> = want.iter().map(|v| -v).collect();
                    let (mut a, mut b) = (vec![7.0f32; n + 1], vec![7.0f32; n + 1]);
                    // SAFETY: as above.
                    unsafe { scatter2([&want, &neg], c, np, [&mut a, &mut b]) };
                    assert_eq!(a, back, "scatter2 c {c} np {np}");
                    let src_neg: Vec<f32> = src.iter().map(|v| -v).collect();
                    assert_eq!(&b[..n], &src_neg[..], "scatter2 c {c} np {np}");
                    assert_eq!(b[n], 7.0, "scatter2 c {c} np {np} wrote past the end");
                }
            }
        }
    }
}
