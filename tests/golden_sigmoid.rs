//! Golden tests: `SigmoidFocalLoss` and `BceWithLogitsLoss` against
//! torchvision `ops.sigmoid_focal_loss`, PyTorch
//! `binary_cross_entropy_with_logits`, and a stable float64 torch expression
//! of the documented formula (per-class alpha, pos_weight with focal, label
//! smoothing, ignore mask, large and extreme logits).
//!
//! Values in tests/fixtures/sigmoid.json come from
//! `/tmp/ref/bin/python scripts/gen_sigmoid_fixtures.py`. Every case is
//! checked through all five methods, in f64 (`1e-12 + 1e-10 |b|`) and, where
//! its inputs are exact in f32, in f32 (`1e-6 + 1e-5 |b|`).

mod common;

use common::{array_f64, assert_all_close_f32, assert_all_close_f64, close_f32, close_f64};
use focal_loss::{
    BceWithLogitsLoss, BinaryTargets, LossError, LossFloat, Masked, Reduction, SigmoidFocalLoss,
};
use ndarray::{Array, ArrayD, IxDyn, ShapeBuilder};
use serde_json::Value;

/// Either loss, configured from a fixture case.
#[derive(Debug, Clone)]
enum Loss {
    Focal(SigmoidFocalLoss),
    Bce(BceWithLogitsLoss),
}

fn opt_vec(v: &Value) -> Option<Vec<f64>> {
    v.as_array().map(|_| common::nums(v))
}

impl Loss {
    fn from_case(c: &Value) -> Loss {
        match c["loss_type"].as_str().expect("loss_type") {
            "focal" => {
                let mut l = SigmoidFocalLoss::new(common::num(&c["gamma"])).expect("gamma");
                match &c["alpha"] {
                    Value::Null => {}
                    Value::Array(_) => l = l.with_alpha(common::nums(&c["alpha"])).expect("alpha"),
                    a => l = l.with_alpha_scalar(common::num(a)).expect("alpha"),
                }
                if let Some(pw) = opt_vec(&c["pos_weight"]) {
                    l = l.with_pos_weight(pw).expect("pos_weight");
                }
                l = l
                    .with_label_smoothing(common::num(&c["label_smoothing"]))
                    .expect("eps");
                assert!(c["weight"].is_null(), "focal has no weight");
                Loss::Focal(l)
            }
            "bce" => {
                let mut l = BceWithLogitsLoss::new();
                if let Some(w) = opt_vec(&c["weight"]) {
                    l = l.with_weight(w).expect("weight");
                }
                if let Some(pw) = opt_vec(&c["pos_weight"]) {
                    l = l.with_pos_weight(pw).expect("pos_weight");
                }
                Loss::Bce(l)
            }
            other => panic!("unknown loss {other}"),
        }
    }

    fn with_reduction(&self, r: Reduction) -> Loss {
        match self {
            Loss::Focal(l) => Loss::Focal(l.clone().with_reduction(r)),
            Loss::Bce(l) => Loss::Bce(l.clone().with_reduction(r)),
        }
    }
}

/// Dispatches one method call to whichever loss `$loss` holds.
macro_rules! call {
    ($loss:expr, $method:ident($($arg:expr),*)) => {
        match $loss {
            Loss::Focal(l) => l.$method($($arg),*),
            Loss::Bce(l) => l.$method($($arg),*),
        }
    };
}

const REDUCTIONS: [(&str, Reduction); 3] = [
    ("sum", Reduction::Sum),
    ("mean", Reduction::Mean),
    ("weighted_mean", Reduction::WeightedMean),
];

/// The same array in column-major (Fortran) layout: a non-contiguous
/// row-major view path through every method.
fn fortran<F: Clone>(a: &ArrayD<F>) -> ArrayD<F> {
    let mut f = Array::from_elem(IxDyn(a.shape()).f(), a.first().cloned().expect("non-empty"));
    f.assign(a);
    f
}

/// A precision: how to convert fixture values in and compare results.
trait Prec: LossFloat {
    fn conv(a: &ArrayD<f64>) -> ArrayD<Self>;
    fn close(a: Self, b: f64) -> bool;
    fn all_close(ctx: &str, got: &ArrayD<Self>, want: &ArrayD<f64>);
}

impl Prec for f64 {
    fn conv(a: &ArrayD<f64>) -> ArrayD<f64> {
        a.clone()
    }
    fn close(a: f64, b: f64) -> bool {
        close_f64(a, b)
    }
    fn all_close(ctx: &str, got: &ArrayD<f64>, want: &ArrayD<f64>) {
        assert_all_close_f64(ctx, got, want);
    }
}

