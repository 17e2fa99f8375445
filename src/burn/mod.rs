//! The losses on [burn](https://crates.io/crates/burn) tensors (feature
//! `burn`, burn 0.22), as one differentiable op of burn's autodiff graph.
//!
//! [`BurnLoss`] gives every loss of the crate `forward_burn` (the reduced
//! loss, a `Tensor<1>` of shape `[1]` as burn's own losses return) and
//! `per_target_burn` (PyTorch's `reduction='none'`, the targets' shape).
//! Logits are `Tensor<D>` with the class axis 1 (`(N, C)` or
//! `(N, C, d1, .., dk)`); targets are `Tensor<E, Int>` class indices (burn's
//! `i64` labels, any integer dtype; PyTorch's `-100` works with
//! `with_ignore_index(-100)`) or float `Tensor<E>` probabilities (softmax
//! losses) or binary targets (sigmoid losses, the logits' shape).
//!
//! On burn's CPU backends, `Flex` and the (deprecated) `NdArray`, with or
//! without autodiff, the fused kernels read the tensors' memory in place.
//! The forward pass computes the loss and its exact gradient together and
//! keeps the gradient; the backward pass scales it by the upstream
//! gradient. No copy of logits or gradient is made beyond the gradient
//! tensor itself. The gradient is the crate's, not autodiff through
//! `(1 - p)^gamma`, so fractional `gamma` stays finite at `p_t = 1`.
//!
//! On any other backend (CubeCL: wgpu, CUDA, ..; LibTorch) the same call
//! composes the loss from burn tensor ops and attaches the crate's exact
//! gradient (the same stable formulas), without copying tensors to the host
//! (a few boolean scalars are read back for the input checks): see
//! [`BurnLoss::forward_burn_ops`]. That path covers every option of every
//! loss; it is tested on the CPU against the fused path.
//!
//! ```
//! use burn_tensor::{Device, Int, Tensor, TensorData};
//! use focal_loss::{burn::BurnLoss, FocalLoss};
//!
//! let device = Device::flex().autodiff();
//! let logits = Tensor::<2>::from_data(
//!     TensorData::from([[2.0_f32, 0.5, -1.0], [0.1, 0.2, 3.0]]),
//!     &device,
//! )
//! .require_grad();
//! let labels = Tensor::<1, Int>::from_data(TensorData::from([0_i64, 2]), &device);
//! let focal = FocalLoss::new(2.0)?.with_alpha([0.25, 1.0, 2.0])?;
//! let loss = focal.forward_burn(logits.clone(), labels)?;
//! let grads = (loss * 3.0).backward(); // any upstream gradient
//! let g = logits.grad(&grads).expect("logits require grad");
//! assert_eq!(g.dims(), [2, 3]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod generic;
mod host;
mod op;

use crate::bridge::settings::Settings;
use crate::LossError;
use burn_autodiff::checkpoint::strategy::{
    BalancedCheckpointing, CheckpointStrategy, NoCheckpointing,
};
use burn_autodiff::Autodiff;
use burn_backend::TensorMetadata;
use burn_dispatch::DispatchKindConversion;
use burn_flex::Flex;
use burn_tensor::{Bool, DispatchTensor, Float, Int, Tensor};
use host::Host;
use op::{HostTargets, Mode};

#[allow(deprecated)]
use burn_ndarray::NdArray;

