//! The vectorised cross-entropy kernel for probability targets, at every
//! instruction-set level this CPU has, against the scalar reference kernel.

#![allow(clippy::unwrap_used)]

use super::fast;
use super::scalar::run_scalar;
use super::spec::{SoftmaxKind, SoftmaxSpec, TargetSlice, Weights};
use crate::kernel::chunks::{self, Work};
use crate::kernel::float::LossFloat;
use crate::kernel::label::Labels;
use crate::kernel::level::{Fallback, Level};
use crate::kernel::{Geom, Outputs, Upstream};
use proptest::prelude::*;

/// Compares every level with the scalar kernel on one problem (`M = 1`).
fn compare<F: LossFloat>(geom: Geom, z: &[F], p: &[F], w: Option<&[F]>, u: &[F], tol: f64) {
    for eps in [0.0, 0.3] {
        let spec = SoftmaxSpec {
            kind: SoftmaxKind::CrossEntropy {
                smoothing: F::from_f64_(eps),
            },
            weight: w.map_or(Weights::Uniform(F::one()), Weights::PerClass),
            ignore_index: None,
        };
        let mut pt_ref = vec![F::zero(); geom.positions()];
        let mut g_ref = vec![F::zero(); geom.len()];
        let sum_ref = run_scalar(
            &spec,
            z,
            TargetSlice::Probs(p),
            geom,
            Outputs {
                per_target: Some(&mut pt_ref),
                grad: Some((&mut g_ref, Upstream::PerPosition(u))),
                hess: None,
            },
        );
        let k = fast::probs_covers(&spec, geom.c, geom.m).unwrap();
        for level in Level::available() {
            let mut pt = vec![F::zero(); geom.positions()];
            let mut g = vec![F::zero(); geom.len()];
            let work = Work {
                z,
                t: Labels::Usize(&[]),
                aux: p,
                per_target: Some(&mut pt),
                grad: Some((&mut g, Upstream::PerPosition(u))),
                hess: None,
                n: geom.n,
            };
            let sum = chunks::reduce(geom, work, &|w| fast::run_probs_level(level, &k, geom.c, w));
            let (sum, sum_ref) = match (sum, &sum_ref) {
                (Ok(a), Ok(b)) => (a, *b),
                (Err(Fallback), Err(_)) => continue,
                // Non-finite logits are declined (the scalar kernel runs).
                (Err(Fallback), Ok(_)) if z.iter().any(|v| !v.is_finite()) => continue,
                (a, b) => panic!("{level:?} eps {eps} {geom:?}: fast {a:?} vs scalar {b:?}"),
            };
            let close = |a: f64, b: f64| (a - b).abs() <= tol * (1.0 + b.abs());
            assert!(
                close(sum, sum_ref),
                "{level:?} eps {eps} {geom:?}: sum {sum} vs {sum_ref}"
            );
            for (i, (a, b)) in pt.iter().zip(&pt_ref).enumerate() {
                let (a, b) = (a.to_f64_(), b.to_f64_());
                assert!(
                    close(a, b),
                    "{level:?} eps {eps} {geom:?}: per_target[{i}] {a} vs {b}"
                );
            }
            for (i, (a, b)) in g.iter().zip(&g_ref).enumerate() {
                let (a, b) = (a.to_f64_(), b.to_f64_());
                assert!(
                    close(a, b),
                    "{level:?} eps {eps} {geom:?}: grad[{i}] {a} vs {b}"
                );
            }
        }
    }
}

/// Probabilities per row from raw non-negative mass (some rows one-hot,
/// some with zeros).
fn normalise(raw: &[f64], c: usize) -> Vec<f64> {
    let mut p = raw.to_vec();
    for row in p.chunks_mut(c) {
        let s: f64 = row.iter().sum();
        if s > 0.0 {
            row.iter_mut().for_each(|v| *v /= s);
        }
    }
    p
}

type Problem = (Geom, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, bool, bool);

fn problem() -> impl Strategy<Value = Problem> {
    prop_oneof![(1usize..150, 1usize..20), (1usize..6, 14usize..300)].prop_flat_map(|(n, c)| {
        let geom = Geom { n, c, m: 1 };
        (
            Just(geom),
            prop::collection::vec(-30.0f64..30.0, geom.len()),
            prop::collection::vec(prop_oneof![3 => 0.0f64..1.0, 1 => Just(0.0)], geom.len()),
            prop::collection::vec(0.1f64..3.0, c),
            prop::collection::vec(-2.0f64..2.0, geom.positions()),
            any::<bool>(),
            // One problem in four has a masked (-inf) logit.
            prop_oneof![3 => Just(false), 1 => Just(true)],
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(60))]

    #[test]
    fn probs_kernel_matches_scalar((geom, mut z, raw, w, u, weighted, masked) in problem()) {
        if masked {
            z[0] = f64::NEG_INFINITY;
        }
        let p = normalise(&raw, geom.c);
        compare::<f64>(geom, &z, &p, weighted.then_some(&w[..]), &u, 1e-12);
        let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let (z32, p32, w32, u32_) = (f(&z), f(&p), f(&w), f(&u));
        compare::<f32>(geom, &z32, &p32, weighted.then_some(&w32[..]), &u32_, 2e-5);
    }
}

/// Row widths around the vector and scratch sizes, weighted and not.
#[test]
fn probs_row_widths_match_scalar() {
    for c in [1, 2, 3, 15, 16, 17, 31, 32, 33, 100, 1000, 4096, 4097, 4111] {
        let geom = Geom { n: 4, c, m: 1 };
        let z: Vec<f64> = (0..geom.len())
            .map(|i| ((i * 7919) % 1009) as f64 / 40.0 - 12.0)
            .collect();
        let raw: Vec<f64> = (0..geom.len()).map(|i| ((i * 31) % 17) as f64).collect();
        let p = normalise(&raw, c);
        let w: Vec<f64> = (0..c).map(|k| 0.25 + (k % 7) as f64 * 0.5).collect();
        let u = [1.0, -0.5, 2.0, 0.75];
        for weighted in [false, true] {
            compare::<f64>(geom, &z, &p, weighted.then_some(&w[..]), &u, 1e-12);
        }
    }
}
