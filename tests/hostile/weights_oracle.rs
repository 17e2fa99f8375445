//! The oracle for `class_weight` and `metrics` calls: errors must be
//! explained by the input, inputs that are certainly bad must be rejected,
//! and accepted results must be finite, non-negative and satisfy the
//! documented identities.
#![allow(dead_code)]

use super::check::{close, same_f64, Stats};
use super::weights::{run, Input, Op, Out};
use focal_loss::class_weight::{
    self, ClassWeight, Normalization, SampleClassWeight, Scheme, Weighting, ZeroFrequency,
};
use focal_loss::LossError;
use std::collections::BTreeMap;
use std::fmt::Debug;

fn policy_ok(z: ZeroFrequency) -> bool {
    match z {
        ZeroFrequency::Fixed(w) => w.is_finite() && w >= 0.0,
        ZeroFrequency::PseudoCount(k) => k.is_finite() && k > 0.0,
        _ => true,
    }
}

fn scheme_ok(s: Scheme) -> bool {
    match s {
        Scheme::EffectiveNumber { beta } => (0.0..1.0).contains(&beta),
        Scheme::Enet { c } => c.is_finite() && c > 1.0,
        _ => true,
    }
}

fn labels_of(op: &Op) -> Option<(&[usize], usize)> {
    match op {
        Op::Balanced(l, k) | Op::Effective(l, k, _) | Op::Count(l, k) => Some((l, *k)),
        Op::Weighting(_, _, _, Input::Labels(l, k)) => Some((l, *k)),
        _ => None,
    }
}

/// `(classes, y, sample_weight)`.
type Classes<'a> = (&'a [i64], &'a [i64], Option<&'a [f64]>);

fn classes_of(op: &Op) -> Option<Classes<'_>> {
    match op {
        Op::Weighting(_, _, _, Input::Classes(c, y, sw)) | Op::ClassWeight(_, c, y, sw) => {
            Some((c, y, sw.as_deref()))
        }
        _ => None,
    }
}

fn custom(cw: &ClassWeight<i64>) -> Option<&BTreeMap<i64, f64>> {
    match cw {
        ClassWeight::Custom(m) => Some(m),
        _ => None,
    }
}

/// Every (custom map, classes it is applied to) pair of a call.
fn maps(op: &Op) -> Vec<(&BTreeMap<i64, f64>, Vec<i64>)> {
    let unique = |y: Vec<i64>| -> Vec<i64> {
        let mut y = y;
        y.sort_unstable();
        y.dedup();
        y
    };
    match op {
        Op::ClassWeight(ClassWeight::Custom(m), c, ..) => vec![(m, c.clone())],
        Op::SampleWeight(SampleClassWeight::Custom(m), y, _) => vec![(m, unique(y.clone()))],
        Op::SampleWeight(SampleClassWeight::PerOutput(l), y, _) => l
            .iter()
            .filter_map(custom)
            .map(|m| (m, unique(y.clone())))
            .collect(),
        Op::SampleWeightMulti(SampleClassWeight::Custom(m), y, ..) => y
            .columns()
            .into_iter()
            .map(|col| (m, unique(col.to_vec())))
            .collect(),
        Op::SampleWeightMulti(SampleClassWeight::PerOutput(l), y, ..) => l
            .iter()
            .zip(y.columns())
            .filter_map(|(cw, col)| Some((custom(cw)?, unique(col.to_vec()))))
            .collect(),
        _ => Vec::new(),
    }
}

fn dbg(v: impl Debug) -> String {
    format!("{v:?}")
}

