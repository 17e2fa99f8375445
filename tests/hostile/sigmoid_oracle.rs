//! The oracle for sigmoid-family cases: which inputs must be accepted or
//! rejected, whether an error is explained, magnitude bounds, known bugs,
//! and the cross-method invariants.
#![allow(dead_code)]

use super::check::{
    gamma_ok, max_abs, same, same_array, same_f64, weight_ok, BuildError, Method, Oracle, Outs,
    Verdict,
};
use super::sigmoid::{forward_backward, run, Built, Case, Kind, Spec};
use focal_loss::{LossError, LossFloat, Reduction};
use ndarray::{ArrayD, Dimension, IxDyn};

/// The error the builders must return: `(name, entry index, value)`.
fn build_error(spec: &Spec) -> Option<(&'static str, Option<usize>, f64)> {
    let unit = |v: f64| (0.0..=1.0).contains(&v);
    let unit_weight = |v: f64| unit(v) && weight_ok(v);
    let entry = |name, v: &Option<Vec<f64>>, ok: &dyn Fn(f64) -> bool| {
        v.iter()
            .flatten()
            .enumerate()
            .find(|(_, &x)| !ok(x))
            .map(|(i, &x)| (name, Some(i), x))
    };
    match spec.kind {
        Kind::Focal => {
            if !gamma_ok(spec.gamma) {
                return Some(("gamma", None, spec.gamma));
            }
            if let Some(a) = spec.alpha_scalar.filter(|&a| !unit(a)) {
                return Some(("alpha", None, a));
            }
            entry("alpha", &spec.alpha, &unit_weight)
                .or_else(|| entry("pos_weight", &spec.pos_weight, &weight_ok))
                .or_else(|| {
                    let e = spec.eps.filter(|&e| !unit(e))?;
                    Some(("label_smoothing", None, e))
                })
        }
        Kind::Bce => entry("weight", &spec.weight, &weight_ok)
            .or_else(|| entry("pos_weight", &spec.pos_weight, &weight_ok)),
    }
}

/// Facts about a case, computed once.
pub struct Facts {
    nd: usize,
    c: usize,
    shapes_ok: bool,
    count: usize,
    /// The reduction's denominator as the crate computes it.
    denom: f64,
    /// Σ of the element weights (the `WeightedMean` denominator).
    wsum: f64,
    bad_values: bool,
    masked: bool,
}

fn per_class<F: LossFloat>(v: &Option<Vec<f64>>, c: usize) -> Vec<F> {
    match v {
        Some(v) if v.len() == c => v.iter().map(|&x| F::from_f64_(x)).collect(),
        _ => vec![F::one(); c],
    }
}

/// The smoothed target `y (1 - eps) + eps / 2`, as the kernel computes it.
fn smooth<F: LossFloat>(spec: &Spec, y: F) -> F {
    let eps = F::from_f64_(spec.eps.unwrap_or(0.0));
    if eps == F::zero() {
        y
    } else {
        y * (F::one() - eps) + eps * F::from_f64_(0.5)
    }
}

fn class_of(idx: &[usize]) -> usize {
    if idx.len() >= 2 {
        idx[1]
    } else {
        0
    }
}

fn ignored(case: &Case<impl LossFloat>, idx: &[usize]) -> bool {
    case.ignore.as_ref().is_some_and(|m| m[IxDyn(idx)])
}

fn facts<F: LossFloat>(case: &Case<F>) -> Facts {
    let shape = case.x.shape();
    let nd = shape.len();
    let c = match nd {
        0 => 0,
        1 => 1,
        _ => shape[1],
    };
    let spec = &case.spec;
    let len_ok = |v: &Option<Vec<f64>>| v.as_ref().map_or(true, |v| v.len() == c);
    let shapes_ok = nd >= 1
        && c > 0
        && len_ok(&spec.alpha)
        && len_ok(&spec.weight)
        && len_ok(&spec.pos_weight)
        && case.t.shape() == shape
        && case.ignore.as_ref().map_or(true, |m| m.shape() == shape);
    let mut f = Facts {
        nd,
        c,
        shapes_ok,
        count: 0,
        denom: 0.0,
        wsum: 0.0,
        bad_values: case.x.iter().any(|&v| v.is_nan() || v == F::infinity()),
        masked: false,
    };
    if !shapes_ok {
        return f;
    }
    let weight = per_class::<F>(&spec.weight, c);
    let alpha: Option<Vec<F>> = match (spec.alpha_scalar, &spec.alpha) {
        (Some(a), _) => Some(vec![F::from_f64_(a); c]),
        (None, Some(_)) => Some(per_class::<F>(&spec.alpha, c)),
        _ => None,
    };
    for (idx, &x) in case.x.indexed_iter() {
        let idx = idx.slice();
        if ignored(case, idx) {
            continue;
        }
        let y = case.t[IxDyn(idx)];
        if !(y >= F::zero() && y <= F::one()) {
            f.bad_values = true;
            continue;
        }
        let ys = smooth(spec, y);
        let k = class_of(idx);
        let w = match &alpha {
            None => weight[k],
            Some(a) => weight[k] * (a[k] * ys + (F::one() - a[k]) * (F::one() - ys)),
        };
        f.count += 1;
        f.wsum += w.to_f64_();
        f.masked |= x == F::neg_infinity() && ys != F::zero();
    }
    f.denom = match spec.reduction {
        Reduction::Sum => 1.0,
        Reduction::Mean => f.count as f64,
        Reduction::WeightedMean => f.wsum,
    };
    f
}