/// Every loss of the crate on burn tensors (sealed).
pub trait BurnLoss: crate::bridge::Fused + core::fmt::Debug {
    /// The reduced loss of `logits` against `targets`, a `Tensor<1>` of
    /// shape `[1]` in the logits' dtype, differentiable with respect to
    /// the logits under autodiff (the crate's exact gradient).
    ///
    /// # Errors
    ///
    /// The loss's own errors (shapes, targets out of range, NaN logits,
    /// ..); a dtype the loss cannot take (logits other than `f32` / `f64`
    /// on the CPU backends); targets on another backend than the logits.
    ///
    /// # Examples
    ///
    /// ```
    /// use burn_tensor::{Device, Int, Tensor, TensorData};
    /// use focal_loss::{burn::BurnLoss, CrossEntropyLoss};
    ///
    /// let device = Device::flex();
    /// let x = Tensor::<2>::from_data(TensorData::from([[2.0_f32, 0.5], [0.1, 1.0]]), &device);
    /// let y = Tensor::<1, Int>::from_data(TensorData::from([0_i64, -100]), &device);
    /// let ce = CrossEntropyLoss::new().with_ignore_index(-100);
    /// let l = ce.forward_burn(x, y)?.into_scalar::<f32>();
    /// let want = ce.forward(&ndarray::array![[2.0_f32, 0.5], [0.1, 1.0]], &ndarray::array![0_i64, -100])?;
    /// assert_eq!(l, want);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn forward_burn<const D: usize, const E: usize, K: TargetKind>(
        &self,
        logits: Tensor<D>,
        targets: Tensor<E, K>,
    ) -> Result<Tensor<1>, LossError> {
        apply(self, logits, targets, None, false)
    }

    /// [`forward_burn`](Self::forward_burn) with an ignore mask of the
    /// logits' shape (`true` where ignored): the sigmoid losses'
    /// [`Masked`](crate::Masked) targets.
    ///
    /// # Errors
    ///
    /// As [`forward_burn`](Self::forward_burn); a softmax loss (which
    /// ignores by class index instead) is an error.
    ///
    /// # Examples
    ///
    /// ```
    /// use burn_tensor::{Bool, Device, Tensor, TensorData};
    /// use focal_loss::{burn::BurnLoss, SigmoidFocalLoss};
    ///
    /// let device = Device::flex();
    /// let x = Tensor::<2>::from_data(TensorData::from([[2.0_f32, -1.0], [0.5, 3.0]]), &device);
    /// let y = Tensor::<2>::from_data(TensorData::from([[1.0_f32, 0.0], [-1.0, 1.0]]), &device);
    /// let ignore = Tensor::<2, Bool>::from_data(TensorData::from([[false, false], [true, false]]), &device);
    /// let l = SigmoidFocalLoss::new(2.0)?.forward_burn_masked(x, y, ignore)?;
    /// assert!(l.into_scalar::<f32>() > 0.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn forward_burn_masked<const D: usize>(
        &self,
        logits: Tensor<D>,
        targets: Tensor<D>,
        ignore: Tensor<D, Bool>,
    ) -> Result<Tensor<1>, LossError> {
        apply(self, logits, targets, Some(ignore), false)
    }

    /// The per-target losses (`reduction='none'`), the targets' shape,
    /// differentiable with respect to the logits under autodiff (the
    /// backward pass is the kernel's vector-Jacobian product with the
    /// upstream gradient).
    ///
    /// # Errors
    ///
    /// As [`forward_burn`](Self::forward_burn).
    ///
    /// # Examples
    ///
    /// ```
    /// use burn_tensor::{Device, Int, Tensor, TensorData};
    /// use focal_loss::{burn::BurnLoss, FocalLoss};
    ///
    /// let device = Device::flex();
    /// let x = Tensor::<2>::from_data(TensorData::from([[2.0_f32, 0.5], [0.1, 1.0]]), &device);
    /// let y = Tensor::<1, Int>::from_data(TensorData::from([0_i64, 1]), &device);
    /// let per = FocalLoss::new(2.0)?.per_target_burn(x, y)?;
    /// assert_eq!(per.dims(), [2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn per_target_burn<const D: usize, const E: usize, K: TargetKind>(
        &self,
        logits: Tensor<D>,
        targets: Tensor<E, K>,
    ) -> Result<Tensor<E>, LossError> {
        apply(self, logits, targets, None, true)
    }

    /// The generic path, on any backend: the loss composed from burn
    /// tensor ops, with the crate's exact gradient attached (what
    /// [`forward_burn`](Self::forward_burn) runs for tensors on a backend
    /// other than Flex or NdArray; callable anywhere, e.g. to compare).
    /// `ignore` is a sigmoid loss's mask (`true` where ignored). Equal to
    /// the fused path to rounding. Logits must be finite (no masked `-inf`
    /// classes on this path).
    ///
    /// # Errors
    ///
    /// As [`forward_burn`](Self::forward_burn), without positions:
    /// locating a bad target would copy the targets to the host.
    ///
    /// # Examples
    ///
    /// ```
    /// use burn_tensor::{Device, Int, Tensor, TensorData};
    /// use focal_loss::{burn::BurnLoss, FocalLoss};
    ///
    /// let device = Device::flex();
    /// let x = Tensor::<2>::from_data(TensorData::from([[0.0_f32, -200.0, -200.0], [1.0, 0.5, -1.0]]), &device);
    /// let t = Tensor::<1, Int>::from_data(TensorData::from([0_i64, 2]), &device);
    /// let focal = FocalLoss::new(0.5)?; // fractional gamma at p_t = 1: finite
    /// let a = focal.forward_burn_ops(x.clone(), t.clone(), None)?.into_scalar::<f32>();
    /// let b = focal.forward_burn(x, t)?.into_scalar::<f32>();
    /// assert!((a - b).abs() <= 1e-6 * b.abs());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn forward_burn_ops<const D: usize, const E: usize, K: TargetKind>(
        &self,
        logits: Tensor<D>,
        targets: Tensor<E, K>,
        ignore: Option<Tensor<D, Bool>>,
    ) -> Result<Tensor<1>, LossError> {
        self.compose(logits, targets, ignore, false)
    }

    /// The generic path of [`per_target_burn`](Self::per_target_burn), on
    /// any backend (see [`forward_burn_ops`](Self::forward_burn_ops)).
    ///
    /// # Errors
    ///
    /// As [`forward_burn_ops`](Self::forward_burn_ops).
    ///
    /// # Examples
    ///
    /// ```
    /// use burn_tensor::{Device, Int, Tensor, TensorData};
    /// use focal_loss::{burn::BurnLoss, CrossEntropyLoss};
    ///
    /// let device = Device::flex();
    /// let x = Tensor::<2>::from_data(TensorData::from([[2.0_f32, 0.5], [0.1, 1.0]]), &device);
    /// let y = Tensor::<1, Int>::from_data(TensorData::from([0_i64, 1]), &device);
    /// let per = CrossEntropyLoss::new().per_target_burn_ops(x, y, None)?;
    /// assert_eq!(per.dims(), [2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn per_target_burn_ops<const D: usize, const E: usize, K: TargetKind>(
        &self,
        logits: Tensor<D>,
        targets: Tensor<E, K>,
        ignore: Option<Tensor<D, Bool>>,
    ) -> Result<Tensor<E>, LossError> {
        self.compose(logits, targets, ignore, true)
    }

    /// The generic path, reduced (`[1]`) or per target (rank `R`).
    #[doc(hidden)]
    fn compose<const D: usize, const E: usize, const R: usize, K: TargetKind>(
        &self,
        logits: Tensor<D>,
        targets: Tensor<E, K>,
        ignore: Option<Tensor<D, Bool>>,
        per_target: bool,
    ) -> Result<Tensor<R>, LossError>;
}

