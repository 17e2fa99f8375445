//! Moves a tile between row-major memory (`np` rows of `c` classes) and
//! the class-major stack scratch the tile kernel works in.

#[cfg(target_arch = "x86_64")]
use super::f32s::{as_f32, as_f32_mut};
use crate::kernel::float::LossFloat;

/// [`gather`] (`GATHER`) or [`scatter`], through the AVX register
/// transposes for `f32` when `AVX` (set under both vectorised levels) and
/// `transpose256::takes(c)`.
///
/// The AVX-512 level uses them too: its 16-lane gathers (once
/// `transpose512`) made cross-entropy 1.3-1.9x slower end to end at
/// `4 <= C <= 16` on an AMD Zen 4 machine, and 13% slower than the generic
/// loops at `C = 2, 3`.
#[inline(always)]
pub(super) fn transpose_of<F: LossFloat, const AVX: bool, const GATHER: bool>(
    src: &[F],
    c: usize,
    np: usize,
    dst: &mut [F],
) {
    #[cfg(target_arch = "x86_64")]
    if AVX && super::transpose256::takes(c) {
        if let (Some(s), Some(d)) = (as_f32(src), as_f32_mut(dst)) {
            // SAFETY: `AVX` is set only under `run_avx2` and `run_avx512`,
            // which run after AVX2 was detected.
            unsafe {
                if GATHER {
                    super::transpose256::gather(s, c, np, d);
                } else {
                    super::transpose256::scatter(s, c, np, d);
                }
            }
            return;
        }
    }
    let _ = np;
    if GATHER {
        gather(src, c, dst);
    } else {
        scatter(src, c, dst);
    }
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
