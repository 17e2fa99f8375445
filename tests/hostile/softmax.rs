//! The softmax family (`NllLoss`, `CrossEntropyLoss`, `FocalLoss`): random
//! hostile cases, every public method on every case, in two layouts.
//!
//! The oracle lives in `softmax_oracle.rs`: which inputs are clean (must be
//! `Ok`), defective (must be `Err`), or uncertain; whether an error is
//! explained by the input; and a bound on each result's magnitude.
#![allow(dead_code)]

use super::check::{methods, Outs};
use super::layout::{buffer, Laid, Layout};
use super::rng::{self, Flavour, Rng};
use focal_loss::{CrossEntropyLoss, FocalLoss, LossError, LossFloat, NllLoss, Probs, Reduction};
use ndarray::{ArrayD, Axis, IxDyn};

pub use super::check::check;

/// Which loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `NllLoss`.
    Nll,
    /// `CrossEntropyLoss`.
    Ce,
    /// `FocalLoss`.
    Focal,
}

/// A loss configuration, possibly invalid.
#[derive(Debug, Clone)]
pub struct Spec {
    pub kind: Kind,
    /// Class weights (`Nll`, `Ce`) or the per-class alpha (`Focal`).
    pub weight: Option<Vec<f64>>,
    /// Scalar alpha (`Focal` only).
    pub alpha_scalar: Option<f64>,
    /// Focusing parameter (`Focal` only).
    pub gamma: f64,
    /// Label smoothing (`Ce`, `Focal`).
    pub eps: Option<f64>,
    pub ignore: Option<usize>,
    pub reduction: Reduction,
}

/// A built loss.
#[derive(Debug, Clone)]
pub enum Built {
    Nll(NllLoss),
    Ce(CrossEntropyLoss),
    Focal(FocalLoss),
}

impl Spec {
    /// Calls the builders in a fixed order: `new`, weight / alpha,
    /// scalar alpha, label smoothing, ignore index, reduction.
    pub fn build(&self) -> Result<Built, LossError> {
        Ok(match self.kind {
            Kind::Nll => {
                let mut l = NllLoss::new();
                if let Some(w) = &self.weight {
                    l = l.with_weight(w)?;
                }
                if let Some(i) = self.ignore {
                    l = l.with_ignore_index(i);
                }
                Built::Nll(l.with_reduction(self.reduction))
            }
            Kind::Ce => {
                let mut l = CrossEntropyLoss::new();
                if let Some(w) = &self.weight {
                    l = l.with_weight(w)?;
                }
                if let Some(e) = self.eps {
                    l = l.with_label_smoothing(e)?;
                }
                if let Some(i) = self.ignore {
                    l = l.with_ignore_index(i);
                }
                Built::Ce(l.with_reduction(self.reduction))
            }
            Kind::Focal => {
                let mut l = FocalLoss::new(self.gamma)?;
                if let Some(w) = &self.weight {
                    l = l.with_alpha(w)?;
                }
                if let Some(a) = self.alpha_scalar {
                    l = l.with_alpha_scalar(a)?;
                }
                if let Some(e) = self.eps {
                    l = l.with_label_smoothing(e)?;
                }
                if let Some(i) = self.ignore {
                    l = l.with_ignore_index(i);
                }
                Built::Focal(l.with_reduction(self.reduction))
            }
        })
    }
}