/// `BurnLoss` for a loss type; `$body` is its generic path.
macro_rules! burn_loss {
    ($($ty:ident: |$s:ident, $x:ident, $t:ident, $m:ident, $pt:ident| $body:expr;)*) => {$(
        impl BurnLoss for crate::$ty {
            fn compose<const D: usize, const E: usize, const R: usize, K: TargetKind>(
                &self,
                $x: Tensor<D>,
                $t: Tensor<E, K>,
                $m: Option<Tensor<D, Bool>>,
                $pt: bool,
            ) -> Result<Tensor<R>, LossError> {
                let $s = self;
                $body
            }
        }
    )*};
}

/// A softmax loss's generic path (no ignore mask: it ignores by class index).
macro_rules! softmax_ops {
    ($s:ident, $x:ident, $t:ident, $m:ident, $pt:ident) => {
        match $m {
            Some(_) => Err(crate::bridge::no_mask()),
            None => generic::softmax(&Settings::settings($s), $x, $t, $pt),
        }
    };
}

burn_loss! {
    NllLoss: |s, x, t, m, pt| softmax_ops!(s, x, t, m, pt);
    CrossEntropyLoss: |s, x, t, m, pt| softmax_ops!(s, x, t, m, pt);
    FocalLoss: |s, x, t, m, pt| softmax_ops!(s, x, t, m, pt);
    SigmoidFocalLoss: |s, x, t, m, pt| generic::sigmoid(&Settings::settings(s), x, t, m, pt);
    BceWithLogitsLoss: |s, x, t, m, pt| generic::sigmoid(&Settings::settings(s), x, t, m, pt);
}

