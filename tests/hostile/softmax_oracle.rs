//! The oracle for softmax-family cases: which inputs must be accepted or
//! rejected, whether an error is explained, magnitude bounds, known bugs,
//! and the cross-method invariants.
#![allow(dead_code)]

use super::check::{
    gamma_ok, max_abs, same, same_array, same_f64, weight_ok, BuildError, Method, Oracle, Outs,
    Verdict,
};
use super::softmax::{forward_backward, pos_shape, run, Built, Case, Kind, Spec, Tgt};
use focal_loss::{LossError, LossFloat, Reduction};
use ndarray::{indices, ArrayD, Dimension, IxDyn};

/// The error the builders must return: `(name, entry index, value)`.
fn build_error(spec: &Spec) -> Option<(&'static str, Option<usize>, f64)> {
    if spec.kind == Kind::Focal && !gamma_ok(spec.gamma) {
        return Some(("gamma", None, spec.gamma));
    }
    if let Some(w) = &spec.weight {
        let name = if spec.kind == Kind::Focal {
            "alpha"
        } else {
            "weight"
        };
        if let Some((i, &v)) = w.iter().enumerate().find(|(_, &v)| !weight_ok(v)) {
            return Some((name, Some(i), v));
        }
    }
    match spec.alpha_scalar {
        Some(a) if spec.kind == Kind::Focal && !weight_ok(a) => return Some(("alpha", None, a)),
        _ => {}
    }
    match spec.eps {
        Some(e) if spec.kind != Kind::Nll && !(0.0..=1.0).contains(&e) => {
            Some(("label_smoothing", None, e))
        }
        _ => None,
    }
}

/// Facts about a case, computed once.
pub struct Facts<F> {
    nd: usize,
    c: usize,
    ps: Vec<usize>,
    /// Shapes, class count and per-class vector length all valid.
    shapes_ok: bool,
    /// Per-class weights as the loss sees them (in `F`).
    w: Vec<F>,
    eps: F,
    /// Per position (row-major over `ps`): counted (not ignored).
    valid: Vec<bool>,
    count: usize,
    /// The reduction's denominator as the crate computes it (f64).
    denom: f64,
    bad_values: bool,
    masked_certain: bool,
    masked_possible: bool,
    /// Largest per-position target mass `Σ_c t_c` (1 for index targets).
    tmass: f64,
    /// Σ t' over the batch, unweighted.
    total_mass: f64,
    /// The total target mass is at or near 2^512: the crate may reject the
    /// targets (`InvalidTarget` naming a finite value).
    mass_overflow: bool,
}

fn at(p: &[usize], k: usize) -> IxDyn {
    let mut i = Vec::with_capacity(p.len() + 1);
    i.push(p[0]);
    i.push(k);
    i.extend_from_slice(&p[1..]);
    IxDyn(&i)
}

