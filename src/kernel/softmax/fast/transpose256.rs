//! AVX `f32` transposes of a tile between row-major logits / gradient and
//! the class-major stack scratch (`M = 1`), in 8 x 8 blocks held in
//! registers.
//!
//! With AVX2 the generic loops compile to one scalar insert or store per
//! element (a third of the cross-entropy time at `C = 10` on an AVX2
//! machine), and with AVX-512 to gathers, which are slow on some CPUs (see
//! `transpose::transpose_of`). Here each block of 8 rows x 8 classes is 8
//! vector loads, 24 shuffles and 8 vector stores, at both levels.
//!
//! Requires AVX2 (see `Level::Avx2`).

use std::arch::x86_64::{
    __m256, _mm256_castpd_ps, _mm256_castps_pd, _mm256_loadu_ps, _mm256_permute2f128_ps,
    _mm256_permute4x64_pd, _mm256_setzero_ps, _mm256_shuffle_ps, _mm256_storeu_ps,
    _mm256_unpackhi_ps, _mm256_unpacklo_ps,
};

/// Rows (and classes) per block.
const B: usize = 8;

/// Whether [`gather`] and [`scatter`] are worth calling for `c` classes:
/// `C = 2` has an interleave of its own; at `C = 3` the 8 x 8 blocks were
/// 0.88x the generic loops at the AVX2 level (1.07x at AVX-512), and at
/// `C = 2` 0.84-0.90x, before the interleave.
#[inline(always)]
pub(super) fn takes(c: usize) -> bool {
    c == 2 || c >= 4
}

/// Transposes the 8 x 8 block `r` (row `i` becomes column `i`).
#[inline]
#[target_feature(enable = "avx")]
unsafe fn transpose8(r: &mut [__m256; B]) {
    // Pairs of rows interleaved, then pairs of pairs: s_k holds column k
    // (rows 0-3 or 4-7) in its low half and column k + 4 in its high half.
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    r[0] = _mm256_permute2f128_ps::<0x20>(s0, s4);
    r[1] = _mm256_permute2f128_ps::<0x20>(s1, s5);
    r[2] = _mm256_permute2f128_ps::<0x20>(s2, s6);
    r[3] = _mm256_permute2f128_ps::<0x20>(s3, s7);
    r[4] = _mm256_permute2f128_ps::<0x31>(s0, s4);
    r[5] = _mm256_permute2f128_ps::<0x31>(s1, s5);
    r[6] = _mm256_permute2f128_ps::<0x31>(s2, s6);
    r[7] = _mm256_permute2f128_ps::<0x31>(s3, s7);
}

/// Eight floats from `src[off..]`, or the ones there are (the rest 0).
#[inline]
#[target_feature(enable = "avx")]
unsafe fn load8(src: &[f32], off: usize) -> __m256 {
    if off + B <= src.len() {
        _mm256_loadu_ps(src.as_ptr().add(off))
    } else {
        let mut t = [0.0f32; B];
        let rest = &src[off..];
        t[..rest.len()].copy_from_slice(rest);
        _mm256_loadu_ps(t.as_ptr())
    }
}

