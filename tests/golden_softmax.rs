//! Golden tests of the softmax-family losses (`NllLoss`, `CrossEntropyLoss`,
//! `FocalLoss`) against float64 PyTorch values.
//!
//! Fixture: `tests/fixtures/softmax.json`, written by
//! `/tmp/ref/bin/python scripts/gen_softmax_fixtures.py` (see its header for
//! the references: `F.nll_loss`, `F.cross_entropy`, and a float64 torch
//! expression of the focal loss; gradients by autograd).
//!
//! Every case runs in `f64` and in `f32` (same inputs: they are exactly
//! representable in `f32`), on three memory layouts of the inputs (standard,
//! axes permuted, strided with a reversed class axis), through `forward`,
//! `forward_backward`, `forward_backward_into`, `per_target` and
//! `per_target_backward`. Tolerances are those of `tests/common`:
//! f64 `|a-b| <= 1e-12 + 1e-10|b|`, f32 `|a-b| <= 1e-6 + 1e-5|b|` against the
//! f64 reference. Failures are collected and reported together, each naming
//! the case, precision, layout, method and element index.
//!
//! The zero-denominator behaviour (empty batch, every target ignored: loss 0,
//! gradient 0) is this crate's documented choice, not a PyTorch value
//! (PyTorch gives NaN); it is tested directly at the end of this file.

mod common;

use focal_loss::{CrossEntropyLoss, FocalLoss, LossFloat, NllLoss, Probs, Reduction};
use ndarray::{Array, ArrayD, ArrayViewD, ArrayViewMutD, Dimension, IxDyn, Slice};
use serde_json::Value;
use std::collections::BTreeSet;

const FIXTURE: &str = "softmax.json";

/// A loss built from a fixture case's params.
#[derive(Debug, Clone)]
enum Loss {
    Nll(NllLoss),
    Ce(CrossEntropyLoss),
    Focal(FocalLoss),
}

/// One fixture case, with its inputs in f64.
struct Case {
    name: String,
    loss: Loss,
    logits: ArrayD<f64>,
    targets: Option<ArrayD<usize>>,
    probs: Option<ArrayD<f64>>,
    upstream: ArrayD<f64>,
    loss_want: f64,
    grad_want: ArrayD<f64>,
    per_want: ArrayD<f64>,
    ptb_want: ArrayD<f64>,
}

fn build_loss(name: &str, kind: &str, p: &Value) -> Loss {
    let red = common::reduction(p["reduction"].as_str().expect("reduction"));
    let ignore = p["ignore_index"].as_u64().map(|i| i as usize);
    let eps = common::num(&p["label_smoothing"]);
    let weight = (!p["weight"].is_null()).then(|| common::nums(&p["weight"]));
    match kind {
        "nll" => {
            assert_eq!(eps, 0.0, "{name}: nll has no smoothing");
            let mut l = NllLoss::new().with_reduction(red);
            if let Some(w) = weight {
                l = l.with_weight(w).expect("weight");
            }
            if let Some(i) = ignore {
                l = l.with_ignore_index(i);
            }
            Loss::Nll(l)
        }
        "ce" => {
            let mut l = CrossEntropyLoss::new()
                .with_reduction(red)
                .with_label_smoothing(eps)
                .expect("eps");
            if let Some(w) = weight {
                l = l.with_weight(w).expect("weight");
            }
            if let Some(i) = ignore {
                l = l.with_ignore_index(i);
            }
            Loss::Ce(l)
        }
        "focal" => {
            let gamma = common::num(&p["gamma"]);
            let mut l = FocalLoss::new(gamma)
                .expect("gamma")
                .with_reduction(red)
                .with_label_smoothing(eps)
                .expect("eps");
            match &p["alpha"] {
                Value::Null => {}
                Value::Array(_) => l = l.with_alpha(common::nums(&p["alpha"])).expect("alpha"),
                a => l = l.with_alpha_scalar(common::num(a)).expect("alpha"),
            }
            if let Some(i) = ignore {
                l = l.with_ignore_index(i);
            }
            Loss::Focal(l)
        }
        other => panic!("{name}: unknown loss {other}"),
    }
}

