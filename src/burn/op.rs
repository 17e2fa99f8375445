//! The loss as one autodiff op on a CPU backend: the forward pass runs the
//! fused kernel on the tensors' memory and keeps what the backward pass
//! needs (the gradient itself for a reduced loss; logits and targets for
//! per-target losses, whose backward pass is the kernel's vector-Jacobian
//! product with the upstream gradient).

use super::host::{Floats, Host, HostFloat, Ints};
use crate::bridge::{Fused, Inputs, Job, Out, TargetData};
use crate::LossError;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::CheckpointStrategy;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_autodiff::Autodiff;
use burn_backend::tensor::FloatTensor;
use burn_backend::Scalar;
use ndarray::{ArrayD, ArrayViewD};

/// Targets as a host backend holds them.
pub(super) enum HostTargets<H: Host> {
    /// Class indices.
    Int(H::IntTensorPrimitive),
    /// Probabilities or binary targets.
    Float(H::FloatTensorPrimitive),
}

impl<H: Host> Clone for HostTargets<H> {
    fn clone(&self) -> Self {
        match self {
            HostTargets::Int(t) => HostTargets::Int(t.clone()),
            HostTargets::Float(t) => HostTargets::Float(t.clone()),
        }
    }
}

impl<H: Host> core::fmt::Debug for HostTargets<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HostTargets::Int(t) => f.debug_tuple("Int").field(t).finish(),
            HostTargets::Float(t) => f.debug_tuple("Float").field(t).finish(),
        }
    }
}

/// What one host call computes.
#[derive(Clone, Copy)]
pub(super) enum Mode {
    /// The reduced loss, with its gradient or without.
    Reduced { grad: bool },
    /// The per-target losses.
    PerTarget,
    /// Their vector-Jacobian product with an upstream gradient.
    Vjp,
}

/// One call on host tensors: the output (the loss as shape `[1]`, the
/// per-target losses, or a vector-Jacobian product) and, for
/// `Reduced { grad: true }`, the gradient.
pub(super) fn run_host<H: Host, L: Fused>(
    loss: &L,
    x: &H::FloatTensorPrimitive,
    t: &HostTargets<H>,
    mask: Option<&ArrayD<bool>>,
    mode: Mode,
    up: Option<&H::FloatTensorPrimitive>,
) -> Result<(H::FloatTensorPrimitive, Option<H::FloatTensorPrimitive>), LossError> {
    let xs = H::floats(x)?;
    match xs {
        Floats::F32(_) => typed::<H, L, f32>(loss, &xs, t, mask, mode, up),
        Floats::F64(_) => typed::<H, L, f64>(loss, &xs, t, mask, mode, up),
    }
}

/// A float tensor in precision `F`: viewed if it has it, else converted.
fn in_precision<'b, F: HostFloat>(
    f: &'b Floats<'_>,
    held: &'b mut Option<ArrayD<F>>,
) -> ArrayViewD<'b, F> {
    if let Some(v) = F::pick(f) {
        return v.reborrow();
    }
    let a = match f {
        Floats::F32(v) => v.mapv(|e| F::from_f64_(f64::from(e))),
        Floats::F64(v) => v.mapv(F::from_f64_),
    };
    held.insert(a).view()
}

/// Standard-order elements of `a`.
fn into_vec<F: Clone>(a: ArrayD<F>) -> Vec<F> {
    if a.is_standard_layout() {
        a.into_raw_vec_and_offset().0
    } else {
        a.iter().cloned().collect()
    }
}