impl Built {
    /// Whether the getters return what the spec set (bitwise for floats).
    pub fn getters_match(&self, spec: &Spec) -> bool {
        let bits = |v: Option<&[f64]>| v.map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        let want_w = bits(spec.weight.as_deref());
        let eps = spec.eps.unwrap_or(0.0).to_bits();
        match self {
            Built::Nll(l) => {
                bits(l.weight()) == want_w
                    && l.ignore_index() == spec.ignore
                    && l.reduction() == spec.reduction
                    && format!("{l:?}") == format!("{:?}", l.clone())
                    && (spec.weight.is_some()
                        || spec.ignore.is_some()
                        || *l == NllLoss::default().with_reduction(spec.reduction))
            }
            Built::Ce(l) => {
                bits(l.weight()) == want_w
                    && l.ignore_index() == spec.ignore
                    && l.label_smoothing().to_bits() == eps
                    && l.reduction() == spec.reduction
            }
            Built::Focal(l) => {
                let (alpha, scalar) = match spec.alpha_scalar {
                    Some(a) => (None, Some(a.to_bits())),
                    None => (want_w, None),
                };
                l.gamma().to_bits() == spec.gamma.to_bits()
                    && bits(l.alpha()) == alpha
                    && l.alpha_scalar().map(f64::to_bits) == scalar
                    && l.ignore_index() == spec.ignore
                    && l.label_smoothing().to_bits() == eps
                    && l.reduction() == spec.reduction
            }
        }
    }
}

/// Class-index or probability targets.
#[derive(Debug, Clone)]
pub enum Tgt<F> {
    Index(ArrayD<usize>),
    Probs(ArrayD<F>),
}

/// One hostile case.
#[derive(Debug, Clone)]
pub struct Case<F> {
    pub spec: Spec,
    pub x: ArrayD<F>,
    pub t: Tgt<F>,
    pub u: ArrayD<F>,
    pub grad_shape: Vec<usize>,
    /// Layouts of `x`, `t`, `u` and the gradient buffer.
    pub layouts: [Layout; 4],
}

/// Runs every method on `case`, in its layouts (`laid`) or contiguous.
/// The gradient buffer of `forward_backward_into` starts out NaN.
pub fn run<F: LossFloat>(case: &Case<F>, built: &Built, laid: bool) -> Outs<F> {
    let lay = |i: usize| {
        if laid {
            case.layouts[i].clone()
        } else {
            Layout::Standard
        }
    };
    let lx = Laid::new(&mut case.x.clone(), lay(0), F::nan());
    let lu = Laid::new(&mut case.u.clone(), lay(2), F::nan());
    let mut g = buffer(&case.grad_shape, lay(3), F::nan());
    let (x, u) = (lx.view(), lu.view());
    match &case.t {
        Tgt::Index(t) => {
            let lt = Laid::new(&mut t.clone(), lay(1), usize::MAX);
            let t = lt.view();
            match built {
                Built::Nll(l) => methods!(l, x, &t, u, g),
                Built::Ce(l) => methods!(l, x, &t, u, g),
                Built::Focal(l) => methods!(l, x, &t, u, g),
            }
        }
        Tgt::Probs(t) => {
            let lt = Laid::new(&mut t.clone(), lay(1), F::nan());
            let tv = lt.view();
            let p = Probs(&tv);
            let _ = format!("{:?}", p.clone());
            match built {
                Built::Nll(_) => unreachable!("NLL cases have index targets"),
                Built::Ce(l) => methods!(l, x, &p, u, g),
                Built::Focal(l) => methods!(l, x, &p, u, g),
            }
        }
    }
}

/// `shape` without axis 1 (the position shape).
pub fn pos_shape(shape: &[usize]) -> Vec<usize> {
    let mut s = shape.to_vec();
    if s.len() >= 2 {
        s.remove(1);
    }
    s
}

/// A shape that differs from `shape`.
pub fn perturb(rng: &mut Rng, shape: &[usize]) -> Vec<usize> {
    let mut s = shape.to_vec();
    match rng.below(3) {
        0 if !s.is_empty() => {
            s.pop();
        }
        1 if !s.is_empty() => {
            let i = rng.below(s.len());
            s[i] += 1;
        }
        _ => s.push(rng.pick(&[1, 2])),
    }
    s
}