fn cases() -> Vec<Case> {
    let fx = common::fixture(FIXTURE);
    let list = fx.as_array().expect("a list of cases");
    list.iter()
        .map(|c| {
            let name = c["name"].as_str().expect("name").to_string();
            let kind = c["loss"].as_str().expect("loss");
            let inp = &c["inputs"];
            let exp = &c["expected"];
            Case {
                loss: build_loss(&name, kind, &c["params"]),
                logits: common::array_f64(&inp["logits"]),
                targets: (!inp["targets"].is_null()).then(|| common::array_usize(&inp["targets"])),
                probs: (!inp["probs"].is_null()).then(|| common::array_f64(&inp["probs"])),
                upstream: common::array_f64(&inp["upstream"]),
                loss_want: common::num(&exp["loss"]),
                grad_want: common::array_f64(&exp["grad"]),
                per_want: common::array_f64(&exp["per_target"]),
                ptb_want: common::array_f64(&exp["per_target_backward"]),
                name,
            }
        })
        .collect()
}

// ------------------------------------------------------------------ layouts

/// How an input is laid out in memory.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Layout {
    /// Contiguous row-major.
    Standard,
    /// Stored with all axes reversed (column-major for 2-D), viewed back.
    Permuted,
    /// Every axis has stride 2 in a larger buffer; axis 1 runs backwards.
    Strided,
}

/// An array stored in some layout; `view()` gives back the logical array.
struct Laid<T> {
    store: ArrayD<T>,
    layout: Layout,
}

fn strided_slice(axis: usize) -> Slice {
    Slice::new(0, None, if axis == 1 { -2 } else { 2 })
}

impl<T: Clone> Laid<T> {
    /// Lays `a` out as `layout`; unused buffer slots hold `junk`.
    fn new(a: &ArrayD<T>, layout: Layout, junk: T) -> Self {
        let store = match layout {
            Layout::Standard => a.clone(),
            Layout::Permuted => {
                let t = a.view().reversed_axes();
                Array::from_shape_vec(t.raw_dim(), t.iter().cloned().collect())
                    .expect("permuted copy")
            }
            Layout::Strided => {
                let big: Vec<usize> = a.shape().iter().map(|&d| 2 * d).collect();
                let mut store = ArrayD::from_elem(IxDyn(&big), junk);
                store
                    .slice_each_axis_mut(|ax| strided_slice(ax.axis.index()))
                    .assign(a);
                store
            }
        };
        let laid = Self { store, layout };
        let v = laid.view();
        assert_eq!(v.shape(), a.shape());
        if layout != Layout::Standard && a.len() > 1 && a.ndim() > 1 {
            assert!(
                !v.is_standard_layout(),
                "{layout:?} view must not be standard layout"
            );
        }
        laid
    }

    fn view(&self) -> ArrayViewD<'_, T> {
        match self.layout {
            Layout::Standard => self.store.view(),
            Layout::Permuted => self.store.view().reversed_axes(),
            Layout::Strided => self
                .store
                .slice_each_axis(|ax| strided_slice(ax.axis.index())),
        }
    }

    fn view_mut(&mut self) -> ArrayViewMutD<'_, T> {
        match self.layout {
            Layout::Standard => self.store.view_mut(),
            Layout::Permuted => self.store.view_mut().reversed_axes(),
            Layout::Strided => self
                .store
                .slice_each_axis_mut(|ax| strided_slice(ax.axis.index())),
        }
    }
}

// ------------------------------------------------------------------ checks

/// The golden rule for precision `F` (f64 or f32, see `tests/common`).
fn close<F: LossFloat>(got: F, want: f64) -> bool {
    if std::mem::size_of::<F>() == 8 {
        common::close_f64(got.to_f64_(), want)
    } else {
        common::close_f32(got.to_f64_() as f32, want)
    }
}

/// Collects failures so one run reports all of them.
struct Report {
    ctx: String,
    fails: Vec<String>,
}

impl Report {
    fn scalar<F: LossFloat>(&mut self, what: &str, got: F, want: f64) {
        if !close(got, want) {
            self.fails.push(format!(
                "{}: {what}: got {:e}, want {want:e}, diff {:e}",
                self.ctx,
                got.to_f64_(),
                got.to_f64_() - want
            ));
        }
    }