fn facts<F: LossFloat>(case: &Case<F>) -> Facts<F> {
    let shape = case.x.shape().to_vec();
    let nd = shape.len();
    let c = if nd >= 2 { shape[1] } else { 0 };
    let ps = pos_shape(&shape);
    let spec = &case.spec;
    let wlen_ok = spec.weight.as_ref().map_or(true, |w| w.len() == c);
    let tshape_ok = match &case.t {
        Tgt::Index(t) => t.shape() == ps.as_slice(),
        Tgt::Probs(t) => t.shape() == shape.as_slice(),
    };
    let shapes_ok = nd >= 2 && c > 0 && wlen_ok && tshape_ok;
    let w: Vec<F> = match (&spec.weight, spec.alpha_scalar) {
        (Some(w), _) if w.len() == c => w.iter().map(|&v| F::from_f64_(v)).collect(),
        (None, Some(a)) if spec.kind == Kind::Focal => vec![F::from_f64_(a); c],
        _ => vec![F::one(); c],
    };
    let eps = match spec.kind {
        Kind::Nll => F::zero(),
        _ => F::from_f64_(spec.eps.unwrap_or(0.0)),
    };
    let mut f = Facts {
        nd,
        c,
        ps: ps.clone(),
        shapes_ok,
        w,
        eps,
        valid: Vec::new(),
        count: 0,
        denom: 0.0,
        bad_values: case.x.iter().any(|&v| v.is_nan() || v == F::infinity()),
        masked_certain: false,
        masked_possible: false,
        tmass: 1.0,
        total_mass: 0.0,
        mass_overflow: false,
    };
    if !shapes_ok {
        return f;
    }
    let ninf = F::neg_infinity();
    for p in indices(IxDyn(&ps)) {
        let p = p.slice().to_vec();
        let row_masked = (0..c).any(|k| case.x[at(&p, k)] == ninf);
        match &case.t {
            Tgt::Index(t) => {
                let y = t[IxDyn(&p)];
                let valid = spec.ignore != Some(y);
                f.valid.push(valid);
                if !valid {
                    continue;
                }
                if y >= c {
                    f.bad_values = true;
                    continue;
                }
                f.count += 1;
                f.denom += f.w[y].to_f64_();
                let eps_on = eps > F::zero();
                let target_masked = case.x[at(&p, y)] == ninf;
                match spec.kind {
                    Kind::Nll => f.masked_certain |= target_masked,
                    Kind::Ce => f.masked_certain |= target_masked || (eps_on && row_masked),
                    Kind::Focal if !eps_on => f.masked_certain |= target_masked,
                    Kind::Focal => f.masked_possible |= row_masked,
                }
            }
            Tgt::Probs(t) => {
                f.valid.push(true);
                f.count += 1;
                let mut mass = 0.0;
                for k in 0..c {
                    let v = t[at(&p, k)];
                    if !(v.is_finite() && v >= F::zero()) {
                        f.bad_values = true;
                        continue;
                    }
                    mass += v.to_f64_();
                    let e = eps.to_f64_();
                    let tp = (1.0 - e) * v.to_f64_() + e / c as f64;
                    f.denom += f.w[k].to_f64_() * tp;
                    f.total_mass += tp;
                    if case.x[at(&p, k)] == ninf {
                        if eps == F::zero() {
                            f.masked_certain |= v != F::zero();
                        } else {
                            f.masked_possible = true;
                        }
                    }
                }
                f.tmass = f.tmass.max(mass);
            }
        }
    }
    // The crate rejects a total mass above 2^512 (summed in its own order).
    f.mass_overflow = f.total_mass >= 2.0_f64.powi(511);
    f.denom = match spec.reduction {
        Reduction::Sum => 1.0,
        Reduction::Mean => f.count as f64,
        Reduction::WeightedMean => f.denom,
    };
    f
}

fn verdict<F: LossFloat>(case: &Case<F>, f: &Facts<F>, m: Method) -> Verdict {
    let grad_bad = m == Method::ForwardBackwardInto && case.grad_shape != case.x.shape();
    let up_bad = m == Method::PerTargetBackward
        && (case.u.shape() != f.ps.as_slice() || case.u.iter().any(|v| !v.is_finite()));
    if !f.shapes_ok || grad_bad || up_bad || f.bad_values || f.masked_certain {
        Verdict::Defective
    } else if f.masked_possible || f.mass_overflow {
        Verdict::Uncertain
    } else {
        Verdict::Clean
    }
}

fn get<T: Copy>(a: &ArrayD<T>, pos: &[usize]) -> Option<T> {
    (pos.len() == a.ndim())
        .then(|| a.get(IxDyn(pos)).copied())
        .flatten()
}

