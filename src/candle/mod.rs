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
//! `i64`), float probabilities (softmax losses, [`Probs`](crate::Probs)
//! semantics) or float binary targets (sigmoid losses), and a sigmoid
//! loss's ignore mask is a `u8` tensor ([`CandleLoss::forward_tensor_masked`]).
//!
//! On any other device (CUDA, Metal) the same call composes the loss from
//! candle-core ops and attaches the crate's exact gradient (computed with
//! the same stable formulas, so fractional `gamma` stays finite at
//! `p_t = 1`), without copying to the host: see
//! [`CandleLoss::forward_tensor_ops`]. That path covers every option of
//! every loss; it is tested on the CPU against the fused path.
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

use crate::LossError;
use ::candle_core::Tensor;
use std::sync::Mutex;

mod device;
mod impls;
mod op;

use op::LossOp;

impl From<LossError> for ::candle_core::Error {
    fn from(e: LossError) -> Self {
        ::candle_core::Error::wrap(e)
    }
}

/// Every loss of the crate on candle tensors (sealed).
pub trait CandleLoss: crate::bridge::Fused {
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
        if !logits.device().is_cpu() {
            return self.forward_tensor_ops(logits, targets, None);
        }
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
    /// sigmoid losses' [`Masked`](crate::Masked) targets.
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
        if !logits.device().is_cpu() {
            return self.forward_tensor_ops(logits, targets, Some(ignore));
        }
        logits.apply_op2(
            targets,
            LossOp {
                loss: self.clone(),
                mask: Some(ignore.clone()),
                grad: Mutex::new(None),
            },
        )
    }

    /// The device path: the loss composed from candle-core ops with the
    /// crate's exact gradient attached, on any device without copying to
    /// the host (what [`forward_tensor`](Self::forward_tensor) runs for
    /// tensors not on the CPU; callable on the CPU to compare). Every option
    /// of every loss; equal to the fused CPU path to rounding.
    ///
    /// # Errors
    ///
    /// As [`forward_tensor`](Self::forward_tensor), without positions:
    /// locating a bad target would copy the targets to the host.
    ///
    /// # Examples
    ///
    /// ```
    /// use candle_core::{Device, Tensor};
    /// use focal_loss::{candle::CandleLoss, FocalLoss};
    ///
    /// let x = Tensor::new(&[[0.0_f64, -200.0, -200.0], [1.0, 0.5, -1.0]], &Device::Cpu)?;
    /// let t = Tensor::new(&[0_u32, 2], &Device::Cpu)?;
    /// let focal = FocalLoss::new(0.5)?; // fractional gamma at p_t = 1: finite
    /// let a = focal.forward_tensor_ops(&x, &t, None)?.to_scalar::<f64>()?;
    /// let b = focal.forward_tensor(&x, &t)?.to_scalar::<f64>()?;
    /// assert!((a - b).abs() <= 1e-12 * b.abs());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn forward_tensor_ops(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        ignore: Option<&Tensor>,
    ) -> ::candle_core::Result<Tensor>;
}