/// Whether the error's claim holds for the input.
fn explains(op: &Op, e: &LossError) -> bool {
    let labels = labels_of(op);
    let classes = classes_of(op);
    match e {
        LossError::TargetOutOfRange {
            position,
            target,
            classes: k,
        } => match (op, labels) {
            (Op::Metrics(t, p, n), _) => {
                *k == *n
                    && target >= k
                    && position.len() == 1
                    && (t.get(position[0]) == Some(target) || p.get(position[0]) == Some(target))
            }
            (_, Some((l, n))) => {
                *k == n && target >= k && position.len() == 1 && l.get(position[0]) == Some(target)
            }
            _ => false,
        },
        LossError::ClassNotInLabels { class, index } => match (op, labels, classes) {
            (Op::Weighting(_, ZeroFrequency::Error, _, Input::Counts(c)), _, _) => {
                c.get(*index) == Some(&0.0) && *class == dbg(index)
            }
            (_, Some((l, k)), _) => *index < k && !l.contains(index) && *class == dbg(index),
            (_, _, Some((c, y, _))) => c
                .get(*index)
                .is_some_and(|cl| !y.contains(cl) && *class == dbg(cl)),
            _ => false,
        },
        LossError::ZeroTotalWeight { .. } => {
            let empty = match (op, labels, classes) {
                (Op::Weighting(_, _, _, Input::Counts(c)), _, _) => c.is_empty(),
                (_, Some((_, k)), _) => k == 0,
                (_, _, Some((c, _, _))) => c.is_empty(),
                _ => false,
            };
            let zero_sw =
                classes.is_some_and(|(_, _, sw)| sw.is_some_and(|s| s.iter().all(|&v| v == 0.0)));
            let subsample = matches!(op, Op::SampleWeight(..) | Op::SampleWeightMulti(..));
            empty || zero_sw || subsample
        }
        LossError::InvalidParameter { name, value, .. } => {
            let (s, z) = match op {
                Op::Weighting(s, z, _, _) => (Some(*s), Some(*z)),
                Op::Effective(_, _, b) => (Some(Scheme::EffectiveNumber { beta: *b }), None),
                Op::PosWeight(_, z) | Op::PosWeightInt(_, z) => (None, Some(*z)),
                _ => (None, None),
            };
            let huge_k = match op {
                Op::Balanced(_, k)
                | Op::Effective(_, k, _)
                | Op::Count(_, k)
                | Op::Metrics(_, _, k) => Some(*k),
                Op::Weighting(_, _, _, Input::Labels(_, k)) => Some(*k),
                _ => None,
            };
            if *name == "n_classes" {
                return huge_k.is_some_and(|k| k > 1 << 30 && *value == k as f64);
            }
            match (*name, s, z) {
                ("beta", Some(Scheme::EffectiveNumber { beta }), _) => {
                    !scheme_ok(Scheme::EffectiveNumber { beta }) && same_f64(beta, *value)
                }
                ("c", Some(Scheme::Enet { c }), _) => {
                    !scheme_ok(Scheme::Enet { c }) && same_f64(c, *value)
                }
                ("ZeroFrequency::Fixed", _, Some(ZeroFrequency::Fixed(w))) => {
                    !policy_ok(ZeroFrequency::Fixed(w)) && same_f64(w, *value)
                }
                ("ZeroFrequency::PseudoCount", _, Some(ZeroFrequency::PseudoCount(k))) => {
                    !policy_ok(ZeroFrequency::PseudoCount(k)) && same_f64(k, *value)
                }
                _ => false,
            }
        }
        LossError::InvalidParameterEntry {
            name, index, value, ..
        } => {
            let v = match (*name, op, classes) {
                ("counts", Op::Weighting(_, _, _, Input::Counts(c)), _) => c.get(*index),
                ("sample_weight", _, Some((_, _, Some(sw)))) => sw.get(*index),
                _ => None,
            };
            v.is_some_and(|&v| !(v.is_finite() && v >= 0.0) && same_f64(v, *value))
        }
        LossError::ShapeMismatch {
            what,
            expected,
            actual,
        } => match (*what, op, classes) {
            ("y_pred", Op::Metrics(t, p, _), _) => {
                *expected == [t.len()] && *actual == [p.len()] && t.len() != p.len()
            }
            ("sample_weight", _, Some((_, y, Some(sw)))) => {
                *expected == [y.len()] && *actual == [sw.len()] && y.len() != sw.len()
            }
            _ => false,
        },
        LossError::NonFiniteWeight { value, .. } => !value.is_finite(),
        LossError::NonFiniteSampleWeight { position, value } => match op {
            Op::SampleWeightMulti(_, y, ..) => *position < y.nrows() && !value.is_finite(),
            _ => false,
        },
        LossError::ZeroClassWeight { index, samples, .. } => classes.is_some_and(|(c, y, sw)| {
            let Some(cl) = c.get(*index) else {
                return false;
            };
            let of: Vec<usize> = (0..y.len()).filter(|&i| y[i] == *cl).collect();
            of.len() == *samples
                && *samples > 0
                && sw.is_some_and(|s| of.iter().all(|&i| s[i] == 0.0))
        }),
        LossError::LabelNotInClasses { label, position } => match (op, classes) {
            (_, Some((c, y, _))) => {
                position.len() == 1
                    && y.get(position[0])
                        .is_some_and(|l| !c.contains(l) && *label == dbg(l))
            }
            _ => false,
        },
        LossError::DuplicateClass {
            first,
            second,
            class,
        } => classes.is_some_and(|(c, _, _)| {
            first < second
                && c.get(*first)
                    .is_some_and(|a| c.get(*second) == Some(a) && *class == dbg(a))
        }),
        LossError::UnknownClassWeightKey { key, unlisted } => maps(op).iter().any(|(m, c)| {
            m.keys().any(|k| dbg(k) == *key && !c.contains(k))
                && !unlisted.is_empty()
                && unlisted
                    .iter()
                    .all(|u| c.iter().any(|cl| dbg(cl) == *u && !m.contains_key(cl)))
        }),
        LossError::InvalidClassWeight { value, .. } => !(value.is_finite() && *value >= 0.0),
        LossError::SubsampleNeedsBalanced { .. } => match op {
            Op::SampleWeight(cw, _, Some(_)) | Op::SampleWeightMulti(cw, _, _, Some(_)) => {
                *cw != SampleClassWeight::Balanced
            }
            _ => false,
        },
        LossError::NeedsPerOutputWeights { outputs, .. } => match op {
            Op::SampleWeightMulti(cw, y, ..) => {
                *outputs == y.ncols()
                    && *outputs > 1
                    && matches!(
                        cw,
                        SampleClassWeight::Uniform | SampleClassWeight::Custom(_)
                    )
            }
            _ => false,
        },
        LossError::PerOutputCount { outputs, entries } => match op {
            Op::SampleWeight(SampleClassWeight::PerOutput(l), ..) => {
                *outputs == 1 && *entries == l.len()
            }
            Op::SampleWeightMulti(SampleClassWeight::PerOutput(l), y, ..) => {
                *outputs == y.ncols()
                    && *entries == l.len()
                    && (*outputs == 1 || l.len() != *outputs)
            }
            _ => false,
        },
        LossError::SubsampleIndexOutOfRange {
            position,
            index,
            samples,
        } => match op {
            Op::SampleWeight(_, y, Some(ix)) => {
                *samples == y.len() && ix.get(*position) == Some(index) && index >= samples
            }
            Op::SampleWeightMulti(_, y, _, Some(ix)) => {
                *samples == y.nrows() && ix.get(*position) == Some(index) && index >= samples
            }
            _ => false,
        },
        LossError::InvalidTarget {
            position, value, ..
        } => {
            let v = match (op, position.as_slice()) {
                (Op::PosWeight(y, _), &[r, c]) => y.get((r, c)).copied(),
                (Op::PosWeightInt(y, _), &[r, c]) => y.get((r, c)).map(|&v| f64::from(v)),
                _ => None,
            };
            v.is_some_and(|v| v != 0.0 && v != 1.0 && same_f64(v, *value))
        }
        LossError::DegenerateColumn {
            column,
            positives,
            samples,
        } => {
            let col: Option<Vec<f64>> = match op {
                Op::PosWeight(y, ZeroFrequency::Error) => {
                    (*column < y.ncols()).then(|| y.column(*column).to_vec())
                }
                Op::PosWeightInt(y, ZeroFrequency::Error) => (*column < y.ncols())
                    .then(|| y.column(*column).iter().map(|&v| f64::from(v)).collect()),
                _ => None,
            };
            col.is_some_and(|c| {
                let pos = c.iter().filter(|&&v| v == 1.0).count();
                pos == *positives && c.len() == *samples && (pos == 0 || pos == *samples)
            })
        }
        LossError::NoClasses => matches!(op, Op::Metrics(_, _, 0)),
        _ => false,
    }
}

