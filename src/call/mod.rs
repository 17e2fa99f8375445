//! The one call path of every loss, both families:
//!
//! ```text
//! method (methods.rs) ─► family::call::prepare ─► Call ─► guard ─► kernel ─► reduce
//!                         validate, lay out,        (this file, written once)
//!                         count the denominator
//! ```
//!
//! A family (softmax, sigmoid) supplies only what really differs: its
//! target types, its validation and denominator, and its kernel, through a
//! prepared call that implements [`Call`]. Everything after that — the
//! range guard, writing into the caller's buffers, the reduction and its
//! overflow path — is here, once.

pub(crate) mod guard;
pub(crate) mod layout;
pub(crate) mod methods;

use crate::error::{unravel, LossError};
use crate::kernel::float::LossFloat;
use crate::kernel::{Geom, KernelError, Outputs};
use crate::reduction::Reduction;
use guard::{Grad, Magnitudes, Scale};
use layout::{check_finite_slice, check_shape, flat, with_contiguous_mut};
use ndarray::{Array, ArrayBase, Data, DataMut, Dimension, IxDyn};
use std::borrow::Cow;

/// What every validated call holds, whatever its family: the input laid
/// out row-major, its shape and geometry, the non-ignored count and the
/// range guard's bounds.
pub(crate) struct Laid<'a, F: Clone> {
    /// The input's elements in row-major order (borrowed when contiguous).
    pub z: Cow<'a, [F]>,
    /// The input's shape (inline, no allocation, for up to 4 dimensions).
    pub shape: IxDyn,
    /// The input as `(N, C, M)`.
    pub geom: Geom,
    /// Number of non-ignored targets.
    pub count: usize,
    /// Bounds for the range guard.
    pub mags: Magnitudes,
    /// The loss's reduction.
    pub reduction: Reduction,
}

impl<F: LossFloat> Laid<'_, F> {
    /// A kernel error as the public error, naming the input array `what`.
    pub fn error(&self, e: KernelError, what: &'static str) -> LossError {
        match e {
            KernelError::NonFinite(off) => LossError::NonFiniteInput {
                what,
                position: unravel(off, self.shape.slice()),
                value: self.z[off].to_f64_(),
            },
            KernelError::Masked(off) => LossError::MaskedTarget {
                position: unravel(off, self.shape.slice()),
            },
        }
    }

    /// The same layout with the input in `f64` (the guard's wide path).
    pub fn widen(&self) -> Laid<'static, f64> {
        Laid {
            z: Cow::Owned(layout::widen(&self.z)),
            shape: self.shape.clone(),
            geom: self.geom,
            count: self.count,
            mags: self.mags,
            reduction: self.reduction,
        }
    }
}

/// A validated loss call, laid out for its kernel: what a family supplies
/// to the shared path.
pub(crate) trait Call<F: LossFloat> {
    /// The parts every family has.
    fn laid(&self) -> &Laid<'_, F>;
    /// The shape of one loss per target: `per_target`'s output and
    /// `per_target_backward`'s `upstream`.
    fn target_shape(&self) -> Vec<usize>;
    /// The sum of the weights that scaled the non-ignored targets (only
    /// read, so only computed, for `WeightedMean`).
    fn weight_sum(&self) -> f64;
    /// Runs the kernel in precision `F`, with every weight scaled by
    /// `down` where given (the losses are linear in their weights; see
    /// [`reduce`]); returns the loss sum.
    fn run(&self, down: Option<f64>, outs: Outputs<'_, '_, F>) -> Result<f64, LossError>;
    /// Runs the kernel on an `f64` copy of the inputs (the guard's wide path).
    fn run_wide(&self, outs: Outputs<'_, '_, f64>) -> Result<f64, LossError>;
}

/// The reduction denominator; `None` when it is zero (loss and gradient 0).
fn denominator<F: LossFloat>(call: &(impl Call<F> + ?Sized)) -> Option<f64> {
    let laid = call.laid();
    let d = match laid.reduction {
        Reduction::Sum => 1.0,
        Reduction::Mean => laid.count as f64,
        Reduction::WeightedMean => call.weight_sum(),
    };
    (d > 0.0).then_some(d)
}

/// Runs a call through the range guard (see [`guard`]).
fn execute<F: LossFloat>(
    call: &(impl Call<F> + ?Sized),
    reduction: Scale<'_, F>,
    per_target: Option<&mut [F]>,
    grad: Option<Grad<'_, '_, F>>,
) -> Result<f64, LossError> {
    guard::execute(
        call.laid().geom,
        call.laid().mags,
        reduction,
        per_target,
        grad,
        |o| call.run(None, o),
        |o| call.run_wide(o),
    )
}

