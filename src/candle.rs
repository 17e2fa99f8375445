//! The losses as nodes of a [candle](https://crates.io/crates/candle-core)
//! graph (feature `candle`, candle-core 0.11).
//!
//! [`CandleLoss`] gives every loss of the crate `forward_tensor`: logits and
//! targets as candle holds them in, a scalar `Tensor` out that takes part
//! in `backward()` like any other op. On the CPU the crate's fused kernels
//! read candle's storage in place (a strided tensor is viewed through its
//! strides, never copied): the forward pass computes the loss and its
//! gradient together, and the backward pass hands that gradient on, scaled
//! by the upstream gradient. Logits may be `f32`, `f64`, `bf16` or `f16`
//! (the last two computed in `f32`); targets are `u8`, `u32` or `i64` class
//! indices (softmax losses; with PyTorch's `-100` as ignore index for
//! `i64`), float probabilities (softmax losses, [`Probs`]
//! semantics) or float binary targets (sigmoid losses), and a sigmoid
//! loss's ignore mask is a `u8` tensor ([`CandleLoss::forward_tensor_masked`]).
//!
//! Tensors on another device (CUDA, Metal) are not supported yet: the call
//! returns candle's "no cuda implementation" error rather than copying to
//! the host.
//!
//! ```
//! use candle_core::{Device, Tensor, Var};
//! use focal_loss::candle::CandleLoss;
//! use focal_loss::FocalLoss;
//!
//! let logits = Var::new(&[[2.0_f32, 0.5, -1.0], [0.1, 0.2, 3.0]], &Device::Cpu)?;
//! let labels = Tensor::new(&[0_u32, 2], &Device::Cpu)?;
//! let focal = FocalLoss::new(2.0)?.with_alpha([0.25, 1.0, 2.0])?;
//! let loss = focal.forward_tensor(logits.as_tensor(), &labels)?;
//! let grads = (loss * 3.0)?.backward()?; // any upstream gradient
//! let g = grads.get(&logits).expect("logits are a leaf");
//! assert_eq!(g.dims(), &[2, 3]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::{
    BceWithLogitsLoss, CrossEntropyLoss, FocalLoss, LossError, LossFloat, Masked, NllLoss, Probs,
    SigmoidFocalLoss,
};
use ::candle_core::{backend::BackendStorage, CpuStorage, CustomOp2, DType, Layout, Shape, Tensor};
use half::{bf16, f16};
use ndarray::{ArrayD, ArrayViewD, IxDyn, ShapeBuilder};
use std::any::Any;
use std::sync::Mutex;

impl From<LossError> for ::candle_core::Error {
    fn from(e: LossError) -> Self {
        ::candle_core::Error::wrap(e)
    }
}

/// Every loss of the crate on candle tensors (sealed).
pub trait CandleLoss: Clone + Send + Sync + 'static + private::Sealed {
    /// The reduced loss of `logits` against `targets`, as a scalar tensor
    /// of the logits' dtype whose backward pass is the loss's exact
    /// gradient. Targets: class indices (`u8`, `u32`, `i64`) or
    /// probabilities (float) for the softmax losses, binary targets
    /// (float, the logits' shape) for the sigmoid losses.
    ///
    /// # Errors
    ///
    /// The loss's own errors (shapes, targets out of range, NaN logits, ..)
    /// wrapped in `candle_core::Error`; a dtype the loss cannot take; a
    /// tensor not on the CPU.
    ///
    /// # Examples
    ///
    /// ```
    /// use candle_core::{Device, Tensor};
    /// use focal_loss::{candle::CandleLoss, CrossEntropyLoss};
    ///
    /// let x = Tensor::new(&[[2.0_f64, 0.5], [0.1, 1.0]], &Device::Cpu)?;
    /// let y = Tensor::new(&[0_i64, -100], &Device::Cpu)?; // PyTorch's ignore index
    /// let ce = CrossEntropyLoss::new().with_ignore_index(-100);
    /// let l = ce.forward_tensor(&x, &y)?.to_scalar::<f64>()?;
    /// let want = ce.forward(&ndarray::array![[2.0, 0.5], [0.1, 1.0]], &ndarray::array![0_i64, -100])?;
    /// assert_eq!(l, want);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn forward_tensor(&self, logits: &Tensor, targets: &Tensor) -> ::candle_core::Result<Tensor> {
        logits.apply_op2(
            targets,
            LossOp {
                loss: self.clone(),
                mask: None,
                grad: Mutex::new(None),
            },
        )
    }

    /// [`forward_tensor`](Self::forward_tensor) with an ignore mask (a
    /// `u8` tensor of the logits' shape, non-zero where ignored): the
    /// sigmoid losses' [`Masked`] targets.
    ///
    /// # Errors
    ///
    /// As [`forward_tensor`](Self::forward_tensor); a softmax loss (which
    /// ignores by class index instead) is an error.
    ///
    /// # Examples
    ///
    /// ```
    /// use candle_core::{Device, Tensor};
    /// use focal_loss::{candle::CandleLoss, SigmoidFocalLoss};
    ///
    /// let x = Tensor::new(&[[2.0_f32, -1.0], [0.5, 3.0]], &Device::Cpu)?;
    /// let y = Tensor::new(&[[1.0_f32, 0.0], [-1.0, 1.0]], &Device::Cpu)?;
    /// let ignore = Tensor::new(&[[0_u8, 0], [1, 0]], &Device::Cpu)?;
    /// let l = SigmoidFocalLoss::new(2.0)?.forward_tensor_masked(&x, &y, &ignore)?;
    /// assert!(l.to_scalar::<f32>()? > 0.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn forward_tensor_masked(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        ignore: &Tensor,
    ) -> ::candle_core::Result<Tensor> {
        logits.apply_op2(
            targets,
            LossOp {
                loss: self.clone(),
                mask: Some(ignore.clone()),
                grad: Mutex::new(None),
            },
        )
    }

    /// Runs the loss on CPU views; `ignore` is a mask of the logits' shape.
    #[doc(hidden)]
    fn run<F: LossFloat>(&self, inputs: Inputs<'_, F>, grad: &mut [F]) -> Result<F, LossError>;
}