impl Prec for f32 {
    fn conv(a: &ArrayD<f64>) -> ArrayD<f32> {
        // The fixture's inputs are exact in f32; serde_json (without its
        // `float_roundtrip` feature) may parse them 1 ulp (f64) off, which
        // rounding to f32 removes.
        a.mapv(|v| {
            let r = v as f32;
            let exact = (f64::from(r) - v).abs() <= 4.0 * f64::EPSILON * v.abs();
            assert!(exact || v.is_nan(), "{v} is not exact in f32");
            r
        })
    }
    fn close(a: f32, b: f64) -> bool {
        close_f32(a, b)
    }
    fn all_close(ctx: &str, got: &ArrayD<f32>, want: &ArrayD<f64>) {
        assert_all_close_f32(ctx, got, want);
    }
}

/// Checks all five methods of `loss` on one case, in precision `F`.
fn check<F: Prec, T: BinaryTargets<F>>(ctx: &str, loss: &Loss, c: &Value, x: &ArrayD<F>, t: &T) {
    let per = call!(loss, per_target(x, t)).expect("per_target");
    F::all_close(
        &format!("{ctx} per_target"),
        &per,
        &array_f64(&c["per_target"]),
    );
    let up = F::conv(&array_f64(&c["upstream"]));
    let vjp = call!(loss, per_target_backward(x, t, &up)).expect("per_target_backward");
    F::all_close(&format!("{ctx} vjp"), &vjp, &array_f64(&c["vjp"]));
    for (name, red) in REDUCTIONS {
        let l = loss.with_reduction(red);
        let want = common::num(&c["loss"][name]);
        let want_grad = array_f64(&c["grad"][name]);
        let got = call!(&l, forward(x, t)).expect("forward");
        assert!(F::close(got, want), "{ctx} {name}: forward {got} vs {want}");
        let (got, grad) = call!(&l, forward_backward(x, t)).expect("forward_backward");
        assert!(
            F::close(got, want),
            "{ctx} {name}: forward_backward {got} vs {want}"
        );
        F::all_close(&format!("{ctx} {name} grad"), &grad, &want_grad);
        // Into a buffer full of NaN (every element must be overwritten)...
        let mut buf = ArrayD::from_elem(IxDyn(x.shape()), F::nan());
        let got = call!(&l, forward_backward_into(x, t, &mut buf)).expect("into");
        assert!(F::close(got, want), "{ctx} {name}: into {got} vs {want}");
        F::all_close(&format!("{ctx} {name} into"), &buf, &want_grad);
        // ... and into a non-contiguous buffer, from non-contiguous logits.
        let xf = fortran(x);
        let mut buf = fortran(&buf.mapv(|_| F::nan()));
        let got = call!(&l, forward_backward_into(&xf, t, &mut buf)).expect("into (F)");
        assert!(F::close(got, want), "{ctx} {name}: F-order {got} vs {want}");
        F::all_close(&format!("{ctx} {name} F-order"), &buf, &want_grad);
    }
}

/// Runs [`check`] with the case's targets, masked when it has a mask.
fn check_case<F: Prec>(c: &Value) {
    let name = c["name"].as_str().expect("name");
    let ctx = format!("{name} ({})", std::any::type_name::<F>());
    let loss = Loss::from_case(c);
    let x = F::conv(&array_f64(&c["logits"]));
    let y = F::conv(&array_f64(&c["targets"]));
    match &c["ignore"] {
        Value::Null => check(&ctx, &loss, c, &x, &y),
        m => {
            let mask = array_f64(m).mapv(|v| v != 0.0);
            check(
                &ctx,
                &loss,
                c,
                &x,
                &Masked {
                    targets: &y,
                    ignore: &mask,
                },
            );
            // The mask in a different layout than the targets.
            let mask_f = fortran(&mask);
            check(
                &ctx,
                &loss,
                c,
                &x,
                &Masked {
                    targets: &y,
                    ignore: &mask_f,
                },
            );
        }
    }
}

fn cases() -> Vec<Value> {
    let doc = common::fixture("sigmoid.json");
    doc["cases"].as_array().expect("cases").clone()
}

fn source(c: &Value) -> &str {
    c["source"].as_str().expect("source")
}

#[test]
fn torchvision_sigmoid_focal_loss_f64_and_f32() {
    let cs: Vec<_> = cases()
        .into_iter()
        .filter(|c| source(c) == "torchvision")
        .collect();
    assert_eq!(cs.len(), 4);
    for c in &cs {
        check_case::<f64>(c);
        check_case::<f32>(c);
    }
}

#[test]
fn torch_bce_with_logits_weight_pos_weight_f64_and_f32() {
    let cs: Vec<_> = cases()
        .into_iter()
        .filter(|c| source(c) == "torch_bce")
        .collect();
    assert_eq!(cs.len(), 4);
    for c in &cs {
        check_case::<f64>(c);
        check_case::<f32>(c);
    }
}

/// Per-class alpha, pos_weight with focal, label smoothing, ignore mask,
/// large and extreme logits: against the float64 torch formula.
#[test]
fn formula_cases_f64_and_f32() {
    let cs: Vec<_> = cases()
        .into_iter()
        .filter(|c| source(c) == "formula")
        .collect();
    assert_eq!(cs.len(), 13);
    for c in &cs {
        check_case::<f64>(c);
        if c["f32"].as_bool().expect("f32") {
            check_case::<f32>(c);
        }
    }
}