/// Inputs that certainly must be rejected.
fn must_fail(op: &Op) -> bool {
    let bad_labels = labels_of(op).is_some_and(|(l, k)| l.iter().any(|&v| v >= k));
    let bad_params = match op {
        Op::Weighting(s, z, _, input) => {
            !scheme_ok(*s)
                || !policy_ok(*z)
                || matches!(input, Input::Counts(c) if c.iter().any(|v| !(v.is_finite() && *v >= 0.0)))
        }
        Op::Effective(_, _, b) => !(0.0..1.0).contains(b),
        Op::PosWeight(_, z) | Op::PosWeightInt(_, z) => !policy_ok(*z),
        _ => false,
    };
    let bad_targets = match op {
        Op::PosWeight(y, _) => y.iter().any(|&v| v != 0.0 && v != 1.0),
        Op::PosWeightInt(y, _) => y.iter().any(|&v| v != 0 && v != 1),
        Op::Metrics(t, p, k) => *k == 0 || t.len() != p.len() || t.iter().chain(p).any(|v| v >= k),
        _ => false,
    };
    bad_labels || bad_params || bad_targets
}

/// Inputs that certainly must be accepted.
fn must_pass(op: &Op) -> bool {
    match op {
        // (A class count too large to allocate for may be rejected.)
        Op::Count(_, k) | Op::Metrics(_, _, k) => !must_fail(op) && *k <= 1 << 30,
        _ => false,
    }
}

