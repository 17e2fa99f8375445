//! `class_weight` and `metrics`: random hostile calls of every public
//! function (empty inputs, unknown labels, zero counts, NaN / inf /
//! negative / subnormal / huge sample weights and counts, invalid scheme
//! and policy parameters, duplicate classes, bad maps, subsample indices
//! out of range), checked against the same contract as the losses.
#![allow(dead_code)]

use super::check::{call, Called};
use super::rng::Rng;
use focal_loss::class_weight::{
    self, ClassWeight, Normalization, SampleClassWeight, Scheme, Weighting, ZeroFrequency, ENET_C,
};
use focal_loss::metrics::ConfusionMatrix;
use focal_loss::LossError;
use ndarray::{Array2, ShapeBuilder};
use std::collections::BTreeMap;

/// Where `Weighting` gets its counts.
#[derive(Debug, Clone)]
pub enum Input {
    Counts(Vec<f64>),
    Labels(Vec<usize>, usize),
    Classes(Vec<i64>, Vec<i64>, Option<Vec<f64>>),
}

/// One call.
#[derive(Debug, Clone)]
pub enum Op {
    Balanced(Vec<usize>, usize),
    Effective(Vec<usize>, usize, f64),
    Count(Vec<usize>, usize),
    Weighting(Scheme, ZeroFrequency, Normalization, Input),
    ClassWeight(ClassWeight<i64>, Vec<i64>, Vec<i64>, Option<Vec<f64>>),
    SampleWeight(SampleClassWeight<i64>, Vec<i64>, Option<Vec<usize>>),
    /// `y` is passed transposed-back when the flag is set (column-major view).
    SampleWeightMulti(
        SampleClassWeight<i64>,
        Array2<i64>,
        bool,
        Option<Vec<usize>>,
    ),
    PosWeight(Array2<f64>, ZeroFrequency),
    PosWeightInt(Array2<i32>, ZeroFrequency),
    Metrics(Vec<usize>, Vec<usize>, usize),
}

/// Numbers that stand in for hostile counts, weights and parameters.
const NASTY: [f64; 14] = [
    0.0,
    -0.0,
    1.0,
    3.0,
    0.5,
    1e-300,
    5e-324,
    1e300,
    f64::MAX,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    -1.0,
    1e-30,
];

fn nasty(rng: &mut Rng, p: f64) -> f64 {
    if rng.chance(p) {
        rng.pick(&NASTY)
    } else {
        rng.pick(&[1.0, 2.0, 0.5, 3.0, 0.0, 10.0])
    }
}

/// A class count; rarely one too large to allocate for (each such value
/// must overflow a size computation, which panics, rather than reach the
/// allocator, which would abort the test process).
fn n_classes(rng: &mut Rng) -> usize {
    if rng.chance(0.01) {
        return rng.pick(&[usize::MAX, 1 << 61]);
    }
    rng.pick(&[0, 1, 2, 3, 5, 8])
}

fn labels(rng: &mut Rng, k: usize) -> Vec<usize> {
    let n = rng.pick(&[0, 1, 2, 3, 5, 10, 20]);
    let bad = rng.chance(0.15);
    (0..n)
        .map(|_| {
            if (bad && rng.chance(0.2)) || k == 0 {
                rng.pick(&[k, k.wrapping_add(1), usize::MAX])
            } else {
                // Skewed, so that some classes are often empty.
                rng.below(k).min(rng.below(k))
            }
        })
        .collect()
}

fn zero_policy(rng: &mut Rng) -> ZeroFrequency {
    match rng.below(3) {
        0 => ZeroFrequency::Error,
        1 => ZeroFrequency::Fixed(nasty(rng, 0.4)),
        _ => ZeroFrequency::PseudoCount(nasty(rng, 0.4)),
    }
}

fn scheme(rng: &mut Rng) -> Scheme {
    match rng.below(6) {
        0 => Scheme::Balanced,
        1 => Scheme::InverseFrequency,
        2 => Scheme::InverseSqrtFrequency,
        3 => Scheme::EffectiveNumber {
            beta: rng.pick(&[
                0.0,
                0.5,
                0.9,
                0.999_999,
                1.0 - 1e-16,
                1.0,
                -0.1,
                f64::NAN,
                1e-300,
                5e-324,
            ]),
        },
        4 => Scheme::MedianFrequency,
        _ => Scheme::Enet {
            c: rng.pick(&[
                ENET_C,
                1.0,
                1.0 + 1e-15,
                2.0,
                1e300,
                f64::NAN,
                f64::INFINITY,
                0.5,
            ]),
        },
    }
}

