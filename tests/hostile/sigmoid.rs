//! The sigmoid family (`SigmoidFocalLoss`, `BceWithLogitsLoss`): random
//! hostile cases, every public method on every case, in two layouts. The
//! oracle is in `sigmoid_oracle.rs`.
#![allow(dead_code)]

use super::check::{call, methods, Called, Outs};
use super::layout::{buffer, Laid, Layout};
use super::rng::{self, Flavour, Rng};
use super::softmax::perturb;
use focal_loss::{BceWithLogitsLoss, LossError, LossFloat, Masked, Reduction, SigmoidFocalLoss};
use ndarray::{ArrayD, IxDyn};

pub use super::check::check;

/// Which loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `SigmoidFocalLoss`.
    Focal,
    /// `BceWithLogitsLoss`.
    Bce,
}

/// A loss configuration, possibly invalid.
#[derive(Debug, Clone)]
pub struct Spec {
    pub kind: Kind,
    /// Focal only.
    pub gamma: f64,
    /// Focal only: scalar alpha in `[0, 1]`.
    pub alpha_scalar: Option<f64>,
    /// Focal only: per-class alpha in `[0, 1]`.
    pub alpha: Option<Vec<f64>>,
    /// BCE only: per-class weight.
    pub weight: Option<Vec<f64>>,
    pub pos_weight: Option<Vec<f64>>,
    /// Focal only.
    pub eps: Option<f64>,
    pub reduction: Reduction,
}

/// A built loss.
#[derive(Debug, Clone)]
pub enum Built {
    Focal(SigmoidFocalLoss),
    Bce(BceWithLogitsLoss),
}

impl Spec {
    /// Calls the builders in a fixed order: `new`, scalar alpha, alpha,
    /// weight, pos_weight, label smoothing, reduction.
    pub fn build(&self) -> Result<Built, LossError> {
        Ok(match self.kind {
            Kind::Focal => {
                let mut l = SigmoidFocalLoss::new(self.gamma)?;
                if let Some(a) = self.alpha_scalar {
                    l = l.with_alpha_scalar(a)?;
                }
                if let Some(a) = &self.alpha {
                    l = l.with_alpha(a)?;
                }
                if let Some(p) = &self.pos_weight {
                    l = l.with_pos_weight(p)?;
                }
                if let Some(e) = self.eps {
                    l = l.with_label_smoothing(e)?;
                }
                Built::Focal(l.with_reduction(self.reduction))
            }
            Kind::Bce => {
                let mut l = BceWithLogitsLoss::new();
                if let Some(w) = &self.weight {
                    l = l.with_weight(w)?;
                }
                if let Some(p) = &self.pos_weight {
                    l = l.with_pos_weight(p)?;
                }
                Built::Bce(l.with_reduction(self.reduction))
            }
        })
    }
}

impl Built {
    /// Whether the getters return what the spec set (bitwise for floats).
    pub fn getters_match(&self, spec: &Spec) -> bool {
        let bits = |v: Option<&[f64]>| v.map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        match self {
            Built::Focal(l) => {
                let (alpha, scalar) = match (&spec.alpha, spec.alpha_scalar) {
                    (Some(a), _) => (bits(Some(a)), None),
                    (None, s) => (None, s.map(f64::to_bits)),
                };
                l.gamma().to_bits() == spec.gamma.to_bits()
                    && bits(l.alpha()) == alpha
                    && l.alpha_scalar().map(f64::to_bits) == scalar
                    && bits(l.pos_weight()) == bits(spec.pos_weight.as_deref())
                    && l.label_smoothing().to_bits() == spec.eps.unwrap_or(0.0).to_bits()
                    && l.reduction() == spec.reduction
            }
            Built::Bce(l) => {
                bits(l.weight()) == bits(spec.weight.as_deref())
                    && bits(l.pos_weight()) == bits(spec.pos_weight.as_deref())
                    && l.reduction() == spec.reduction
                    && (spec.weight.is_some()
                        || spec.pos_weight.is_some()
                        || *l == BceWithLogitsLoss::default().with_reduction(spec.reduction))
            }
        }
    }
}

