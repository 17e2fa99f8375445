//! Shape checks and memory layout shared by both families: inputs borrowed
//! as row-major slices (copied only when they are not), outputs written in
//! place or through a temporary.

use crate::error::{unravel, LossError};
use crate::kernel::float::LossFloat;
use crate::kernel::Geom;
use ndarray::{ArrayBase, ArrayViewD, DataMut, Dimension};
use std::borrow::Cow;

/// A view's elements in row-major order, borrowed when already contiguous
/// in standard layout, else copied in that order.
pub(crate) fn flat<T: Clone>(v: ArrayViewD<'_, T>) -> Cow<'_, [T]> {
    match v.to_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(v.iter().cloned().collect()),
    }
}

/// Checks that an input is `(N, C, ..)` with `C >= 1` and returns the geometry.
pub(crate) fn geometry(shape: &[usize], what: &'static str) -> Result<Geom, LossError> {
    if shape.len() < 2 {
        return Err(LossError::TooFewDimensions {
            what,
            min: 2,
            actual: shape.len(),
        });
    }
    if shape[1] == 0 {
        return Err(LossError::NoClasses);
    }
    Ok(Geom {
        n: shape[0],
        c: shape[1],
        m: shape[2..].iter().product(),
    })
}

/// Errors unless `actual == expected`.
pub(crate) fn check_shape(
    what: &'static str,
    expected: &[usize],
    actual: &[usize],
) -> Result<(), LossError> {
    if expected == actual {
        Ok(())
    } else {
        Err(LossError::ShapeMismatch {
            what,
            expected: expected.to_vec(),
            actual: actual.to_vec(),
        })
    }
}

/// Errors unless a per-class vector has one entry per class.
pub(crate) fn check_len(what: &'static str, len: usize, c: usize) -> Result<(), LossError> {
    if len == c {
        Ok(())
    } else {
        Err(LossError::LengthMismatch {
            what,
            expected: c,
            actual: len,
        })
    }
}

/// Errors on the first NaN or infinite value.
pub(crate) fn check_finite_slice<F: LossFloat>(
    what: &'static str,
    v: &[F],
    shape: &[usize],
) -> Result<(), LossError> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(LossError::NonFiniteInput {
            what,
            position: unravel(i, shape),
            value: v[i].to_f64_(),
        }),
        None => Ok(()),
    }
}

/// The largest value of a per-class vector, `1` without one.
pub(crate) fn max_or_one<F: LossFloat>(v: Option<&[F]>) -> f64 {
    v.map_or(1.0, |v| v.iter().fold(0.0_f64, |a, x| a.max(x.to_f64_())))
}

/// An `f64` copy of a slice.
pub(crate) fn widen<F: LossFloat>(v: &[F]) -> Vec<f64> {
    v.iter().map(|x| x.to_f64_()).collect()
}

/// Runs `f` on `a` as a row-major slice: in place when `a` is contiguous in
/// standard layout, otherwise through a temporary copied back afterwards.
pub(crate) fn with_contiguous_mut<F: LossFloat, S: DataMut<Elem = F>, D: Dimension, R>(
    a: &mut ArrayBase<S, D>,
    f: impl FnOnce(&mut [F]) -> Result<R, LossError>,
) -> Result<R, LossError> {
    if let Some(s) = a.as_slice_mut() {
        return f(s);
    }
    let mut tmp = vec![F::zero(); a.len()];
    let r = f(&mut tmp)?;
    for (dst, src) in a.iter_mut().zip(tmp) {
        *dst = src;
    }
    Ok(r)
}