fn defective<F: LossFloat>(case: &Case<F>, f: &Facts, m: Method) -> bool {
    let shape = case.x.shape();
    let grad_bad = m == Method::ForwardBackwardInto && case.grad_shape != shape;
    let up_bad = m == Method::PerTargetBackward
        && (case.u.shape() != shape || case.u.iter().any(|v| !v.is_finite()));
    !f.shapes_ok || grad_bad || up_bad || f.bad_values || f.masked
}

fn get<T: Copy>(a: &ArrayD<T>, pos: &[usize]) -> Option<T> {
    (pos.len() == a.ndim())
        .then(|| a.get(IxDyn(pos)).copied())
        .flatten()
}

fn explains<F: LossFloat>(case: &Case<F>, f: &Facts, m: Method, e: &LossError) -> bool {
    let shape = case.x.shape();
    let spec = &case.spec;
    let nonfinite = |v: Option<F>, value: f64| {
        v.is_some_and(|v| (v.is_nan() || v.is_infinite()) && same_f64(v.to_f64_(), value))
    };
    let not_ignored = |pos: &[usize]| get(&case.x, pos).is_some() && !ignored(case, pos);
    match e {
        LossError::TooFewDimensions { what, min, actual } => {
            *what == "logits" && *min == 1 && *actual == 0 && f.nd == 0
        }
        LossError::NoClasses => f.nd >= 2 && f.c == 0,
        LossError::LengthMismatch {
            what,
            expected,
            actual,
        } => {
            let v = match *what {
                "alpha" => &spec.alpha,
                "weight" => &spec.weight,
                "pos_weight" => &spec.pos_weight,
                _ => return false,
            };
            *expected == f.c && v.as_ref().is_some_and(|v| v.len() == *actual) && *actual != f.c
        }
        LossError::ShapeMismatch {
            what,
            expected,
            actual,
        } => {
            let got: &[usize] = match *what {
                "targets" => case.t.shape(),
                "ignore" => match &case.ignore {
                    Some(mk) => mk.shape(),
                    None => return false,
                },
                "grad" if m == Method::ForwardBackwardInto => &case.grad_shape,
                "upstream" if m == Method::PerTargetBackward => case.u.shape(),
                _ => return false,
            };
            expected == shape && actual == got && got != shape
        }
        LossError::InvalidTarget {
            position, value, ..
        } => {
            not_ignored(position)
                && get(&case.t, position).is_some_and(|v| {
                    !(v >= F::zero() && v <= F::one()) && same_f64(v.to_f64_(), *value)
                })
        }
        LossError::NonFiniteInput {
            what,
            position,
            value,
        } => {
            (*what == "logits"
                && nonfinite(get(&case.x, position), *value)
                && get(&case.x, position) != Some(F::neg_infinity()))
                || (*what == "upstream"
                    && m == Method::PerTargetBackward
                    && nonfinite(get(&case.u, position), *value))
        }
        LossError::MaskedTarget { position } => {
            not_ignored(position)
                && get(&case.x, position) == Some(F::neg_infinity())
                && get(&case.t, position).is_some_and(|y| smooth(spec, y) != F::zero())
        }
        _ => false,
    }
}

/// Upper bound on the magnitude of the true result of `m`.
fn bound<F: LossFloat>(case: &Case<F>, m: Method) -> f64 {
    let spec = &case.spec;
    let z = max_abs(case.x.iter().copied());
    let big = |v: &Option<Vec<f64>>| max_abs(v.iter().flatten().map(|&x| F::from_f64_(x))).max(1.0);
    let (w, pw) = (big(&spec.weight), big(&spec.pos_weight));
    let gamma = if spec.kind == Kind::Focal {
        spec.gamma
    } else {
        0.0
    };
    let n = case.x.len() as f64;
    let elem = (pw + 1.0) * (z + 1.0) * 2.0;
    let gelem = (pw + 1.0) * (1.0 + gamma) * 4.0;
    let umax = max_abs(case.u.iter().copied()).max(1.0);
    // WeightedMean divides Σ W_i l_i by Σ W_i: no weight factor, no count.
    let (lb, gb) = match spec.reduction {
        Reduction::Sum => (n * w * elem, w * gelem),
        Reduction::Mean => (w * elem, w * gelem),
        Reduction::WeightedMean => (elem, gelem),
    };
    match m {
        Method::Forward => lb,
        Method::ForwardBackward | Method::ForwardBackwardInto => lb + gb,
        Method::PerTarget => w * elem,
        Method::PerTargetBackward => w * gelem * umax,
        Method::ForwardGradHess => lb + gb * (gamma + 2.0) * (z + 2.0),
    }
}

