//! Moves a tile between row-major memory (`np` rows of `c` classes) and
//! the class-major stack scratch the tile kernel works in.

#[cfg(all(target_arch = "x86_64", focal_avx512))]
use super::avx512;
use crate::kernel::float::LossFloat;

/// [`gather`], through the AVX-512 transpose for `f32` when `W512`.
#[inline(always)]
pub(super) fn gather_of<F: LossFloat, const W512: bool>(
    src: &[F],
    c: usize,
    np: usize,
    dst: &mut [F],
) {
    #[cfg(all(target_arch = "x86_64", focal_avx512))]
    if W512 {
        if let (Some(s), Some(d)) = (avx512::as_f32(src), avx512::as_f32_mut(dst)) {
            // SAFETY: `W512` is set only under `run_avx512`, which runs
            // after AVX-512F was detected.
            unsafe { super::transpose512::gather(s, c, np, d) };
            return;
        }
    }
    let _ = np;
    gather(src, c, dst);
}

/// [`scatter`], through the AVX-512 transpose for `f32` when `W512` and
/// `c` is small enough for it.
#[inline(always)]
pub(super) fn scatter_of<F: LossFloat, const W512: bool>(
    src: &[F],
    c: usize,
    np: usize,
    dst: &mut [F],
) {
    #[cfg(all(target_arch = "x86_64", focal_avx512))]
    if W512 && c <= super::transpose512::SCATTER_MAX_C {
        if let (Some(s), Some(d)) = (avx512::as_f32(src), avx512::as_f32_mut(dst)) {
            // SAFETY: as in `gather_of`.
            unsafe { super::transpose512::scatter(s, c, np, d) };
            return;
        }
    }
    let _ = np;
    scatter(src, c, dst);
}

/// [`scatter_of`] of the gradient and the Hessian tiles, in one pass where
/// the AVX-512 transpose runs.
#[inline(always)]
pub(super) fn scatter2_of<F: LossFloat, const W512: bool>(
    src: [&[F]; 2],
    c: usize,
    np: usize,
    dst: [&mut [F]; 2],
) {
    let [da, db] = dst;
    #[cfg(all(target_arch = "x86_64", focal_avx512))]
    if W512 && c <= super::transpose512::SCATTER_MAX_C {
        let s = (avx512::as_f32(src[0]), avx512::as_f32(src[1]));
        let d = (avx512::as_f32_mut(&mut *da), avx512::as_f32_mut(&mut *db));
        if let ((Some(sa), Some(sb)), (Some(da), Some(db))) = (s, d) {
            // SAFETY: as in `gather_of`.
            unsafe { super::transpose512::scatter2([sa, sb], c, np, [da, db]) };
            return;
        }
    }
    scatter_of::<F, W512>(src[0], c, np, da);
    scatter_of::<F, W512>(src[1], c, np, db);
}

/// Transposes `np` rows of `c` classes (`src`, row-major) into class-major
/// `dst` (`dst[k * np + j] = src[j * c + k]`). Small `c` get a
/// constant-size version the compiler vectorises (with AVX-512, into 8-lane
/// gathers; [`gather_of`] uses `transpose512` there for `f32`).
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