/// A tensor kind targets can have (sealed): [`Int`] class indices or
/// [`Float`] probabilities / binary targets.
pub trait TargetKind: burn_tensor::kind::Basic + sealed::Sealed {
    /// Whether the targets are class indices.
    #[doc(hidden)]
    const INDEX: bool;
}

impl TargetKind for Int {
    const INDEX: bool = true;
}

impl TargetKind for Float {
    const INDEX: bool = false;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for burn_tensor::Int {}
    impl Sealed for burn_tensor::Float {}
}

fn other_backend(what: &'static str) -> LossError {
    LossError::InvalidParameter {
        name: what,
        value: f64::NAN,
        expected: "a tensor on the logits' backend",
    }
}

/// The call on whichever backend holds the logits: the fused kernels on
/// Flex and NdArray, the generic path elsewhere.
fn apply<L: BurnLoss, const D: usize, const E: usize, const R: usize, K: TargetKind>(
    loss: &L,
    x: Tensor<D>,
    targets: Tensor<E, K>,
    ignore: Option<Tensor<D, Bool>>,
    per_target: bool,
) -> Result<Tensor<R>, LossError> {
    let (t, index) = (targets.clone().into_dispatch(), K::INDEX);
    let mask = ignore.clone().map(Tensor::into_dispatch);
    let m = mask.as_ref();
    let routes: [Route<L, D, R>; 6] = [
        on_autodiff::<Flex, NoCheckpointing, L, D, R>,
        on_autodiff::<Flex, BalancedCheckpointing, L, D, R>,
        on_autodiff::<NdArrayBackend, NoCheckpointing, L, D, R>,
        on_autodiff::<NdArrayBackend, BalancedCheckpointing, L, D, R>,
        on_plain::<Flex, L, D, R>,
        on_plain::<NdArrayBackend, L, D, R>,
    ];
    for route in routes {
        let call = Call {
            loss,
            x: &x,
            t: &t,
            index,
            mask: m,
            per_target,
        };
        if let Some(r) = route(&call) {
            return r;
        }
    }
    loss.compose(x, targets, ignore, per_target)
}

#[allow(deprecated)]
type NdArrayBackend = NdArray;

/// A result of rank `R`, or an error (never a tensor whose rank disagrees
/// with its type).
fn ranked<const R: usize, B>(
    out: burn_backend::tensor::FloatTensor<B>,
) -> Result<Tensor<R>, LossError>
where
    B: burn_backend::Backend,
    DispatchTensor: DispatchKindConversion<B>,
{
    let dims = out.shape().num_dims();
    if dims != R {
        return Err(LossError::ShapeMismatch {
            what: "output rank",
            expected: vec![R],
            actual: vec![dims],
        });
    }
    Ok(Tensor::from_primitive::<B>(out))
}

