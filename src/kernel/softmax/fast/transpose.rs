//! Moves a tile between row-major memory (`np` rows of `c` classes) and
//! the class-major stack scratch the tile kernel works in.

#[cfg(target_arch = "x86_64")]
use super::f32s::{as_f32, as_f32_mut};
use crate::kernel::float::LossFloat;

/// Narrower rows keep the generic loops (at `C = 2` and `3` the 8 x 8
/// register blocks were 8-16% slower than them), except `C = 2`, which has
/// an interleave of its own.
#[cfg(target_arch = "x86_64")]
const AVX_MIN_C: usize = 4;

/// [`gather`], through the AVX register transpose for `f32` when `AVX`
/// (set under both vectorised levels) and `c` is 2 or at least 4.
///
/// The AVX-512 level uses it too: its 16-lane gathers (once
/// `transpose512`) made cross-entropy 1.3-1.9x slower end to end at
/// `4 <= C <= 16` on an AMD Zen 4 machine, and 13% slower than the generic
/// loops at `C = 2, 3`.
#[inline(always)]
pub(super) fn gather_of<F: LossFloat, const AVX: bool>(
    src: &[F],
    c: usize,
    np: usize,
    dst: &mut [F],
) {
    #[cfg(target_arch = "x86_64")]
    if AVX && (c == 2 || c >= AVX_MIN_C) {
        if let (Some(s), Some(d)) = (as_f32(src), as_f32_mut(dst)) {
            // SAFETY: `AVX` is set only under `run_avx2` and `run_avx512`,
            // which run after AVX2 was detected.
            unsafe { super::transpose256::gather(s, c, np, d) };
            return;
        }
    }
    let _ = np;
    gather(src, c, dst);
}

/// [`scatter`], through the AVX register transpose for `f32` when `AVX`
/// and `c` is 2 or at least 4 (see [`gather_of`]).
#[inline(always)]
pub(super) fn scatter_of<F: LossFloat, const AVX: bool>(
    src: &[F],
    c: usize,
    np: usize,
    dst: &mut [F],
) {
    #[cfg(target_arch = "x86_64")]
    if AVX && (c == 2 || c >= AVX_MIN_C) {
        if let (Some(s), Some(d)) = (as_f32(src), as_f32_mut(dst)) {
            // SAFETY: as in `gather_of`.
            unsafe { super::transpose256::scatter(s, c, np, d) };
            return;
        }
    }
    let _ = np;
    scatter(src, c, dst);
}

/// Transposes `np` rows of `c` classes (`src`, row-major) into class-major
/// `dst` (`dst[k * np + j] = src[j * c + k]`). Small `c` get a
/// constant-size version the compiler vectorises (with AVX-512, into 8-lane
/// gathers).
#[inline(always)]
fn gather<F: LossFloat>(src: &[F], c: usize, dst: &mut [F]) {
    macro_rules! fixed {
        ($($n:literal)*) => {
            match c {
                $($n => return gather_n::<F, $n>(src, dst),)*
                _ => {}
            }
        };
    }
    fixed!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
    let np = dst.len() / c;
    for (cl, col) in dst.chunks_exact_mut(np).enumerate() {
        for (d, row) in col.iter_mut().zip(src.chunks_exact(c)) {
            *d = row[cl];
        }
    }
}

#[inline(always)]
fn gather_n<F: LossFloat, const C: usize>(src: &[F], dst: &mut [F]) {
    let np = dst.len() / C;
    for (cl, col) in dst.chunks_exact_mut(np).enumerate().take(C) {
        for (d, row) in col.iter_mut().zip(src.chunks_exact(C)) {
            *d = row[cl];
        }
    }
}

/// The inverse of [`gather`]: class-major `src` back to row-major `dst`.
#[inline(always)]
fn scatter<F: LossFloat>(src: &[F], c: usize, dst: &mut [F]) {
    macro_rules! fixed {
        ($($n:literal)*) => {
            match c {
                $($n => return scatter_n::<F, $n>(src, dst),)*
                _ => {}
            }
        };
    }
    fixed!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
    let np = src.len() / c;
    for (cl, col) in src.chunks_exact(np).enumerate() {
        for (&v, row) in col.iter().zip(dst.chunks_exact_mut(c)) {
            row[cl] = v;
        }
    }
}

#[inline(always)]
fn scatter_n<F: LossFloat, const C: usize>(src: &[F], dst: &mut [F]) {
    let np = src.len() / C;
    for (cl, col) in src.chunks_exact(np).enumerate().take(C) {
        for (&v, row) in col.iter().zip(dst.chunks_exact_mut(C)) {
            row[cl] = v;
        }
    }
}

/// Asks for the cache lines of `v[from..from + len]` (cut at the end of
/// `v`) to be brought into the cache.
#[inline(always)]
pub(super) fn prefetch<F: LossFloat>(v: &[F], from: usize, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let end = v.len().min(from.saturating_add(len));
        let step = (64 / std::mem::size_of::<F>()).max(1);
        let mut i = from;
        while i < end {
            // SAFETY: `i < v.len()`; a prefetch reads nothing and cannot fault.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(v.as_ptr().add(i).cast::<i8>()) };
            i += step;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (v, from, len);
}
