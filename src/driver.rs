//! Shared plumbing of the softmax-family losses: validates shapes and
//! targets, computes the reduction denominator, lays inputs out
//! contiguously, runs the kernel and reduces. The loss types only hold
//! configuration and call into here.

use crate::error::{unravel, LossError};
use crate::float::LossFloat;
use crate::kernel::softmax::{self, Outputs, SoftmaxSpec, TargetSlice, Weights};
use crate::kernel::{Geom, KernelError, Upstream};
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
    let (t, count, weight_sum) = match targets {
        TargetView::Index(t) => {
            check_positions("targets", shape, t.shape())?;
            let t = contiguous(t);
            let mut count = 0;
            let mut ws = 0.0;
            for (p, &y) in slice_of(&t).iter().enumerate() {
                if cfg.spec.ignore_index == Some(y) {
                    continue;
                }
                if y >= geom.c {
                    return Err(LossError::TargetOutOfRange {
                        position: unravel(p, &position_shape(shape)),
                        target: y,
                        classes: geom.c,
                    });
                }
                count += 1;
                ws += wt(y);
            }
            (Tgt::Index(t), count, ws)
        }
        TargetView::Probs(t) => {
            check_shape("targets", shape, t.shape())?;
            let t = contiguous(t);
            let eps = smoothing(cfg).to_f64_();
            let cf = geom.c as f64;
            let mut ws = 0.0;
            for (i, &v) in slice_of(&t).iter().enumerate() {
                if !(v.is_finite() && v >= F::zero()) {
                    return Err(LossError::InvalidTarget {
                        position: unravel(i, shape),
                        value: v.to_f64_(),
                        expected: "a finite, non-negative probability",
                    });
                }
                let k = (i / geom.m) % geom.c;
                ws += wt(k) * ((1.0 - eps) * v.to_f64_() + eps / cf);
            }
            (Tgt::Probs(t), geom.positions(), ws)
        }
    };
    Ok(Prepared {
        z: contiguous(logits),
        t,
        geom,
        count,
        weight_sum,
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
    fn run(&self, cfg: &Config<'_, F>, out: Outputs<'_, '_, F>) -> Result<f64, LossError> {
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
}

/// Reduced loss.
pub(crate) fn forward<F: LossFloat>(
    cfg: &Config<'_, F>,
    logits: ArrayViewD<'_, F>,
    targets: TargetView<'_, F>,
) -> Result<F, LossError> {
    let prep = prepare(cfg, logits, targets)?;
    let sum = prep.run(
        cfg,
        Outputs {
            per_target: None,
            grad: None,
        },
    )?;
    Ok(match prep.denominator(cfg.reduction) {
        Some(d) => F::from_f64_(sum / d),
        None => F::zero(),
    })
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
    let scale = denom.map_or(F::zero(), |d| F::from_f64_(1.0 / d));
    let sum = with_contiguous_mut(grad, |g| {
        prep.run(
            cfg,
            Outputs {
                per_target: None,
                grad: Some((g, Upstream::Uniform(scale))),
            },
        )
    })?;
    Ok(denom.map_or(F::zero(), |d| F::from_f64_(sum / d)))
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
    with_contiguous_mut(&mut out, |o| {
        prep.run(
            cfg,
            Outputs {
                per_target: Some(o),
                grad: None,
            },
        )
    })?;
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
        prep.run(
            cfg,
            Outputs {
                per_target: None,
                grad: Some((g, Upstream::PerPosition(u))),
            },
        )
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
