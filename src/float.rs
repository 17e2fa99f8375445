//! The sealed float trait the kernels are written against (`f32`, `f64`).

use crate::kernel::vmath;
use num_traits::Float;
use std::fmt::{Debug, Display};
use std::iter::Sum;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point type the losses are computed in: `f32` or `f64`.
///
/// Sealed: it cannot be implemented outside this crate. It carries the
/// maths the kernels need (`exp`, `ln`, `expm1`, `ln_1p`, `powf`) through
/// [`num_traits::Float`], plus lossless conversion to and from the `f64`
/// accumulators that reductions use.
pub trait LossFloat:
    Float + Debug + Display + Default + Sum + Send + Sync + 'static + sealed::Sealed
{
    /// Converts to `f64` (exact for both `f32` and `f64`).
    fn to_f64_(self) -> f64;
    /// Converts from `f64`, rounding to nearest.
    fn from_f64_(v: f64) -> Self;
    /// Picks the copy of a parameter vector stored in this precision.
    #[doc(hidden)]
    fn select<'a>(v64: &'a [f64], v32: &'a [f32]) -> &'a [Self];
    /// Branch-free `exp` that vectorises (see `kernel::vmath`).
    #[doc(hidden)]
    fn vexp(self) -> Self;
    /// [`LossFloat::vexp`] with fused multiply-adds: only for callers
    /// compiled with the `fma` target feature (elsewhere a libm call).
    #[doc(hidden)]
    fn vexp_fma(self) -> Self;
    /// Branch-free `ln` for `x >= 0` that vectorises.
    #[doc(hidden)]
    fn vln(self) -> Self;
    /// Branch-free `expm1` for `x <= 0` that vectorises.
    #[doc(hidden)]
    fn vexpm1(self) -> Self;
}

impl LossFloat for f32 {
    #[inline(always)]
    fn vexp(self) -> Self {
        vmath::exp_f32(self)
    }
    #[inline(always)]
    fn vexp_fma(self) -> Self {
        vmath::exp_f32_with::<true>(self)
    }
    #[inline(always)]
    fn vln(self) -> Self {
        vmath::ln_f32(self)
    }
    #[inline(always)]
    fn vexpm1(self) -> Self {
        vmath::expm1_f32(self)
    }
    #[inline(always)]
    fn to_f64_(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn from_f64_(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn select<'a>(_: &'a [f64], v32: &'a [f32]) -> &'a [Self] {
        v32
    }
}

impl LossFloat for f64 {
    #[inline(always)]
    fn vexp(self) -> Self {
        vmath::exp_f64(self)
    }
    #[inline(always)]
    fn vexp_fma(self) -> Self {
        vmath::exp_f64_with::<true>(self)
    }
    #[inline(always)]
    fn vln(self) -> Self {
        vmath::ln_f64(self)
    }
    #[inline(always)]
    fn vexpm1(self) -> Self {
        vmath::expm1_f64(self)
    }
    #[inline(always)]
    fn to_f64_(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_f64_(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn select<'a>(v64: &'a [f64], _: &'a [f32]) -> &'a [Self] {
        v64
    }
}