    fn array<F: LossFloat>(&mut self, what: &str, got: ArrayViewD<'_, F>, want: &ArrayD<f64>) {
        if got.shape() != want.shape() {
            self.fails.push(format!(
                "{}: {what}: shape {:?}, want {:?}",
                self.ctx,
                got.shape(),
                want.shape()
            ));
            return;
        }
        for ((i, &a), &b) in got.indexed_iter().zip(want.iter()) {
            if !close(a, b) {
                self.fails.push(format!(
                    "{}: {what} at {:?}: got {:e}, want {b:e}, diff {:e}",
                    self.ctx,
                    i.slice(),
                    a.to_f64_(),
                    a.to_f64_() - b
                ));
            }
        }
    }

    fn error(&mut self, what: &str, e: focal_loss::LossError) {
        self.fails.push(format!("{}: {what}: error {e}", self.ctx));
    }

    /// Runs `f`, recording a panic (which the API must never raise) as a
    /// failure instead of aborting the whole report.
    fn guard<R>(&mut self, what: &str, f: impl FnOnce() -> R) -> Option<R> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            Ok(r) => Some(r),
            Err(p) => {
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                self.fails
                    .push(format!("{}: {what}: PANICKED: {msg}", self.ctx));
                None
            }
        }
    }
}

/// Targets as borrowed by one call.
enum Tgt<'a, F> {
    Index(ArrayViewD<'a, usize>),
    Probs(ArrayViewD<'a, F>),
}

/// Calls `$body` with `$l` bound to the concrete loss and `$t` to a
/// reference to its targets (`&Probs(..)` for probability targets).
macro_rules! call {
    ($loss:expr, $tgt:expr, |$l:ident, $t:ident| $body:expr) => {
        match ($loss, $tgt) {
            (Loss::Nll($l), Tgt::Index(v)) => {
                let $t = &v;
                $body
            }
            (Loss::Ce($l), Tgt::Index(v)) => {
                let $t = &v;
                $body
            }
            (Loss::Focal($l), Tgt::Index(v)) => {
                let $t = &v;
                $body
            }
            (Loss::Ce($l), Tgt::Probs(v)) => {
                let $t = &Probs(&v);
                $body
            }
            (Loss::Focal($l), Tgt::Probs(v)) => {
                let $t = &Probs(&v);
                $body
            }
            (Loss::Nll(_), Tgt::Probs(_)) => panic!("NLL takes index targets only"),
        }
    };
}

/// Runs every method of one case in precision `F` on one layout.
fn run_case<F: LossFloat>(case: &Case, layout: Layout, rep: &mut Report) {
    let prec = if std::mem::size_of::<F>() == 8 {
        "f64"
    } else {
        "f32"
    };
    rep.ctx = format!("{} [{prec}, {layout:?}]", case.name);
    let junk = F::from_f64_(f64::NAN);
    let x = Laid::new(&case.logits.mapv(F::from_f64_), layout, junk);
    let tgt_idx = case
        .targets
        .as_ref()
        .map(|t| Laid::new(t, layout, usize::MAX - 1));
    let tgt_prob = case
        .probs
        .as_ref()
        .map(|t| Laid::new(&t.mapv(F::from_f64_), layout, junk));
    let up = Laid::new(&case.upstream.mapv(F::from_f64_), layout, junk);
    let tgt = || match (&tgt_idx, &tgt_prob) {
        (Some(t), None) => Tgt::Index(t.view()),
        (None, Some(t)) => Tgt::Probs(t.view()),
        _ => panic!("{}: exactly one of targets / probs", case.name),
    };
    let xv = x.view();
    let xv = &xv;

    match rep.guard("forward", || {
        call!(&case.loss, tgt(), |l, t| l.forward(xv, t))
    }) {
        Some(Ok(v)) => rep.scalar("forward", v, case.loss_want),
        Some(Err(e)) => rep.error("forward", e),
        None => {}
    }

    match rep.guard("forward_backward", || {
        call!(&case.loss, tgt(), |l, t| l.forward_backward(xv, t))
    }) {
        Some(Ok((v, g))) => {
            rep.scalar("forward_backward loss", v, case.loss_want);
            rep.array("forward_backward grad", g.view(), &case.grad_want);
        }
        Some(Err(e)) => rep.error("forward_backward", e),
        None => {}
    }

    // The buffer starts full of junk: every element must be overwritten.
    let filler = ArrayD::from_elem(case.logits.raw_dim(), F::from_f64_(123.5));
    let mut buf = Laid::new(&filler, layout, junk);
    let mut gv = buf.view_mut();
    match rep.guard("forward_backward_into", || {
        call!(&case.loss, tgt(), |l, t| l
            .forward_backward_into(xv, t, &mut gv))
    }) {
        Some(Ok(v)) => {
            rep.scalar("forward_backward_into loss", v, case.loss_want);
            rep.array("forward_backward_into grad", gv.view(), &case.grad_want);
        }
        Some(Err(e)) => rep.error("forward_backward_into", e),
        None => {}
    }

    match rep.guard("per_target", || {
        call!(&case.loss, tgt(), |l, t| l.per_target(xv, t))
    }) {
        Some(Ok(p)) => rep.array("per_target", p.view(), &case.per_want),
        Some(Err(e)) => rep.error("per_target", e),
        None => {}
    }

    let uv = up.view();
    match rep.guard("per_target_backward", || {
        call!(&case.loss, tgt(), |l, t| l.per_target_backward(xv, t, &uv))
    }) {
        Some(Ok(g)) => rep.array("per_target_backward", g.view(), &case.ptb_want),
        Some(Err(e)) => rep.error("per_target_backward", e),
        None => {}
    }
}

fn run_all<F: LossFloat>(layout: Layout) {
    let cases = cases();
    assert!(!cases.is_empty());
    let mut rep = Report {
        ctx: String::new(),
        fails: Vec::new(),
    };
    for case in &cases {
        run_case::<F>(case, layout, &mut rep);
    }
    if !rep.fails.is_empty() {
        let n = rep.fails.len();
        let shown: Vec<&str> = rep.fails.iter().take(80).map(String::as_str).collect();
        panic!(
            "{n} golden mismatch(es) over {} cases:\n{}{}",
            cases.len(),
            shown.join("\n"),
            if n > 80 { "\n..." } else { "" }
        );
    }
}

#[test]
fn golden_f64_standard() {
    run_all::<f64>(Layout::Standard);
}

#[test]
fn golden_f64_permuted() {
    run_all::<f64>(Layout::Permuted);
}

#[test]
fn golden_f64_strided() {
    run_all::<f64>(Layout::Strided);
}

#[test]
fn golden_f32_standard() {
    run_all::<f32>(Layout::Standard);
}

#[test]
fn golden_f32_permuted() {
    run_all::<f32>(Layout::Permuted);
}

#[test]
fn golden_f32_strided() {
    run_all::<f32>(Layout::Strided);
}

/// The fixture covers what the golden suite promises; a regenerated fixture
/// that silently dropped a family of cases fails here.
#[test]
fn fixture_coverage() {
    let fx = common::fixture(FIXTURE);
    let list = fx.as_array().expect("a list of cases");
    let mut seen = BTreeSet::new();
    let mut max_abs: f64 = 0.0;
    let mut classes = BTreeSet::new();
    for c in list {
        let kind = c["loss"].as_str().expect("loss").to_string();
        let p = &c["params"];
        let shape = common::array_f64(&c["inputs"]["logits"]).shape().to_vec();
        classes.insert(shape[1]);
        if kind != "nll" {
            let x = common::array_f64(&c["inputs"]["logits"]);
            max_abs = x.iter().fold(max_abs, |m, v| m.max(v.abs()));
        }
        let red = p["reduction"].as_str().expect("reduction").to_string();
        seen.insert(format!("{kind} reduction {red}"));
        seen.insert(format!("{kind} ndim {}", shape.len()));
        if !p["weight"].is_null() {
            seen.insert(format!("{kind} weight"));
        }
        if !p["ignore_index"].is_null() {
            seen.insert(format!("{kind} ignore"));
        }
        if common::num(&p["label_smoothing"]) > 0.0 {
            seen.insert(format!("{kind} smoothing"));
        }
        if !c["inputs"]["probs"].is_null() {
            seen.insert(format!("{kind} probs"));
        }
        match &p["alpha"] {
            Value::Array(_) => {
                seen.insert("focal alpha vector".to_string());
            }
            Value::Number(_) => {
                seen.insert("focal alpha scalar".to_string());
            }
            _ => {}
        }
        if kind == "focal" {
            seen.insert(format!("focal gamma {}", common::num(&p["gamma"])));
        }
    }
    let mut want: Vec<String> = Vec::new();
    for kind in ["nll", "ce", "focal"] {
        for red in ["sum", "mean", "weighted_mean"] {
            want.push(format!("{kind} reduction {red}"));
        }
        for nd in [2, 3, 4] {
            want.push(format!("{kind} ndim {nd}"));
        }
        want.push(format!("{kind} ignore"));
    }
    for w in [
        "nll weight",
        "ce weight",
        "ce smoothing",
        "ce probs",
        "focal smoothing",
        "focal probs",
        "focal alpha vector",
        "focal alpha scalar",
        "focal gamma 0",
        "focal gamma 0.5",
        "focal gamma 1",
        "focal gamma 2",
        "focal gamma 5",
    ] {
        want.push(w.to_string());
    }
    let missing: Vec<&String> = want.iter().filter(|w| !seen.contains(*w)).collect();
    assert!(missing.is_empty(), "fixture lacks: {missing:?}");
    assert!(max_abs >= 45.0, "largest |logit| is only {max_abs}");
    assert!(
        classes.contains(&2) && classes.contains(&10),
        "C: {classes:?}"
    );
}

// ------------------------------------------------------- documented edges

/// Every softmax-family loss with the given reduction, ignore index 255,
/// for 3 classes (weights and alpha deliberately not uniform).
fn edge_losses(red: Reduction) -> Vec<(&'static str, Loss)> {
    vec![
        (
            "nll",
            Loss::Nll(
                NllLoss::new()
                    .with_weight([0.5, 2.0, 1.0])
                    .expect("weight")
                    .with_ignore_index(255)
                    .with_reduction(red),
            ),
        ),
        (
            "ce",
            Loss::Ce(
                CrossEntropyLoss::new()
                    .with_weight([0.5, 2.0, 1.0])
                    .expect("weight")
                    .with_label_smoothing(0.125)
                    .expect("eps")
                    .with_ignore_index(255)
                    .with_reduction(red),
            ),
        ),
        (
            "focal",
            Loss::Focal(
                FocalLoss::new(0.5)
                    .expect("gamma")
                    .with_alpha([0.5, 2.0, 1.0])
                    .expect("alpha")
                    .with_ignore_index(255)
                    .with_reduction(red),
            ),
        ),
        (
            "focal smoothed",
            Loss::Focal(
                FocalLoss::new(2.0)
                    .expect("gamma")
                    .with_label_smoothing(0.25)
                    .expect("eps")
                    .with_ignore_index(255)
                    .with_reduction(red),
            ),
        ),
    ]
}

const ALL_REDUCTIONS: [Reduction; 3] = [Reduction::Sum, Reduction::Mean, Reduction::WeightedMean];

/// Asserts loss 0, a gradient of exact zeros (the buffer starting as junk),
/// and per-target zeros, for index targets `t` on logits `x`.
fn assert_zero_everywhere<F: LossFloat>(ctx: &str, loss: &Loss, x: &ArrayD<F>, t: &ArrayD<usize>) {
    let tv = || Tgt::<F>::Index(t.view());
    let v = call!(loss, tv(), |l, t| l.forward(x, t)).expect(ctx);
    assert!(v == F::zero(), "{ctx}: forward = {v}, want 0");
    let (v, g) = call!(loss, tv(), |l, t| l.forward_backward(x, t)).expect(ctx);
    assert!(v == F::zero(), "{ctx}: forward_backward loss = {v}, want 0");
    assert_eq!(g.shape(), x.shape(), "{ctx}");
    for (i, gi) in g.indexed_iter() {
        assert!(*gi == F::zero(), "{ctx}: grad at {:?} = {gi}", i.slice());
    }
    let mut buf = ArrayD::from_elem(x.raw_dim(), F::from_f64_(123.5));
    let v = call!(loss, tv(), |l, t| l.forward_backward_into(x, t, &mut buf)).expect(ctx);
    assert!(
        v == F::zero(),
        "{ctx}: forward_backward_into loss = {v}, want 0"
    );
    for (i, gi) in buf.indexed_iter() {
        assert!(
            *gi == F::zero(),
            "{ctx}: grad_into at {:?} = {gi}",
            i.slice()
        );
    }
    let per = call!(loss, tv(), |l, t| l.per_target(x, t)).expect(ctx);
    assert_eq!(per.shape(), t.shape(), "{ctx}");
    for (i, p) in per.indexed_iter() {
        assert!(
            *p == F::zero(),
            "{ctx}: per_target at {:?} = {p}",
            i.slice()
        );
    }
    let up = ArrayD::from_elem(t.raw_dim(), F::from_f64_(1.5));
    let g = call!(loss, tv(), |l, t| l.per_target_backward(x, t, &up)).expect(ctx);
    for (i, gi) in g.indexed_iter() {
        assert!(
            *gi == F::zero(),
            "{ctx}: per_target_backward at {:?} = {gi}",
            i.slice()
        );
    }
}

fn edge_all_precisions(ctx: &str, x: &ArrayD<f64>, t: &ArrayD<usize>) {
    for red in ALL_REDUCTIONS {
        for (name, loss) in edge_losses(red) {
            let c = format!("{ctx}, {name}, {red:?}");
            assert_zero_everywhere::<f64>(&format!("{c}, f64"), &loss, x, t);
            assert_zero_everywhere::<f32>(&format!("{c}, f32"), &loss, &x.mapv(|v| v as f32), t);
        }
    }
}

/// Our documented choice (DESIGN.md section 3), not a PyTorch value: an
/// empty batch gives loss 0 and a zero gradient for every reduction
/// (PyTorch's 'mean' gives NaN here).
#[test]
fn documented_empty_batch_gives_zero() {
    let x = ArrayD::<f64>::zeros(IxDyn(&[0, 3]));
    let t = ArrayD::<usize>::zeros(IxDyn(&[0]));
    edge_all_precisions("empty (0, 3)", &x, &t);
    // K-dim with no positions: (2, 3, 0).
    let x = ArrayD::<f64>::zeros(IxDyn(&[2, 3, 0]));
    let t = ArrayD::<usize>::zeros(IxDyn(&[2, 0]));
    edge_all_precisions("empty (2, 3, 0)", &x, &t);
}

/// Our documented choice (DESIGN.md section 3), not a PyTorch value: when
/// every target is ignored the loss is 0 and the gradient 0 for every
/// reduction (PyTorch's 'mean' gives NaN here).
#[test]
fn documented_all_ignored_gives_zero() {
    let x = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![-0.5, -1.25, -2.0, -3.0, -0.125, -4.5])
        .expect("shape");
    let t = ArrayD::from_elem(IxDyn(&[2]), 255_usize);
    edge_all_precisions("all ignored (2, 3)", &x, &t);
    let x = ArrayD::from_shape_fn(IxDyn(&[2, 3, 2]), |i| {
        -0.25 * (1 + i[0] + 2 * i[1] + i[2]) as f64
    });
    let t = ArrayD::from_elem(IxDyn(&[2, 2]), 255_usize);
    edge_all_precisions("all ignored (2, 3, 2)", &x, &t);
}

