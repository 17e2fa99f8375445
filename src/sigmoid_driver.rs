//! Shared plumbing of the sigmoid-family losses ([`SigmoidFocalLoss`],
//! [`BceWithLogitsLoss`]): their target types, input validation, the
//! reduction denominator, contiguous layout, the kernel call, and the method
//! set both types expose. The loss types only hold configuration.
//!
//! [`SigmoidFocalLoss`]: crate::SigmoidFocalLoss
//! [`BceWithLogitsLoss`]: crate::BceWithLogitsLoss

use crate::driver::{
    check_finite_slice, check_len, check_shape, denominator, geometry, with_contiguous_mut,
};
use crate::error::{unravel, LossError};
use crate::float::LossFloat;
use crate::guard::{self, Magnitudes, Outs, Scale};
use crate::kernel::sigmoid::{self, Alpha, Outputs, SigmoidSpec};
use crate::kernel::{Geom, KernelError};
use crate::reduction::Reduction;
use ndarray::{Array, ArrayBase, ArrayViewD, Data, DataMut, Dimension, IxDyn};
use std::borrow::Cow;

mod methods;
pub(crate) use methods::sigmoid_methods;

/// Binary targets with an ignore mask: `ignore[i] = true` leaves element `i`
/// out of the loss (loss 0, gradient 0) and out of every reduction
/// denominator.
///
/// `targets` and `ignore` must both have the logits' shape. Targets at
/// ignored elements are not read, so any placeholder (`-1`, `255`, NaN)
/// may sit there.
///
/// # Examples
///
/// ```
/// use focal_loss::{Masked, SigmoidFocalLoss};
/// use ndarray::array;
///
/// let x = array![[2.0_f64, -1.0], [0.5, 3.0]];
/// let y = array![[1.0, 0.0], [-1.0, 1.0]]; // -1: label unknown
/// let ignore = array![[false, false], [true, false]];
/// let loss = SigmoidFocalLoss::new(2.0)?;
/// let l = loss.forward(&x, &Masked { targets: &y, ignore: &ignore })?;
/// assert!(l > 0.0);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
pub struct Masked<'a, S: Data, D: Dimension, M: Data<Elem = bool>, E: Dimension> {
    /// Targets in `[0, 1]`, the logits' shape.
    pub targets: &'a ArrayBase<S, D>,
    /// `true` where an element is ignored; the logits' shape.
    pub ignore: &'a ArrayBase<M, E>,
}

impl<S: Data, D: Dimension, M: Data<Elem = bool>, E: Dimension> Clone for Masked<'_, S, D, M, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S: Data, D: Dimension, M: Data<Elem = bool>, E: Dimension> Copy for Masked<'_, S, D, M, E> {}

impl<S: Data, D: Dimension, M: Data<Elem = bool>, E: Dimension> std::fmt::Debug
    for Masked<'_, S, D, M, E>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Masked(targets shape {:?}, ignore shape {:?})",
            self.targets.shape(),
            self.ignore.shape()
        )
    }
}

/// A borrowed view of binary targets (and an optional ignore mask), as the
/// sigmoid losses see them. Built by [`BinaryTargets::binary_view`].
///
/// # Examples
///
/// ```
/// use focal_loss::BinaryTargets;
/// use ndarray::array;
///
/// let y = array![[1.0_f64, 0.0]];
/// let view = BinaryTargets::<f64>::binary_view(&y);
/// assert_eq!(view.targets().shape(), &[1, 2]);
/// assert!(view.ignore().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct BinaryTargetView<'a, F> {
    targets: ArrayViewD<'a, F>,
    ignore: Option<ArrayViewD<'a, bool>>,
}

impl<'a, F> BinaryTargetView<'a, F> {
    /// The targets.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::BinaryTargets;
    /// use ndarray::array;
    ///
    /// let y = array![1.0_f32, 0.0, 0.5];
    /// assert_eq!(BinaryTargets::<f32>::binary_view(&y).targets()[2], 0.5);
    /// ```
    #[must_use]
    pub fn targets(&self) -> &ArrayViewD<'a, F> {
        &self.targets
    }

    /// The ignore mask, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::{BinaryTargets, Masked};
    /// use ndarray::array;
    ///
    /// let (y, ignore) = (array![1.0_f64, 0.0], array![false, true]);
    /// let masked = Masked { targets: &y, ignore: &ignore };
    /// let view = BinaryTargets::<f64>::binary_view(&masked);
    /// assert_eq!(view.ignore().map(|m| m[1]), Some(true));
    /// ```
    #[must_use]
    pub fn ignore(&self) -> Option<&ArrayViewD<'a, bool>> {
        self.ignore.as_ref()
    }
}