/// One call's inputs read from candle storage: logits, targets, and an
/// ignore mask of the logits' shape.
#[doc(hidden)]
#[derive(Debug)]
pub struct Inputs<'a, F> {
    x: ArrayViewD<'a, F>,
    t: TargetData<'a, F>,
    ignore: Option<ArrayViewD<'a, bool>>,
}

/// Targets read from candle storage.
#[doc(hidden)]
#[derive(Debug)]
pub enum TargetData<'a, F> {
    /// `u8` class indices.
    U8(ArrayViewD<'a, u8>),
    /// `u32` class indices.
    U32(ArrayViewD<'a, u32>),
    /// `i64` class indices.
    I64(ArrayViewD<'a, i64>),
    /// Float targets in the computing precision.
    Float(ArrayViewD<'a, F>),
}

mod private {
    pub trait Sealed {}
    impl Sealed for crate::NllLoss {}
    impl Sealed for crate::CrossEntropyLoss {}
    impl Sealed for crate::FocalLoss {}
    impl Sealed for crate::SigmoidFocalLoss {}
    impl Sealed for crate::BceWithLogitsLoss {}
}

fn no_mask() -> LossError {
    LossError::InvalidParameter {
        name: "ignore",
        value: f64::NAN,
        expected: "no ignore mask for a softmax loss (use its ignore index)",
    }
}

fn not_index() -> LossError {
    LossError::InvalidParameter {
        name: "targets",
        value: f64::NAN,
        expected: "class indices (u8, u32, i64) for NllLoss",
    }
}

fn not_float() -> LossError {
    LossError::InvalidParameter {
        name: "targets",
        value: f64::NAN,
        expected: "float binary targets for a sigmoid loss",
    }
}

/// `CandleLoss` for a loss type; `$body` runs it on the `Inputs` `$i`
/// with the gradient view `$g`.
macro_rules! candle_loss {
    ($ty:ident, |$s:ident, $i:ident, $g:ident| $body:expr) => {
        impl CandleLoss for $ty {
            fn run<F: LossFloat>(&self, $i: Inputs<'_, F>, grad: &mut [F]) -> Result<F, LossError> {
                let mut $g = ndarray::ArrayViewMutD::from_shape($i.x.raw_dim(), grad)
                    .map_err(|_| LossError::NoClasses)?;
                let $s = self;
                $body
            }
        }
    };
}

/// A softmax loss: class indices of any label type, or probabilities.
macro_rules! softmax_run {
    ($s:ident, $i:ident, $g:ident, $probs:expr) => {{
        if $i.ignore.is_some() {
            return Err(no_mask());
        }
        let x = &$i.x;
        match $i.t {
            TargetData::U8(t) => $s.forward_backward_into(x, &t, &mut $g),
            TargetData::U32(t) => $s.forward_backward_into(x, &t, &mut $g),
            TargetData::I64(t) => $s.forward_backward_into(x, &t, &mut $g),
            TargetData::Float(p) => $probs(x, p, &mut $g),
        }
    }};
}

/// A sigmoid loss: float targets, optionally masked.
macro_rules! sigmoid_run {
    ($s:ident, $i:ident, $g:ident) => {{
        let TargetData::Float(t) = $i.t else {
            return Err(not_float());
        };
        match &$i.ignore {
            Some(m) => $s.forward_backward_into(
                &$i.x,
                &Masked {
                    targets: &t,
                    ignore: m,
                },
                &mut $g,
            ),
            None => $s.forward_backward_into(&$i.x, &t, &mut $g),
        }
    }};
}

candle_loss!(NllLoss, |s, i, g| softmax_run!(s, i, g, |_, _, _| Err(
    not_index()
)));
candle_loss!(CrossEntropyLoss, |s, i, g| softmax_run!(
    s,
    i,
    g,
    |x, p, g| s.forward_backward_into(x, &Probs(&p), g)
));
candle_loss!(FocalLoss, |s, i, g| softmax_run!(s, i, g, |x, p, g| s
    .forward_backward_into(x, &Probs(&p), g)));
candle_loss!(SigmoidFocalLoss, |s, i, g| sigmoid_run!(s, i, g));
candle_loss!(BceWithLogitsLoss, |s, i, g| sigmoid_run!(s, i, g));

/// One loss call in the graph; the gradient of its forward pass waits here
/// for the backward pass.
struct LossOp<L> {
    loss: L,
    /// A sigmoid loss's ignore mask (`u8`, non-zero where ignored).
    mask: Option<Tensor>,
    grad: Mutex<Option<Tensor>>,
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
            Read::Borrowed(TargetData::U8(t)) => TargetData::U8(t.view()),
            Read::Borrowed(TargetData::U32(t)) => TargetData::U32(t.view()),
            Read::Borrowed(TargetData::I64(t)) => TargetData::I64(t.view()),
            Read::Borrowed(TargetData::Float(t)) => TargetData::Float(t.view()),
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
        let loss = self.loss.run(Inputs { x, t, ignore }, &mut grad)?;
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