/// One hostile case.
#[derive(Debug, Clone)]
pub struct Case<F> {
    pub spec: Spec,
    pub x: ArrayD<F>,
    pub t: ArrayD<F>,
    /// `Some`: call with `Masked { targets, ignore }`.
    pub ignore: Option<ArrayD<bool>>,
    pub u: ArrayD<F>,
    pub grad_shape: Vec<usize>,
    /// Layouts of `x`, `t`, `ignore`, `u` and the gradient buffer.
    pub layouts: [Layout; 5],
}

/// Runs every method on `case`, in its layouts (`laid`) or contiguous.
pub fn run<F: LossFloat>(case: &Case<F>, built: &Built, laid: bool) -> Outs<F> {
    let lay = |i: usize| {
        if laid {
            case.layouts[i].clone()
        } else {
            Layout::Standard
        }
    };
    let lx = Laid::new(&mut case.x.clone(), lay(0), F::nan());
    let lt = Laid::new(&mut case.t.clone(), lay(1), F::nan());
    let lu = Laid::new(&mut case.u.clone(), lay(3), F::nan());
    let mut g = buffer(&case.grad_shape, lay(4), F::nan());
    let (x, t, u) = (lx.view(), lt.view(), lu.view());
    match &case.ignore {
        None => match built {
            Built::Focal(l) => methods!(l, x, &t, u, g),
            Built::Bce(l) => methods!(l, x, &t, u, g),
        },
        Some(m) => {
            let lm = Laid::new(&mut m.clone(), lay(2), true);
            let mv = lm.view();
            let masked = Masked {
                targets: &t,
                ignore: &mv,
            };
            let _ = format!("{:?}", masked.clone());
            match built {
                Built::Focal(l) => methods!(l, x, &masked, u, g),
                Built::Bce(l) => methods!(l, x, &masked, u, g),
            }
        }
    }
}

/// `forward_backward` alone, contiguous (for the cross-checks).
pub fn forward_backward<F: LossFloat>(case: &Case<F>, built: &Built) -> Called<(F, ArrayD<F>)> {
    let (x, t) = (&case.x, &case.t);
    match (&case.ignore, built) {
        (None, Built::Focal(l)) => call(|| l.forward_backward(x, t)),
        (None, Built::Bce(l)) => call(|| l.forward_backward(x, t)),
        (Some(ignore), Built::Focal(l)) => {
            call(|| l.forward_backward(x, &Masked { targets: t, ignore }))
        }
        (Some(ignore), Built::Bce(l)) => {
            call(|| l.forward_backward(x, &Masked { targets: t, ignore }))
        }
    }
}

fn targets<F: LossFloat>(rng: &mut Rng, shape: &[usize]) -> ArrayD<F> {
    let mode = rng.below(6);
    ArrayD::from_shape_fn(IxDyn(shape), |_| match mode {
        0 | 1 => rng.pick(&[0.0, 1.0]),
        2 => rng.unit(),
        3 if rng.chance(0.2) => rng.pick(&[-0.1, 1.5, f64::NAN, f64::INFINITY, -1e-300, 2.0]),
        4 => rng.pick(&[-0.0, 5e-324, 1.0 - 1e-16, 1e-45, 1.0]),
        _ => rng.pick(&[0.0, 1.0, 0.5, 0.25]),
    })
    .mapv(F::from_f64_)
}