/// Anything a sigmoid-family loss accepts as targets: an array of values in
/// `[0, 1]` (hard or soft labels) of the logits' shape, or [`Masked`]
/// targets with an ignore mask.
///
/// # Examples
///
/// ```
/// use focal_loss::{BceWithLogitsLoss, BinaryTargets, LossError, LossFloat};
/// use ndarray::Array1;
///
/// // Generic over any target kind the sigmoid losses accept.
/// fn bce<F: LossFloat, T: BinaryTargets<F>>(x: &Array1<F>, t: &T) -> Result<F, LossError> {
///     BceWithLogitsLoss::new().forward(x, t)
/// }
/// let x = Array1::from(vec![0.5_f64, -1.0]);
/// assert!(bce(&x, &Array1::from(vec![1.0, 0.0]))? > 0.0);
/// # Ok::<(), LossError>(())
/// ```
pub trait BinaryTargets<F: LossFloat> {
    /// Borrows the targets as a [`BinaryTargetView`].
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::BinaryTargets;
    /// use ndarray::array;
    ///
    /// let y = array![[1.0_f64, 0.0]];
    /// assert!(BinaryTargets::<f64>::binary_view(&y).ignore().is_none());
    /// ```
    fn binary_view(&self) -> BinaryTargetView<'_, F>;
}

impl<F: LossFloat, S: Data<Elem = F>, D: Dimension> BinaryTargets<F> for ArrayBase<S, D> {
    fn binary_view(&self) -> BinaryTargetView<'_, F> {
        BinaryTargetView {
            targets: self.view().into_dyn(),
            ignore: None,
        }
    }
}

impl<F: LossFloat, S: Data<Elem = F>, D: Dimension, M: Data<Elem = bool>, E: Dimension>
    BinaryTargets<F> for Masked<'_, S, D, M, E>
{
    fn binary_view(&self) -> BinaryTargetView<'_, F> {
        BinaryTargetView {
            targets: self.targets.view().into_dyn(),
            ignore: Some(self.ignore.view().into_dyn()),
        }
    }
}

/// A loss call's configuration, borrowed from a loss type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config<'a, F> {
    pub spec: SigmoidSpec<'a, F>,
    pub reduction: Reduction,
}

/// Validated, contiguous inputs plus the reduction denominators.
struct Prepared<'a, 'b, F: Clone> {
    z: Cow<'a, [F]>,
    t: Cow<'b, [F]>,
    ignore: Option<Cow<'b, [bool]>>,
    geom: Geom,
    /// The logits' shape (inline, no allocation, for up to 4 dimensions).
    shape: IxDyn,
    /// Number of non-ignored elements.
    count: usize,
    /// Bounds for the range guard.
    mags: Magnitudes,
}

/// A view's elements in row-major order, borrowed when already contiguous.
fn flat<T: Clone>(v: ArrayViewD<'_, T>) -> Cow<'_, [T]> {
    match v.to_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(v.iter().cloned().collect()),
    }
}

/// `(N, C, d1, .., dk)` as for the softmax losses, plus `(N)`, read as
/// `(N, 1)`: one class, so per-class vectors must have length 1.
fn sigmoid_geometry(shape: &[usize]) -> Result<Geom, LossError> {
    match *shape {
        [] => Err(LossError::TooFewDimensions {
            what: "logits",
            min: 1,
            actual: 0,
        }),
        [n] => Ok(Geom { n, c: 1, m: 1 }),
        _ => geometry(shape, "logits"),
    }
}