fn i64_labels(rng: &mut Rng) -> (Vec<i64>, Vec<i64>) {
    let k = rng.pick(&[0, 1, 2, 3, 5]);
    let mut classes: Vec<i64> = (0..k).map(|c| c as i64 * 7 - 3).collect();
    if rng.chance(0.1) && k > 0 {
        classes.push(classes[0]); // duplicate
    }
    if rng.chance(0.2) {
        classes.reverse();
    }
    let n = rng.pick(&[0, 1, 3, 6, 12]);
    let y = (0..n)
        .map(|_| {
            if classes.is_empty() || rng.chance(0.05) {
                rng.pick(&[i64::MIN, 99, -1])
            } else {
                classes[rng.below(classes.len()).min(rng.below(classes.len()))]
            }
        })
        .collect();
    (classes, y)
}

fn sample_weights(rng: &mut Rng, n: usize) -> Option<Vec<f64>> {
    rng.chance(0.5).then(|| {
        let len = if rng.chance(0.05) { n + 1 } else { n };
        let p = rng.pick(&[0.0, 0.1, 0.5]);
        (0..len).map(|_| nasty(rng, p)).collect()
    })
}

fn custom_map(rng: &mut Rng, classes: &[i64]) -> BTreeMap<i64, f64> {
    let mut m = BTreeMap::new();
    for &c in classes {
        if !rng.chance(0.1) {
            m.insert(c, nasty(rng, 0.15));
        }
    }
    if rng.chance(0.1) {
        m.insert(1000, 1.0);
    }
    m
}

fn class_weight_of(rng: &mut Rng, classes: &[i64]) -> ClassWeight<i64> {
    match rng.below(3) {
        0 => ClassWeight::Uniform,
        1 => ClassWeight::Balanced,
        _ => ClassWeight::Custom(custom_map(rng, classes)),
    }
}

fn sample_class_weight(rng: &mut Rng, classes: &[i64], outputs: usize) -> SampleClassWeight<i64> {
    match rng.below(5) {
        0 => SampleClassWeight::Uniform,
        1 | 2 => SampleClassWeight::Balanced,
        3 => SampleClassWeight::Custom(custom_map(rng, classes)),
        _ => {
            let n = if rng.chance(0.8) {
                outputs
            } else {
                outputs + 1
            };
            SampleClassWeight::PerOutput((0..n).map(|_| class_weight_of(rng, classes)).collect())
        }
    }
}

fn indices(rng: &mut Rng, n: usize) -> Option<Vec<usize>> {
    rng.chance(0.3).then(|| {
        let m = rng.pick(&[0, 1, 3, 8]);
        (0..m)
            .map(|_| {
                if n == 0 || rng.chance(0.05) {
                    n + rng.below(3)
                } else {
                    rng.below(n)
                }
            })
            .collect()
    })
}

fn binary(rng: &mut Rng) -> Array2<f64> {
    let (r, c) = (rng.pick(&[0, 1, 2, 4, 7]), rng.pick(&[0, 1, 2, 3]));
    let bad = rng.chance(0.15);
    Array2::from_shape_fn((r, c), |_| {
        if bad && rng.chance(0.2) {
            rng.pick(&[0.5, 2.0, -1.0, f64::NAN, f64::INFINITY, -0.0])
        } else {
            rng.pick(&[0.0, 1.0, 0.0])
        }
    })
}