/// The reduced loss `sum / d`. A non-finite `sum` although every input is
/// finite means per-position terms beyond the range (an `f64` weight of
/// `3e38` times a loss of `1e300`, say); the losses are linear in their
/// weights, so the sum is recomputed with every weight scaled by `2^-700`,
/// divided, and scaled back. `f32` calls never need it: the guard computes
/// them in `f64`.
fn reduce<F: LossFloat>(call: &(impl Call<F> + ?Sized), sum: f64, d: f64) -> Result<F, LossError> {
    if sum.is_finite() || guard::narrow::<F>() {
        return Ok(F::from_f64_(sum / d));
    }
    let down = guard::rescale_down();
    let sum = call.run(Some(down), Outputs::new(None, None))?;
    Ok(F::from_f64_(sum / d / down))
}

/// The reduced loss.
pub(crate) fn forward<F: LossFloat>(call: &(impl Call<F> + ?Sized)) -> Result<F, LossError> {
    let denom = denominator(call);
    let scale = denom.map_or(Scale::Zero, Scale::Divide);
    let sum = execute(call, scale, None, None)?;
    denom.map_or(Ok(F::zero()), |d| reduce(call, sum, d))
}

/// The reduced loss, and its gradient written into `grad` (the input's shape).
pub(crate) fn forward_backward_into<F: LossFloat, S: DataMut<Elem = F>, D: Dimension>(
    call: &(impl Call<F> + ?Sized),
    grad: &mut ArrayBase<S, D>,
) -> Result<F, LossError> {
    check_shape("grad", call.laid().shape.slice(), grad.shape())?;
    let denom = denominator(call);
    let scale = denom.map_or(Scale::Zero, Scale::Divide);
    let sum = with_contiguous_mut(grad, |g| {
        execute(call, scale, None, Some(Grad::new(g, scale)))
    })?;
    denom.map_or(Ok(F::zero()), |d| reduce(call, sum, d))
}

/// The reduced loss, its gradient written into `grad` and the diagonal of
/// its Hessian into `hess` (both the input's shape).
pub(crate) fn forward_grad_hess_into<F, S, D, T, E>(
    call: &(impl Call<F> + ?Sized),
    grad: &mut ArrayBase<S, D>,
    hess: &mut ArrayBase<T, E>,
) -> Result<F, LossError>
where
    F: LossFloat,
    S: DataMut<Elem = F>,
    D: Dimension,
    T: DataMut<Elem = F>,
    E: Dimension,
{
    check_shape("grad", call.laid().shape.slice(), grad.shape())?;
    check_shape("hess", call.laid().shape.slice(), hess.shape())?;
    let denom = denominator(call);
    let scale = denom.map_or(Scale::Zero, Scale::Divide);
    let sum = with_contiguous_mut(grad, |g| {
        with_contiguous_mut(hess, |h| {
            execute(
                call,
                scale,
                None,
                Some(Grad {
                    grad: g,
                    scale,
                    hess: Some(h),
                }),
            )
        })
    })?;
    denom.map_or(Ok(F::zero()), |d| reduce(call, sum, d))
}

/// The per-target losses (PyTorch `reduction='none'`) in an array of
/// dimension `dim`; ignored targets are 0.
pub(crate) fn per_target<F: LossFloat, E: Dimension>(
    call: &(impl Call<F> + ?Sized),
    dim: E,
) -> Result<Array<F, E>, LossError> {
    // The path (see `guard`) follows the loss's reduction, so that these
    // losses agree with `forward`'s.
    let scale = denominator(call).map_or(Scale::Zero, Scale::Divide);
    let mut out = Array::zeros(dim);
    with_contiguous_mut(&mut out, |o| execute(call, scale, Some(o), None))?;
    Ok(out)
}

/// The vector-Jacobian product of [`per_target`]:
/// `grad = Σ_n upstream[n] ∂l_n / ∂input`, in an array of dimension `dim`.
pub(crate) fn per_target_backward<F: LossFloat, D: Dimension, U: Data<Elem = F>, E: Dimension>(
    call: &(impl Call<F> + ?Sized),
    dim: D,
    upstream: &ArrayBase<U, E>,
) -> Result<Array<F, D>, LossError> {
    let tshape = call.target_shape();
    check_shape("upstream", &tshape, upstream.shape())?;
    let u = flat(upstream.view().into_dyn());
    check_finite_slice("upstream", &u, &tshape)?;
    let mut grad = Array::zeros(dim);
    with_contiguous_mut(&mut grad, |g| {
        let vjp = Scale::PerPosition(&u);
        execute(call, Scale::Divide(1.0), None, Some(Grad::new(g, vjp)))
    })?;
    Ok(grad)
}
