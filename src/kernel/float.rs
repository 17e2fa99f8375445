//! The sealed float trait the kernels are written against (`f32`, `f64`).

use crate::kernel::vmath;
use num_traits::{AsPrimitive, Float};
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
///
/// # Examples
///
/// Code generic over the precision names `LossFloat`:
///
/// ```
/// use focal_loss::{FocalLoss, LossError, LossFloat};
/// use ndarray::{array, Array2};
///
/// fn focal<F: LossFloat>(x: &Array2<F>) -> Result<F, LossError> {
///     FocalLoss::new(2.0)?.forward(x, &array![0_usize, 1])
/// }
/// let x64 = array![[2.0_f64, 0.5], [0.1, 1.0]];
/// let x32 = x64.mapv(|v| v as f32);
/// assert!((focal(&x64)? - f64::from(focal(&x32)?)).abs() < 1e-6);
/// # Ok::<(), LossError>(())
/// ```
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

/// Implements [`LossFloat`] for `$t` with its `vmath` functions; `$pick`
/// picks its copy of a parameter vector from `(v64, v32)`.
macro_rules! impl_loss_float {
    ($t:ty, $exp:ident, $exp_with:ident, $ln:ident, $expm1:ident, $pick:ident) => {
        impl LossFloat for $t {
            #[inline(always)]
            fn vexp(self) -> Self {
                vmath::$exp(self)
            }
            #[inline(always)]
            fn vexp_fma(self) -> Self {
                vmath::$exp_with::<true>(self)
            }
            #[inline(always)]
            fn vln(self) -> Self {
                vmath::$ln(self)
            }
            #[inline(always)]
            fn vexpm1(self) -> Self {
                vmath::$expm1(self)
            }
            #[inline(always)]
            fn to_f64_(self) -> f64 {
                f64::from(self)
            }
            #[inline(always)]
            fn from_f64_(v: f64) -> Self {
                AsPrimitive::<$t>::as_(v)
            }
            #[inline(always)]
            fn select<'a>(v64: &'a [f64], v32: &'a [f32]) -> &'a [Self] {
                $pick(v64, v32)
            }
        }
    };
}

#[inline(always)]
fn first<'a>(v64: &'a [f64], _: &'a [f32]) -> &'a [f64] {
    v64
}

#[inline(always)]
fn second<'a>(_: &'a [f64], v32: &'a [f32]) -> &'a [f32] {
    v32
}

impl_loss_float!(f32, exp_f32, exp_f32_with, ln_f32, expm1_f32, second);
impl_loss_float!(f64, exp_f64, exp_f64_with, ln_f64, expm1_f64, first);
