//! The CPU backends whose memory the fused kernels read in place: burn's
//! `Flex` (its pure-Rust CPU backend) and `NdArray` (deprecated in burn
//! 0.22, still shipped). Logits and float targets are viewed where they lie
//! (strided views included); the gradient and outputs are built from the
//! kernels' own buffers without a copy.

// burn 0.22 deprecates the NdArray backend; this adapter still serves it.
#![allow(deprecated)]

use crate::bridge::TargetData;
use crate::LossError;
use burn_backend::{Backend, DType, TensorData};
use burn_flex::{Flex, FlexTensor};
use burn_ndarray::{NdArray, NdArrayTensor};
use ndarray::{ArrayD, ArrayViewD, IxDyn, ShapeBuilder};

/// Logits (or another float tensor) viewed in their own precision.
pub(super) enum Floats<'a> {
    F32(ArrayViewD<'a, f32>),
    F64(ArrayViewD<'a, f64>),
}

/// Class-index targets viewed in place (never `TargetData::Float`), or
/// copied to `i64` for the label types the kernels do not take (`i8`,
/// `i16`).
pub(super) enum Ints<'a> {
    View(TargetData<'a, f64>),
    Owned(ArrayD<i64>),
}

impl Ints<'_> {
    /// The targets as the kernels take them.
    pub(super) fn data<F>(&self) -> Result<TargetData<'_, F>, LossError> {
        match self {
            Ints::View(t) => t.indices().map_err(|_| crate::bridge::not_index()),
            Ints::Owned(t) => Ok(TargetData::I64(t.view())),
        }
    }
}

/// A float dtype the kernels compute in.
pub(super) trait HostFloat: crate::LossFloat + burn_backend::Element {
    /// `x`'s view, if it holds this precision.
    fn pick<'a>(x: &Floats<'a>) -> Option<ArrayViewD<'a, Self>>;
    /// An NdArray tensor owning `a`.
    fn nd(a: ArrayD<Self>) -> NdArrayTensor;
}

/// `HostFloat` for a precision `$t` held as `Floats::$v`.
macro_rules! host_float {
    ($($t:ident => $v:ident),*) => {$(
        impl HostFloat for $t {
            fn pick<'a>(x: &Floats<'a>) -> Option<ArrayViewD<'a, $t>> {
                match x {
                    Floats::$v(v) => Some(v.clone()),
                    _ => None,
                }
            }
            fn nd(a: ArrayD<$t>) -> NdArrayTensor {
                a.into_shared().into()
            }
        }
    )*};
}

host_float!(f32 => F32, f64 => F64);

fn dtype_error(what: &'static str, got: DType) -> LossError {
    LossError::InvalidParameter {
        name: what,
        value: f64::NAN,
        expected: match got {
            DType::F16 | DType::BF16 => "f32 or f64 (half precision: cast to f32 first)",
            _ => "f32 or f64 logits; integer class indices or float targets",
        },
    }
}

fn size_error(shape: &[usize], len: usize) -> LossError {
    LossError::ShapeMismatch {
        what: "output buffer",
        expected: shape.to_vec(),
        actual: vec![len],
    }
}

/// A CPU backend whose tensors the kernels read in place.
pub(super) trait Host: Backend {
    /// Makes a tensor viewable (only a negatively strided Flex tensor is
    /// copied).
    fn viewable(x: Self::FloatTensorPrimitive) -> Self::FloatTensorPrimitive;
    /// A float tensor viewed in its precision.
    fn floats(x: &Self::FloatTensorPrimitive) -> Result<Floats<'_>, LossError>;
    /// Class-index targets.
    fn ints(t: &Self::IntTensorPrimitive) -> Result<Ints<'_>, LossError>;
    /// A boolean mask, copied.
    fn bools(b: &Self::BoolTensorPrimitive) -> Result<ArrayD<bool>, LossError>;
    /// A tensor owning `data` (standard order), without a copy.
    fn from_vec<F: HostFloat>(
        data: Vec<F>,
        shape: &[usize],
    ) -> Result<Self::FloatTensorPrimitive, LossError>;
}

/// A view of `data` under a shape and element strides (non-negative) from `offset`.
fn strided<'a, T>(
    data: &'a [T],
    shape: &[usize],
    strides: &[isize],
    offset: usize,
) -> Result<ArrayViewD<'a, T>, LossError> {
    let bad = || LossError::ShapeMismatch {
        what: "tensor layout",
        expected: shape.to_vec(),
        actual: vec![data.len()],
    };
    let strides: Vec<usize> = strides
        .iter()
        .map(|&s| usize::try_from(s).map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let tail = data.get(offset..).ok_or_else(bad)?;
    ArrayViewD::from_shape(IxDyn(shape).strides(IxDyn(&strides)), tail).map_err(|_| bad())
}

impl Host for Flex {
    fn viewable(x: FlexTensor) -> FlexTensor {
        if x.layout().strides().iter().any(|&s| s < 0) {
            x.to_contiguous()
        } else {
            x
        }
    }

