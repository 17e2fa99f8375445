//! The perpetual adapter (feature `perpetual`): what it reports equals the
//! crate's own per-sample results, the curvature choices do what they say,
//! bad input is an error from `check` / `evaluate` (NaN through the trait,
//! which has no error channel), and a booster trains on it.
#![cfg(feature = "perpetual")]

use focal_loss::perpetual::{Curvature, PerpetualObjective};
use focal_loss::{BceWithLogitsLoss, LossError, Reduction, SigmoidFocalLoss};
use ndarray::Array1;
use perpetual::objective::{Objective, ObjectiveFunction};
use perpetual::{Matrix, PerpetualBooster};
use std::sync::Arc;

fn data() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let y: Vec<f64> = (0..40).map(|i| f64::from(u8::from(i % 5 == 0))).collect();
    let yhat: Vec<f64> = (0..40).map(|i| (i % 9) as f64 * 0.8 - 3.0).collect();
    let w: Vec<f64> = (0..40).map(|i| 0.5 + (i % 3) as f64 * 0.25).collect();
    (y, yhat, w)
}

#[test]
fn reports_the_crates_per_sample_values_times_weights() {
    let (y, yhat, w) = data();
    let focal = SigmoidFocalLoss::new(2.0)
        .and_then(|f| f.with_alpha_scalar(0.75))
        .expect("valid");
    let sum = focal.clone().with_reduction(Reduction::Sum);
    let (ya, xa) = (Array1::from(y.clone()), Array1::from(yhat.clone()));
    let (_, g, h) = sum.forward_grad_hess(&xa, &ya).expect("valid");
    let per = sum.per_target(&xa, &ya).expect("valid");
    let o = PerpetualObjective::new(focal, Curvature::Exact);
    let (l2, g2, h2) = o.evaluate(&y, &yhat, Some(&w)).expect("valid");
    for i in 0..y.len() {
        assert_eq!(l2[i], per[i] * w[i]);
        assert_eq!(g2[i], g[i] * w[i]);
        assert_eq!(h2[i], h[i] * w[i]);
    }
    let (gt, ht) = o.gradient(&y, &yhat, Some(&w), None);
    assert_eq!(gt, g2.iter().map(|&v| v as f32).collect::<Vec<_>>());
    assert_eq!(ht, Some(h2.iter().map(|&v| v as f32).collect()));
    assert_eq!(o.loss(&y, &yhat, Some(&w), None).len(), y.len());
}

#[test]
fn curvature_choices() {
    let (y, yhat, _) = data();
    let focal = SigmoidFocalLoss::new(2.0)
        .and_then(|f| f.with_pos_weight([2.0]))
        .expect("valid");
    let exact = PerpetualObjective::new(focal.clone(), Curvature::Exact).evaluate(&y, &yhat, None);
    let (_, g, h) = exact.expect("valid");
    assert!(
        h.iter().any(|&v| v < 0.0),
        "this data has negative exact curvature"
    );
    let floor =
        PerpetualObjective::new(focal.clone(), Curvature::Floor(1e-3)).evaluate(&y, &yhat, None);
    let (_, gf, hf) = floor.expect("valid");
    assert_eq!(g, gf);
    for (a, b) in h.iter().zip(&hf) {
        assert_eq!(*b, a.max(1e-3));
    }
    let ce = PerpetualObjective::new(focal, Curvature::CrossEntropy).evaluate(&y, &yhat, None);
    let (_, gc, hc) = ce.expect("valid");
    assert_eq!(g, gc);
    let bce = BceWithLogitsLoss::new()
        .with_pos_weight([2.0])
        .expect("valid")
        .with_reduction(Reduction::Sum);
    let (_, _, hb) = bce
        .forward_grad_hess(&Array1::from(yhat.clone()), &Array1::from(y.clone()))
        .expect("valid");
    for (a, b) in hc.iter().zip(hb.iter()) {
        assert!((a - b).abs() <= 1e-15 * b.abs() && *a > 0.0);
    }
}

#[test]
fn bad_input_is_an_error_or_nan() {
    let o = PerpetualObjective::new(BceWithLogitsLoss::new(), Curvature::Exact);
    assert!(matches!(
        o.check(&[0.0, 2.0], None),
        Err(LossError::InvalidTarget { .. })
    ));
    assert!(matches!(
        o.check(&[0.0], Some(&[-1.0])),
        Err(LossError::InvalidTarget { .. })
    ));
    assert!(matches!(
        o.check(&[0.0, 1.0], Some(&[1.0])),
        Err(LossError::ShapeMismatch {
            what: "sample_weight",
            ..
        })
    ));
    let (g, h) = o.gradient(&[0.0, 2.0], &[0.0, 0.0], None, None);
    assert!(g.iter().all(|v| v.is_nan()) && h.is_some_and(|h| h.iter().all(|v| v.is_nan())));
    let bad = PerpetualObjective::new(BceWithLogitsLoss::new(), Curvature::Floor(0.0));
    assert!(matches!(
        bad.check(&[0.0], None),
        Err(LossError::InvalidParameter { .. })
    ));
}

#[test]
fn a_booster_trains_on_focal_loss() {
    // One feature; the positives have larger values.
    let x: Vec<f64> = (0..200).map(|i| (i % 50) as f64 / 50.0).collect();
    let y: Vec<f64> = x.iter().map(|&v| f64::from(u8::from(v > 0.8))).collect();
    let focal = SigmoidFocalLoss::new(2.0).expect("valid");
    let objective = PerpetualObjective::new(focal, Curvature::CrossEntropy);
    objective.check(&y, None).expect("valid targets");
    let mut booster = PerpetualBooster::default()
        .set_objective(Objective::Custom(Arc::new(objective)))
        .set_budget(0.5);
    booster
        .fit(&Matrix::new(&x, 200, 1), &y, None, None)
        .expect("fit");
    let margins = booster.predict(&Matrix::new(&x, 200, 1), true);
    let correct = margins
        .iter()
        .zip(&y)
        .filter(|(m, t)| (**m >= 0.0) == (**t == 1.0))
        .count();
    assert!(correct >= 190, "{correct} of 200");
}
