//! What the framework adapters (`candle`, `burn`) share: one call's inputs
//! read from a framework's host storage, and the five losses run on them
//! (loss, loss with gradient, per-target losses, or their vector-Jacobian
//! product) whatever the target type.

use crate::{
    BceWithLogitsLoss, CrossEntropyLoss, FocalLoss, LossError, LossFloat, Masked, NllLoss, Probs,
    SigmoidFocalLoss,
};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD};

pub(crate) mod settings;

/// One call's inputs read from a framework's storage: logits, targets, and
/// an ignore mask of the logits' shape (sigmoid losses only).
#[doc(hidden)]
#[derive(Debug)]
pub struct Inputs<'a, F> {
    pub(crate) x: ArrayViewD<'a, F>,
    pub(crate) t: TargetData<'a, F>,
    pub(crate) ignore: Option<ArrayViewD<'a, bool>>,
}

/// Targets read from a framework's storage.
#[doc(hidden)]
#[derive(Debug)]
#[cfg_attr(not(feature = "burn"), allow(dead_code))]
pub enum TargetData<'a, F> {
    /// `u8` class indices.
    U8(ArrayViewD<'a, u8>),
    /// `u16` class indices.
    U16(ArrayViewD<'a, u16>),
    /// `u32` class indices.
    U32(ArrayViewD<'a, u32>),
    /// `u64` class indices.
    U64(ArrayViewD<'a, u64>),
    /// `i32` class indices.
    I32(ArrayViewD<'a, i32>),
    /// `i64` class indices.
    I64(ArrayViewD<'a, i64>),
    /// Float targets in the computing precision.
    Float(ArrayViewD<'a, F>),
}

impl<F> TargetData<'_, F> {
    /// Class-index targets reborrowed for any computing precision `G`, or
    /// (`Err`) the float targets' view.
    pub(crate) fn indices<G>(&self) -> Result<TargetData<'_, G>, ArrayViewD<'_, F>> {
        Ok(match self {
            TargetData::U8(t) => TargetData::U8(t.view()),
            TargetData::U16(t) => TargetData::U16(t.view()),
            TargetData::U32(t) => TargetData::U32(t.view()),
            TargetData::U64(t) => TargetData::U64(t.view()),
            TargetData::I32(t) => TargetData::I32(t.view()),
            TargetData::I64(t) => TargetData::I64(t.view()),
            TargetData::Float(t) => return Err(t.view()),
        })
    }

    /// The targets, reborrowed (ndarray views are invariant in their lifetime).
    #[cfg_attr(not(feature = "candle"), allow(dead_code))]
    pub(crate) fn reborrow(&self) -> TargetData<'_, F> {
        self.indices().unwrap_or_else(TargetData::Float)
    }
}

/// What to compute.
#[doc(hidden)]
#[derive(Debug)]
pub enum Job<'a, F> {
    /// The reduced loss.
    Loss,
    /// The reduced loss, its gradient written into the buffer (the logits'
    /// shape, standard order).
    Grad(&'a mut [F]),
    /// The per-target losses.
    PerTarget,
    /// The vector-Jacobian product of the per-target losses with this
    /// upstream gradient.
    Vjp(ArrayViewD<'a, F>),
}

/// What a [`Job`] gives.
#[doc(hidden)]
#[derive(Debug)]
pub enum Out<F> {
    /// A reduced loss.
    Loss(F),
    /// Per-target losses or a gradient.
    Array(ArrayD<F>),
}

/// The five losses run on framework inputs (sealed: the adapter traits
/// require it).
#[doc(hidden)]
pub trait Fused: Clone + Send + Sync + 'static {
    /// Runs `job` on `inputs`.
    fn run<F: LossFloat>(
        &self,
        inputs: Inputs<'_, F>,
        job: Job<'_, F>,
    ) -> Result<Out<F>, LossError>;
}

/// Runs `$job` for the loss `$s` on logits `$x` and targets `$t`.
macro_rules! job {
    ($s:ident, $x:expr, $t:expr, $job:ident) => {{
        let x = $x;
        match $job {
            Job::Loss => $s.forward(x, $t).map(Out::Loss),
            Job::Grad(g) => {
                let mut g = ArrayViewMutD::from_shape(x.raw_dim(), g).map_err(|_| {
                    LossError::ShapeMismatch {
                        what: "gradient buffer",
                        expected: x.shape().to_vec(),
                        actual: vec![],
                    }
                })?;
                $s.forward_backward_into(x, $t, &mut g).map(Out::Loss)
            }
            Job::PerTarget => $s.per_target(x, $t).map(|a| Out::Array(a.into_dyn())),
            Job::Vjp(u) => $s
                .per_target_backward(x, $t, &u)
                .map(|a| Out::Array(a.into_dyn())),
        }
    }};
}

/// A softmax loss: class indices of any label type, or (`$probs`) float
/// targets.
macro_rules! softmax_run {
    ($s:ident, $i:ident, $job:ident, $probs:expr) => {{
        if $i.ignore.is_some() {
            return Err(no_mask());
        }
        let x = &$i.x;
        match $i.t {
            TargetData::U8(t) => job!($s, x, &t, $job),
            TargetData::U16(t) => job!($s, x, &t, $job),
            TargetData::U32(t) => job!($s, x, &t, $job),
            TargetData::U64(t) => job!($s, x, &t, $job),
            TargetData::I32(t) => job!($s, x, &t, $job),
            TargetData::I64(t) => job!($s, x, &t, $job),
            TargetData::Float(p) => $probs(x, p, $job),
        }
    }};
}

/// A sigmoid loss: float targets, optionally masked.
macro_rules! sigmoid_run {
    ($s:ident, $i:ident, $job:ident) => {{
        let TargetData::Float(t) = $i.t else {
            return Err(not_float());
        };
        match &$i.ignore {
            Some(m) => job!(
                $s,
                &$i.x,
                &Masked {
                    targets: &t,
                    ignore: m,
                },
                $job
            ),
            None => job!($s, &$i.x, &t, $job),
        }
    }};
}

/// `Fused` for a loss type; `$body` runs it on the `Inputs` `$i`.
macro_rules! fused {
    ($ty:ident, |$s:ident, $i:ident, $job:ident| $body:expr) => {
        impl Fused for $ty {
            fn run<F: LossFloat>(
                &self,
                $i: Inputs<'_, F>,
                $job: Job<'_, F>,
            ) -> Result<Out<F>, LossError> {
                let $s = self;
                $body
            }
        }
    };
}

fused!(NllLoss, |s, i, job| softmax_run!(s, i, job, |_, _, _| Err(
    not_index()
)));
fused!(CrossEntropyLoss, |s, i, job| softmax_run!(
    s,
    i,
    job,
    |x, p, job| job!(s, x, &Probs(&p), job)
));
fused!(FocalLoss, |s, i, job| softmax_run!(
    s,
    i,
    job,
    |x, p, job| job!(s, x, &Probs(&p), job)
));
fused!(SigmoidFocalLoss, |s, i, job| sigmoid_run!(s, i, job));
fused!(BceWithLogitsLoss, |s, i, job| sigmoid_run!(s, i, job));

/// A softmax loss was given an ignore mask.
pub(crate) fn no_mask() -> LossError {
    LossError::InvalidParameter {
        name: "ignore",
        value: f64::NAN,
        expected: "no ignore mask for a softmax loss (use its ignore index)",
    }
}

/// NLL was given float targets.
pub(crate) fn not_index() -> LossError {
    LossError::InvalidParameter {
        name: "targets",
        value: f64::NAN,
        expected: "class indices (integers) for NllLoss",
    }
}

/// A sigmoid loss was given class indices.
pub(crate) fn not_float() -> LossError {
    LossError::InvalidParameter {
        name: "targets",
        value: f64::NAN,
        expected: "float binary targets for a sigmoid loss",
    }
}