/// `dst[k * np + j] = src[j * c + k]` for `j < np`, `k < c`: `np` rows of
/// `c` classes into class-major order.
///
/// # Safety
/// AVX2.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn gather(src: &[f32], c: usize, np: usize, dst: &mut [f32]) {
    if c == 2 {
        return gather2(src, np, dst);
    }
    let n = np * c;
    let (src, dst) = (&src[..n], &mut dst[..n]);
    let full = np / B * B;
    let (p, q) = (src.as_ptr(), dst.as_mut_ptr());
    let mut j0 = 0;
    while j0 < full {
        let mut k0 = 0;
        while k0 < c {
            let mut r = [_mm256_setzero_ps(); B];
            // Past the row's classes the loads read the next row's (or 0
            // past the end); those lanes are not stored below.
            if (j0 + B - 1) * c + k0 + B <= n {
                for (i, v) in r.iter_mut().enumerate() {
                    // In bounds: checked for the last row just above.
                    *v = _mm256_loadu_ps(p.add((j0 + i) * c + k0));
                }
            } else {
                for (i, v) in r.iter_mut().enumerate() {
                    *v = load8(src, (j0 + i) * c + k0);
                }
            }
            transpose8(&mut r);
            // In bounds: (k0 + kk) np + j0 + 8 <= (c - 1) np + np.
            if k0 + B <= c {
                for (kk, v) in r.iter().enumerate() {
                    _mm256_storeu_ps(q.add((k0 + kk) * np + j0), *v);
                }
            } else {
                for (kk, v) in r.iter().enumerate().take(c - k0) {
                    _mm256_storeu_ps(q.add((k0 + kk) * np + j0), *v);
                }
            }
            k0 += B;
        }
        j0 += B;
    }
    gather_rows(src, c, np, full, dst);
}

/// The inverse of [`gather`]: `dst[j * c + k] = src[k * np + j]`, written
/// as whole vectors.
///
/// A block narrower than 8 classes (the last one of a row, when 8 does not
/// divide `c`) is stored whole anyway: the extra lanes land on the
/// following row(s), which are written after it (the narrow block of a
/// group of rows goes first, rows in order, then its full blocks, then the
/// next group), so only correct values remain. Stores that would pass the
/// end of `dst` are cut to the row's own classes.
///
/// # Safety
/// AVX.
#[inline]
#[target_feature(enable = "avx")]
pub(super) unsafe fn scatter(src: &[f32], c: usize, np: usize, dst: &mut [f32]) {
    if c == 2 {
        return scatter2(src, np, dst);
    }
    let n = np * c;
    let (src, dst) = (&src[..n], &mut dst[..n]);
    let full = np / B * B;
    let narrow = c % B;
    let last = c - narrow;
    let (p, q) = (src.as_ptr(), dst.as_mut_ptr());
    let mut j0 = 0;
    while j0 < full {
        if narrow > 0 {
            let mut r = [_mm256_setzero_ps(); B];
            for (kk, v) in r.iter_mut().enumerate().take(narrow) {
                // In bounds, as in `gather`'s stores.
                *v = _mm256_loadu_ps(p.add((last + kk) * np + j0));
            }
            transpose8(&mut r);
            for (i, v) in r.iter().enumerate() {
                let off = (j0 + i) * c + last;
                if off + B <= n {
                    _mm256_storeu_ps(q.add(off), *v);
                } else {
                    let mut t = [0.0f32; B];
                    _mm256_storeu_ps(t.as_mut_ptr(), *v);
                    dst[off..off + narrow].copy_from_slice(&t[..narrow]);
                }
            }
        }
        let mut k0 = 0;
        while k0 < last {
            let mut r = [_mm256_setzero_ps(); B];
            for (kk, v) in r.iter_mut().enumerate() {
                *v = _mm256_loadu_ps(p.add((k0 + kk) * np + j0));
            }
            transpose8(&mut r);
            for (i, v) in r.iter().enumerate() {
                // In bounds: the block lies within row j0 + i.
                _mm256_storeu_ps(q.add((j0 + i) * c + k0), *v);
            }
            k0 += B;
        }
        j0 += B;
    }
    scatter_rows(src, c, np, full, dst);
}

