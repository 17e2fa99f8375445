//! Shared plumbing of the softmax-family losses: validates shapes and
//! targets, computes the reduction denominator, lays inputs out
//! contiguously, runs the kernel and reduces. The loss types only hold
//! configuration and call into here.

use crate::error::{unravel, LossError};
use crate::float::LossFloat;
use crate::guard::{self, Magnitudes, Outs, Scale};
use crate::kernel::softmax::{self, Outputs, SoftmaxSpec, TargetSlice, Weights};
use crate::kernel::{Geom, KernelError};
use crate::reduction::Reduction;
use crate::targets::TargetView;
use ndarray::{
    Array, ArrayBase, ArrayViewD, Axis, CowArray, Data, DataMut, Dimension, IxDyn, RemoveAxis,
};

/// A loss call's configuration, borrowed from a loss type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config<'a, F> {
    pub spec: SoftmaxSpec<'a, F>,
    pub reduction: Reduction,
    /// Name of the input array in errors (`"logits"` or `"log_probs"`).
    pub input_name: &'static str,
}

/// Targets laid out contiguously.
enum Tgt<'a, F> {
    Index(CowArray<'a, usize, IxDyn>),
    Probs(CowArray<'a, F, IxDyn>),
}

/// Validated, contiguous inputs plus the reduction denominators.
struct Prepared<'a, 'b, F> {
    z: CowArray<'a, F, IxDyn>,
    t: Tgt<'b, F>,
    geom: Geom,
    /// Number of non-ignored positions.
    count: usize,
    /// Sum over non-ignored positions of the weight that scaled each.
    weight_sum: f64,
    /// Bounds for the range guard.
    mags: Magnitudes,
}

/// Borrows a standard-layout array as a slice.
fn slice_of<'b, T>(a: &'b CowArray<'_, T, IxDyn>) -> &'b [T] {
    a.as_slice()
        .expect("as_standard_layout always yields a contiguous array")
}

/// Borrows a view as a contiguous row-major array, copying only if needed.
pub(crate) fn contiguous<T: Clone>(v: ArrayViewD<'_, T>) -> CowArray<'_, T, IxDyn> {
    if v.is_standard_layout() {
        CowArray::from(v)
    } else {
        // `to_owned` would keep a column-major or permuted memory order.
        CowArray::from(v.as_standard_layout().into_owned())
    }
}

/// Checks that `logits` is `(N, C, ..)` with `C >= 1` and returns the geometry.
pub(crate) fn geometry(shape: &[usize], what: &'static str) -> Result<Geom, LossError> {
    if shape.len() < 2 {
        return Err(LossError::TooFewDimensions {
            what,
            min: 2,
            actual: shape.len(),
        });
    }
    if shape[1] == 0 {
        return Err(LossError::NoClasses);
    }
    Ok(Geom {
        n: shape[0],
        c: shape[1],
        m: shape[2..].iter().product(),
    })
}

/// The shape of one value per position: `shape` without axis 1.
pub(crate) fn position_shape(shape: &[usize]) -> Vec<usize> {
    let mut s = shape.to_vec();
    s.remove(1);
    s
}

/// Errors unless `actual` is `shape` without axis 1 (one value per
/// position); allocates only to build the error.
pub(crate) fn check_positions(
    what: &'static str,
    shape: &[usize],
    actual: &[usize],
) -> Result<(), LossError> {
    let same = actual.len() + 1 == shape.len()
        && actual.first() == shape.first()
        && actual.get(1..) == shape.get(2..);
    if same {
        Ok(())
    } else {
        check_shape(what, &position_shape(shape), actual)
    }
}

/// Errors unless `actual == expected`.
pub(crate) fn check_shape(
    what: &'static str,
    expected: &[usize],
    actual: &[usize],
) -> Result<(), LossError> {
    if expected == actual {
        Ok(())
    } else {
        Err(LossError::ShapeMismatch {
            what,
            expected: expected.to_vec(),
            actual: actual.to_vec(),
        })
    }
}

/// Errors unless a per-class vector has one entry per class.
pub(crate) fn check_len(what: &'static str, len: usize, c: usize) -> Result<(), LossError> {
    if len == c {
        Ok(())
    } else {
        Err(LossError::LengthMismatch {
            what,
            expected: c,
            actual: len,
        })
    }
}

/// Largest total probability-target mass accepted, `2^512`: with weights
/// and `gamma` at most `f32::MAX`, every intermediate of the gradient
/// (`Σ w t g`, at most `w · mass · (gamma + 1)`) then stays below `f64::MAX`.
const MAX_TARGET_MASS: f64 = 1.340_780_792_994_259_7e154;

fn prepare<'a, 'b, F: LossFloat>(
    cfg: &Config<'_, F>,
    logits: ArrayViewD<'a, F>,
    targets: TargetView<'b, F>,
) -> Result<Prepared<'a, 'b, F>, LossError> {
    // Borrowed, not copied: the happy path allocates nothing.
    let shape = logits.shape();
    let geom = geometry(shape, cfg.input_name)?;
    let w = cfg.spec.weight;
    if let Weights::PerClass(v) = w {
        check_len(weight_name(cfg), v.len(), geom.c)?;
    }
    let wt = |k: usize| w.at(k).to_f64_();
    let (t, count, weight_sum, mass) = match targets {
        TargetView::Index(t) => {
            check_positions("targets", shape, t.shape())?;
            let t = contiguous(t);
            let ts = slice_of(&t);
            // Only `WeightedMean` divides by the weight sum: other reductions
            // skip the per-target weight loads (the sum is then 0, unused).
            let ws_w = match cfg.reduction {
                Reduction::WeightedMean => w,
                Reduction::Sum | Reduction::Mean => Weights::Uniform(F::zero()),
            };
            let (count, ws) = crate::targets::index_stats(ts, cfg.spec.ignore_index, geom.c, ws_w)
                .map_err(|p| LossError::TargetOutOfRange {
                    position: unravel(p, &position_shape(shape)),
                    target: ts[p],
                    classes: geom.c,
                })?;
            (Tgt::Index(t), count, ws, 1.0)
        }
        TargetView::Probs(t) => {
            check_shape("targets", shape, t.shape())?;
            let t = contiguous(t);
            let eps = smoothing(cfg).to_f64_();
            let cf = geom.c as f64;
            let (mut ws, mut mass) = (0.0, 0.0);
            for (i, &v) in slice_of(&t).iter().enumerate() {
                let bad = |expected| {
                    Err(LossError::InvalidTarget {
                        position: unravel(i, shape),
                        value: v.to_f64_(),
                        expected,
                    })
                };
                if !(v.is_finite() && v >= F::zero()) {
                    return bad("a finite, non-negative probability");
                }
                let k = (i / geom.m) % geom.c;
                let tp = (1.0 - eps) * v.to_f64_() + eps / cf;
                ws += wt(k) * tp;
                mass += tp;
                if mass > MAX_TARGET_MASS {
                    return bad(
                        "probabilities whose total over the batch is at most 2^512 (1.3e154)",
                    );
                }
            }
            (Tgt::Probs(t), geom.positions(), ws, mass)
        }
    };
    let weight = match w {
        Weights::Uniform(v) => v.to_f64_(),
        Weights::PerClass(v) => v.iter().fold(0.0_f64, |a, x| a.max(x.to_f64_())),
    };
    let gamma = match cfg.spec.kind {
        softmax::SoftmaxKind::Focal { gamma, .. } => gamma.to_f64_(),
        _ => 0.0,
    };
    Ok(Prepared {
        z: contiguous(logits),
        t,
        geom,
        count,
        weight_sum,
        mags: Magnitudes {
            weight,
            mass,
            gamma,
        },
    })
}

fn weight_name<F>(cfg: &Config<'_, F>) -> &'static str {
    match cfg.spec.kind {
        softmax::SoftmaxKind::Focal { .. } => "alpha",
        _ => "weight",
    }
}

fn smoothing<F: LossFloat>(cfg: &Config<'_, F>) -> F {
    match cfg.spec.kind {
        softmax::SoftmaxKind::Nll => F::zero(),
        softmax::SoftmaxKind::CrossEntropy { smoothing }
        | softmax::SoftmaxKind::Focal { smoothing, .. } => smoothing,
    }
}

/// Per-class weights as `f64` (empty for uniform weights).
fn wide_weights<F: LossFloat>(w: Weights<'_, F>) -> Vec<f64> {
    match w {
        Weights::Uniform(_) => Vec::new(),
        Weights::PerClass(v) => v.iter().map(|x| x.to_f64_()).collect(),
    }
}

/// `cfg` in `f64`, with exactly its (already rounded) parameter values, so
/// that the guard's wide path computes the same loss; `w64` holds the
/// per-class weights ([`wide_weights`]).
fn wide_config<'w, F: LossFloat>(cfg: &Config<'_, F>, w64: &'w [f64]) -> Config<'w, f64> {
    use softmax::SoftmaxKind as K;
    let kind = match cfg.spec.kind {
        K::Nll => K::Nll,
        K::CrossEntropy { smoothing } => K::CrossEntropy {
            smoothing: smoothing.to_f64_(),
        },
        K::Focal { gamma, smoothing } => K::Focal {
            gamma: gamma.to_f64_(),
            smoothing: smoothing.to_f64_(),
        },
    };
    let weight = match cfg.spec.weight {
        Weights::Uniform(v) => Weights::Uniform(v.to_f64_()),
        Weights::PerClass(_) => Weights::PerClass(w64),
    };
    Config {
        spec: SoftmaxSpec {
            kind,
            weight,
            ignore_index: cfg.spec.ignore_index,
        },
        reduction: cfg.reduction,
        input_name: cfg.input_name,
    }
}

/// The reduction denominator; `None` when it is zero (loss and gradient 0).
pub(crate) fn denominator(reduction: Reduction, count: usize, weight_sum: f64) -> Option<f64> {
    let d = match reduction {
        Reduction::Sum => 1.0,
        Reduction::Mean => count as f64,
        Reduction::WeightedMean => weight_sum,
    };
    (d > 0.0).then_some(d)
}

impl<F: LossFloat> Prepared<'_, '_, F> {
    /// Runs the call through the range guard (see [`guard`]).
    fn execute(
        &self,
        cfg: &Config<'_, F>,
        reduction: Scale<'_, F>,
        per_target: Option<&mut [F]>,
        grad: Option<(&mut [F], Scale<'_, F>)>,
    ) -> Result<f64, LossError> {
        guard::execute(
            self.geom,
            self.mags,
            reduction,
            per_target,
            grad,
            |o| self.run(cfg, o),
            |o| {
                let w64 = wide_weights(cfg.spec.weight);
                self.widen().run(&wide_config(cfg, &w64), o)
            },
        )
    }

    /// The reduced loss `sum / d`. A non-finite `sum` although every
    /// input is finite means per-position terms beyond the range (an `f64`
    /// weight of `3e38` times a loss of `1e300`, or NLL terms of both signs
    /// beyond `f64::MAX`); the losses are linear in the class weights, so
    /// the sum is recomputed with every weight scaled by `2^-700`, divided,
    /// and scaled back. `f32` calls never need it: the guard computes them
    /// in `f64`.
    fn reduce(&self, cfg: &Config<'_, F>, sum: f64, d: f64) -> Result<F, LossError> {
        if sum.is_finite() || guard::narrow::<F>() {
            return Ok(F::from_f64_(sum / d));
        }
        let down = guard::rescale_down();
        let scaled: Vec<F>;
        let weight = match cfg.spec.weight {
            Weights::Uniform(v) => Weights::Uniform(F::from_f64_(v.to_f64_() * down)),
            Weights::PerClass(v) => {
                scaled = v.iter().map(|x| F::from_f64_(x.to_f64_() * down)).collect();
                Weights::PerClass(&scaled)
            }
        };
        let cfg = Config {
            spec: SoftmaxSpec { weight, ..cfg.spec },
            ..*cfg
        };
        let sum = self.run(&cfg, (None, None))?;
        Ok(F::from_f64_(sum / d / down))
    }

    /// An `f64` copy of the inputs (the guard's wide path).
    fn widen(&self) -> Prepared<'static, '_, f64> {
        let wide = |a: &CowArray<'_, F, IxDyn>| CowArray::from(a.map(|v| v.to_f64_()));
        Prepared {
            z: wide(&self.z),
            t: match &self.t {
                Tgt::Index(t) => Tgt::Index(CowArray::from(t.view())),
                Tgt::Probs(t) => Tgt::Probs(wide(t)),
            },
            geom: self.geom,
            count: self.count,
            weight_sum: self.weight_sum,
            mags: self.mags,
        }
    }

    fn run(
        &self,
        cfg: &Config<'_, F>,
        (per_target, grad): Outs<'_, '_, F>,
    ) -> Result<f64, LossError> {
        let out = Outputs { per_target, grad };
        let z = slice_of(&self.z);
        let t = match &self.t {
            Tgt::Index(t) => TargetSlice::Index(slice_of(t)),
            Tgt::Probs(t) => TargetSlice::Probs(slice_of(t)),
        };
        softmax::run(&cfg.spec, z, t, self.geom, out).map_err(|e| match e {
            KernelError::NonFinite(off) => LossError::NonFiniteInput {
                what: cfg.input_name,
                position: unravel(off, self.z.shape()),
                value: z[off].to_f64_(),
            },
            KernelError::Masked(off) => LossError::MaskedTarget {
                position: unravel(off, self.z.shape()),
            },
        })
    }

    fn denominator(&self, reduction: Reduction) -> Option<f64> {
        denominator(reduction, self.count, self.weight_sum)
    }

    /// The reduction's gradient scale.
    fn scale(&self, reduction: Reduction) -> Scale<'static, F> {
        self.denominator(reduction)
            .map_or(Scale::Zero, Scale::Divide)
    }
}

/// Reduced loss.
pub(crate) fn forward<F: LossFloat>(
    cfg: &Config<'_, F>,
    logits: ArrayViewD<'_, F>,
    targets: TargetView<'_, F>,
) -> Result<F, LossError> {
    let prep = prepare(cfg, logits, targets)?;
    let scale = prep.scale(cfg.reduction);
    let sum = prep.execute(cfg, scale, None, None)?;
    match prep.denominator(cfg.reduction) {
        Some(d) => prep.reduce(cfg, sum, d),
        None => Ok(F::zero()),
    }
}

/// Reduced loss, and its gradient written into `grad` (logits' shape).
pub(crate) fn forward_backward_into<F: LossFloat, S: DataMut<Elem = F>, D: Dimension>(
    cfg: &Config<'_, F>,
    logits: ArrayViewD<'_, F>,
    targets: TargetView<'_, F>,
    grad: &mut ArrayBase<S, D>,
) -> Result<F, LossError> {
    let prep = prepare(cfg, logits, targets)?;
    check_shape("grad", prep.z.shape(), grad.shape())?;
    let denom = prep.denominator(cfg.reduction);
    let scale = prep.scale(cfg.reduction);
    let sum = with_contiguous_mut(grad, |g| prep.execute(cfg, scale, None, Some((g, scale))))?;
    denom.map_or(Ok(F::zero()), |d| prep.reduce(cfg, sum, d))
}

/// Per-position losses (PyTorch `reduction='none'`); ignored positions are 0.
pub(crate) fn per_target<F: LossFloat, D: RemoveAxis>(
    cfg: &Config<'_, F>,
    logits: ArrayViewD<'_, F>,
    dim: D,
    targets: TargetView<'_, F>,
) -> Result<Array<F, D::Smaller>, LossError> {
    let prep = prepare(cfg, logits, targets)?;
    let mut out = Array::zeros(dim.remove_axis(Axis(1)));
    // The path (see `guard`) follows the loss's reduction, so that these
    // losses agree with `forward`'s.
    let scale = prep.scale(cfg.reduction);
    with_contiguous_mut(&mut out, |o| prep.execute(cfg, scale, Some(o), None))?;
    Ok(out)
}

/// Vector-Jacobian product of [`per_target`]: `grad[n, k, ..] = u[n, ..] d l_n / d z[n, k, ..]`.
pub(crate) fn per_target_backward<F: LossFloat, D: Dimension, S: Data<Elem = F>, E: Dimension>(
    cfg: &Config<'_, F>,
    logits: ArrayViewD<'_, F>,
    dim: D,
    targets: TargetView<'_, F>,
    upstream: &ArrayBase<S, E>,
) -> Result<Array<F, D>, LossError> {
    let prep = prepare(cfg, logits, targets)?;
    let pshape = position_shape(prep.z.shape());
    check_shape("upstream", &pshape, upstream.shape())?;
    let u = contiguous(upstream.view().into_dyn());
    let u = slice_of(&u);
    check_finite_slice("upstream", u, &pshape)?;
    let mut grad = Array::zeros(dim);
    with_contiguous_mut(&mut grad, |g| {
        let vjp = Scale::PerPosition(u);
        prep.execute(cfg, Scale::Divide(1.0), None, Some((g, vjp)))
    })?;
    Ok(grad)
}

/// Errors on the first NaN or infinite value.
pub(crate) fn check_finite_slice<F: LossFloat>(
    what: &'static str,
    v: &[F],
    shape: &[usize],
) -> Result<(), LossError> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(LossError::NonFiniteInput {
            what,
            position: unravel(i, shape),
            value: v[i].to_f64_(),
        }),
        None => Ok(()),
    }
}

/// Runs `f` on `a` as a row-major slice: in place when `a` is contiguous in
/// standard layout, otherwise through a temporary copied back afterwards.
pub(crate) fn with_contiguous_mut<F: LossFloat, S: DataMut<Elem = F>, D: Dimension, R>(
    a: &mut ArrayBase<S, D>,
    f: impl FnOnce(&mut [F]) -> Result<R, LossError>,
) -> Result<R, LossError> {
    if let Some(s) = a.as_slice_mut() {
        return f(s);
    }
    let mut tmp = vec![F::zero(); a.len()];
    let r = f(&mut tmp)?;
    for (dst, src) in a.iter_mut().zip(tmp) {
        *dst = src;
    }
    Ok(r)
}
