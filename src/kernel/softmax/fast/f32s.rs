//! Views of a generic float slice as `f32`, for the explicit `f32`
//! primitives (`avx512`, `transpose256`).

use crate::kernel::float::LossFloat;
use std::any::TypeId;

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