fn prepare<'a, 'b, F: LossFloat>(
    spec: &SigmoidSpec<'_, F>,
    logits: ArrayViewD<'a, F>,
    targets: BinaryTargetView<'b, F>,
) -> Result<Prepared<'a, 'b, F>, LossError> {
    let shape = logits.raw_dim();
    let geom = sigmoid_geometry(shape.slice())?;
    if let Alpha::PerClass(a) = spec.alpha {
        check_len("alpha", a.len(), geom.c)?;
    }
    if let Some(w) = spec.weight {
        check_len("weight", w.len(), geom.c)?;
    }
    if let Some(pw) = spec.pos_weight {
        check_len("pos_weight", pw.len(), geom.c)?;
    }
    check_shape("targets", shape.slice(), targets.targets.shape())?;
    if let Some(mask) = &targets.ignore {
        check_shape("ignore", shape.slice(), mask.shape())?;
    }
    let t = flat(targets.targets);
    let ignore = targets.ignore.map(flat);
    let count =
        sigmoid::check_targets(&t, ignore.as_deref()).map_err(|i| LossError::InvalidTarget {
            position: unravel(i, shape.slice()),
            value: t[i].to_f64_(),
            expected: "a number in [0, 1]",
        })?;
    let max =
        |v: Option<&[F]>| v.map_or(1.0, |v| v.iter().fold(0.0_f64, |a, x| a.max(x.to_f64_())));
    Ok(Prepared {
        z: flat(logits),
        t,
        ignore,
        geom,
        shape,
        count,
        mags: Magnitudes {
            weight: max(spec.weight) * max(spec.pos_weight).max(1.0),
            mass: 1.0,
            gamma: spec.gamma.to_f64_(),
        },
    })
}

impl<F: LossFloat> Prepared<'_, '_, F> {
    /// Runs the call through the range guard (see [`guard`]).
    fn execute(
        &self,
        spec: &SigmoidSpec<'_, F>,
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
            |o| self.run(spec, o),
            |o| {
                let wide = |v: &[F]| v.iter().map(|x| x.to_f64_()).collect::<Vec<f64>>();
                let alpha = match spec.alpha {
                    Alpha::PerClass(a) => wide(a),
                    _ => Vec::new(),
                };
                let weight = spec.weight.map(wide);
                let pos_weight = spec.pos_weight.map(wide);
                // Exactly the (already rounded) parameters of `spec`.
                let spec64 = SigmoidSpec {
                    gamma: spec.gamma.to_f64_(),
                    alpha: match spec.alpha {
                        Alpha::None => Alpha::None,
                        Alpha::Scalar(a) => Alpha::Scalar(a.to_f64_()),
                        Alpha::PerClass(_) => Alpha::PerClass(&alpha),
                    },
                    weight: weight.as_deref(),
                    pos_weight: pos_weight.as_deref(),
                    smoothing: spec.smoothing.to_f64_(),
                };
                self.widen().run(&spec64, o)
            },
        )
    }

    /// The reduced loss `sum / d`; a non-finite `sum` of finite inputs
    /// (per-element terms beyond `f64::MAX`) is recomputed with the
    /// per-class `weight` scaled by `2^-700` (the loss is linear in it) and
    /// scaled back, as for the softmax losses (`driver`).
    fn reduce(&self, spec: &SigmoidSpec<'_, F>, sum: f64, d: f64) -> Result<F, LossError> {
        if sum.is_finite() || guard::narrow::<F>() {
            return Ok(F::from_f64_(sum / d));
        }
        let down = guard::rescale_down();
        let scaled: Vec<F> = match spec.weight {
            Some(w) => w.iter().map(|x| F::from_f64_(x.to_f64_() * down)).collect(),
            None => vec![F::from_f64_(down); self.geom.c],
        };
        let spec = SigmoidSpec {
            weight: Some(&scaled),
            ..*spec
        };
        let sum = self.run(&spec, (None, None))?;
        Ok(F::from_f64_(sum / d / down))
    }

    /// An `f64` copy of the inputs (the guard's wide path).
    fn widen(&self) -> Prepared<'static, '_, f64> {
        let wide = |a: &[F]| Cow::Owned(a.iter().map(|v| v.to_f64_()).collect());
        Prepared {
            z: wide(&self.z),
            t: wide(&self.t),
            ignore: self.ignore.as_deref().map(Cow::Borrowed),
            geom: self.geom,
            shape: self.shape.clone(),
            count: self.count,
            mags: self.mags,
        }
    }

    fn run(
        &self,
        spec: &SigmoidSpec<'_, F>,
        (per_target, grad): Outs<'_, '_, F>,
    ) -> Result<f64, LossError> {
        let out = Outputs { per_target, grad };
        let z = &self.z[..];
        sigmoid::run(spec, z, &self.t, self.ignore.as_deref(), self.geom, out).map_err(
            |e| match e {
                KernelError::NonFinite(off) => LossError::NonFiniteInput {
                    what: "logits",
                    position: unravel(off, self.shape.slice()),
                    value: z[off].to_f64_(),
                },
                KernelError::Masked(off) => LossError::MaskedTarget {
                    position: unravel(off, self.shape.slice()),
                },
            },
        )
    }

    /// The reduction denominator; `Σ weight_k · alpha_t` over non-ignored
    /// elements is only computed for `WeightedMean`.
    fn denominator(&self, spec: &SigmoidSpec<'_, F>, reduction: Reduction) -> Option<f64> {
        let weight_sum = match reduction {
            Reduction::WeightedMean => {
                sigmoid::weight_sum(spec, &self.t, self.ignore.as_deref(), self.geom)
            }
            Reduction::Sum | Reduction::Mean => 0.0,
        };
        denominator(reduction, self.count, weight_sum)
    }
}