impl<F: LossFloat> Oracle<F> for Case<F> {
    type Built = Built;
    type Facts = Facts;
    fn build(&self) -> Result<Built, LossError> {
        self.spec.build()
    }
    fn build_error(&self) -> Option<BuildError> {
        build_error(&self.spec)
    }
    fn getters_match(&self, built: &Built) -> bool {
        built.getters_match(&self.spec)
    }
    fn run(&self, built: &Built, laid: bool) -> Outs<F> {
        run(self, built, laid)
    }
    fn facts(&self) -> Facts {
        facts(self)
    }
    fn verdict(&self, f: &Facts, m: Method) -> Verdict {
        if defective(self, f, m) {
            Verdict::Defective
        } else {
            Verdict::Clean
        }
    }
    fn explains(&self, f: &Facts, m: Method, e: &LossError) -> bool {
        explains(self, f, m, e)
    }
    fn bound(&self, _: &Facts, m: Method) -> f64 {
        bound(self, m)
    }
    fn invariants(&self, f: &Facts, a: &Outs<F>) -> Result<(), String> {
        invariants(self, f, a)
    }
}

/// Cross-method invariants of an accepted case.
fn invariants<F: LossFloat>(case: &Case<F>, f: &Facts, a: &Outs<F>) -> Result<(), String> {
    if let (Ok(Ok(l)), Ok(Ok((l1, g1))), Ok(Ok((l2, g2)))) = (&a.fwd, &a.fb, &a.fbi) {
        if !(same(*l, *l1) && same(*l1, *l2) && same_array(g1, g2)) {
            return Err(format!(
                "forward {l:?}, forward_backward {l1:?}, forward_backward_into {l2:?} disagree"
            ));
        }
        let zero_denominator = f.count == 0 || f.denom <= 0.0 || f.denom.is_nan();
        if zero_denominator && (*l != F::zero() || g1.iter().any(|&v| v != F::zero())) {
            return Err("zero denominator must give loss 0 and a zero gradient".into());
        }
        for (idx, &g) in g1.indexed_iter() {
            if ignored(case, idx.slice()) && g != F::zero() {
                return Err(format!("ignored element {idx:?} has gradient {g:?}"));
            }
        }
    }
    if let (Ok(Ok(pt)), Ok(Ok(l))) = (&a.pt, &a.fwd) {
        for (idx, &v) in pt.indexed_iter() {
            if (ignored(case, idx.slice()) && v != F::zero()) || v < F::zero() {
                return Err(format!("per_target {v:?} at {idx:?}"));
            }
        }
        let s: f64 = pt.iter().map(|v| v.to_f64_()).sum();
        let d = if f.denom > 0.0 { f.denom } else { 1.0 };
        let want = if f.denom > 0.0 { s / d } else { 0.0 };
        // Calls computed in f64 (the crate's range guard) return
        // per-position losses rounded to F: half an ulp each, at least half
        // the smallest subnormal.
        let rounding = (F::epsilon().to_f64_() * s
            + pt.len() as f64 * F::min_positive_value().to_f64_() * F::epsilon().to_f64_())
            / d;
        let tol = (pt.len() as f64 + 2.0) * f64::EPSILON * s / d
            + rounding
            + F::epsilon().to_f64_() * l.to_f64_().abs()
            + F::min_positive_value().to_f64_();
        if s.is_finite() && (l.to_f64_() - want).abs() > tol {
            return Err(format!(
                "forward {l:?} != Σ per_target / D = {want:e} (tol {tol:e})"
            ));
        }
    }
    let ones = case.u.iter().all(|&v| v == F::one());
    if let (true, Ok(Ok(g))) = (ones, &a.ptb) {
        let mut spec = case.spec.clone();
        spec.reduction = Reduction::Sum;
        let sum_loss = spec.build().map_err(|e| format!("{e:?}"))?;
        if let Ok(Ok((_, gs))) = forward_backward(case, &sum_loss) {
            if !same_array(g, &gs) {
                return Err("per_target_backward(upstream = 1) != Sum gradient".into());
            }
        }
    }
    Ok(())
}
