//! Golden tests: `focal_loss::class_weight` against scikit-learn 1.9.1
//! (`compute_class_weight`, `compute_sample_weight`, every error they raise)
//! and against numpy implementations of the schemes beyond scikit-learn.
//!
//! Values in tests/fixtures/class_weight.json come from
//! `/tmp/ref/bin/python scripts/gen_class_weight_fixtures.py`.

mod common;

use std::collections::BTreeMap;
use std::fmt::Debug;

use common::{close_f64, num, nums};
use focal_loss::class_weight::{
    self, compute_class_weight, compute_sample_weight, compute_sample_weight_multi, pos_weight,
    ClassWeight, Normalization, SampleClassWeight, Scheme, Weighting, ZeroFrequency,
};
use focal_loss::LossError;
use ndarray::{Array2, Ix2};
use serde_json::Value;

fn cases<'a>(fx: &'a Value, key: &str) -> &'a Vec<Value> {
    fx[key].as_array().expect("cases")
}

fn name(case: &Value) -> String {
    case["name"].as_str().unwrap_or("?").to_string()
}

fn assert_vec_close(ctx: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{ctx}: length");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(close_f64(*a, *b), "{ctx}[{i}]: got {a:e}, want {b:e}");
    }
}

fn as_usize(v: &Value) -> usize {
    v.as_u64().expect("non-negative integer") as usize
}

fn int_label(v: &Value) -> i64 {
    v.as_i64().expect("int label")
}

fn str_label(v: &Value) -> String {
    v.as_str().expect("str label").to_string()
}

fn list<T>(v: &Value, f: impl Fn(&Value) -> T) -> Vec<T> {
    v.as_array().expect("list").iter().map(f).collect()
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().expect(key)
}

/// Checks `got` against the expected values, or the expected error kind
/// (and, where the fixture records them, the numbers the variant carries).
fn check(ctx: &str, case: &Value, got: Result<Vec<f64>, LossError>) {
    let err = &case["error"];
    if err.is_null() {
        match got {
            Ok(w) => assert_vec_close(ctx, &w, &nums(&case["expected"])),
            Err(e) => panic!("{ctx}: unexpected error {e}"),
        }
        return;
    }
    let kind = str_field(err, "kind");
    let e = match got {
        Err(e) => e,
        Ok(w) => panic!("{ctx}: want error {kind} ({}), got {w:?}", err["message"]),
    };
    let ok = match (&e, kind) {
        (LossError::LabelNotInClasses { label, position }, "label_not_in_classes") => {
            label == str_field(err, "label") && *position == vec![as_usize(&err["position"])]
        }
        (LossError::ClassNotInLabels { class, index }, "class_not_in_labels")
        | (LossError::ZeroClassWeight { class, index, .. }, "zero_class_weight") => {
            class == str_field(err, "class") && *index == as_usize(&err["index"])
        }
        (LossError::UnknownClassWeightKey { key, unlisted }, "unknown_class_weight_key") => {
            err.get("key").is_none()
                || (key == str_field(err, "key") && *unlisted == list(&err["unlisted"], str_label))
        }
        (
            LossError::DegenerateColumn {
                column,
                positives,
                samples,
            },
            "degenerate_column",
        ) => {
            *column == as_usize(&err["column"])
                && *positives == as_usize(&err["positives"])
                && *samples == as_usize(&err["samples"])
        }
        (LossError::ZeroTotalWeight { .. }, "zero_total_weight")
        | (LossError::SubsampleNeedsBalanced { .. }, "subsample_needs_balanced")
        | (LossError::NeedsPerOutputWeights { .. }, "needs_per_output_weights")
        | (LossError::PerOutputCount { .. }, "per_output_count")
        | (LossError::SubsampleIndexOutOfRange { .. }, "subsample_index_out_of_range")
        | (LossError::DuplicateClass { .. }, "duplicate_class")
        | (LossError::InvalidClassWeight { .. }, "invalid_class_weight") => true,
        (LossError::ShapeMismatch { what, .. }, "sample_weight_length") => *what == "sample_weight",
        (LossError::InvalidParameterEntry { name, .. }, "invalid_sample_weight") => {
            *name == "sample_weight"
        }
        _ => false,
    };
    assert!(ok, "{ctx}: want {kind} ({}), got {e:?}", err["message"]);
}

fn class_weight_spec<T: Ord>(case: &Value, parse: &impl Fn(&Value) -> T) -> ClassWeight<T> {
    match str_field(case, "mode") {
        "balanced" => ClassWeight::Balanced,
        "uniform" => ClassWeight::Uniform,
        "custom" => ClassWeight::Custom(
            list(&case["custom"], |p| (parse(&p[0]), num(&p[1])))
                .into_iter()
                .collect(),
        ),
        other => panic!("mode {other}"),
    }
}

