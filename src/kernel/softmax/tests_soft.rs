//! The vectorised soft target kernels (cross-entropy with probability
//! targets; focal loss with probability targets or label smoothing), at
//! every instruction-set level this CPU has, against the scalar reference
//! kernel: loss, gradient and Hessian diagonal.

#![allow(clippy::unwrap_used)]

use super::fast;
use super::scalar::run_scalar;
use super::spec::{SoftmaxKind, SoftmaxSpec, TargetSlice, Weights};
use super::tests::geoms;
use crate::kernel::chunks::{self, Work};
use crate::kernel::float::LossFloat;
use crate::kernel::label::Labels;
use crate::kernel::level::{Fallback, Level};
use crate::kernel::{Geom, Outputs, Upstream};
use proptest::prelude::*;

/// The configurations the soft kernels cover, for probability targets
/// (`probs`) or class indices.
fn kinds<F: LossFloat>(probs: bool) -> Vec<SoftmaxKind<F>> {
    let f = F::from_f64_;
    let mut v = Vec::new();
    for eps in [0.0, 0.3] {
        if probs {
            v.push(SoftmaxKind::CrossEntropy { smoothing: f(eps) });
        }
        for gamma in [0.0, 0.5, 1.0, 2.0, 2.7] {
            if probs || eps > 0.0 {
                v.push(SoftmaxKind::Focal {
                    gamma: f(gamma),
                    smoothing: f(eps),
                });
            }
        }
    }
    v
}

/// Compares every level with the scalar kernel on one problem (`M = 1`):
/// probability targets `p`, or class indices `y` (with `ignore`).
#[allow(clippy::too_many_arguments)]
fn compare<F: LossFloat>(
    geom: Geom,
    z: &[F],
    p: &[F],
    y: &[usize],
    ignore: Option<usize>,
    w: Option<&[F]>,
    u: &[F],
    tol: f64,
) {
    let probs = y.is_empty();
    for kind in kinds::<F>(probs) {
        let spec = SoftmaxSpec {
            kind,
            weight: w.map_or(Weights::Uniform(F::one()), Weights::PerClass),
            ignore_index: ignore,
        };
        let targets = if probs {
            TargetSlice::Probs(p)
        } else {
            TargetSlice::Index(Labels::Usize(y))
        };
        let mut pt_ref = vec![F::zero(); geom.positions()];
        let mut g_ref = vec![F::zero(); geom.len()];
        let mut h_ref = vec![F::zero(); geom.len()];
        let sum_ref = run_scalar(
            &spec,
            z,
            targets,
            geom,
            Outputs {
                per_target: Some(&mut pt_ref),
                grad: Some((&mut g_ref, Upstream::PerPosition(u))),
                hess: Some(&mut h_ref),
            },
        );
        let k = fast::soft_covers(&spec, geom.c, geom.m, probs).unwrap();
        // Without the Hessian (focal rows then take the row kernels), and
        // with it (focal loss's only in blocks).
        for (level, with_hess) in levels_and_hessian() {
            let mut pt = vec![F::zero(); geom.positions()];
            let mut g = vec![F::zero(); geom.len()];
            let mut h = vec![F::zero(); geom.len()];
            let (t, aux) = match targets {
                TargetSlice::Index(t) => (t, &[][..]),
                TargetSlice::Probs(p) => (Labels::Usize(&[]), p),
            };
            let work = Work {
                z,
                t,
                aux,
                per_target: Some(&mut pt),
                grad: Some((&mut g, Upstream::PerPosition(u))),
                hess: with_hess.then_some(&mut h[..]),
                n: geom.n,
            };
            let sum = chunks::reduce(geom, work, &|w| {
                fast::run_level(level, &k, geom.c, geom.m, w)
            });
            let what = format!("{level:?} {kind:?} {geom:?} Hessian {with_hess}");
            let (sum, sum_ref) = match (sum, &sum_ref) {
                (Ok(a), Ok(b)) => (a, *b),
                (Err(Fallback), Err(_)) => continue,
                // Non-finite logits are declined (the scalar kernel runs).
                (Err(Fallback), Ok(_)) if z.iter().any(|v| !v.is_finite()) => continue,
                (a, b) => panic!("{what}: fast {a:?} vs scalar {b:?}"),
            };
            let close = |a: f64, b: f64| (a - b).abs() <= tol * (1.0 + b.abs());
            assert!(close(sum, sum_ref), "{what}: sum {sum} vs {sum_ref}");
            let mut checked = vec![("per_target", &pt, &pt_ref), ("grad", &g, &g_ref)];
            if with_hess {
                checked.push(("hess", &h, &h_ref));
            }
            for (name, got, want) in checked {
                for (i, (a, b)) in got.iter().zip(want.iter()).enumerate() {
                    let (a, b) = (a.to_f64_(), b.to_f64_());
                    assert!(close(a, b), "{what}: {name}[{i}] {a} vs {b}");
                }
            }
        }
    }
}