fn expected_len(op: &Op) -> usize {
    match op {
        Op::Balanced(_, k) | Op::Effective(_, k, _) | Op::Count(_, k) => *k,
        Op::Weighting(_, _, _, Input::Counts(c)) => c.len(),
        Op::Weighting(_, _, _, Input::Labels(_, k)) => *k,
        Op::Weighting(_, _, _, Input::Classes(c, _, _)) | Op::ClassWeight(_, c, _, _) => c.len(),
        Op::SampleWeight(_, y, _) => y.len(),
        Op::SampleWeightMulti(_, y, _, _) => y.nrows(),
        Op::PosWeight(y, _) => y.ncols(),
        Op::PosWeightInt(y, _) => y.ncols(),
        Op::Metrics(..) => usize::MAX,
    }
}

/// The per-class counts a `Weighting` sees (before the policy).
fn counts(input: &Input) -> Vec<f64> {
    scaled_counts(input, None, 1.0)
}

/// The per-class counts a `Weighting` sees, after the policy `z` (if given),
/// with every count, sample weight and pseudo-count multiplied by `scale`.
fn scaled_counts(input: &Input, z: Option<ZeroFrequency>, scale: f64) -> Vec<f64> {
    let mut c: Vec<f64> = match input {
        Input::Counts(c) => c.iter().map(|&v| v * scale).collect(),
        Input::Labels(l, k) => (0..*k)
            .map(|c| l.iter().filter(|&&v| v == c).count() as f64 * scale)
            .collect(),
        Input::Classes(c, y, sw) => c
            .iter()
            .map(|cl| {
                (0..y.len())
                    .filter(|&i| y[i] == *cl)
                    .map(|i| sw.as_ref().map_or(1.0, |s| s[i]) * scale)
                    .sum()
            })
            .collect(),
    };
    if let Some(ZeroFrequency::PseudoCount(k)) = z {
        c.iter_mut().for_each(|x| *x += k * scale);
    }
    c
}

/// `x_i / Σ x` for every entry of `at(1)` (non-negative): the shares of the
/// classes (or samples) in the total count, `at(s)` computing the entries
/// from the input scaled by `s`. Where a sum overflows, the input is scaled
/// by `2^-16` instead: exact but for entries whose share is far below
/// `2^-1000` anyway.
fn shares(at: impl Fn(f64) -> Vec<f64>) -> Vec<f64> {
    let mut x = at(1.0);
    if !x.iter().sum::<f64>().is_finite() {
        x = at(0.5_f64.powi(16));
    }
    let n: f64 = x.iter().sum();
    x.iter().map(|&v| v / n).collect()
}