    fn floats(x: &FlexTensor) -> Result<Floats<'_>, LossError> {
        let l = x.layout();
        let (shape, strides, off) = (l.shape().as_slice(), l.strides(), l.start_offset());
        match x.dtype() {
            DType::F32 => Ok(Floats::F32(strided(x.storage(), shape, strides, off)?)),
            DType::F64 => Ok(Floats::F64(strided(x.storage(), shape, strides, off)?)),
            other => Err(dtype_error("logits", other)),
        }
    }

    fn ints(t: &FlexTensor) -> Result<Ints<'_>, LossError> {
        let l = t.layout();
        let (s, st, o) = (l.shape().as_slice(), l.strides(), l.start_offset());
        match t.dtype() {
            DType::I64 => Ok(Ints::View(TargetData::I64(strided(t.storage(), s, st, o)?))),
            DType::I32 => Ok(Ints::View(TargetData::I32(strided(t.storage(), s, st, o)?))),
            DType::U64 => Ok(Ints::View(TargetData::U64(strided(t.storage(), s, st, o)?))),
            DType::U32 => Ok(Ints::View(TargetData::U32(strided(t.storage(), s, st, o)?))),
            DType::U16 => Ok(Ints::View(TargetData::U16(strided(t.storage(), s, st, o)?))),
            DType::U8 => Ok(Ints::View(TargetData::U8(strided(t.storage(), s, st, o)?))),
            DType::I16 => Ok(Ints::Owned(
                strided(t.storage::<i16>(), s, st, o)?.mapv(i64::from),
            )),
            DType::I8 => Ok(Ints::Owned(
                strided(t.storage::<i8>(), s, st, o)?.mapv(i64::from),
            )),
            other => Err(dtype_error("targets", other)),
        }
    }

    fn bools(b: &FlexTensor) -> Result<ArrayD<bool>, LossError> {
        let b = Self::viewable(b.clone());
        let l = b.layout();
        match b.dtype() {
            DType::Bool(_) | DType::U8 => {
                let v = strided(
                    b.storage::<u8>(),
                    l.shape().as_slice(),
                    l.strides(),
                    l.start_offset(),
                )?;
                Ok(v.mapv(|m| m != 0))
            }
            other => Err(dtype_error("ignore", other)),
        }
    }

    fn from_vec<F: HostFloat>(data: Vec<F>, shape: &[usize]) -> Result<FlexTensor, LossError> {
        if data.len() != shape.iter().product::<usize>() {
            return Err(size_error(shape, data.len()));
        }
        Ok(FlexTensor::from_data(TensorData::new(data, shape.to_vec())))
    }
}

impl Host for NdArray {
    fn viewable(x: NdArrayTensor) -> NdArrayTensor {
        x
    }

    fn floats(x: &NdArrayTensor) -> Result<Floats<'_>, LossError> {
        match x {
            NdArrayTensor::F32(s) => Ok(Floats::F32(s.view())),
            NdArrayTensor::F64(s) => Ok(Floats::F64(s.view())),
            other => Err(dtype_error(
                "logits",
                burn_backend::TensorMetadata::dtype(other),
            )),
        }
    }

    fn ints(t: &NdArrayTensor) -> Result<Ints<'_>, LossError> {
        Ok(match t {
            NdArrayTensor::I64(s) => Ints::View(TargetData::I64(s.view())),
            NdArrayTensor::I32(s) => Ints::View(TargetData::I32(s.view())),
            NdArrayTensor::U64(s) => Ints::View(TargetData::U64(s.view())),
            NdArrayTensor::U32(s) => Ints::View(TargetData::U32(s.view())),
            NdArrayTensor::U16(s) => Ints::View(TargetData::U16(s.view())),
            NdArrayTensor::U8(s) => Ints::View(TargetData::U8(s.view())),
            NdArrayTensor::I16(s) => Ints::Owned(s.view().mapv(i64::from)),
            NdArrayTensor::I8(s) => Ints::Owned(s.view().mapv(i64::from)),
            other => {
                return Err(dtype_error(
                    "targets",
                    burn_backend::TensorMetadata::dtype(other),
                ))
            }
        })
    }

    fn bools(b: &NdArrayTensor) -> Result<ArrayD<bool>, LossError> {
        match b {
            NdArrayTensor::Bool(s) => Ok(s.view().to_owned()),
            NdArrayTensor::U8(s) => Ok(s.view().mapv(|m| m != 0)),
            other => Err(dtype_error(
                "ignore",
                burn_backend::TensorMetadata::dtype(other),
            )),
        }
    }

    fn from_vec<F: HostFloat>(data: Vec<F>, shape: &[usize]) -> Result<NdArrayTensor, LossError> {
        let n = data.len();
        ArrayD::from_shape_vec(IxDyn(shape), data)
            .map(F::nd)
            .map_err(|_| size_error(shape, n))
    }
}
