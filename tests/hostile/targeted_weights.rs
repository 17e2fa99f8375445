//! The class-weight and metrics functions on every edge case: empty
//! inputs, zero classes, unknown and out-of-range labels, zero counts,
//! NaN / negative / all-zero sample weights, invalid schemes and policies,
//! bad custom maps, subsample indices, non-binary multi-label targets.

use super::check::Stats;
use super::weights::{self, Input, Op};
use focal_loss::class_weight::{
    ClassWeight, Normalization, SampleClassWeight, Scheme, ZeroFrequency,
};
use ndarray::{array, Array2};
use std::collections::BTreeMap;

/// The class-weight and metrics functions on their edge cases.
#[test]
fn class_weight_and_metrics_every_category() -> Result<(), String> {
    let map = |v: &[(i64, f64)]| v.iter().copied().collect::<BTreeMap<i64, f64>>();
    let mut ops = vec![
        Op::Balanced(vec![], 0),
        Op::Balanced(vec![], 3),
        Op::Balanced(vec![0, 0, 1], 3),
        Op::Balanced(vec![0, 5], 3),
        Op::Balanced(vec![usize::MAX], 2),
        Op::Balanced(vec![1, 1, 1], 2),
        Op::Effective(vec![0, 1], 2, 1.0),
        Op::Effective(vec![0, 1], 2, f64::NAN),
        Op::Effective(vec![0, 1, 1], 2, 0.999_999),
        Op::Count(vec![], 0),
        Op::Count(vec![2, 2], 2),
        Op::Metrics(vec![], vec![], 0),
        Op::Metrics(vec![], vec![], 3),
        Op::Metrics(vec![0, 1], vec![0], 2),
        Op::Metrics(vec![0, 1], vec![0, 2], 2),
        Op::Metrics(vec![1, 1], vec![1, 1], 3),
        Op::PosWeight(Array2::zeros((0, 3)), ZeroFrequency::Error),
        Op::PosWeight(Array2::zeros((3, 0)), ZeroFrequency::Error),
        Op::PosWeight(array![[1.0, 0.0], [1.0, 0.0]], ZeroFrequency::Error),
        Op::PosWeight(array![[1.0, 0.0], [1.0, 0.0]], ZeroFrequency::Fixed(1.0)),
        Op::PosWeight(array![[1.0, f64::NAN]], ZeroFrequency::PseudoCount(1.0)),
        Op::PosWeight(array![[1.0, 0.5]], ZeroFrequency::PseudoCount(1.0)),
        Op::PosWeightInt(array![[1, 0], [0, 2]], ZeroFrequency::Error),
        Op::ClassWeight(
            ClassWeight::Balanced,
            vec![1, 2],
            vec![1, 1, 2],
            Some(vec![0.0, 0.0, 0.0]),
        ),
        Op::ClassWeight(
            ClassWeight::Balanced,
            vec![1, 2],
            vec![1, 1, 2],
            Some(vec![1.0, 1.0, 0.0]),
        ),
        Op::ClassWeight(
            ClassWeight::Balanced,
            vec![1, 2],
            vec![1, 1, 2],
            Some(vec![1.0, f64::NAN, 1.0]),
        ),
        Op::ClassWeight(
            ClassWeight::Balanced,
            vec![1, 2],
            vec![1, 1, 2],
            Some(vec![1.0]),
        ),
        Op::ClassWeight(ClassWeight::Balanced, vec![1, 2, 3], vec![1, 1, 2], None),
        Op::ClassWeight(ClassWeight::Balanced, vec![1, 2], vec![1, 7], None),
        Op::ClassWeight(ClassWeight::Uniform, vec![1, 1], vec![1], None),
        Op::ClassWeight(
            ClassWeight::Custom(map(&[(1, 2.0), (9, 1.0)])),
            vec![1, 2],
            vec![1, 2],
            None,
        ),
        Op::ClassWeight(
            ClassWeight::Custom(map(&[(1, f64::NAN)])),
            vec![1, 2],
            vec![1, 2],
            None,
        ),
        Op::ClassWeight(
            ClassWeight::Custom(map(&[(1, -1.0), (2, 1.0)])),
            vec![1, 2],
            vec![1, 2],
            None,
        ),
        Op::ClassWeight(ClassWeight::Balanced, vec![], vec![], None),
        Op::SampleWeight(SampleClassWeight::Balanced, vec![], None),
        Op::SampleWeight(SampleClassWeight::Balanced, vec![3, 3, 4], Some(vec![0, 9])),
        Op::SampleWeight(SampleClassWeight::Balanced, vec![3, 3, 4], Some(vec![])),
        Op::SampleWeight(SampleClassWeight::Uniform, vec![3, 4], Some(vec![0])),
        Op::SampleWeight(
            SampleClassWeight::PerOutput(vec![ClassWeight::Balanced]),
            vec![3],
            None,
        ),
        Op::SampleWeightMulti(
            SampleClassWeight::Uniform,
            Array2::zeros((2, 2)),
            false,
            None,
        ),
        Op::SampleWeightMulti(
            SampleClassWeight::Balanced,
            Array2::zeros((0, 2)),
            true,
            None,
        ),
        Op::SampleWeightMulti(
            SampleClassWeight::Balanced,
            Array2::zeros((2, 0)),
            false,
            None,
        ),
        Op::SampleWeightMulti(
            SampleClassWeight::PerOutput(vec![ClassWeight::Balanced; 3]),
            array![[1, 2], [2, 1]],
            true,
            None,
        ),
    ];
    for z in [
        ZeroFrequency::Error,
        ZeroFrequency::Fixed(0.0),
        ZeroFrequency::Fixed(f64::NAN),
        ZeroFrequency::Fixed(-1.0),
        ZeroFrequency::PseudoCount(0.0),
        ZeroFrequency::PseudoCount(1.0),
        ZeroFrequency::PseudoCount(f64::INFINITY),
    ] {
        for scheme in [
            Scheme::Balanced,
            Scheme::InverseFrequency,
            Scheme::InverseSqrtFrequency,
            Scheme::MedianFrequency,
            Scheme::EffectiveNumber { beta: 0.99 },
            Scheme::EffectiveNumber { beta: 1.0 },
            Scheme::Enet { c: 1.02 },
            Scheme::Enet { c: f64::NAN },
        ] {
            for norm in [
                Normalization::None,
                Normalization::SumToK,
                Normalization::MeanOne,
            ] {
                for input in [
                    Input::Counts(vec![]),
                    Input::Counts(vec![0.0, 0.0]),
                    Input::Counts(vec![3.0, 0.0, 1.0]),
                    Input::Counts(vec![3.0, f64::NAN]),
                    Input::Counts(vec![1e-300, 1.0]),
                    Input::Labels(vec![], 2),
                    Input::Labels(vec![0, 0, 2], 3),
                    Input::Labels(vec![0, 3], 3),
                    Input::Classes(vec![5, 6], vec![5, 5], Some(vec![1.0, 0.0])),
                    Input::Classes(vec![5, 6], vec![6, 5], Some(vec![0.0, 0.0])),
                ] {
                    ops.push(Op::Weighting(scheme, z, norm, input));
                }
            }
        }
    }
    let mut stats = Stats::default();
    for op in &ops {
        weights::check(op, &mut stats)?;
    }
    Ok(())
}
