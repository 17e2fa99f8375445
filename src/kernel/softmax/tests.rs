//! The vectorised kernels, at every instruction-set level this CPU has,
//! against the scalar reference kernel.

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
use std::ops::Range;

const IGNORE: usize = 1_000_000;

fn kinds<F: LossFloat>() -> Vec<SoftmaxKind<F>> {
    let f = F::from_f64_;
    let mut v = vec![
        SoftmaxKind::Nll,
        SoftmaxKind::CrossEntropy { smoothing: f(0.0) },
        SoftmaxKind::CrossEntropy { smoothing: f(0.3) },
    ];
    for g in [0.0, 0.5, 1.0, 2.0, 3.3] {
        v.push(SoftmaxKind::Focal {
            gamma: f(g),
            smoothing: f(0.0),
        });
    }
    v
}

/// Runs the vectorised kernel at `level` over a whole problem.
#[allow(clippy::too_many_arguments)]
fn run_fast<F: LossFloat>(
    level: Level,
    k: &fast::Consts<'_, F>,
    geom: Geom,
    z: &[F],
    t: &[usize],
    per_target: Option<&mut [F]>,
    grad: Option<(&mut [F], Upstream<'_, F>)>,
    hess: Option<&mut [F]>,
) -> Result<f64, Fallback> {
    let work = Work {
        z,
        t: Labels::Usize(t),
        aux: &[],
        per_target,
        grad,
        hess,
        n: geom.n,
    };
    chunks::reduce(geom, work, &|w| {
        fast::run_level(level, k, geom.c, geom.m, w)
    })
}

/// Compares every level with the scalar kernel on one problem.
fn compare<F: LossFloat>(geom: Geom, z: &[F], t: &[usize], w: Option<&[F]>, u: &[F], tol: f64) {
    for kind in kinds::<F>() {
        let spec = SoftmaxSpec {
            kind,
            weight: w.map_or(Weights::Uniform(F::one()), Weights::PerClass),
            ignore_index: Some(IGNORE),
        };
        let mut pt_ref = vec![F::zero(); geom.positions()];
        let mut g_ref = vec![F::zero(); geom.len()];
        let mut h_ref = vec![F::zero(); geom.len()];
        let sum_ref = run_scalar(
            &spec,
            z,
            TargetSlice::Index(Labels::Usize(t)),
            geom,
            Outputs {
                per_target: Some(&mut pt_ref),
                grad: Some((&mut g_ref, Upstream::PerPosition(u))),
                hess: Some(&mut h_ref),
            },
        );
        let k = fast::Consts::new(&spec, geom.c).unwrap();
        for level in Level::available() {
            let mut pt = vec![F::zero(); geom.positions()];
            let mut g = vec![F::zero(); geom.len()];
            // NLL's Hessian (0) is written by `softmax::run`, not the kernel.
            let nll = matches!(kind, SoftmaxKind::Nll);
            let mut h = if nll {
                h_ref.clone()
            } else {
                vec![F::zero(); geom.len()]
            };
            let grad = Some((&mut g[..], Upstream::PerPosition(u)));
            let hess = Some(&mut h[..]).filter(|_| !nll);
            let sum = run_fast(level, &k, geom, z, t, Some(&mut pt), grad, hess);
            // Where the scalar kernel reports an error, the fast one must
            // decline (and the caller then reruns the scalar kernel).
            let (sum, sum_ref) = match (sum, &sum_ref) {
                (Ok(a), Ok(b)) => (a, *b),
                (Err(Fallback), Err(_)) => continue,
                // The fast kernels decline any non-finite input (masked classes).
                (Err(Fallback), Ok(_)) if z.iter().any(|v| !v.is_finite()) => continue,
                (a, b) => panic!("{level:?} {kind:?} {geom:?}: fast {a:?} vs scalar {b:?}"),
            };
            let close = |a: f64, b: f64| (a - b).abs() <= tol * (1.0 + b.abs());
            assert!(
                close(sum, sum_ref),
                "{level:?} {kind:?} {geom:?}: sum {sum} vs {sum_ref}"
            );
            for (i, (a, b)) in pt.iter().zip(&pt_ref).enumerate() {
                assert!(
                    close(a.to_f64_(), b.to_f64_()),
                    "{level:?} {kind:?} {geom:?}: per_target[{i}] {a} vs {b}"
                );
            }
            for (i, (a, b)) in g.iter().zip(&g_ref).enumerate() {
                assert!(
                    close(a.to_f64_(), b.to_f64_()),
                    "{level:?} {kind:?} {geom:?}: grad[{i}] {a} vs {b}"
                );
            }
            for (i, (a, b)) in h.iter().zip(&h_ref).enumerate() {
                assert!(
                    close(a.to_f64_(), b.to_f64_()),
                    "{level:?} {kind:?} {geom:?}: hess[{i}] {a} vs {b}"
                );
            }
        }
    }
}

/// Geometries `(N, C, M)` from one of three sets of ranges (short rows,
/// wide rows, K-dim), as the kernel tests draw them.
pub(super) fn geoms(
    ranges: [(Range<usize>, Range<usize>, Range<usize>); 3],
) -> impl Strategy<Value = Geom> {
    let [a, b, k] = ranges;
    prop_oneof![a, b, k].prop_map(|(n, c, m)| Geom { n, c, m })
}

fn problem() -> impl Strategy<Value = (Geom, Vec<f64>, Vec<usize>, Vec<f64>, Vec<f64>, bool)> {
    geoms([
        (1..200, 1..12, 1..2),
        (1..6, 14..140, 1..2),
        (1..3, 1..25, 1..150),
    ])
    .prop_flat_map(|geom| {
        let c = geom.c;
        (
            Just(geom),
            // Some classes masked (`-inf`).
            prop::collection::vec(
                prop_oneof![15 => -30.0f64..30.0, 1 => Just(f64::NEG_INFINITY)],
                geom.len(),
            ),
            prop::collection::vec(prop_oneof![9 => 0..c, 1 => Just(IGNORE)], geom.positions()),
            prop::collection::vec(0.1f64..3.0, c),
            prop::collection::vec(-2.0f64..2.0, geom.positions()),
            any::<bool>(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn fast_kernels_match_scalar((geom, z, t, w, u, weighted) in problem()) {
        let w64 = weighted.then_some(&w[..]);
        compare::<f64>(geom, &z, &t, w64, &u, 1e-12);
        let z32: Vec<f32> = z.iter().map(|&v| v as f32).collect();
        let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
        let u32_: Vec<f32> = u.iter().map(|&v| v as f32).collect();
        compare::<f32>(geom, &z32, &t, weighted.then_some(&w32[..]), &u32_, 2e-5);
    }
}

/// Saturated rows (p_y = 1 in floating point) and masked classes.
#[test]
fn extremes_match_scalar() {
    let geom = Geom { n: 3, c: 4, m: 1 };
    let z = [
        60.0,
        -60.0,
        0.0,
        -1e3,
        0.0,
        0.0,
        0.0,
        0.0,
        f64::NEG_INFINITY,
        2.0,
        1.0,
        -700.0,
    ];
    let t = [0, 2, 1];
    compare::<f64>(geom, &z, &t, None, &[1.0, -1.0, 0.5], 1e-12);
    let z32: Vec<f32> = z.iter().map(|&v| v as f32).collect();
    compare::<f32>(geom, &z32, &t, None, &[1.0, -1.0, 0.5], 2e-5);
}

/// The row kernel at widths around its vector and scratch sizes: masked
/// tails of every length, rows split into `SCRATCH`-sized pieces, a piece
/// shorter than one vector, and a masked (`-inf`) class.
#[test]
fn row_widths_match_scalar() {
    for c in [
        17, 20, 31, 32, 33, 48, 63, 64, 65, 79, 100, 127, 128, 1000, 4096, 4097, 4111,
    ] {
        widths_match_scalar(Geom { n: 5, c, m: 1 });
    }
}

/// K-dim inputs around the strip kernel's class count (tiles of fewer
/// positions below it, strips from it), past the tiles' scratch, with
/// full and partial blocks of positions.
#[test]
fn kdim_widths_match_scalar() {
    for c in [255, 256, 257, 300, 1000, 4097] {
        for m in [3, 16, 17] {
            widths_match_scalar(Geom { n: 2, c, m });
        }
    }
}

/// K-dim inputs with wide blocks (`C >= 65`, `M >= 64`): one block, a
/// block of a length that is not a multiple of the vector width, an item
/// split into blocks sized to the L2 cache (256 or 512 positions at
/// `C = 70`; at `C = 1100`, 128 positions for `f32` and 512 for `f64`
/// with 1 MiB of L2) followed by a short one; next to them the tile and
/// strip kernels' side of each limit.
#[test]
fn wide_widths_match_scalar() {
    for (n, c, m) in [
        (2, 65, 64),
        (2, 64, 100),
        (2, 65, 63),
        (2, 100, 100),
        (1, 70, 600),
        (1, 1100, 600),
        (2, 300, 70),
    ] {
        widths_match_scalar(Geom { n, c, m });
    }
}

/// Every loss against the scalar kernel at one geometry: targets at the
/// first, last and middle classes and ignored, with and without weights
/// and a masked (`-inf`) class.
fn widths_match_scalar(geom: Geom) {
    let c = geom.c;
    let t: Vec<usize> = (0..geom.positions())
        .map(|p| [0, c - 1, c / 2, IGNORE, 7 % c][p % 5])
        .collect();
    let w: Vec<f64> = (0..c).map(|k| 0.25 + (k % 7) as f64 * 0.5).collect();
    let u: Vec<f64> = (0..geom.positions())
        .map(|p| [1.0, -0.5, 2.0, 1.0, 0.75][p % 5])
        .collect();
    let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
    let u32_: Vec<f32> = u.iter().map(|&v| v as f32).collect();
    for masked in [false, true] {
        let mut z: Vec<f64> = (0..geom.len())
            .map(|i| ((i * 7919) % 1009) as f64 / 40.0 - 12.0)
            .collect();
        if masked {
            // Class 3 of the first position, not a target. (Label
            // smoothing then declines to the scalar kernel.)
            z[3 * geom.m] = f64::NEG_INFINITY;
        }
        let z32: Vec<f32> = z.iter().map(|&v| v as f32).collect();
        for weighted in [false, true] {
            compare::<f64>(geom, &z, &t, weighted.then_some(&w[..]), &u, 1e-12);
            let w32 = weighted.then_some(&w32[..]);
            compare::<f32>(geom, &z32, &t, w32, &u32_, 2e-5);
        }
    }
}

/// Rough timing of each level (release mode):
/// `cargo test --release --lib kernel::tests::timing -- --ignored --nocapture`
#[test]
#[ignore]
fn timing() {
    for (n, c, m) in [(65536, 4, 1), (4096, 1000, 1), (8, 19, 16384)] {
        let geom = Geom { n, c, m };
        let z: Vec<f32> = (0..geom.len())
            .map(|i| ((i * 7919) % 1000) as f32 / 250.0 - 2.0)
            .collect();
        let t: Vec<usize> = (0..geom.positions()).map(|i| (i * 31) % c).collect();
        let mut g = vec![0f32; geom.len()];
        for kind in [
            SoftmaxKind::CrossEntropy { smoothing: 0.0 },
            SoftmaxKind::Focal {
                gamma: 0.5,
                smoothing: 0.0,
            },
        ] {
            let spec = SoftmaxSpec {
                kind,
                weight: Weights::Uniform(1.0f32),
                ignore_index: None,
            };
            let k = fast::Consts::new(&spec, c).unwrap();
            for level in Level::available() {
                let mut best = f64::INFINITY;
                for _ in 0..10 {
                    let t0 = std::time::Instant::now();
                    let grad = Some((&mut g[..], Upstream::Uniform(1.0)));
                    run_fast(level, &k, geom, &z, &t, None, grad, None).unwrap();
                    best = best.min(t0.elapsed().as_secs_f64());
                }
                println!(
                    "{geom:?} {kind:?} {level:?}: {:.3} ms, {:.2} ns/elem",
                    best * 1e3,
                    best * 1e9 / geom.len() as f64
                );
            }
        }
    }
}

/// Masked (`-inf`) classes away from the target run in the vectorised
/// kernels (tiles, K-dim tiles, rows and NLL), without smoothing, and match
/// the scalar kernel.
#[test]
fn masked_classes_stay_vectorised() {
    for geom in [
        Geom { n: 70, c: 4, m: 1 },
        Geom { n: 70, c: 10, m: 1 },
        Geom { n: 2, c: 5, m: 37 },
        Geom {
            n: 2,
            c: 300,
            m: 20,
        },
        Geom {
            n: 2,
            c: 5000,
            m: 18,
        },
        Geom { n: 9, c: 100, m: 1 },
        Geom {
            n: 2,
            c: 100,
            m: 530,
        },
    ] {
        let mut z: Vec<f64> = (0..geom.len())
            .map(|i| ((i * 7919) % 1009) as f64 / 40.0 - 12.0)
            .collect();
        let t: Vec<usize> = (0..geom.positions()).map(|p| p % 2).collect();
        // Mask class 2 everywhere and the last class at every third position.
        for p in 0..geom.positions() {
            let (b, j) = (p / geom.m, p % geom.m);
            let at = |k: usize| b * geom.c * geom.m + k * geom.m + j;
            z[at(2)] = f64::NEG_INFINITY;
            if p % 3 == 0 {
                z[at(geom.c - 1)] = f64::NEG_INFINITY;
            }
        }
        let u = vec![1.0; geom.positions()];
        for kind in [
            SoftmaxKind::Nll,
            SoftmaxKind::CrossEntropy { smoothing: 0.0 },
            SoftmaxKind::Focal {
                gamma: 0.5,
                smoothing: 0.0,
            },
            SoftmaxKind::Focal {
                gamma: 2.0,
                smoothing: 0.0,
            },
        ] {
            let spec = SoftmaxSpec {
                kind,
                weight: Weights::Uniform(1.0),
                ignore_index: Some(IGNORE),
            };
            let k = fast::Consts::new(&spec, geom.c).unwrap();
            for level in Level::available() {
                let mut g = vec![0.0; geom.len()];
                let mut h = vec![0.0; geom.len()];
                let grad = Some((&mut g[..], Upstream::Uniform(1.0)));
                let sum = run_fast(level, &k, geom, &z, &t, None, grad, Some(&mut h));
                assert!(sum.is_ok(), "{level:?} {kind:?} {geom:?} declined");
            }
        }
        compare::<f64>(geom, &z, &t, None, &u, 1e-12);
        let z32: Vec<f32> = z.iter().map(|&v| v as f32).collect();
        let u32_: Vec<f32> = u.iter().map(|&v| v as f32).collect();
        compare::<f32>(geom, &z32, &t, None, &u32_, 2e-5);
    }
}