fn run_class_weight<T: Ord + Debug>(ctx: &str, case: &Value, parse: impl Fn(&Value) -> T) {
    let classes = list(&case["classes"], &parse);
    let y = list(&case["y"], &parse);
    let sw = (!case["sample_weight"].is_null()).then(|| nums(&case["sample_weight"]));
    let cw = class_weight_spec(case, &parse);
    let got = compute_class_weight(&cw, &classes, &y, sw.as_deref());
    check(ctx, case, got);
    if cw == ClassWeight::Balanced {
        // The general recipe with its defaults is the same function.
        let again = Weighting::default().from_classes(&classes, &y, sw.as_deref());
        check(&format!("{ctx} (Weighting)"), case, again);
    }
}

#[test]
fn compute_class_weight_matches_sklearn() {
    let fx = common::fixture("class_weight.json");
    let all = cases(&fx, "compute_class_weight");
    assert!(all.len() >= 50);
    for case in all {
        let ctx = name(case);
        if str_field(case, "label_type") == "int" {
            run_class_weight(&format!("{ctx} i64"), case, int_label);
            let non_negative = |key: &str| list(&case[key], int_label).iter().all(|&v| v >= 0);
            if non_negative("classes") && non_negative("y") {
                run_class_weight(&format!("{ctx} usize"), case, as_usize);
            }
        } else {
            run_class_weight(&format!("{ctx} String"), case, str_label);
            // Every string of the case, owned here so the labels can borrow.
            let mut pool = list(&case["classes"], str_label);
            pool.extend(list(&case["y"], str_label));
            pool.extend(list(&case["custom"], |p| str_label(&p[0])));
            let labels: Vec<&str> = pool.iter().map(String::as_str).collect();
            run_class_weight(&format!("{ctx} &str"), case, |v| {
                let s = v.as_str().expect("str label");
                labels.iter().copied().find(|l| *l == s).expect("pooled")
            });
        }
    }
}

#[test]
fn balanced_convenience_matches_sklearn() -> Result<(), LossError> {
    // Cases whose classes are exactly 0..K, in order, without sample weights.
    let fx = common::fixture("class_weight.json");
    let mut checked = 0;
    for case in cases(&fx, "compute_class_weight") {
        if str_field(case, "label_type") != "int"
            || str_field(case, "mode") != "balanced"
            || !case["sample_weight"].is_null()
            || !case["error"].is_null()
        {
            continue;
        }
        let classes = list(&case["classes"], int_label);
        if classes.iter().enumerate().any(|(i, &c)| c != i as i64) {
            continue;
        }
        let y = list(&case["y"], as_usize);
        let w = class_weight::balanced(&y, classes.len())?;
        assert_vec_close(&name(case), &w, &nums(&case["expected"]));
        checked += 1;
    }
    assert!(checked >= 2, "{checked}");
    Ok(())
}

fn sample_spec<T: Ord>(spec: &Value, parse: &impl Fn(&Value) -> T) -> SampleClassWeight<T> {
    let map = |s: &Value| -> BTreeMap<T, f64> {
        list(&s["map"], |p| (parse(&p[0]), num(&p[1])))
            .into_iter()
            .collect()
    };
    let single = |s: &Value| match str_field(s, "kind") {
        "balanced" => ClassWeight::Balanced,
        "uniform" => ClassWeight::Uniform,
        "custom" => ClassWeight::Custom(map(s)),
        other => panic!("per-output entry {other}"),
    };
    match str_field(spec, "kind") {
        "per_output" => SampleClassWeight::PerOutput(list(&spec["list"], single)),
        _ => single(spec).into(),
    }
}

fn run_sample_weight<T: Ord + Debug + Clone>(ctx: &str, case: &Value, parse: impl Fn(&Value) -> T) {
    let spec = sample_spec(&case["spec"], &parse);
    let indices = (!case["indices"].is_null()).then(|| list(&case["indices"], as_usize));
    let rows = case["y"].as_array().expect("y");
    if case["multi"].as_bool().expect("multi") {
        let outputs = rows.first().map_or(0, |r| r.as_array().expect("row").len());
        let flat: Vec<T> = rows.iter().flat_map(|r| list(r, &parse)).collect();
        let y = Array2::from_shape_vec((rows.len(), outputs), flat).expect("rectangular y");
        check(
            ctx,
            case,
            compute_sample_weight_multi(&spec, &y, indices.as_deref()),
        );
    } else {
        let y = list(&case["y"], &parse);
        check(
            ctx,
            case,
            compute_sample_weight(&spec, &y, indices.as_deref()),
        );
        // A 1-D y is the single-output case of the multi-output function.
        let column = Array2::from_shape_vec((y.len(), 1), y.clone()).expect("column");
        let multi = compute_sample_weight_multi(&spec, &column, indices.as_deref());
        check(&format!("{ctx} as (n, 1)"), case, multi);
    }
}

