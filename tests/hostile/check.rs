//! What every hostile call is checked against, and the tallies the fuzz
//! targets print.
//!
//! A call must not panic. An `Ok` must hold no NaN, and no `inf` unless the
//! true result may exceed the precision's range (a bound computed from the
//! input's magnitudes). An `Err` must be explained by the input: the
//! callers verify that the value or shape the error names is really there.
#![allow(dead_code)]

use focal_loss::{LossError, LossFloat};
use ndarray::ArrayD;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A call's result, or the panic message if it panicked.
pub type Called<T> = Result<Result<T, LossError>, String>;

thread_local! {
    static CATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic into `Err(message)`. The default panic
/// message is silenced while `f` runs (the caller reports the panic with
/// its input); set `HOSTILE_SHOW_PANICS=1` to see it, with its location.
pub fn call<T>(f: impl FnOnce() -> Result<T, LossError>) -> Called<T> {
    use std::sync::Once;
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let catching = CATCHING.with(|c| c.get());
            if !catching || std::env::var_os("HOSTILE_SHOW_PANICS").is_some() {
                default(info);
            }
        }));
    });
    CATCHING.with(|c| c.set(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(false));
    r.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_else(|| "non-string panic payload".into())
    })
}

/// Counts of what the calls did.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Cases drawn.
    pub cases: u64,
    /// Method calls made.
    pub calls: u64,
    /// Calls that returned `Ok`.
    pub ok: u64,
    /// Errors by variant.
    pub errors: BTreeMap<String, u64>,
    /// `Ok` results holding `inf` where the bound allowed it (overflow).
    pub overflow: u64,
    /// Tolerated results by reason (none at present; kept for the report).
    pub known: BTreeMap<&'static str, u64>,
}

impl Stats {
    /// Adds another tally.
    pub fn merge(&mut self, o: &Stats) {
        self.cases += o.cases;
        self.calls += o.calls;
        self.ok += o.ok;
        self.overflow += o.overflow;
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.known {
            *self.known.entry(k).or_default() += v;
        }
    }

    /// Records an error by its variant name.
    pub fn error(&mut self, e: &LossError) {
        let name = format!("{e:?}");
        let name = name
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or("?")
            .to_string();
        *self.errors.entry(name).or_default() += 1;
    }

    /// One line per tally.
    pub fn report(&self, target: &str) -> String {
        format!(
            "[{target}] cases {} calls {} ok {} overflow-inf {}\n[{target}] errors {:?}\n[{target}] tolerated {:?}",
            self.cases, self.calls, self.ok, self.overflow, self.errors, self.known
        )
    }
}

/// NaN-aware bitwise equality of two numbers.
pub fn same<F: LossFloat>(a: F, b: F) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_f64_().to_bits() == b.to_f64_().to_bits()
}

/// NaN-aware bitwise equality of two arrays (shapes included).
pub fn same_array<F: LossFloat>(a: &ArrayD<F>, b: &ArrayD<F>) -> bool {
    a.shape() == b.shape() && a.iter().zip(b.iter()).all(|(&x, &y)| same(x, y))
}

/// NaN-aware equality of two call results (errors compared by `Debug`).
pub fn same_called<T>(a: &Called<T>, b: &Called<T>, eq: impl Fn(&T, &T) -> bool) -> bool {
    match (a, b) {
        (Ok(Ok(x)), Ok(Ok(y))) => eq(x, y),
        (Ok(Err(x)), Ok(Err(y))) => format!("{x:?}") == format!("{y:?}"),
        (Err(_), Err(_)) => true,
        _ => false,
    }
}

/// `|a - b| <= rel * max(|a|, |b|)` (or both equal, NaN-aware).
pub fn close(a: f64, b: f64, rel: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= rel * a.abs().max(b.abs())
}

/// Whether `v` equals `want`, NaN-aware (error payloads carry `f64`).
pub fn same_f64(v: f64, want: f64) -> bool {
    (v.is_nan() && want.is_nan()) || v == want
}

/// The largest finite magnitude among `values` (0 if none).
pub fn max_abs<F: LossFloat>(values: impl IntoIterator<Item = F>) -> f64 {
    values
        .into_iter()
        .map(|v| v.to_f64_().abs())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
}

/// The domain of per-class weights, alpha and pos_weight, and of the
/// softmax scalar alpha: 0, or a normal `f32` number (so the same loss
/// serves `f32` inputs and `1 / Σ w` cannot overflow).
pub fn weight_ok(v: f64) -> bool {
    v == 0.0 || (f64::from(f32::MIN_POSITIVE)..=f64::from(f32::MAX)).contains(&v)
}