fn explains<F: LossFloat>(case: &Case<F>, f: &Facts<F>, m: Method, e: &LossError) -> bool {
    let input = if case.spec.kind == Kind::Nll {
        "log_probs"
    } else {
        "logits"
    };
    let wname = if case.spec.kind == Kind::Focal {
        "alpha"
    } else {
        "weight"
    };
    let shape = case.x.shape();
    let nonfinite = |v: Option<F>, value: f64| {
        v.is_some_and(|v| (v.is_nan() || v.is_infinite()) && same_f64(v.to_f64_(), value))
    };
    match e {
        LossError::TooFewDimensions { what, min, actual } => {
            *what == input && *min == 2 && *actual == f.nd && f.nd < 2
        }
        LossError::NoClasses => f.nd >= 2 && f.c == 0,
        LossError::LengthMismatch {
            what,
            expected,
            actual,
        } => {
            *what == wname
                && *expected == f.c
                && case
                    .spec
                    .weight
                    .as_ref()
                    .is_some_and(|w| w.len() == *actual)
                && *actual != f.c
        }
        LossError::ShapeMismatch {
            what,
            expected,
            actual,
        } => {
            let (want, got): (&[usize], &[usize]) = match (*what, &case.t) {
                ("targets", Tgt::Index(t)) => (&f.ps, t.shape()),
                ("targets", Tgt::Probs(t)) => (shape, t.shape()),
                ("grad", _) if m == Method::ForwardBackwardInto => (shape, &case.grad_shape),
                ("upstream", _) if m == Method::PerTargetBackward => (&f.ps, case.u.shape()),
                _ => return false,
            };
            expected == want && actual == got && want != got
        }
        LossError::TargetOutOfRange {
            position,
            target,
            classes,
        } => match &case.t {
            Tgt::Index(t) => {
                *classes == f.c
                    && get(t, position) == Some(*target)
                    && *target >= f.c
                    && case.spec.ignore != Some(*target)
            }
            Tgt::Probs(_) => false,
        },
        LossError::NonFiniteInput {
            what,
            position,
            value,
        } => {
            (*what == input && nonfinite(get(&case.x, position), *value))
                && get(&case.x, position) != Some(F::neg_infinity())
                || (*what == "upstream"
                    && m == Method::PerTargetBackward
                    && nonfinite(get(&case.u, position), *value))
        }
        LossError::MaskedTarget { position } => {
            get(&case.x, position) == Some(F::neg_infinity()) && {
                let p = pos_shape(position);
                let flat = indices(IxDyn(&f.ps))
                    .into_iter()
                    .position(|q| q.slice() == p.as_slice());
                flat.is_some_and(|i| f.valid.get(i) == Some(&true))
            }
        }
        LossError::InvalidTarget {
            position, value, ..
        } => match &case.t {
            Tgt::Probs(t) => get(t, position).is_some_and(|v| {
                (!(v.is_finite() && v >= F::zero()) || f.mass_overflow)
                    && same_f64(v.to_f64_(), *value)
            }),
            Tgt::Index(_) => false,
        },
        _ => false,
    }
}

/// Upper bound on the magnitude of the true result of `m`.
fn bound<F: LossFloat>(case: &Case<F>, f: &Facts<F>, m: Method) -> f64 {
    let z = max_abs(case.x.iter().copied());
    let c = f.c.max(1) as f64;
    let wmax = max_abs(f.w.iter().copied()).max(1.0);
    let t = f.tmass.max(1.0);
    let gamma = if case.spec.kind == Kind::Focal {
        case.spec.gamma
    } else {
        0.0
    };
    let k = f.ps.iter().product::<usize>() as f64;
    let lrow = wmax * t * c * (2.0 * z + c.ln() + 2.0) * 2.0;
    let grow = wmax * t * c * (gamma + 2.0) * 4.0;
    let inv = match case.spec.reduction {
        Reduction::Sum => 1.0,
        Reduction::Mean => 1.0 / (f.count.max(1) as f64),
        Reduction::WeightedMean if f.denom > 0.0 => 1.0 / f.denom,
        Reduction::WeightedMean => 0.0,
    };
    let umax = max_abs(case.u.iter().copied()).max(1.0);
    // WeightedMean divides Σ w l by the Σ w that scaled each term (no
    // smoothing, or probability targets): no weight factor, no count.
    let probs = matches!(case.t, Tgt::Probs(_));
    if case.spec.reduction == Reduction::WeightedMean && (probs || f.eps == F::zero()) {
        let (lb, gb) = ((2.0 * z + c.ln() + 2.0) * 2.0, (gamma + 2.0) * 4.0);
        match m {
            Method::Forward => return lb,
            Method::ForwardBackward | Method::ForwardBackwardInto => return lb + gb,
            Method::ForwardGradHess => return lb + gb * (gamma + 2.0) * (z + c.ln() + 2.0),
            _ => {}
        }
    }
    match m {
        Method::Forward => k * lrow * inv,
        Method::ForwardBackward | Method::ForwardBackwardInto => (k * lrow + grow) * inv,
        Method::PerTarget => lrow,
        Method::PerTargetBackward => grow * umax,
        Method::ForwardGradHess => (k * lrow + grow * (gamma + 2.0) * (z + c.ln() + 2.0)) * inv,
    }
}

