//! Golden tests: `focal_loss::metrics` against scikit-learn 1.9.1.
//!
//! Values in tests/fixtures/metrics.json come from
//! `/tmp/ref/bin/python scripts/gen_metrics_fixtures.py` (labels=range(C),
//! zero_division="warn").

mod common;

use common::{close_f64, nums};
use focal_loss::metrics::ConfusionMatrix;
use focal_loss::LossError;
use proptest::prelude::*;
use serde_json::Value;

fn labels(v: &Value) -> Vec<usize> {
    common::array_usize(v).iter().copied().collect()
}

fn counts(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("count") as usize)
        .collect()
}

fn assert_vec_close(ctx: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{ctx}: length");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(close_f64(*a, *b), "{ctx}[{i}]: got {a:e}, want {b:e}");
    }
}

fn assert_close(ctx: &str, got: f64, want: f64) {
    assert!(close_f64(got, want), "{ctx}: got {got:e}, want {want:e}");
}

#[test]
fn metrics_match_sklearn() -> Result<(), LossError> {
    let fx = common::fixture("metrics.json");
    let cases = fx["cases"].as_array().expect("cases");
    assert!(cases.len() >= 9);
    for c in cases {
        let name = c["name"].as_str().expect("name");
        let n_classes = c["n_classes"].as_u64().expect("n_classes") as usize;
        let y_true = labels(&c["y_true"]);
        let y_pred = labels(&c["y_pred"]);
        let cm = ConfusionMatrix::new(&y_true, &y_pred, n_classes)?;

        let want_cm = common::array_usize(&c["confusion"]);
        assert_eq!(
            cm.counts().into_dyn(),
            want_cm.view(),
            "{name}: confusion matrix"
        );
        assert_eq!(cm.support(), counts(&c["support"]), "{name}: support");
        assert_eq!(cm.total(), y_true.len(), "{name}: total");

        assert_vec_close(
            &format!("{name} precision"),
            &cm.precision(),
            &nums(&c["precision"]),
        );
        assert_vec_close(&format!("{name} recall"), &cm.recall(), &nums(&c["recall"]));
        assert_vec_close(&format!("{name} f1"), &cm.f1(), &nums(&c["f1"]));

        let scalar = |k: &str| common::num(&c[k]);
        assert_close(
            &format!("{name} accuracy"),
            cm.accuracy(),
            scalar("accuracy"),
        );
        assert_close(
            &format!("{name} balanced_accuracy"),
            cm.balanced_accuracy(),
            scalar("balanced_accuracy"),
        );
        assert_close(
            &format!("{name} macro_precision"),
            cm.macro_precision(),
            scalar("macro_precision"),
        );
        assert_close(
            &format!("{name} macro_recall"),
            cm.macro_recall(),
            scalar("macro_recall"),
        );
        assert_close(
            &format!("{name} macro_f1"),
            cm.macro_f1(),
            scalar("macro_f1"),
        );
        assert_close(
            &format!("{name} weighted_f1"),
            cm.weighted_f1(),
            scalar("weighted_f1"),
        );
    }
    Ok(())
}

#[test]
fn fixture_covers_the_zero_division_cases() {
    let fx = common::fixture("metrics.json");
    let cases = fx["cases"].as_array().expect("cases");
    let names: Vec<&str> = cases.iter().filter_map(|c| c["name"].as_str()).collect();
    for needed in [
        "class_never_predicted",
        "class_absent_from_y_true",
        "labels_beyond_data",
    ] {
        assert!(names.contains(&needed), "missing case {needed}");
    }
}

#[test]
fn bad_input_is_an_error() {
    assert_eq!(
        ConfusionMatrix::new(&[0, 1, 2], &[0, 1], 3),
        Err(LossError::ShapeMismatch {
            what: "y_pred",
            expected: vec![3],
            actual: vec![2],
        })
    );
    assert_eq!(
        ConfusionMatrix::new(&[0, 4, 1], &[0, 1, 1], 3),
        Err(LossError::TargetOutOfRange {
            position: vec![1],
            target: 4,
            classes: 3,
        })
    );
    assert_eq!(
        ConfusionMatrix::new(&[0, 1, 1], &[0, 1, 3], 3),
        Err(LossError::TargetOutOfRange {
            position: vec![2],
            target: 3,
            classes: 3,
        })
    );
    assert_eq!(ConfusionMatrix::new(&[], &[], 0), Err(LossError::NoClasses));
}

fn pairs() -> impl Strategy<Value = (usize, Vec<(usize, usize)>)> {
    (1_usize..7).prop_flat_map(|c| (Just(c), prop::collection::vec((0..c, 0..c), 1..60)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Identities that hold for any labelling.
    #[test]
    fn invariants((c, pairs) in pairs()) {
        let (t, p): (Vec<usize>, Vec<usize>) = pairs.into_iter().unzip();
        let cm = ConfusionMatrix::new(&t, &p, c).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let n = t.len();
        prop_assert_eq!(cm.total(), n);
        prop_assert_eq!(cm.support().iter().sum::<usize>(), n);
        prop_assert_eq!(cm.predicted().iter().sum::<usize>(), n);
        let correct = t.iter().zip(&p).filter(|(a, b)| a == b).count();
        prop_assert!((cm.accuracy() - correct as f64 / n as f64).abs() <= 1e-15);
        // F1 is the harmonic mean of precision and recall where both are defined.
        for ((pr, re), f) in cm.precision().iter().zip(cm.recall()).zip(cm.f1()) {
            let h = if pr + re > 0.0 { 2.0 * pr * re / (pr + re) } else { 0.0 };
            prop_assert!((f - h).abs() <= 1e-12, "f1 {} vs harmonic {}", f, h);
        }
        // Every score is in [0, 1].
        for s in [cm.balanced_accuracy(), cm.macro_f1(), cm.weighted_f1(), cm.macro_recall()] {
            prop_assert!((0.0..=1.0).contains(&s));
        }
        // With every class present, balanced accuracy is the macro recall.
        if cm.support().iter().all(|&s| s > 0) {
            prop_assert!((cm.balanced_accuracy() - cm.macro_recall()).abs() <= 1e-15);
        }
    }
}