/// Where `p_t → 1` with `0 < gamma < 1`, torchvision's gradient is NaN (and
/// its `1 - p_t` loses digits); ours is finite and matches the stable
/// reference (checked in full by `formula_cases_f64_and_f32`).
#[test]
fn finite_where_torchvision_gives_nan() {
    let cs: Vec<_> = cases()
        .into_iter()
        .filter(|c| !c["torchvision_sum"].is_null())
        .collect();
    assert_eq!(cs.len(), 2);
    for c in &cs {
        let tv = array_f64(&c["torchvision_sum"]["grad"]);
        assert!(tv.iter().any(|g| g.is_nan()), "torchvision is finite here");
        let loss = Loss::from_case(c).with_reduction(Reduction::Sum);
        let x = array_f64(&c["logits"]);
        let y = array_f64(&c["targets"]);
        let (l, g) = call!(&loss, forward_backward(&x, &y)).expect("forward_backward");
        assert!(l.is_finite() && g.iter().all(|v| v.is_finite()));
        assert_all_close_f64("vs stable reference", &g, &array_f64(&c["grad"]["sum"]));
        let (l32, g32) = call!(
            &loss,
            forward_backward(&x.mapv(|v| v as f32), &y.mapv(|v| v as f32))
        )
        .expect("f32");
        assert!(l32.is_finite() && g32.iter().all(|v| v.is_finite()));
    }
}

/// Logits of ±1e4 (f32) and ±1e300 (f64), every gamma including
/// `0 < gamma < 1`, hard and soft targets, every option: loss, gradient,
/// per-element losses and VJP all finite.
#[test]
fn extreme_logits_give_finite_loss_and_gradient() {
    fn all_methods<F: LossFloat>(loss: &Loss, x: &ArrayD<F>, y: &ArrayD<F>) {
        let mask = y.mapv(|v| v == F::zero());
        let masked = Masked {
            targets: y,
            ignore: &mask,
        };
        for (_, red) in REDUCTIONS {
            let l = loss.with_reduction(red);
            let (v, g) = call!(&l, forward_backward(x, y)).expect("forward_backward");
            assert!(
                v.is_finite() && g.iter().all(|v| v.is_finite()),
                "{l:?} {x:?}"
            );
            let (v, g) = call!(&l, forward_backward(x, &masked)).expect("masked");
            assert!(
                v.is_finite() && g.iter().all(|v| v.is_finite()),
                "{l:?} {x:?}"
            );
        }
        let per = call!(loss, per_target(x, y)).expect("per_target");
        assert!(per.iter().all(|v| v.is_finite() && *v >= F::zero()));
        let vjp = call!(loss, per_target_backward(x, y, &x.mapv(|_| F::one()))).expect("vjp");
        assert!(vjp.iter().all(|v| v.is_finite()));
    }
    let ys = [0.0, 1.0, 0.5, 0.25, 0.0, 1.0];
    let losses = {
        let mut v = vec![];
        for gamma in [0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 2.0, 5.0] {
            let base = SigmoidFocalLoss::new(gamma).expect("gamma");
            v.push(Loss::Focal(base.clone()));
            v.push(Loss::Focal(
                base.with_alpha([0.25, 0.75])
                    .and_then(|l| l.with_pos_weight([3.0, 0.5]))
                    .and_then(|l| l.with_label_smoothing(0.1))
                    .expect("options"),
            ));
        }
        v.push(Loss::Bce(
            BceWithLogitsLoss::new()
                .with_weight([2.0, 0.5])
                .and_then(|l| l.with_pos_weight([3.0, 0.5]))
                .expect("options"),
        ));
        v
    };
    for big in [1e4_f64, 1e300] {
        let xs = [big, -big, big, -big, -big, big];
        let x = ArrayD::from_shape_vec(IxDyn(&[3, 2]), xs.to_vec()).expect("shape");
        let y = ArrayD::from_shape_vec(IxDyn(&[3, 2]), ys.to_vec()).expect("shape");
        for loss in &losses {
            all_methods(loss, &x, &y);
            if big == 1e4 {
                all_methods(loss, &x.mapv(|v| v as f32), &y.mapv(|v| v as f32));
            }
        }
    }
}

/// The masked cases hold `-1` at their ignored elements: without the mask
/// those targets are rejected, so the masked goldens really show that
/// ignored targets are never read.
#[test]
fn fixture_targets_outside_unit_interval_are_rejected_without_mask() {
    let c = cases()
        .into_iter()
        .find(|c| c["name"] == "focal_ignore_mask")
        .expect("case");
    let loss = Loss::from_case(&c);
    let x = array_f64(&c["logits"]);
    let y = array_f64(&c["targets"]);
    let err = call!(&loss, forward(&x, &y)).expect_err("garbage targets");
    assert!(matches!(err, LossError::InvalidTarget { value, .. } if value == -1.0));
}