/// Reduced loss.
pub(crate) fn forward<F: LossFloat>(
    cfg: &Config<'_, F>,
    logits: ArrayViewD<'_, F>,
    targets: BinaryTargetView<'_, F>,
) -> Result<F, LossError> {
    let prep = prepare(&cfg.spec, logits, targets)?;
    let denom = prep.denominator(&cfg.spec, cfg.reduction);
    let scale = denom.map_or(Scale::Zero, Scale::Divide);
    let sum = prep.execute(&cfg.spec, scale, None, None)?;
    denom.map_or(Ok(F::zero()), |d| prep.reduce(&cfg.spec, sum, d))
}

/// Reduced loss, and its gradient written into `grad` (logits' shape).
pub(crate) fn forward_backward_into<F: LossFloat, S: DataMut<Elem = F>, D: Dimension>(
    cfg: &Config<'_, F>,
    logits: ArrayViewD<'_, F>,
    targets: BinaryTargetView<'_, F>,
    grad: &mut ArrayBase<S, D>,
) -> Result<F, LossError> {
    let prep = prepare(&cfg.spec, logits, targets)?;
    check_shape("grad", prep.shape.slice(), grad.shape())?;
    let denom = prep.denominator(&cfg.spec, cfg.reduction);
    let scale = denom.map_or(Scale::Zero, Scale::Divide);
    let sum = with_contiguous_mut(grad, |g| {
        prep.execute(&cfg.spec, scale, None, Some((g, scale)))
    })?;
    denom.map_or(Ok(F::zero()), |d| prep.reduce(&cfg.spec, sum, d))
}

/// Per-element losses (PyTorch `reduction='none'`); ignored elements are 0.
pub(crate) fn per_target<F: LossFloat, D: Dimension>(
    cfg: &Config<'_, F>,
    logits: ArrayViewD<'_, F>,
    dim: D,
    targets: BinaryTargetView<'_, F>,
) -> Result<Array<F, D>, LossError> {
    let prep = prepare(&cfg.spec, logits, targets)?;
    // The path (see `guard`) follows the loss's reduction, so that these
    // losses agree with `forward`'s.
    let denom = prep.denominator(&cfg.spec, cfg.reduction);
    let scale = denom.map_or(Scale::Zero, Scale::Divide);
    let mut out = Array::zeros(dim);
    with_contiguous_mut(&mut out, |o| prep.execute(&cfg.spec, scale, Some(o), None))?;
    Ok(out)
}

/// Vector-Jacobian product of [`per_target`]: `grad[i] = u[i] dl_i/dx_i`.
pub(crate) fn per_target_backward<F: LossFloat, D: Dimension, S: Data<Elem = F>, E: Dimension>(
    cfg: &Config<'_, F>,
    logits: ArrayViewD<'_, F>,
    dim: D,
    targets: BinaryTargetView<'_, F>,
    upstream: &ArrayBase<S, E>,
) -> Result<Array<F, D>, LossError> {
    let prep = prepare(&cfg.spec, logits, targets)?;
    check_shape("upstream", prep.shape.slice(), upstream.shape())?;
    let u = flat(upstream.view().into_dyn());
    check_finite_slice("upstream", &u, prep.shape.slice())?;
    let mut grad = Array::zeros(dim);
    with_contiguous_mut(&mut grad, |g| {
        let vjp = Scale::PerPosition(&u);
        prep.execute(&cfg.spec, Scale::Divide(1.0), None, Some((g, vjp)))
    })?;
    Ok(grad)
}