/// Our documented choice: a `WeightedMean` whose weights sum to zero over
/// the batch (every target's class has weight 0) gives loss 0 and a zero
/// gradient, not NaN.
#[test]
fn documented_zero_weight_sum_gives_zero() {
    let x = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0.5, -1.0, 2.0, 1.5, 0.25, -0.75])
        .expect("shape");
    let t = ArrayD::from_shape_vec(IxDyn(&[2]), vec![1_usize, 1]).expect("shape");
    let w = [1.0, 0.0, 2.0];
    let losses = [
        (
            "nll",
            Loss::Nll(
                NllLoss::new()
                    .with_weight(w)
                    .expect("weight")
                    .with_reduction(Reduction::WeightedMean),
            ),
        ),
        (
            "ce",
            Loss::Ce(
                CrossEntropyLoss::new()
                    .with_weight(w)
                    .expect("weight")
                    .with_reduction(Reduction::WeightedMean),
            ),
        ),
        (
            "focal",
            Loss::Focal(
                FocalLoss::new(2.0)
                    .expect("gamma")
                    .with_alpha(w)
                    .expect("alpha")
                    .with_reduction(Reduction::WeightedMean),
            ),
        ),
    ];
    for (name, loss) in &losses {
        assert_zero_everywhere::<f64>(&format!("zero weight sum, {name}, f64"), loss, &x, &t);
        let x32 = x.mapv(|v| v as f32);
        assert_zero_everywhere::<f32>(&format!("zero weight sum, {name}, f32"), loss, &x32, &t);
    }
}