/// Every level, without and with the Hessian.
fn levels_and_hessian() -> impl Iterator<Item = (Level, bool)> {
    Level::available()
        .into_iter()
        .flat_map(|l| [(l, false), (l, true)])
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

type Problem = (
    Geom,
    Vec<f64>,
    Vec<f64>,
    Vec<usize>,
    Vec<f64>,
    Vec<f64>,
    bool,
    bool,
);

fn problem() -> impl Strategy<Value = Problem> {
    // K-dim: blocks of 16 positions and a shorter last one.
    geoms([
        (1..150, 1..20, 1..2),
        (1..6, 14..300, 1..2),
        (1..4, 1..40, 2..40),
    ])
    .prop_flat_map(|geom| {
        let c = geom.c;
        (
            Just(geom),
            prop::collection::vec(-30.0f64..30.0, geom.len()),
            prop::collection::vec(prop_oneof![3 => 0.0f64..1.0, 1 => Just(0.0)], geom.len()),
            prop::collection::vec(0..c, geom.positions()),
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
    fn soft_kernels_match_scalar(
        (geom, mut z, mut raw, y, w, u, weighted, masked) in problem()
    ) {
        if masked {
            // Accepted without smoothing (no target mass on the masked
            // class), an error with it.
            z[0] = f64::NEG_INFINITY;
            raw[0] = 0.0;
        }
        // (Rows sum to 1; K-dim targets are raw mass, at most 1 per class.)
        let p = if geom.m == 1 { normalise(&raw, geom.c) } else { raw.clone() };
        let w = weighted.then_some(&w[..]);
        // Class 0 ignored: the masked row is then accepted with smoothing.
        for (p, y, ignore) in [(&p[..], &[][..], None), (&[][..], &y[..], Some(0))] {
            compare::<f64>(geom, &z, p, y, ignore, w, &u, 1e-12);
            let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
            let (z32, p32, u32_) = (f(&z), f(p), f(&u));
            let w32 = w.map(f);
            compare::<f32>(geom, &z32, &p32, y, ignore, w32.as_deref(), &u32_, 2e-5);
        }
    }
}

/// Row widths around the vector and scratch sizes, weighted and not.
#[test]
fn soft_row_widths_match_scalar() {
    for c in [
        1, 2, 3, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000, 4096, 4097, 4111,
    ] {
        // Full blocks of 16 rows and a shorter last one where cheap.
        let n = if c <= 100 { 37 } else { 4 };
        let geom = Geom { n, c, m: 1 };
        let z: Vec<f64> = (0..geom.len())
            .map(|i| ((i * 7919) % 1009) as f64 / 40.0 - 12.0)
            .collect();
        let raw: Vec<f64> = (0..geom.len()).map(|i| ((i * 31) % 17) as f64).collect();
        let p = normalise(&raw, c);
        let y: Vec<usize> = (0..n).map(|r| (r * 37) % c).collect();
        let w: Vec<f64> = (0..c).map(|k| 0.25 + (k % 7) as f64 * 0.5).collect();
        let u: Vec<f64> = (0..n).map(|r| [1.0, -0.5, 2.0, 0.75][r % 4]).collect();
        for weighted in [false, true] {
            let w = weighted.then_some(&w[..]);
            compare::<f64>(geom, &z, &p, &[], None, w, &u, 1e-12);
            compare::<f64>(geom, &z, &[], &y, None, w, &u, 1e-12);
            if c <= 100 {
                // `f32` rows of 4..16 classes move through the AVX transposes.
                let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
                let (z32, p32, u32_, w32) = (f(&z), f(&p), f(&u), w.map(f));
                let w32 = w32.as_deref();
                compare::<f32>(geom, &z32, &p32, &[], None, w32, &u32_, 2e-5);
                compare::<f32>(geom, &z32, &[], &y, None, w32, &u32_, 2e-5);
            }
        }
    }
}

/// K-dim class counts and position counts around the block size.
#[test]
fn soft_kdim_shapes_match_scalar() {
    for (c, m) in [
        (1, 2),
        (2, 15),
        (3, 16),
        (19, 17),
        (19, 33),
        (300, 5),
        (5, 100),
    ] {
        let geom = Geom { n: 2, c, m };
        let z: Vec<f64> = (0..geom.len())
            .map(|i| ((i * 7919) % 1009) as f64 / 40.0 - 12.0)
            .collect();
        let p: Vec<f64> = (0..geom.len())
            .map(|i| ((i * 31) % 17) as f64 / 17.0)
            .collect();
        let y: Vec<usize> = (0..geom.positions()).map(|q| (q * 37) % c).collect();
        let w: Vec<f64> = (0..c).map(|k| 0.25 + (k % 7) as f64 * 0.5).collect();
        let u: Vec<f64> = (0..geom.positions())
            .map(|q| 1.0 - (q % 5) as f64 * 0.3)
            .collect();
        for weighted in [false, true] {
            let w = weighted.then_some(&w[..]);
            compare::<f64>(geom, &z, &p, &[], None, w, &u, 1e-12);
            compare::<f64>(geom, &z, &[], &y, Some(1), w, &u, 1e-12);
        }
    }
}
