//! Helpers shared by the integration tests: fixture loading and the
//! tolerance rules of the golden tests.
//!
//! Fixture arrays are JSON objects `{"shape": [..], "data": [..]}` with the
//! data flattened in row-major order. Values are written by the scripts in
//! `scripts/` with Python's `repr`, so `f64` values round-trip exactly.
#![allow(dead_code)]

use focal_loss::Reduction;
use ndarray::{ArrayD, IxDyn};
use serde_json::Value;

/// Reads `tests/fixtures/<name>` as JSON.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A JSON number, with the strings "inf", "-inf" and "nan" accepted too.
pub fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().expect("number"),
        Value::String(s) => match s.as_str() {
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            "nan" => f64::NAN,
            other => panic!("not a number: {other}"),
        },
        other => panic!("not a number: {other}"),
    }
}

/// A list of numbers.
pub fn nums(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(num).collect()
}

/// The `"shape"` of a fixture array.
fn shape_of(v: &Value) -> IxDyn {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dim") as usize)
        .collect();
    IxDyn(&shape)
}

/// `{"shape", "data"}` as an `f64` array.
pub fn array_f64(v: &Value) -> ArrayD<f64> {
    ArrayD::from_shape_vec(shape_of(v), nums(&v["data"])).expect("shape matches data")
}

/// `{"shape", "data"}` with JSON booleans as a `bool` array.
pub fn array_bool(v: &Value) -> ArrayD<bool> {
    let data = v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|b| b.as_bool().expect("bool"));
    ArrayD::from_shape_vec(shape_of(v), data.collect()).expect("shape matches data")
}

/// A fixture's reduction name as a [`Reduction`].
pub fn reduction(s: &str) -> Reduction {
    match s {
        "sum" => Reduction::Sum,
        "mean" => Reduction::Mean,
        "weighted_mean" => Reduction::WeightedMean,
        other => panic!("unknown reduction {other}"),
    }
}

/// `{"shape", "data"}` as a `usize` array.
pub fn array_usize(v: &Value) -> ArrayD<usize> {
    array_f64(v).mapv(|x| x as usize)
}

/// The f64 golden rule: `|a - b| <= 1e-12 + 1e-10 |b|`.
pub fn close_f64(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 + 1e-10 * b.abs()
}

/// The f32 golden rule: `|a - b| <= 1e-6 + 1e-5 |b|` (b the f64 reference).
pub fn close_f32(a: f32, b: f64) -> bool {
    (f64::from(a) - b).abs() <= 1e-6 + 1e-5 * b.abs()
}

/// Asserts every element is within the f64 rule; `ctx` names the case.
pub fn assert_all_close_f64(ctx: &str, got: &ArrayD<f64>, want: &ArrayD<f64>) {
    assert_eq!(got.shape(), want.shape(), "{ctx}: shape");
    for ((i, a), b) in got.indexed_iter().zip(want.iter()) {
        assert!(close_f64(*a, *b), "{ctx}: at {i:?} got {a:e}, want {b:e}");
    }
}

/// Asserts every element is within the f32 rule; `ctx` names the case.
pub fn assert_all_close_f32(ctx: &str, got: &ArrayD<f32>, want: &ArrayD<f64>) {
    assert_eq!(got.shape(), want.shape(), "{ctx}: shape");
    for ((i, a), b) in got.indexed_iter().zip(want.iter()) {
        assert!(close_f32(*a, *b), "{ctx}: at {i:?} got {a:e}, want {b:e}");
    }
}