impl<F: LossFloat> Oracle<F> for Case<F> {
    type Built = Built;
    type Facts = Facts<F>;
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
    fn facts(&self) -> Facts<F> {
        facts(self)
    }
    fn verdict(&self, f: &Facts<F>, m: Method) -> Verdict {
        verdict(self, f, m)
    }
    fn explains(&self, f: &Facts<F>, m: Method, e: &LossError) -> bool {
        explains(self, f, m, e)
    }
    fn bound(&self, f: &Facts<F>, m: Method) -> f64 {
        bound(self, f, m)
    }
    fn invariants(&self, f: &Facts<F>, a: &Outs<F>) -> Result<(), String> {
        invariants(self, f, a)
    }
}

/// Cross-method invariants of an accepted case.
fn invariants<F: LossFloat>(case: &Case<F>, f: &Facts<F>, a: &Outs<F>) -> Result<(), String> {
    if let (Ok(Ok(l)), Ok(Ok((l1, g1))), Ok(Ok((l2, g2)))) = (&a.fwd, &a.fb, &a.fbi) {
        if !(same(*l, *l1) && same(*l1, *l2) && same_array(g1, g2)) {
            return Err(format!(
                "forward {l:?}, forward_backward {l1:?}, forward_backward_into {l2:?} disagree"
            ));
        }
        let zero_denominator = f.count == 0 || f.denom <= 0.0 || f.denom.is_nan();
        if f.shapes_ok
            && zero_denominator
            && (*l != F::zero() || g1.iter().any(|&v| v != F::zero()))
        {
            return Err("zero denominator must give loss 0 and a zero gradient".into());
        }
        for (i, p) in indices(IxDyn(&f.ps)).into_iter().enumerate() {
            if f.valid.get(i) == Some(&false) && (0..f.c).any(|k| g1[at(p.slice(), k)] != F::zero())
            {
                return Err(format!(
                    "ignored position {:?} has a non-zero gradient",
                    p.slice()
                ));
            }
        }
    }
    if let Ok(Ok(pt)) = &a.pt {
        if pt.shape() != f.ps.as_slice() {
            return Err(format!(
                "per_target shape {:?}, want {:?}",
                pt.shape(),
                f.ps
            ));
        }
        for (i, &v) in pt.iter().enumerate() {
            if f.valid.get(i) == Some(&false) && v != F::zero() {
                return Err(format!("ignored position {i} has per_target {v:?}"));
            }
            if case.spec.kind != Kind::Nll && v < F::zero() {
                return Err(format!("negative per_target {v:?} at {i}"));
            }
        }
        if let Ok(Ok(l)) = &a.fwd {
            let s: f64 = pt.iter().map(|v| v.to_f64_()).sum();
            let sa: f64 = pt.iter().map(|v| v.to_f64_().abs()).sum();
            let d = if f.denom > 0.0 { f.denom } else { 1.0 };
            let want = if f.denom > 0.0 { s / d } else { 0.0 };
            // Both sums (of the losses and of the denominator's terms) may
            // be taken in another order than the crate's.
            let dterms = match &case.t {
                Tgt::Probs(t) => t.len(),
                Tgt::Index(_) => f.count,
            } as f64;
            // Calls computed in f64 (the crate's range guard) return
            // per-position losses rounded to F: half an ulp each, at least
            // half the smallest subnormal.
            let rounding = (F::epsilon().to_f64_() * sa
                + pt.len() as f64 * F::min_positive_value().to_f64_() * F::epsilon().to_f64_())
                / d;
            let tol = (pt.len() as f64 + 2.0) * f64::EPSILON * sa / d
                + rounding
                + dterms * f64::EPSILON * want.abs()
                + F::epsilon().to_f64_() * l.to_f64_().abs()
                + F::min_positive_value().to_f64_();
            if s.is_finite() && (l.to_f64_() - want).abs() > tol {
                return Err(format!(
                    "forward {l:?} != Σ per_target / D = {want:e} (tol {tol:e})"
                ));
            }
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