/// The domain of `gamma`: `[0, f32::MAX]`.
pub fn gamma_ok(v: f64) -> bool {
    (0.0..=f64::from(f32::MAX)).contains(&v)
}

/// `bound < limit` (false for NaN).
pub fn below(bound: f64, limit: f64) -> bool {
    bound < limit
}

/// What an `Ok` result's numbers look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbers {
    /// All finite.
    Finite,
    /// Some `±inf`, no NaN.
    Inf,
    /// Some NaN.
    NaN,
}

/// Classifies a set of numbers.
pub fn numbers<F: LossFloat>(values: impl IntoIterator<Item = F>) -> Numbers {
    let mut out = Numbers::Finite;
    for v in values {
        if v.is_nan() {
            return Numbers::NaN;
        }
        if v.is_infinite() {
            out = Numbers::Inf;
        }
    }
    out
}

/// Judges the numbers of one `Ok` result: `bound` is an upper bound on
/// the magnitude of the true result (inf allowed only above
/// `F::MAX / 64`); `per_position`, a bound on the per-position terms
/// before the reduction, is only reported. NaN is never allowed. Returns an
/// error message for a violation.
pub fn judge<F: LossFloat>(
    stats: &mut Stats,
    nums: Numbers,
    bound: f64,
    per_position: f64,
) -> Result<(), String> {
    let limit = F::max_value().to_f64_() / 64.0;
    match nums {
        Numbers::Finite => Ok(()),
        Numbers::Inf if bound >= limit || bound.is_nan() => {
            stats.overflow += 1;
            Ok(())
        }
        Numbers::Inf => Err(format!(
            "inf although the result is bounded by {bound:e} (per-position terms: {per_position:e})"
        )),
        Numbers::NaN => Err("NaN".to_string()),
    }
}

/// A public method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Forward,
    ForwardBackward,
    ForwardBackwardInto,
    PerTarget,
    PerTargetBackward,
    ForwardGradHess,
}

pub const METHODS: [Method; 6] = [
    Method::Forward,
    Method::ForwardBackward,
    Method::ForwardBackwardInto,
    Method::PerTarget,
    Method::PerTargetBackward,
    Method::ForwardGradHess,
];

/// The results of every method on one case.
pub struct Outs<F> {
    pub fwd: Called<F>,
    pub fb: Called<(F, ArrayD<F>)>,
    pub fbi: Called<(F, ArrayD<F>)>,
    pub pt: Called<ArrayD<F>>,
    pub ptb: Called<ArrayD<F>>,
    /// `forward_grad_hess`: loss, gradient, Hessian diagonal.
    pub fgh: Called<(F, ArrayD<F>, ArrayD<F>)>,
}

/// What the numbers of `m`'s `Ok` result look like (`None` if not `Ok`).
pub fn outs_numbers<F: LossFloat>(o: &Outs<F>, m: Method) -> Option<Numbers> {
    let one = |v: F| numbers([v]);
    Some(match m {
        Method::Forward => one(*o.fwd.as_ref().ok()?.as_ref().ok()?),
        Method::ForwardBackward => {
            let (l, g) = o.fb.as_ref().ok()?.as_ref().ok()?;
            numbers(g.iter().copied().chain([*l]))
        }
        Method::ForwardBackwardInto => {
            let (l, g) = o.fbi.as_ref().ok()?.as_ref().ok()?;
            numbers(g.iter().copied().chain([*l]))
        }
        Method::PerTarget => numbers(o.pt.as_ref().ok()?.as_ref().ok()?.iter().copied()),
        Method::PerTargetBackward => numbers(o.ptb.as_ref().ok()?.as_ref().ok()?.iter().copied()),
        Method::ForwardGradHess => {
            let (l, g, h) = o.fgh.as_ref().ok()?.as_ref().ok()?;
            numbers(g.iter().chain(h.iter()).copied().chain([*l]))
        }
    })
}

pub fn result_of<F: LossFloat>(o: &Outs<F>, m: Method) -> Result<Result<(), &LossError>, &String> {
    fn strip<T>(c: &Called<T>) -> Result<Result<(), &LossError>, &String> {
        match c {
            Ok(Ok(_)) => Ok(Ok(())),
            Ok(Err(e)) => Ok(Err(e)),
            Err(p) => Err(p),
        }
    }
    match m {
        Method::Forward => strip(&o.fwd),
        Method::ForwardBackward => strip(&o.fb),
        Method::ForwardBackwardInto => strip(&o.fbi),
        Method::PerTarget => strip(&o.pt),
        Method::PerTargetBackward => strip(&o.ptb),
        Method::ForwardGradHess => strip(&o.fgh),
    }
}