/// Targets on `H`, under autodiff (`C`) or not.
fn targets_on<H: Host, C: CheckpointStrategy>(
    t: &DispatchTensor,
    index: bool,
) -> Result<HostTargets<H>, LossError>
where
    DispatchTensor: DispatchKindConversion<Autodiff<H, C>> + DispatchKindConversion<H>,
{
    if index {
        let t = Tensor::<1, Int>::from_dispatch(t.clone());
        if let Ok(p) = t.clone().try_into_primitive::<Autodiff<H, C>>() {
            return Ok(HostTargets::Int(p));
        }
        let p = t.try_into_primitive::<H>();
        return p
            .map(HostTargets::Int)
            .map_err(|_| other_backend("targets"));
    }
    let t = Tensor::<1>::from_dispatch(t.clone());
    if let Ok(p) = t.clone().try_into_primitive::<Autodiff<H, C>>() {
        return Ok(HostTargets::Float(p.into_primitive()));
    }
    let p = t.try_into_primitive::<H>();
    p.map(HostTargets::Float)
        .map_err(|_| other_backend("targets"))
}

/// An ignore mask on `H`, copied to the host as booleans.
fn mask_on<H: Host, C: CheckpointStrategy>(
    m: Option<&DispatchTensor>,
) -> Result<Option<ndarray::ArrayD<bool>>, LossError>
where
    DispatchTensor: DispatchKindConversion<Autodiff<H, C>> + DispatchKindConversion<H>,
{
    let Some(m) = m else { return Ok(None) };
    let m = Tensor::<1, Bool>::from_dispatch(m.clone());
    let p = match m.clone().try_into_primitive::<Autodiff<H, C>>() {
        Ok(p) => p,
        Err(_) => m
            .try_into_primitive::<H>()
            .map_err(|_| other_backend("ignore"))?,
    };
    H::bools(&p).map(Some)
}

/// One call's inputs, as each backend route receives them.
struct Call<'a, L, const D: usize> {
    loss: &'a L,
    x: &'a Tensor<D>,
    t: &'a DispatchTensor,
    index: bool,
    mask: Option<&'a DispatchTensor>,
    per_target: bool,
}

/// A backend route: `None` when the logits do not live on its backend.
type Route<L, const D: usize, const R: usize> =
    fn(&Call<'_, L, D>) -> Option<Result<Tensor<R>, LossError>>;

/// The call on `Autodiff<H, C>`, if the logits live there.
fn on_autodiff<H: Host, C: CheckpointStrategy, L: BurnLoss, const D: usize, const R: usize>(
    c: &Call<'_, L, D>,
) -> Option<Result<Tensor<R>, LossError>>
where
    DispatchTensor: DispatchKindConversion<Autodiff<H, C>> + DispatchKindConversion<H>,
{
    let p = c.x.clone().try_into_primitive::<Autodiff<H, C>>().ok()?;
    let run = || {
        let t = targets_on::<H, C>(c.t, c.index)?;
        let m = mask_on::<H, C>(c.mask)?;
        ranked::<R, Autodiff<H, C>>(op::autodiff::<H, C, L>(c.loss, p, t, m, c.per_target)?)
    };
    Some(run())
}

/// The call on `H` without autodiff, if the logits live there.
fn on_plain<H: Host, L: BurnLoss, const D: usize, const R: usize>(
    c: &Call<'_, L, D>,
) -> Option<Result<Tensor<R>, LossError>>
where
    DispatchTensor:
        DispatchKindConversion<Autodiff<H, NoCheckpointing>> + DispatchKindConversion<H>,
{
    let p = H::viewable(c.x.clone().try_into_primitive::<H>().ok()?);
    let run = || {
        let t = targets_on::<H, NoCheckpointing>(c.t, c.index)?;
        let m = mask_on::<H, NoCheckpointing>(c.mask)?;
        let mode = if c.per_target {
            Mode::PerTarget
        } else {
            Mode::Reduced { grad: false }
        };
        let (out, _) = op::run_host(c.loss, &p, &t, m.as_ref(), mode, None)?;
        ranked::<R, H>(out)
    };
    Some(run())
}