fn typed<H: Host, L: Fused, F: HostFloat>(
    loss: &L,
    xs: &Floats<'_>,
    t: &HostTargets<H>,
    mask: Option<&ArrayD<bool>>,
    mode: Mode,
    up: Option<&H::FloatTensorPrimitive>,
) -> Result<(H::FloatTensorPrimitive, Option<H::FloatTensorPrimitive>), LossError> {
    let mut held_x = None;
    let x = in_precision::<F>(xs, &mut held_x);
    let (ints, floats): (Option<Ints<'_>>, Option<Floats<'_>>) = match t {
        HostTargets::Int(p) => (Some(H::ints(p)?), None),
        HostTargets::Float(p) => (None, Some(H::floats(p)?)),
    };
    let mut held_t = None;
    let td: TargetData<'_, F> = match (&ints, &floats) {
        (Some(i), _) => i.data()?,
        (None, Some(f)) => TargetData::Float(in_precision::<F>(f, &mut held_t)),
        (None, None) => return Err(LossError::NoClasses),
    };
    let shape = x.shape().to_vec();
    let n = x.len();
    let inputs = Inputs {
        x,
        t: td,
        ignore: mask.map(|m| m.view()),
    };
    match mode {
        Mode::Reduced { grad: false } => match loss.run(inputs, Job::Loss)? {
            Out::Loss(l) => Ok((H::from_vec(vec![l], &[1])?, None)),
            Out::Array(_) => Err(LossError::NoClasses),
        },
        Mode::Reduced { grad: true } => {
            let mut g = vec![F::zero(); n];
            match loss.run(inputs, Job::Grad(&mut g))? {
                Out::Loss(l) => Ok((H::from_vec(vec![l], &[1])?, Some(H::from_vec(g, &shape)?))),
                Out::Array(_) => Err(LossError::NoClasses),
            }
        }
        Mode::PerTarget | Mode::Vjp => {
            let ups = match (mode, up) {
                (Mode::Vjp, Some(u)) => Some(H::floats(u)?),
                _ => None,
            };
            let mut held_u = None;
            let job = match &ups {
                Some(u) => Job::Vjp(in_precision::<F>(u, &mut held_u)),
                None => Job::PerTarget,
            };
            match loss.run(inputs, job)? {
                Out::Array(a) => {
                    let s = a.shape().to_vec();
                    Ok((H::from_vec(into_vec(a), &s)?, None))
                }
                Out::Loss(_) => Err(LossError::NoClasses),
            }
        }
    }
}

/// The backward step of a reduced loss: the kept gradient times the
/// upstream scalar.
#[derive(Debug)]
struct ReducedStep;

impl<H: Host> Backward<H, 1> for ReducedStep {
    type State = H::FloatTensorPrimitive;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let up = grads.consume::<H>(&ops.node);
        if let Some(node) = parent {
            let u = match H::floats(&up) {
                Ok(Floats::F32(v)) => v.iter().next().map_or(f64::NAN, |&e| f64::from(e)),
                Ok(Floats::F64(v)) => v.iter().next().copied().unwrap_or(f64::NAN),
                Err(_) => f64::NAN,
            };
            let g = if u == 1.0 {
                ops.state
            } else {
                H::float_mul_scalar(ops.state, Scalar::from(u))
            };
            grads.register::<H>(node.id, g);
        }
    }
}

/// The backward step of per-target losses: the kernel's vector-Jacobian
/// product with the upstream gradient.
#[derive(Debug)]
struct PerTargetStep<L> {
    loss: L,
}

impl<H: Host, L: Fused + core::fmt::Debug> Backward<H, 1> for PerTargetStep<L> {
    type State = (
        H::FloatTensorPrimitive,
        HostTargets<H>,
        Option<ArrayD<bool>>,
    );

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let up = grads.consume::<H>(&ops.node);
        let Some(node) = parent else { return };
        let (x, t, mask) = ops.state;
        match run_host(&self.loss, &x, &t, mask.as_ref(), Mode::Vjp, Some(&up)) {
            Ok((g, _)) => grads.register::<H>(node.id, g),
            // A backward step cannot return an error: a non-finite upstream
            // gradient propagates as NaN, as it would through any op.
            Err(_) => grads.register::<H>(node.id, H::float_mul_scalar(x, Scalar::from(f64::NAN))),
        }
    }
}

/// The loss as one op of `Autodiff<H, C>`: reduced (`per_target` false)
/// or per target.
pub(super) fn autodiff<H: Host, C: CheckpointStrategy, L: Fused + core::fmt::Debug>(
    loss: &L,
    x: FloatTensor<Autodiff<H, C>>,
    t: HostTargets<H>,
    mask: Option<ArrayD<bool>>,
    per_target: bool,
) -> Result<FloatTensor<Autodiff<H, C>>, LossError> {
    let (prim, guard) = x.into_parts();
    let prim = H::viewable(prim);
    if per_target {
        let (out, _) = run_host(loss, &prim, &t, mask.as_ref(), Mode::PerTarget, None)?;
        let step = PerTargetStep { loss: loss.clone() };
        return Ok(
            match step.prepare::<C>([guard]).compute_bound().stateful() {
                OpsKind::Tracked(prep) => prep.finish((prim, t, mask), out),
                OpsKind::UnTracked(prep) => prep.finish(out),
            },
        );
    }
    match ReducedStep.prepare::<C>([guard]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let mode = Mode::Reduced { grad: true };
            let (out, g) = run_host(loss, &prim, &t, mask.as_ref(), mode, None)?;
            let g = g.ok_or(LossError::NoClasses)?;
            Ok(prep.finish(g, out))
        }
        OpsKind::UnTracked(prep) => {
            let mode = Mode::Reduced { grad: false };
            let (out, _) = run_host(loss, &prim, &t, mask.as_ref(), mode, None)?;
            Ok(prep.finish(out))
        }
    }
}