/// Draws one case; `big` allows larger shapes.
pub fn draw<F: LossFloat>(rng: &mut Rng, big: bool) -> Case<F> {
    let kind = rng.pick(&[Kind::Focal, Kind::Bce]);
    let nd = rng.pick(&[0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 5]);
    let mut shape: Vec<usize> = (0..nd)
        .map(|i| match i {
            0 => rng.pick(&[0, 1, 2, 3, 5]),
            1 => rng.pick(&[0, 1, 1, 2, 2, 3, 3, 4]),
            _ => rng.pick(&[0, 1, 2, 3]),
        })
        .collect();
    if big && nd >= 1 && rng.chance(0.05) {
        shape[0] = 300;
    }
    let c = match nd {
        0 => rng.pick(&[1, 2]),
        1 => 1,
        _ => shape[1],
    };
    let vec_len = |rng: &mut Rng| {
        if rng.chance(0.08) {
            rng.pick(&[c + 1, c.saturating_sub(1), 0])
        } else {
            c
        }
    };
    let focal = kind == Kind::Focal;
    let gamma = rng::param(
        rng,
        &[0.0, 0.5, 1.0, 2.0, 0.25, 3.0, 0.1],
        &[
            -1.0,
            f64::NAN,
            f64::INFINITY,
            1e300,
            f64::MAX,
            1e3,
            5e-324,
            50.0,
            1e39,
        ],
        0.15,
    );
    let alpha_scalar = (focal && rng.chance(0.3)).then(|| {
        let bad = [f64::NAN, -0.1, 1.5, f64::INFINITY, -0.0, 5e-324];
        rng::param(rng, &[0.25, 0.75, 0.0, 1.0, 0.5], &bad, 0.2)
    });
    let alpha = (focal && alpha_scalar.is_none() && rng.chance(0.3)).then(|| {
        let len = vec_len(rng);
        rng::weights(rng, len, 0.2, true)
    });
    let weight = (!focal && rng.chance(0.4)).then(|| {
        let len = vec_len(rng);
        rng::weights(rng, len, 0.3, false)
    });
    let pos_weight = rng.chance(0.4).then(|| {
        let len = vec_len(rng);
        rng::weights(rng, len, 0.3, false)
    });
    let eps = (focal && rng.chance(0.4)).then(|| {
        let bad = [-0.1, 1.5, f64::NAN, f64::INFINITY, 5e-324, 1e-300, 1e-50];
        rng::param(rng, &[0.0, 0.1, 0.5, 1.0], &bad, 0.2)
    });
    let reduction = rng.pick(&[Reduction::Sum, Reduction::Mean, Reduction::WeightedMean]);
    let fl = Flavour::draw(rng);
    let mut x = ArrayD::from_shape_fn(IxDyn(&shape), |_| rng::logit::<F>(rng, fl));
    let mismatch = |rng: &mut Rng, p: f64| {
        if rng.chance(p) {
            perturb(rng, &shape)
        } else {
            shape.clone()
        }
    };
    let ts = mismatch(rng, 0.06);
    let mut t = targets::<F>(rng, &ts);
    let ignore = rng.chance(0.4).then(|| {
        let ms = mismatch(rng, 0.06);
        let p = rng.pick(&[0.0, 0.3, 1.0]);
        ArrayD::from_shape_fn(IxDyn(&ms), |_| rng.chance(p))
    });
    let us = mismatch(rng, 0.05);
    let umode = rng.below(8);
    let mut u = ArrayD::from_shape_fn(IxDyn(&us), |_| match umode {
        0..=2 => 1.0,
        3 => rng.pick(&[1e30, -1e300, f64::MAX, 5e-324, 0.0]),
        4 if rng.chance(0.2) => rng.pick(&rng::NON_FINITE),
        _ => rng.range(-3.0, 3.0),
    })
    .mapv(F::from_f64_);
    let grad_shape = mismatch(rng, 0.05);
    let layouts = [
        Layout::draw(rng, nd),
        Layout::draw(rng, t.ndim()),
        Layout::draw(rng, ignore.as_ref().map_or(0, |m| m.ndim())),
        Layout::draw(rng, u.ndim()),
        Layout::draw(rng, grad_shape.len()),
    ];
    Laid::new(&mut x, layouts[0].clone(), F::nan());
    Laid::new(&mut t, layouts[1].clone(), F::nan());
    let ignore = ignore.map(|mut m| {
        Laid::new(&mut m, layouts[2].clone(), true);
        m
    });
    Laid::new(&mut u, layouts[3].clone(), F::nan());
    Case {
        spec: Spec {
            kind,
            gamma,
            alpha_scalar,
            alpha,
            weight,
            pos_weight,
            eps,
            reduction,
        },
        x,
        t,
        ignore,
        u,
        grad_shape,
        layouts,
    }
}
