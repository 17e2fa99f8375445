//! The binary losses as a custom objective of the
//! [perpetual](https://crates.io/crates/perpetual) gradient-boosting
//! machine (feature `perpetual`: perpetual 3.0, pinned at its release candidate
//! 3.0.0-rc.2, since every 2.x release needs a nightly compiler; it needs
//! Rust 1.85).
//!
//! ```no_run
//! # #[cfg(feature = "perpetual")] {
//! use focal_loss::perpetual::{Curvature, PerpetualObjective};
//! use focal_loss::SigmoidFocalLoss;
//! use perpetual::{objective::Objective, Matrix, PerpetualBooster};
//! use std::sync::Arc;
//!
//! let (x, y) = (vec![0.1, 0.9, 0.4, 0.7], vec![0.0, 1.0, 0.0, 1.0]); // column-major, 4 x 1
//! let focal = SigmoidFocalLoss::new(2.0)?.with_alpha_scalar(0.75)?;
//! let objective = PerpetualObjective::new(focal, Curvature::CrossEntropy);
//! objective.check(&y, None)?; // perpetual's trait cannot return errors: check first
//! let mut booster = PerpetualBooster::default()
//!     .set_objective(Objective::Custom(Arc::new(objective)))
//!     .set_budget(0.5);
//! booster.fit(&Matrix::new(&x, 4, 1), &y, None, None).expect("fit");
//! let margins = booster.predict(&Matrix::new(&x, 4, 1), true);
//! # }
//! # Ok::<(), focal_loss::LossError>(())
//! ```
//!
//! Perpetual predicts one margin (log-odds) per sample; the gradient and
//! Hessian it asks for are per sample (`Reduction::Sum`), times the sample
//! weight. Newton boosting needs positive curvature, and the exact
//! second derivative of focal loss is negative in places (for `gamma > 0`,
//! confidently wrong samples), so the curvature is chosen explicitly
//! ([`Curvature`]).
//!
//! For multiclass objectives in LightGBM or XGBoost (one margin per sample
//! and class), compute `forward_grad_hess` with [`Reduction::Sum`] on the
//! `(N, C)` margins and hand the arrays over in the layout the library
//! wants: XGBoost's custom objective takes them as `(N, C)` row-major
//! (sample-major: `grad[n * C + k]`), LightGBM's (before 4.0, and its C
//! API) class-major: `grad[k * N + n]`, i.e. the transpose:
//!
//! ```
//! use focal_loss::{FocalLoss, Reduction};
//! use ndarray::array;
//!
//! let margins = array![[0.2_f64, -0.1, 1.0], [0.0, 0.5, -0.3]]; // (N, C)
//! let labels = array![2_u32, 1];
//! let focal = FocalLoss::new(2.0)?.with_reduction(Reduction::Sum);
//! let (_, grad, hess) = focal.forward_grad_hess(&margins, &labels)?;
//! let sample_major: Vec<f64> = grad.iter().copied().collect(); // XGBoost
//! let class_major: Vec<f64> = grad.t().iter().copied().collect(); // LightGBM < 4
//! assert_eq!(sample_major[1 * 3 + 2], class_major[2 * 2 + 1]);
//! // Positive curvature for Newton steps: clamp the exact diagonal.
//! let hess_pos = hess.mapv(|h| h.max(1e-6));
//! assert!(hess_pos.iter().all(|&h| h > 0.0));
//! # Ok::<(), focal_loss::LossError>(())
//! ```

use crate::{BceWithLogitsLoss, LossError, Reduction, SigmoidFocalLoss};
use ::perpetual::metrics::evaluation::Metric;
use ::perpetual::objective::ObjectiveFunction;
use ndarray::ArrayView1;

/// Which second derivative a Newton-boosting objective reports.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Curvature {
    /// The exact second derivative (can be negative for focal loss with
    /// `gamma > 0`; then a Newton step goes the wrong way).
    Exact,
    /// The exact second derivative, raised to at least this floor (`> 0`).
    Floor(f64),
    /// The second derivative of the same loss with `gamma = 0` (weighted
    /// BCE with the same alpha and `pos_weight`): `W σ(x) σ(-x) (1 - y + pw y)`,
    /// always positive; the gradient stays focal loss's. XGBoost's and
    /// LightGBM's built-in objectives use this kind of curvature.
    CrossEntropy,
}