#[test]
fn compute_sample_weight_matches_sklearn() {
    let fx = common::fixture("class_weight.json");
    let all = cases(&fx, "compute_sample_weight");
    assert!(all.len() >= 35);
    for case in all {
        let ctx = name(case);
        if str_field(case, "label_type") == "int" {
            run_sample_weight(&format!("{ctx} i64"), case, int_label);
        } else {
            run_sample_weight(&format!("{ctx} String"), case, str_label);
        }
    }
}

fn policy(v: &Value) -> ZeroFrequency {
    match v[0].as_str().expect("policy") {
        "error" => ZeroFrequency::Error,
        "fixed" => ZeroFrequency::Fixed(num(&v[1])),
        "pseudo_count" => ZeroFrequency::PseudoCount(num(&v[1])),
        other => panic!("policy {other}"),
    }
}

#[test]
fn zero_frequency_policies_match_sklearn_derivations() -> Result<(), LossError> {
    let fx = common::fixture("class_weight.json");
    for case in cases(&fx, "zero_frequency") {
        let ctx = name(case);
        let k = as_usize(&case["n_classes"]);
        let y = list(&case["y"], as_usize);
        let want = nums(&case["expected"]);
        let recipe = Weighting::default().with_zero_frequency(policy(&case["policy"]))?;
        let classes: Vec<usize> = (0..k).collect();
        if case["sample_weight"].is_null() {
            assert_vec_close(&ctx, &recipe.from_labels(&y, k)?, &want);
            let counts: Vec<f64> = class_weight::count_labels(&y, k)?
                .iter()
                .map(|&c| c as f64)
                .collect();
            assert_vec_close(
                &format!("{ctx} counts"),
                &recipe.from_counts(&counts)?,
                &want,
            );
            assert_vec_close(
                &format!("{ctx} classes"),
                &recipe.from_classes(&classes, &y, None)?,
                &want,
            );
        } else {
            let sw = nums(&case["sample_weight"]);
            let got = recipe.from_classes(&classes, &y, Some(&sw))?;
            assert_vec_close(&format!("{ctx} weighted"), &got, &want);
        }
    }
    Ok(())
}

fn scheme(name: &str, param: &Value) -> Scheme {
    match name {
        "balanced" => Scheme::Balanced,
        "inverse_frequency" => Scheme::InverseFrequency,
        "inverse_sqrt_frequency" => Scheme::InverseSqrtFrequency,
        "effective_number" => Scheme::EffectiveNumber { beta: num(param) },
        "median_frequency" => Scheme::MedianFrequency,
        "enet" => Scheme::Enet { c: num(param) },
        other => panic!("scheme {other}"),
    }
}

#[test]
fn schemes_match_numpy_references() -> Result<(), LossError> {
    let fx = common::fixture("class_weight.json");
    let all = cases(&fx, "schemes");
    assert!(all.len() >= 500);
    for case in all {
        let s = scheme(str_field(case, "scheme"), &case["param"]);
        let norm = match str_field(case, "normalization") {
            "none" => Normalization::None,
            "sum_to_k" => Normalization::SumToK,
            "mean_one" => Normalization::MeanOne,
            other => panic!("normalization {other}"),
        };
        let counts = nums(&case["counts"]);
        let ctx = format!("{s:?} {norm:?} {} {counts:?}", case["policy"]);
        let got = Weighting::new(s)?
            .with_zero_frequency(policy(&case["policy"]))?
            .with_normalization(norm)
            .from_counts(&counts)?;
        assert_vec_close(&ctx, &got, &nums(&case["expected"]));
    }
    Ok(())
}

#[test]
fn effective_number_matches_cui_et_al() -> Result<(), LossError> {
    let fx = common::fixture("class_weight.json");
    for case in cases(&fx, "effective_number") {
        let beta = num(&case["beta"]);
        let labels = list(&case["labels"], as_usize);
        let got = class_weight::effective_number(&labels, as_usize(&case["n_classes"]), beta)?;
        assert_vec_close(&format!("beta {beta}"), &got, &nums(&case["expected"]));
    }
    Ok(())
}

#[test]
fn pos_weight_matches_numpy() -> Result<(), LossError> {
    let fx = common::fixture("class_weight.json");
    for case in cases(&fx, "pos_weight") {
        let y = common::array_f64(&case["y"])
            .into_dimensionality::<Ix2>()
            .expect("2-D");
        let zero = policy(&case["policy"]);
        let ctx = format!("{} {zero:?}", name(case));
        check(&ctx, case, pos_weight(&y, zero));
        let y_u8 = y.mapv(|v| v as u8);
        check(&format!("{ctx} u8"), case, pos_weight(&y_u8, zero));
    }
    Ok(())
}
