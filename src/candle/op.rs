//! The candle op: the fused CPU call on candle's storage, read in place,
//! with the gradient kept for the backward pass.

use super::CandleLoss;
use crate::bridge::{Inputs, Job, Out, TargetData};
use crate::{LossError, LossFloat};
use ::candle_core::{backend::BackendStorage, CpuStorage, CustomOp2, DType, Layout, Shape, Tensor};
use half::{bf16, f16};
use ndarray::{ArrayD, ArrayViewD, IxDyn, ShapeBuilder};
use std::any::Any;
use std::sync::Mutex;

/// One loss call in the graph; the gradient of its forward pass waits here
/// for the backward pass.
pub(super) struct LossOp<L> {
    pub(super) loss: L,
    /// A sigmoid loss's ignore mask (`u8`, non-zero where ignored).
    pub(super) mask: Option<Tensor>,
    pub(super) grad: Mutex<Option<Tensor>>,
}

/// A view of candle storage `v` under `layout` (strided views included).
fn view<'a, T>(v: &'a [T], layout: &Layout) -> Result<ArrayViewD<'a, T>, LossError> {
    let dims = IxDyn(layout.dims());
    let bad = |_| LossError::ShapeMismatch {
        what: "tensor layout",
        expected: layout.dims().to_vec(),
        actual: vec![v.len()],
    };
    match layout.contiguous_offsets() {
        Some((a, b)) => ArrayViewD::from_shape(dims, &v[a..b]).map_err(bad),
        None => {
            let strides = IxDyn(layout.stride());
            ArrayViewD::from_shape(dims.strides(strides), &v[layout.start_offset()..]).map_err(bad)
        }
    }
}

/// `f32` copies of half-precision storage, viewed under `layout`.
fn widened<T: Copy>(
    v: &[T],
    layout: &Layout,
    f: impl Fn(T) -> f32,
) -> Result<ArrayD<f32>, LossError> {
    Ok(view(v, layout)?.mapv(f))
}

fn dtype_error(msg: &'static str, got: &CpuStorage) -> ::candle_core::Error {
    ::candle_core::Error::UnexpectedDType {
        msg,
        expected: DType::F32,
        got: got.dtype(),
    }
}

/// Targets read from candle storage: class indices and same-precision
/// floats borrowed in place, other floats converted to `F`.
enum Read<'a, F> {
    Borrowed(TargetData<'a, F>),
    Owned(ArrayD<F>),
}

impl<F> Read<'_, F> {
    /// The targets, reborrowed (ndarray views are invariant in their lifetime).
    fn data(&self) -> TargetData<'_, F> {
        match self {
            Read::Borrowed(t) => t.reborrow(),
            Read::Owned(a) => TargetData::Float(a.view()),
        }
    }
}

fn read_targets<'a, F: LossFloat>(
    s: &'a CpuStorage,
    l: &Layout,
) -> ::candle_core::Result<Read<'a, F>> {
    // `&Vec`, not a slice: `Any` downcasts only sized types, and the
    // storage is a `Vec`, so a same-precision `Vec<F>` is found this way.
    #[allow(clippy::ptr_arg)]
    fn float<'a, T: 'static, F: LossFloat>(
        t: &'a Vec<T>,
        l: &Layout,
        wide: impl Fn(&T) -> f64,
    ) -> Result<Read<'a, F>, LossError> {
        match (t as &dyn Any).downcast_ref::<Vec<F>>() {
            Some(same) => Ok(Read::Borrowed(TargetData::Float(view(same, l)?))),
            None => Ok(Read::Owned(view(t, l)?.map(|v| F::from_f64_(wide(v))))),
        }
    }
    Ok(match s {
        CpuStorage::U8(t) => Read::Borrowed(TargetData::U8(view(t, l)?)),
        CpuStorage::U32(t) => Read::Borrowed(TargetData::U32(view(t, l)?)),
        CpuStorage::I64(t) => Read::Borrowed(TargetData::I64(view(t, l)?)),
        CpuStorage::F32(t) => float(t, l, |&v| f64::from(v))?,
        CpuStorage::F64(t) => float(t, l, |&v| v)?,
        CpuStorage::BF16(t) => float(t, l, |v| v.to_f64())?,
        CpuStorage::F16(t) => float(t, l, |v| v.to_f64())?,
        other => {
            return Err(dtype_error(
                "targets: class indices (u8, u32, i64) or floats",
                other,
            ))
        }
    })
}