fn draw_shape(rng: &mut Rng, big: bool) -> Vec<usize> {
    if big && rng.chance(0.02) {
        // Past the tiles' scratch (C > 4096), and K-dim strips (C > 256).
        return rng.pick(&[
            vec![1, 4100],
            vec![2, 4097, 2],
            vec![1, 5000, 1],
            vec![2, 300, 17],
            vec![1, 257, 3],
        ]);
    }
    let nd = rng.pick(&[0, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 4, 5]);
    let mut shape: Vec<usize> = (0..nd)
        .map(|i| match i {
            0 => rng.pick(&[0, 1, 1, 2, 3, 4, 7]),
            1 => rng.pick(&[0, 1, 1, 2, 2, 3, 3, 4, 5, 7, 2, 3]),
            _ => rng.pick(&[0, 1, 1, 2, 3]),
        })
        .collect();
    if nd == 2 && rng.chance(0.1) {
        shape[1] = rng.pick(&[64, 70, 130]); // the row kernel
    }
    if nd == 2 && rng.chance(0.05) {
        shape[0] = rng.pick(&[65, 130]); // several tiles
    }
    if nd == 2 && shape[1] > 0 && rng.chance(0.03) {
        // Several NLL blocks (2048 elements each), so a hostile value can
        // sit in a later block than the first.
        shape[0] = rng.pick(&[600, 1100]);
    }
    shape
}

fn index_targets(rng: &mut Rng, shape: &[usize], c: usize, ignore: Option<usize>) -> ArrayD<usize> {
    let mode = rng.below(5);
    ArrayD::from_shape_fn(IxDyn(shape), |_| match (mode, ignore) {
        (1, Some(i)) => i,
        (2, Some(i)) if rng.chance(0.5) => i,
        (3, _) if rng.chance(0.3) => rng.pick(&[c, c + 1, usize::MAX, 255]),
        _ if c == 0 => 0,
        _ => rng.below(c),
    })
}

fn prob_targets<F: LossFloat>(rng: &mut Rng, shape: &[usize]) -> ArrayD<F> {
    let mode = rng.below(6);
    let mut t = ArrayD::from_shape_fn(IxDyn(shape), |_| match mode {
        1 => rng.range(0.0, 3.0),
        2 => 0.0,
        3 if rng.chance(0.3) => rng.pick(&[1e300, f64::MAX, 1e30, 1e39, 0.5]),
        4 if rng.chance(0.2) => {
            rng.pick(&[-0.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1e-300])
        }
        5 => rng.pick(&[-0.0, 5e-324, 1e-45, 1.0, 0.0]),
        _ => rng.unit(),
    });
    if mode == 0 && shape.len() >= 2 {
        for mut lane in t.lanes_mut(Axis(1)) {
            let s: f64 = lane.sum();
            if s > 0.0 {
                lane.mapv_inplace(|v| v / s);
            }
        }
    }
    t.mapv(F::from_f64_)
}

fn upstream<F: LossFloat>(rng: &mut Rng, shape: &[usize]) -> ArrayD<F> {
    let mode = rng.below(10);
    ArrayD::from_shape_fn(IxDyn(shape), |_| match mode {
        0..=2 => 1.0,
        3 => 0.0,
        4 => rng.pick(&[1e30, -1e30, 1e300, f64::MAX, 5e-324, -0.0]),
        5 if rng.chance(0.2) => rng.pick(&rng::NON_FINITE),
        _ => rng.range(-3.0, 3.0),
    })
    .mapv(F::from_f64_)
}

