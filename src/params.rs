//! Validated loss parameters, stored once in `f64` and once in `f32` so a
//! loss configured once serves both precisions without converting (or
//! allocating) on each call.

use crate::error::LossError;
use crate::kernel::float::LossFloat;
use ndarray::{ArrayBase, Data, Ix1};
use std::borrow::Cow;

/// Anything a per-class vector (`weight`, `alpha`, `pos_weight`) can be
/// given as: an array `[x; N]`, a slice, a `Vec`, or an ndarray `Array1` /
/// `ArrayView1`, of `f32` or `f64`, or a reference to one. `f32` values are
/// widened exactly, so `vec![0.5_f32]` configures the same loss as
/// `vec![0.5_f64]`.
///
/// # Examples
///
/// ```
/// use focal_loss::FocalLoss;
/// use ndarray::array;
///
/// let a = FocalLoss::new(2.0)?.with_alpha(vec![0.25_f32, 4.0])?;
/// let b = FocalLoss::new(2.0)?.with_alpha(array![0.25_f64, 4.0])?;
/// let c = FocalLoss::new(2.0)?.with_alpha(&[0.25, 4.0][..])?;
/// assert!(a == b && b == c);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
pub trait ClassValues {
    /// The values in `f64`.
    fn class_values(&self) -> Cow<'_, [f64]>;
}

/// A class value as `f64` (exact for both precisions): `f32` or `f64`.
/// Sealed.
///
/// # Examples
///
/// ```
/// use focal_loss::{ClassValue, ClassValues};
///
/// fn total<T: ClassValue>(v: &[T]) -> f64 {
///     v.class_values().iter().sum()
/// }
/// assert_eq!(total(&[0.5_f32, 0.25]), 0.75);
/// ```
pub trait ClassValue: Copy + sealed::Sealed {
    /// The value in `f64`.
    #[doc(hidden)]
    fn wide(self) -> f64;
    /// A slice of values in `f64`, borrowed where it already is.
    #[doc(hidden)]
    fn wide_slice(v: &[Self]) -> Cow<'_, [f64]> {
        Cow::Owned(v.iter().map(|x| x.wide()).collect())
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

impl ClassValue for f32 {
    fn wide(self) -> f64 {
        f64::from(self)
    }
}

impl ClassValue for f64 {
    fn wide(self) -> f64 {
        self
    }
    fn wide_slice(v: &[Self]) -> Cow<'_, [f64]> {
        Cow::Borrowed(v)
    }
}

impl<T: ClassValue> ClassValues for [T] {
    fn class_values(&self) -> Cow<'_, [f64]> {
        T::wide_slice(self)
    }
}

impl<T: ClassValue, const N: usize> ClassValues for [T; N] {
    fn class_values(&self) -> Cow<'_, [f64]> {
        T::wide_slice(self)
    }
}

impl<T: ClassValue> ClassValues for Vec<T> {
    fn class_values(&self) -> Cow<'_, [f64]> {
        T::wide_slice(self)
    }
}

impl<T: ClassValue, S: Data<Elem = T>> ClassValues for ArrayBase<S, Ix1> {
    fn class_values(&self) -> Cow<'_, [f64]> {
        match self.as_slice() {
            Some(s) => T::wide_slice(s),
            None => Cow::Owned(self.iter().map(|x| x.wide()).collect()),
        }
    }
}

impl<V: ClassValues + ?Sized> ClassValues for &V {
    fn class_values(&self) -> Cow<'_, [f64]> {
        (**self).class_values()
    }
}

/// A validated per-class vector (weights, alpha, pos_weight).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PerClass {
    v64: Vec<f64>,
    v32: Vec<f32>,
}

impl PerClass {
    /// Validates that every entry is `0` or a normal `f32` number
    /// (`1.2e-38 ..= 3.4e38`; see [`weight_ok`]).
    pub fn new(name: &'static str, values: &[f64]) -> Result<Self, LossError> {
        for (index, &value) in values.iter().enumerate() {
            if !weight_ok(value) {
                return Err(LossError::InvalidParameterEntry {
                    name,
                    index,
                    value,
                    expected: WEIGHT_DOMAIN,
                });
            }
        }
        Ok(Self::new_unchecked(values))
    }

    /// Like [`PerClass::new`], but every entry must also be `<= 1`.
    pub fn new_unit(name: &'static str, values: &[f64]) -> Result<Self, LossError> {
        for (index, &value) in values.iter().enumerate() {
            if !((0.0..=1.0).contains(&value) && weight_ok(value)) {
                return Err(LossError::InvalidParameterEntry {
                    name,
                    index,
                    value,
                    expected: "0, or a number in [1.2e-38, 1]",
                });
            }
        }
        Ok(Self::new_unchecked(values))
    }

    fn new_unchecked(values: &[f64]) -> Self {
        Self {
            v64: values.to_vec(),
            v32: values.iter().map(|&v| v as f32).collect(),
        }
    }

    /// The values in precision `F`.
    pub fn get<F: LossFloat>(&self) -> &[F] {
        F::select(&self.v64, &self.v32)
    }

    /// The values as given.
    pub fn as_f64(&self) -> &[f64] {
        &self.v64
    }
}

/// A focal loss's class-balance factor `alpha`, as configured.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Alpha {
    /// No alpha.
    None,
    /// The same alpha for every class.
    Scalar(f64),
    /// One alpha per class.
    PerClass(PerClass),
}

/// The domain of weights, alpha and pos_weight, in words.
pub(crate) const WEIGHT_DOMAIN: &str = "0, or a number in [1.2e-38, 3.4e38] (a normal f32)";

/// Weights (class weights, alpha, pos_weight) must be `0` or a normal
/// `f32` number: the same loss serves `f32` inputs, where a larger weight
/// would be `inf`, and `WeightedMean` divides by the weights' sum, whose
/// reciprocal must not overflow.
pub(crate) fn weight_ok(v: f64) -> bool {
    v == 0.0 || (f64::from(f32::MIN_POSITIVE)..=f64::from(f32::MAX)).contains(&v)
}

/// `gamma` must be finite, `>= 0` and at most `f32::MAX`.
pub(crate) fn check_gamma(gamma: f64) -> Result<f64, LossError> {
    if (0.0..=f64::from(f32::MAX)).contains(&gamma) {
        Ok(gamma)
    } else {
        Err(LossError::InvalidParameter {
            name: "gamma",
            value: gamma,
            expected: "a number in [0, 3.4e38]",
        })
    }
}

/// A parameter that must lie in `[0, 1]` (label smoothing, scalar alpha).
pub(crate) fn check_unit(name: &'static str, v: f64) -> Result<f64, LossError> {
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(LossError::InvalidParameter {
            name,
            value: v,
            expected: "a number in [0, 1]",
        })
    }
}

/// A scalar weight: `0` or a normal `f32` number (see [`weight_ok`]).
pub(crate) fn check_nonneg(name: &'static str, v: f64) -> Result<f64, LossError> {
    if weight_ok(v) {
        Ok(v)
    } else {
        Err(LossError::InvalidParameter {
            name,
            value: v,
            expected: WEIGHT_DOMAIN,
        })
    }
}

/// A vector of `n` copies of `fill`, one per class, or an error naming
/// `n_classes` when it cannot be allocated (instead of an abort or panic).
pub(crate) fn class_table<T: Clone>(n: usize, fill: T) -> Result<Vec<T>, LossError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| LossError::InvalidParameter {
            name: "n_classes",
            value: n as f64,
            expected: "a class count whose per-class tables fit in memory",
        })?;
    v.resize(n, fill);
    Ok(v)
}