impl<L: CandleLoss> LossOp<L> {
    /// Loss and gradient in precision `F`; the gradient is kept, as a
    /// tensor of dtype `out`, for the backward pass.
    fn compute<'a, F: LossFloat + ::candle_core::WithDType>(
        &self,
        x: ArrayViewD<'a, F>,
        t: TargetData<'a, F>,
        ignore: Option<ArrayViewD<'a, bool>>,
        out: DType,
    ) -> ::candle_core::Result<(CpuStorage, Shape)> {
        let mut grad = vec![F::zero(); x.len()];
        let shape = Shape::from(x.shape());
        let Out::Loss(loss) = self
            .loss
            .run(Inputs { x, t, ignore }, Job::Grad(&mut grad))?
        else {
            return Err(::candle_core::Error::Msg(
                "a reduced loss was expected".into(),
            ));
        };
        let g = Tensor::from_vec(grad, shape, &::candle_core::Device::Cpu)?.to_dtype(out)?;
        *self
            .grad
            .lock()
            .map_err(|_| ::candle_core::Error::Msg("poisoned".into()))? = Some(g);
        let l = Tensor::new(loss, &::candle_core::Device::Cpu)?.to_dtype(out)?;
        let (s, _) = l.storage_and_layout();
        match &*s {
            ::candle_core::Storage::Cpu(c) => Ok((c.clone(), Shape::from(()))),
            _ => Err(::candle_core::Error::Msg("scalar not on the cpu".into())),
        }
    }

    fn forward(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        mask: Option<(&CpuStorage, &Layout)>,
    ) -> ::candle_core::Result<(CpuStorage, Shape)> {
        let mask: Option<ArrayD<bool>> = match mask {
            None => None,
            Some((CpuStorage::U8(m), l)) => Some(view(m, l)?.mapv(|v| v != 0)),
            Some((other, _)) => return Err(dtype_error("the ignore mask must be u8", other)),
        };
        let ig = mask.as_ref().map(|m| m.view());
        match s1 {
            CpuStorage::F64(x) => {
                let t = read_targets::<f64>(s2, l2)?;
                self.compute(view(x, l1)?, t.data(), ig, DType::F64)
            }
            CpuStorage::F32(x) => {
                let t = read_targets::<f32>(s2, l2)?;
                self.compute(view(x, l1)?, t.data(), ig, DType::F32)
            }
            CpuStorage::BF16(x) => {
                let (xw, t) = (widened(x, l1, bf16::to_f32)?, read_targets::<f32>(s2, l2)?);
                self.compute(xw.view(), t.data(), ig, DType::BF16)
            }
            CpuStorage::F16(x) => {
                let (xw, t) = (widened(x, l1, f16::to_f32)?, read_targets::<f32>(s2, l2)?);
                self.compute(xw.view(), t.data(), ig, DType::F16)
            }
            other => Err(dtype_error("logits must be f32, f64, bf16 or f16", other)),
        }
    }

    /// The kept gradient times the upstream scalar `grad_res`.
    fn backward(&self, grad_res: &Tensor) -> ::candle_core::Result<Tensor> {
        let g = self
            .grad
            .lock()
            .map_err(|_| ::candle_core::Error::Msg("poisoned".into()))?
            .clone()
            .ok_or_else(|| ::candle_core::Error::Msg("backward before forward".into()))?;
        let u = grad_res.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        if u == 1.0 {
            Ok(g)
        } else {
            g.broadcast_mul(&grad_res.to_dtype(g.dtype())?)
        }
    }
}

impl<L: CandleLoss> CustomOp2 for LossOp<L> {
    fn name(&self) -> &'static str {
        "focal-loss"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> ::candle_core::Result<(CpuStorage, Shape)> {
        match &self.mask {
            None => self.forward(s1, l1, s2, l2, None),
            Some(m) => {
                let (s3, l3) = m.storage_and_layout();
                match &*s3 {
                    ::candle_core::Storage::Cpu(c) => self.forward(s1, l1, s2, l2, Some((c, l3))),
                    _ => Err(::candle_core::Error::Msg(
                        "the ignore mask is not on the cpu".into(),
                    )),
                }
            }
        }
    }

    fn bwd(
        &self,
        _: &Tensor,
        _: &Tensor,
        _: &Tensor,
        grad_res: &Tensor,
    ) -> ::candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        Ok((Some(self.backward(grad_res)?), None))
    }
}