/// Draws one case; `big` allows the rare large-`C` shapes.
pub fn draw<F: LossFloat>(rng: &mut Rng, big: bool) -> Case<F> {
    let kind = rng.pick(&[Kind::Nll, Kind::Ce, Kind::Focal]);
    let shape = draw_shape(rng, big);
    let nd = shape.len();
    let c = if nd >= 2 {
        shape[1]
    } else {
        rng.pick(&[1, 2, 3])
    };
    let weight = rng.chance(0.5).then(|| {
        let len = if rng.chance(0.08) {
            rng.pick(&[c + 1, c.saturating_sub(1), 0])
        } else {
            c
        };
        rng::weights(rng, len, 0.3, false)
    });
    let alpha_scalar = (kind == Kind::Focal && weight.is_none() && rng.chance(0.25)).then(|| {
        let bad = [f64::NAN, -1.0, f64::INFINITY, 1e300, f64::MAX, 5e-324, 1e39];
        rng::param(rng, &[0.25, 1.0, 0.0, 3.0], &bad, 0.2)
    });
    let gamma = rng::param(
        rng,
        &[0.0, 0.5, 1.0, 2.0, 0.25, 3.0, 0.9],
        &[
            -1.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            f64::MAX,
            1e3,
            5e-324,
            1e-300,
            50.0,
            1e39,
        ],
        0.15,
    );
    let eps = (kind != Kind::Nll && rng.chance(0.5)).then(|| {
        let bad = [
            -0.1,
            1.5,
            f64::NAN,
            f64::INFINITY,
            5e-324,
            1e-300,
            1e-50,
            -0.0,
            1.0000000000000002,
        ];
        rng::param(rng, &[0.0, 0.1, 0.5, 1.0, 0.05], &bad, 0.2)
    });
    let ignore = rng
        .chance(0.4)
        .then(|| rng.pick(&[0, c.saturating_sub(1), c, 255, usize::MAX]));
    let reduction = rng.pick(&[Reduction::Sum, Reduction::Mean, Reduction::WeightedMean]);
    let fl = Flavour::draw(rng);
    let mut x = ArrayD::from_shape_fn(IxDyn(&shape), |_| rng::logit::<F>(rng, fl));
    let ps = if nd >= 2 {
        pos_shape(&shape)
    } else {
        (0..rng.below(3)).map(|_| rng.below(3)).collect()
    };
    let mismatch = |rng: &mut Rng, s: &[usize], p: f64| {
        if rng.chance(p) {
            perturb(rng, s)
        } else {
            s.to_vec()
        }
    };
    let t = if kind != Kind::Nll && rng.chance(0.3) {
        let ts = mismatch(rng, &shape, 0.08);
        Tgt::Probs(prob_targets::<F>(rng, &ts))
    } else {
        let ts = mismatch(rng, &ps, 0.08);
        Tgt::Index(index_targets(rng, &ts, c, ignore))
    };
    let us = mismatch(rng, &ps, 0.05);
    let mut u = upstream::<F>(rng, &us);
    let grad_shape = mismatch(rng, &shape, 0.05);
    let tnd = match &t {
        Tgt::Index(t) => t.ndim(),
        Tgt::Probs(t) => t.ndim(),
    };
    let layouts = [
        Layout::draw(rng, nd),
        Layout::draw(rng, tnd),
        Layout::draw(rng, u.ndim()),
        Layout::draw(rng, grad_shape.len()),
    ];
    // Broadcast layouts make the logical arrays constant along an axis.
    Laid::new(&mut x, layouts[0].clone(), F::nan());
    Laid::new(&mut u, layouts[2].clone(), F::nan());
    let t = match t {
        Tgt::Index(mut t) => {
            Laid::new(&mut t, layouts[1].clone(), 0);
            Tgt::Index(t)
        }
        Tgt::Probs(mut t) => {
            Laid::new(&mut t, layouts[1].clone(), F::nan());
            Tgt::Probs(t)
        }
    };
    Case {
        spec: Spec {
            kind,
            weight,
            alpha_scalar,
            gamma,
            eps,
            ignore,
            reduction,
        },
        x,
        t,
        u,
        grad_shape,
        layouts,
    }
}

/// `forward_backward` alone, contiguous (for the cross-checks).
pub fn forward_backward<F: LossFloat>(
    case: &Case<F>,
    built: &Built,
) -> super::check::Called<(F, ArrayD<F>)> {
    use super::check::call;
    let x = &case.x;
    match (&case.t, built) {
        (Tgt::Index(t), Built::Nll(l)) => call(|| l.forward_backward(x, t)),
        (Tgt::Index(t), Built::Ce(l)) => call(|| l.forward_backward(x, t)),
        (Tgt::Index(t), Built::Focal(l)) => call(|| l.forward_backward(x, t)),
        (Tgt::Probs(t), Built::Ce(l)) => call(|| l.forward_backward(x, &Probs(t))),
        (Tgt::Probs(t), Built::Focal(l)) => call(|| l.forward_backward(x, &Probs(t))),
        (Tgt::Probs(_), Built::Nll(_)) => unreachable!("NLL cases have index targets"),
    }
}