/// The documented identities of an accepted result.
fn identities(op: &Op, w: &[f64]) -> Result<(), String> {
    let rel = 1e-10;
    let check = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(format!("{what}: {w:?}"))
        }
    };
    match op {
        Op::Balanced(l, k) => {
            let n: f64 = (0..*k)
                .map(|c| l.iter().filter(|&&v| v == c).count() as f64 * w[c])
                .sum();
            check(close(n, l.len() as f64, rel), "balanced: Σ n_c w_c != n")?;
            let classes: Vec<usize> = (0..*k).collect();
            let sk = class_weight::compute_class_weight(&ClassWeight::Balanced, &classes, l, None);
            check(
                sk.as_deref() == Ok(w),
                "balanced != compute_class_weight(Balanced)",
            )
        }
        Op::Effective(..) => check(
            close(w.iter().sum(), w.len() as f64, rel),
            "effective: Σ w != K",
        ),
        Op::Weighting(s, z, norm, input) => {
            let c = scaled_counts(input, Some(*z), 1.0);
            let present: Vec<usize> = (0..c.len()).filter(|&i| c[i] > 0.0).collect();
            if let ZeroFrequency::Fixed(v) = z {
                check(
                    (0..c.len()).all(|i| c[i] > 0.0 || w[i] == *v),
                    "Fixed weight not kept",
                )?;
            }
            // Σ (n_c / n) w_c, so that subnormal counts keep their precision
            // and huge ones do not overflow.
            let share = shares(|scale| scaled_counts(input, Some(*z), scale));
            let cw: f64 = present.iter().map(|&i| share[i] * w[i]).sum();
            match (norm, s) {
                (Normalization::SumToK, _) if !present.is_empty() => {
                    let sum: f64 = present.iter().map(|&i| w[i]).sum();
                    check(close(sum, present.len() as f64, rel), "SumToK: Σ w != K'")?
                }
                (Normalization::MeanOne, _) | (Normalization::None, Scheme::Balanced)
                    if !present.is_empty() =>
                {
                    check(close(cw, 1.0, rel), "Σ n_c w_c != n")?
                }
                _ => {}
            }
            if let Input::Labels(..) = input {
                let wt = Weighting::new(*s).and_then(|x| x.with_zero_frequency(*z));
                let again = wt
                    .map(|x| x.with_normalization(*norm))
                    .and_then(|x| x.from_counts(&counts(input)));
                check(
                    again.as_deref() == Ok(w),
                    "from_labels != from_counts(count_labels)",
                )?;
            }
            Ok(())
        }
        Op::ClassWeight(cw, c, y, sw) => match cw {
            ClassWeight::Uniform => check(w.iter().all(|&v| v == 1.0), "Uniform != 1"),
            ClassWeight::Custom(m) => check(
                c.iter()
                    .zip(w)
                    .all(|(cl, &v)| m.get(cl).map_or(true, |&x| x == v)),
                "Custom weight not kept",
            ),
            ClassWeight::Balanced => {
                let s: Vec<f64> = (0..y.len())
                    .map(|i| sw.as_ref().map_or(1.0, |s| s[i]))
                    .collect();
                // Σ_i (s_i / Σ s) w[y_i] = 1, so that subnormal s_i keep
                // precision and huge ones do not overflow.
                let got: f64 = shares(|scale| s.iter().map(|&v| v * scale).collect())
                    .iter()
                    .zip(y)
                    .map(|(share, label)| {
                        share * c.iter().position(|cl| cl == label).map_or(0.0, |j| w[j])
                    })
                    .sum();
                check(close(got, 1.0, rel), "Balanced: Σ_i s_i w[y_i] != Σ s")
            }
        },
        Op::SampleWeight(SampleClassWeight::Balanced, y, None) => check(
            close(w.iter().sum(), y.len() as f64, rel),
            "Balanced sample weights: Σ != n",
        ),
        Op::SampleWeight(SampleClassWeight::Uniform, ..) => {
            check(w.iter().all(|&v| v == 1.0), "Uniform != 1")
        }
        _ => Ok(()),
    }
}

/// Checks one call; `Err` describes the violation.
pub fn check(op: &Op, stats: &mut Stats) -> Result<(), String> {
    stats.cases += 1;
    stats.calls += 1;
    let fail = |what: String| Err(format!("{what}\nop: {op:#?}"));
    match run(op) {
        Err(p) => fail(format!("panicked: {p}")),
        Ok(Err(e)) => {
            stats.error(&e);
            if !explains(op, &e) {
                return fail(format!("unexplained error {e:?}"));
            }
            if must_pass(op) {
                return fail(format!("valid input rejected with {e:?}"));
            }
            Ok(())
        }
        Ok(Ok(out)) => {
            stats.ok += 1;
            if must_fail(op) {
                return fail(format!("invalid input accepted: {out:?}"));
            }
            match out {
                Out::Weights(w) => {
                    if w.len() != expected_len(op)
                        || w.iter().any(|v| !(v.is_finite() && *v >= 0.0))
                    {
                        return fail(format!("bad weights {w:?}"));
                    }
                    identities(op, &w).or_else(fail)
                }
                Out::Counts(c) => match labels_of(op) {
                    Some((l, k)) if c.len() == k && c.iter().sum::<usize>() == l.len() => Ok(()),
                    _ => fail(format!("bad counts {c:?}")),
                },
                Out::Metrics(v) => {
                    if v.iter().all(|x| (0.0..=1.0).contains(x)) {
                        Ok(())
                    } else {
                        fail(format!("metric outside [0, 1] or inconsistent sums: {v:?}"))
                    }
                }
            }
        }
    }
}