/// Whether an input must be accepted, rejected, or may go either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    Uncertain,
    Defective,
}

/// The error a builder must return: `(name, entry index, value)`.
pub type BuildError = (&'static str, Option<usize>, f64);

/// What a family's oracle knows about one of its cases; [`check`] drives
/// any family through it.
pub trait Oracle<F: LossFloat>: std::fmt::Debug {
    /// The built loss.
    type Built: std::fmt::Debug;
    /// What the oracle derives from the case once.
    type Facts;
    /// Builds the loss from the case's configuration.
    fn build(&self) -> Result<Self::Built, LossError>;
    /// The error the builder must return, if any.
    fn build_error(&self) -> Option<BuildError>;
    /// The getters return the configuration.
    fn getters_match(&self, built: &Self::Built) -> bool;
    /// Runs every method, in the case's layouts (`laid`) or contiguous.
    fn run(&self, built: &Self::Built, laid: bool) -> Outs<F>;
    fn facts(&self) -> Self::Facts;
    fn verdict(&self, f: &Self::Facts, m: Method) -> Verdict;
    /// Whether `e` is an error this input can give.
    fn explains(&self, f: &Self::Facts, m: Method, e: &LossError) -> bool;
    /// A bound on the magnitude of `m`'s results.
    fn bound(&self, f: &Self::Facts, m: Method) -> f64;
    /// Cross-method invariants of an accepted case.
    fn invariants(&self, f: &Self::Facts, a: &Outs<F>) -> Result<(), String>;
}

/// Whether `e` is the parameter error `want`.
pub fn param_error_is(e: &LossError, want: BuildError) -> bool {
    let (name, index, value) = want;
    match (e, index) {
        (
            LossError::InvalidParameter {
                name: n, value: v, ..
            },
            None,
        ) => *n == name && same_f64(*v, value),
        (
            LossError::InvalidParameterEntry {
                name: n,
                index: i,
                value: v,
                ..
            },
            Some(idx),
        ) => *n == name && *i == idx && same_f64(*v, value),
        _ => false,
    }
}

/// Checks one case end to end; `Err` describes the first violation.
pub fn check<F: LossFloat, C: Oracle<F>>(case: &C, stats: &mut Stats) -> Result<(), String> {
    stats.cases += 1;
    let fail = |what: String| Err(format!("{what}\ncase: {case:#?}"));
    let built = call(|| case.build());
    let built = match (built, case.build_error()) {
        (Err(p), _) => return fail(format!("builder panicked: {p}")),
        (Ok(Err(e)), Some(want)) if param_error_is(&e, want) => {
            stats.error(&e);
            return Ok(());
        }
        (Ok(Err(e)), want) => return fail(format!("builder error {e:?}, expected {want:?}")),
        (Ok(Ok(_)), Some(want)) => return fail(format!("builder accepted invalid {want:?}")),
        (Ok(Ok(b)), None) => b,
    };
    if !case.getters_match(&built) {
        return fail(format!(
            "getters do not return the configuration: {built:?}"
        ));
    }
    let a = case.run(&built, false);
    let b = case.run(&built, true);
    let f = case.facts();
    for m in METHODS {
        stats.calls += 1;
        match result_of(&a, m) {
            Err(p) => return fail(format!("{m:?} panicked: {p}")),
            Ok(Err(e)) => {
                stats.error(e);
                if !case.explains(&f, m, e) {
                    return fail(format!("{m:?}: unexplained error {e:?}"));
                }
                if case.verdict(&f, m) == Verdict::Clean {
                    return fail(format!("{m:?}: clean input rejected with {e:?}"));
                }
            }
            Ok(Ok(())) => {
                stats.ok += 1;
                if case.verdict(&f, m) == Verdict::Defective {
                    return fail(format!("{m:?}: defective input accepted"));
                }
                let nums = outs_numbers(&a, m).unwrap_or(Numbers::Finite);
                let (b, bpt) = (case.bound(&f, m), case.bound(&f, Method::PerTarget));
                if let Err(msg) = judge::<F>(stats, nums, b, bpt) {
                    return fail(format!("{m:?}: {msg}"));
                }
            }
        }
    }
    let layouts_agree = same_called(&a.fwd, &b.fwd, |x, y| same(*x, *y))
        && same_called(&a.fb, &b.fb, |x, y| {
            same(x.0, y.0) && same_array(&x.1, &y.1)
        })
        && same_called(&a.fbi, &b.fbi, |x, y| {
            same(x.0, y.0) && same_array(&x.1, &y.1)
        })
        && same_called(&a.pt, &b.pt, same_array)
        && same_called(&a.ptb, &b.ptb, same_array)
        && same_called(&a.fgh, &b.fgh, |x, y| {
            same(x.0, y.0) && same_array(&x.1, &y.1) && same_array(&x.2, &y.2)
        });
    if !layouts_agree {
        return fail(
            "results differ between contiguous and strided/reversed/broadcast layouts".into(),
        );
    }
    case.invariants(&f, &a).or_else(fail)?;
    second_order_agrees(&a).or_else(fail)?;
    Ok(())
}

/// `forward_grad_hess` (the scalar kernels) gives `forward_backward`'s loss
/// and gradient (the vectorised kernels, where they run) to rounding, and
/// both accept or reject the same input.
fn second_order_agrees<F: LossFloat>(a: &Outs<F>) -> Result<(), String> {
    match (&a.fb, &a.fgh) {
        (Ok(Ok((l, g))), Ok(Ok((l2, g2, _)))) => {
            let scale = max_abs(g.iter().copied()).max(1.0);
            let eps = F::epsilon().to_f64_();
            let tol = |b: f64| 1e-4 * b.abs() + 1e-4 * scale + eps * 64.0;
            let near = |x: F, y: F| {
                let (x, y) = (x.to_f64_(), y.to_f64_());
                x == y || (x - y).abs() <= tol(y) || !(x.is_finite() && y.is_finite())
            };
            // The two kernels sum the per-target losses in different orders:
            // terms of both signs (NLL) or far apart cancel differently, by
            // up to n ulps of their total magnitude.
            let terms = match &a.pt {
                Ok(Ok(pt)) => {
                    let n = pt.len() as f64 + 2.0;
                    n * eps * pt.iter().map(|v| v.to_f64_().abs()).sum::<f64>()
                }
                _ => f64::INFINITY,
            };
            let (lf, l2f) = (l.to_f64_(), l2.to_f64_());
            if !(near(*l2, *l) || (lf - l2f).abs() <= terms) {
                return Err(format!(
                    "forward_grad_hess loss {l2:?} != forward_backward {l:?}"
                ));
            }
            if let Some((i, (x, y))) = g2
                .iter()
                .zip(g.iter())
                .enumerate()
                .find(|(_, (x, y))| !near(**x, **y))
            {
                return Err(format!(
                    "forward_grad_hess grad[{i}] {x:?} != forward_backward {y:?}"
                ));
            }
            Ok(())
        }
        (Ok(Err(_)), Ok(Err(_))) => Ok(()),
        (fb, fgh) => Err(format!(
            "forward_backward and forward_grad_hess disagree on acceptance: {} / {}",
            fb.as_ref().map_or("panic".into(), |r| r
                .as_ref()
                .map_or_else(|e| format!("{e:?}"), |_| "ok".into())),
            fgh.as_ref().map_or("panic".into(), |r| r
                .as_ref()
                .map_or_else(|e| format!("{e:?}"), |_| "ok".into())),
        )),
    }
}

/// Calls every method of `$loss` on `$x`, `$t`, `$u`, with `$g` as the
/// gradient buffer of `forward_backward_into`.
macro_rules! methods {
    ($loss:expr, $x:expr, $t:expr, $u:expr, $g:expr) => {{
        use super::check::{call, Outs};
        let (loss, x, t, u) = ($loss, $x, $t, $u);
        let fbi = call(|| {
            let mut gv = $g.view_mut();
            loss.forward_backward_into(&x, t, &mut gv)
        });
        Outs {
            fwd: call(|| loss.forward(&x, t)),
            fb: call(|| loss.forward_backward(&x, t)),
            fbi: fbi.map(|r| r.map(|l| (l, $g.view().to_owned()))),
            pt: call(|| loss.per_target(&x, t)),
            ptb: call(|| loss.per_target_backward(&x, t, &u)),
            fgh: call(|| loss.forward_grad_hess(&x, t)),
        }
    }};
}
pub(crate) use methods;