/// A binary loss of this crate as a perpetual [`ObjectiveFunction`]:
/// [`SigmoidFocalLoss`] or [`BceWithLogitsLoss`] with one class (margins
/// of shape `(N)`), targets in `[0, 1]`.
///
/// # Examples
///
/// ```
/// use focal_loss::perpetual::{Curvature, PerpetualObjective};
/// use focal_loss::BceWithLogitsLoss;
/// use perpetual::objective::ObjectiveFunction;
///
/// let bce = BceWithLogitsLoss::new().with_pos_weight([3.0])?;
/// let objective = PerpetualObjective::new(bce, Curvature::Exact);
/// let (g, h) = objective.gradient(&[1.0, 0.0], &[0.0, 0.0], None, None);
/// assert_eq!(g, vec![-1.5, 0.5]);
/// assert_eq!(h, Some(vec![0.75, 0.25]));
/// # Ok::<(), focal_loss::LossError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PerpetualObjective<L> {
    loss: L,
    /// The same loss with `gamma = 0`, for [`Curvature::CrossEntropy`].
    flat: Option<SigmoidFocalLoss>,
    curvature: Curvature,
}

/// Per-sample losses, gradients and second derivatives.
pub type PerSample = (Vec<f64>, Vec<f64>, Vec<f64>);

/// The binary losses a [`PerpetualObjective`] can wrap (sealed).
pub trait BinaryLoss: Clone + Send + Sync + std::fmt::Debug + private::Sealed {
    /// Per-sample losses, gradients and second derivatives (`Reduction::Sum`).
    #[doc(hidden)]
    fn grad_hess(
        &self,
        y: ArrayView1<'_, f64>,
        x: ArrayView1<'_, f64>,
    ) -> Result<PerSample, LossError>;
    /// The same loss with `gamma = 0`, if it has a `gamma`.
    #[doc(hidden)]
    fn flat(&self) -> Option<SigmoidFocalLoss>;
}

mod private {
    pub trait Sealed {}
    impl Sealed for crate::SigmoidFocalLoss {}
    impl Sealed for crate::BceWithLogitsLoss {}
}

macro_rules! binary_loss {
    ($ty:ident, |$l:ident| $flat:expr) => {
        impl BinaryLoss for $ty {
            fn grad_hess(
                &self,
                y: ArrayView1<'_, f64>,
                x: ArrayView1<'_, f64>,
            ) -> Result<PerSample, LossError> {
                let sum = self.clone().with_reduction(Reduction::Sum);
                let per = sum.per_target(&x, &y)?;
                let (_, g, h) = sum.forward_grad_hess(&x, &y)?;
                Ok((per.to_vec(), g.to_vec(), h.to_vec()))
            }
            fn flat(&self) -> Option<SigmoidFocalLoss> {
                let $l = self;
                $flat
            }
        }
    };
}

binary_loss!(BceWithLogitsLoss, |_l| None);
binary_loss!(SigmoidFocalLoss, |l| {
    let mut f = SigmoidFocalLoss::new(0.0).ok()?;
    if let Some(a) = l.alpha() {
        f = f.with_alpha(a).ok()?;
    }
    if let Some(a) = l.alpha_scalar() {
        f = f.with_alpha_scalar(a).ok()?;
    }
    if let Some(pw) = l.pos_weight() {
        f = f.with_pos_weight(pw).ok()?;
    }
    f.with_label_smoothing(l.label_smoothing()).ok()
});

impl<L: BinaryLoss> PerpetualObjective<L> {
    /// Wraps `loss` with the chosen `curvature`.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::perpetual::{Curvature, PerpetualObjective};
    /// let focal = focal_loss::SigmoidFocalLoss::new(2.0)?;
    /// let objective = PerpetualObjective::new(focal, Curvature::Floor(1e-6));
    /// assert_eq!(objective.curvature(), Curvature::Floor(1e-6));
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn new(loss: L, curvature: Curvature) -> Self {
        let flat = loss.flat();
        Self {
            loss,
            flat,
            curvature,
        }
    }

    /// The curvature this objective reports.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::perpetual::{Curvature, PerpetualObjective};
    /// let o = PerpetualObjective::new(focal_loss::BceWithLogitsLoss::new(), Curvature::Exact);
    /// assert_eq!(o.curvature(), Curvature::Exact);
    /// ```
    #[must_use]
    pub fn curvature(&self) -> Curvature {
        self.curvature
    }