/// Draws one call.
pub fn draw(rng: &mut Rng) -> Op {
    match rng.below(11) {
        0 => {
            let k = n_classes(rng);
            Op::Balanced(labels(rng, k), k)
        }
        1 => {
            let k = n_classes(rng);
            let beta = rng.pick(&[0.0, 0.9, 0.99, 0.999_999, 1.0, f64::NAN, -0.5, 1e-300]);
            Op::Effective(labels(rng, k), k, beta)
        }
        2 => {
            let k = n_classes(rng);
            Op::Count(labels(rng, k), k)
        }
        3 | 4 => {
            let input = match rng.below(3) {
                0 => {
                    let n = rng.pick(&[0, 1, 2, 3, 5]);
                    let p = rng.pick(&[0.0, 0.3, 1.0]);
                    Input::Counts((0..n).map(|_| nasty(rng, p)).collect())
                }
                1 => {
                    let k = rng.pick(&[0, 1, 2, 3, 5]);
                    Input::Labels(labels(rng, k), k)
                }
                _ => {
                    let (classes, y) = i64_labels(rng);
                    let sw = sample_weights(rng, y.len());
                    Input::Classes(classes, y, sw)
                }
            };
            let norm = rng.pick(&[
                Normalization::None,
                Normalization::SumToK,
                Normalization::MeanOne,
            ]);
            Op::Weighting(scheme(rng), zero_policy(rng), norm, input)
        }
        5 => {
            let (classes, y) = i64_labels(rng);
            let sw = sample_weights(rng, y.len());
            Op::ClassWeight(class_weight_of(rng, &classes), classes, y, sw)
        }
        6 => {
            let (classes, y) = i64_labels(rng);
            let idx = indices(rng, y.len());
            Op::SampleWeight(sample_class_weight(rng, &classes, 1), y, idx)
        }
        7 => {
            let (classes, _) = i64_labels(rng);
            let (r, c) = (rng.pick(&[0, 1, 3, 6]), rng.pick(&[0, 1, 2, 3]));
            let y = Array2::from_shape_fn((r, c), |_| {
                if classes.is_empty() {
                    5
                } else {
                    classes[rng.below(classes.len())]
                }
            });
            let idx = indices(rng, r);
            let cw = sample_class_weight(rng, &classes, c);
            Op::SampleWeightMulti(cw, y, rng.chance(0.5), idx)
        }
        8 => Op::PosWeight(binary(rng), zero_policy(rng)),
        9 => Op::PosWeightInt(binary(rng).mapv(|v| v as i32), zero_policy(rng)),
        _ => {
            let k = n_classes(rng);
            let t = labels(rng, k);
            let mut p = labels(rng, k);
            if rng.chance(0.9) {
                p.resize(t.len(), 0);
            }
            Op::Metrics(t, p, k)
        }
    }
}

/// A column-major copy of `y`, with the same logical shape.
fn fortran<T: Clone>(y: &Array2<T>) -> Array2<T> {
    Array2::from_shape_vec(y.dim().f(), y.t().iter().cloned().collect())
        .expect("the length matches the shape")
}

/// What a call returned, reduced to numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Weights(Vec<f64>),
    Counts(Vec<usize>),
    Metrics(Vec<f64>),
}

fn metrics(t: &[usize], p: &[usize], k: usize) -> Result<Out, LossError> {
    let cm = ConfusionMatrix::new(t, p, k)?;
    let mut v = vec![
        cm.accuracy(),
        cm.balanced_accuracy(),
        cm.macro_precision(),
        cm.macro_recall(),
        cm.macro_f1(),
        cm.weighted_f1(),
    ];
    v.extend(cm.precision());
    v.extend(cm.recall());
    v.extend(cm.f1());
    let sums_ok = cm.total() == t.len()
        && cm.support().iter().sum::<usize>() == t.len()
        && cm.predicted().iter().sum::<usize>() == p.len()
        && cm.n_classes() == k
        && cm.counts().dim() == (k, k)
        && cm.true_positives().len() == k;
    v.push(if sums_ok { 1.0 } else { f64::NAN });
    Ok(Out::Metrics(v))
}

/// Runs one call.
pub fn run(op: &Op) -> Called<Out> {
    let w = |r: Result<Vec<f64>, LossError>| r.map(Out::Weights);
    call(|| match op {
        Op::Balanced(l, k) => w(class_weight::balanced(l, *k)),
        Op::Effective(l, k, b) => w(class_weight::effective_number(l, *k, *b)),
        Op::Count(l, k) => class_weight::count_labels(l, *k).map(Out::Counts),
        Op::Weighting(s, z, n, input) => {
            let wt = Weighting::new(*s)?
                .with_zero_frequency(*z)?
                .with_normalization(*n);
            w(match input {
                Input::Counts(c) => wt.from_counts(c),
                Input::Labels(l, k) => wt.from_labels(l, *k),
                Input::Classes(c, y, sw) => wt.from_classes(c, y, sw.as_deref()),
            })
        }
        Op::ClassWeight(cw, c, y, sw) => {
            w(class_weight::compute_class_weight(cw, c, y, sw.as_deref()))
        }
        Op::SampleWeight(cw, y, idx) => {
            w(class_weight::compute_sample_weight(cw, y, idx.as_deref()))
        }
        Op::SampleWeightMulti(cw, y, f, idx) => {
            let y = if *f { fortran(y) } else { y.clone() };
            w(class_weight::compute_sample_weight_multi(
                cw,
                &y,
                idx.as_deref(),
            ))
        }
        Op::PosWeight(y, z) => w(class_weight::pos_weight(&fortran(y), *z)),
        Op::PosWeightInt(y, z) => w(class_weight::pos_weight(y, *z)),
        Op::Metrics(t, p, k) => metrics(t, p, *k),
    })
}

pub use super::weights_oracle::check;