/// [`gather`] for two classes: 8 rows (16 floats) de-interleaved per step.
///
/// # Safety
/// AVX2.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn gather2(src: &[f32], np: usize, dst: &mut [f32]) {
    let (src, dst) = (&src[..2 * np], &mut dst[..2 * np]);
    let full = np / B * B;
    let (p, q) = (src.as_ptr(), dst.as_mut_ptr());
    let mut j0 = 0;
    while j0 < full {
        // In bounds: 2 j0 + 16 <= 2 np.
        let v0 = _mm256_loadu_ps(p.add(2 * j0));
        let v1 = _mm256_loadu_ps(p.add(2 * j0 + B));
        // Per 128-bit half: class 0 is a0 a1 a4 a5 | a2 a3 a6 a7; the
        // 64-bit permute puts the pairs in order.
        let a = _mm256_shuffle_ps::<0x88>(v0, v1);
        let b = _mm256_shuffle_ps::<0xDD>(v0, v1);
        let a = _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(a)));
        let b = _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(b)));
        // In bounds: j0 + 8 <= np and np + j0 + 8 <= 2 np.
        _mm256_storeu_ps(q.add(j0), a);
        _mm256_storeu_ps(q.add(np + j0), b);
        j0 += B;
    }
    gather_rows(src, 2, np, full, dst);
}

/// [`scatter`] for two classes: 8 rows interleaved per step.
///
/// # Safety
/// AVX.
#[inline]
#[target_feature(enable = "avx")]
unsafe fn scatter2(src: &[f32], np: usize, dst: &mut [f32]) {
    let (src, dst) = (&src[..2 * np], &mut dst[..2 * np]);
    let full = np / B * B;
    let (p, q) = (src.as_ptr(), dst.as_mut_ptr());
    let mut j0 = 0;
    while j0 < full {
        // In bounds as in `gather2`.
        let a = _mm256_loadu_ps(p.add(j0));
        let b = _mm256_loadu_ps(p.add(np + j0));
        // a0 b0 a1 b1 | a4 b4 a5 b5 and a2 b2 a3 b3 | a6 b6 a7 b7.
        let lo = _mm256_unpacklo_ps(a, b);
        let hi = _mm256_unpackhi_ps(a, b);
        _mm256_storeu_ps(q.add(2 * j0), _mm256_permute2f128_ps::<0x20>(lo, hi));
        _mm256_storeu_ps(q.add(2 * j0 + B), _mm256_permute2f128_ps::<0x31>(lo, hi));
        j0 += B;
    }
    scatter_rows(src, 2, np, full, dst);
}

/// [`gather`] of rows `from..np` one element at a time (the rows past the
/// last whole block of 8).
#[inline(always)]
fn gather_rows(src: &[f32], c: usize, np: usize, from: usize, dst: &mut [f32]) {
    for j in from..np {
        for k in 0..c {
            dst[k * np + j] = src[j * c + k];
        }
    }
}

/// [`scatter`] of rows `from..np` one element at a time.
#[inline(always)]
fn scatter_rows(src: &[f32], c: usize, np: usize, from: usize, dst: &mut [f32]) {
    for j in from..np {
        for k in 0..c {
            dst[j * c + k] = src[k * np + j];
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Both transposes against plain loops for every `C` up to 70 and a
    /// few wider ones, and tile lengths around the block size, with the
    /// elements past the end untouched.
    #[test]
    fn transposes_match_plain_loops() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        for c in (1..=70usize).chain([100, 127, 128, 255, 256, 300]) {
            for np in [1usize, 2, 7, 8, 9, 15, 16, 17, 31, 33, 64] {
                let n = np * c;
                let src: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 3.0).collect();
                let mut want = vec![0.0f32; n];
                for j in 0..np {
                    for k in 0..c {
                        want[k * np + j] = src[j * c + k];
                    }
                }
                let mut got = vec![7.0f32; n + 9];
                // SAFETY: AVX2 was detected above.
                unsafe { gather(&src, c, np, &mut got) };
                assert_eq!(&got[..n], &want[..], "gather c {c} np {np}");
                assert!(
                    got[n..].iter().all(|&v| v == 7.0),
                    "gather c {c} np {np} wrote past the end"
                );
                let mut back = vec![7.0f32; n + 9];
                // SAFETY: as above.
                unsafe { scatter(&want, c, np, &mut back) };
                assert_eq!(&back[..n], &src[..], "scatter c {c} np {np}");
                assert!(
                    back[n..].iter().all(|&v| v == 7.0),
                    "scatter c {c} np {np} wrote past the end"
                );
            }
        }
    }
}