    /// Per-sample losses, gradients and second derivatives of the margins
    /// `yhat` against the targets `y`, times the sample weights, with the
    /// chosen curvature: what [`ObjectiveFunction`] reports, as a `Result`.
    ///
    /// # Errors
    ///
    /// The loss's errors (a target outside `[0, 1]`, a NaN margin, a
    /// per-class vector not of length 1); a `sample_weight` of another
    /// length than `y`, or negative or not finite; a `Floor` that is not a
    /// positive number.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::perpetual::{Curvature, PerpetualObjective};
    /// let o = PerpetualObjective::new(focal_loss::SigmoidFocalLoss::new(2.0)?, Curvature::CrossEntropy);
    /// let (l, g, h) = o.evaluate(&[1.0, 0.0], &[3.0, 3.0], Some(&[1.0, 2.0]))?;
    /// assert!(l[1] > l[0] && g[1] > 0.0 && h.iter().all(|&v| v > 0.0));
    /// assert!(o.evaluate(&[2.0], &[0.0], None).is_err());
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    pub fn evaluate(
        &self,
        y: &[f64],
        yhat: &[f64],
        sample_weight: Option<&[f64]>,
    ) -> Result<PerSample, LossError> {
        self.check(y, sample_weight)?;
        let (yv, xv) = (ArrayView1::from(y), ArrayView1::from(yhat));
        let (mut l, mut g, mut h) = self.loss.grad_hess(yv, xv)?;
        match (self.curvature, &self.flat) {
            (Curvature::Exact, _) | (Curvature::CrossEntropy, None) => {}
            (Curvature::Floor(f), _) => h.iter_mut().for_each(|v| *v = v.max(f)),
            (Curvature::CrossEntropy, Some(flat)) => h = flat.grad_hess(yv, xv)?.2,
        }
        if let Some(w) = sample_weight {
            for (i, &wi) in w.iter().enumerate() {
                l[i] *= wi;
                g[i] *= wi;
                h[i] *= wi;
            }
        }
        Ok((l, g, h))
    }

    /// Checks the targets and sample weights once, before `fit`:
    /// perpetual's trait has no error channel, so on bad input its methods
    /// can only return NaN (which perpetual then trains on).
    ///
    /// # Errors
    ///
    /// As [`evaluate`](Self::evaluate), for the inputs it is given.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::perpetual::{Curvature, PerpetualObjective};
    /// let o = PerpetualObjective::new(focal_loss::BceWithLogitsLoss::new(), Curvature::Exact);
    /// assert!(o.check(&[0.0, 1.0], None).is_ok());
    /// assert!(o.check(&[0.0, 7.0], None).is_err());
    /// assert!(o.check(&[0.0, 1.0], Some(&[1.0])).is_err());
    /// ```
    pub fn check(&self, y: &[f64], sample_weight: Option<&[f64]>) -> Result<(), LossError> {
        if let Curvature::Floor(f) = self.curvature {
            if !(f > 0.0 && f.is_finite()) {
                return Err(LossError::InvalidParameter {
                    name: "curvature floor",
                    value: f,
                    expected: "a positive finite number",
                });
            }
        }
        if let Some(w) = sample_weight {
            if w.len() != y.len() {
                return Err(LossError::ShapeMismatch {
                    what: "sample_weight",
                    expected: vec![y.len()],
                    actual: vec![w.len()],
                });
            }
            if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(LossError::InvalidTarget {
                    position: vec![i],
                    value: w[i],
                    expected: "a finite, non-negative sample weight",
                });
            }
        }
        // The loss validates the targets (on a zero margin).
        let zeros = vec![0.0; y.len()];
        self.loss
            .grad_hess(ArrayView1::from(y), ArrayView1::from(&zeros[..]))
            .map(|_| ())
    }
}

/// NaN for every sample: the result of input `evaluate` rejected.
fn nan(n: usize) -> Vec<f32> {
    vec![f32::NAN; n]
}

fn narrow(v: Vec<f64>) -> Vec<f32> {
    v.into_iter().map(|x| x as f32).collect()
}

impl<L: BinaryLoss + 'static> ObjectiveFunction for PerpetualObjective<L> {
    fn loss(&self, y: &[f64], yhat: &[f64], w: Option<&[f64]>, _: Option<&[u64]>) -> Vec<f32> {
        self.evaluate(y, yhat, w)
            .map_or_else(|_| nan(y.len()), |(l, _, _)| narrow(l))
    }

    fn gradient(
        &self,
        y: &[f64],
        yhat: &[f64],
        w: Option<&[f64]>,
        _: Option<&[u64]>,
    ) -> (Vec<f32>, Option<Vec<f32>>) {
        match self.evaluate(y, yhat, w) {
            Ok((_, g, h)) => (narrow(g), Some(narrow(h))),
            Err(_) => (nan(y.len()), Some(nan(y.len()))),
        }
    }

    /// The log-odds of the (weighted) positive rate, clamped to
    /// `[1e-7, 1 - 1e-7]`.
    fn initial_value(&self, y: &[f64], w: Option<&[f64]>, _: Option<&[u64]>) -> f64 {
        let (pos, tot) = match w {
            Some(w) => y
                .iter()
                .zip(w)
                .fold((0.0, 0.0), |(p, t), (yi, wi)| (p + yi * wi, t + wi)),
            None => (y.iter().sum(), y.len() as f64),
        };
        let p = (pos / tot).clamp(1e-7, 1.0 - 1e-7);
        if p.is_finite() {
            (p / (1.0 - p)).ln()
        } else {
            0.0
        }
    }

    fn default_metric(&self) -> Metric {
        Metric::LogLoss
    }
}
