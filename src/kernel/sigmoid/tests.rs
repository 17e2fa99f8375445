//! The vectorised sigmoid kernel, at every instruction-set level this CPU
//! has, against the scalar reference kernel; and (feature `rayon`) bitwise
//! independence of the thread count.

#![allow(clippy::unwrap_used)]

use super::{run, run_scalar, run_vector, Alpha, Outputs, SigmoidSpec};
use crate::kernel::float::LossFloat;
use crate::kernel::level::{Fallback, Level};
use crate::kernel::{Geom, KernelError, Upstream};
use proptest::prelude::*;

/// Everything a kernel call returns: the sum, per-element losses, gradient,
/// Hessian diagonal.
type Res<F> = (Result<f64, KernelError>, Vec<F>, Vec<F>, Vec<F>);

/// Options of one problem, in `f64` (converted to `F` per call).
#[derive(Debug, Clone)]
struct Opts {
    gamma: f64,
    /// 0: none, 1: scalar, 2: per class.
    alpha_kind: u8,
    alpha: Vec<f64>,
    weight: Option<Vec<f64>>,
    pos_weight: Option<Vec<f64>>,
    smoothing: f64,
}

/// Per-class vectors converted to `F`, borrowed by [`Conv::spec`].
struct Conv<F> {
    alpha: Vec<F>,
    weight: Option<Vec<F>>,
    pos_weight: Option<Vec<F>>,
}

fn conv<F: LossFloat>(o: &Opts) -> Conv<F> {
    let v = |x: &[f64]| x.iter().map(|&a| F::from_f64_(a)).collect::<Vec<F>>();
    Conv {
        alpha: v(&o.alpha),
        weight: o.weight.as_deref().map(v),
        pos_weight: o.pos_weight.as_deref().map(v),
    }
}

impl<F: LossFloat> Conv<F> {
    fn spec(&self, o: &Opts) -> SigmoidSpec<'_, F> {
        SigmoidSpec {
            gamma: F::from_f64_(o.gamma),
            alpha: match o.alpha_kind {
                0 => Alpha::None,
                1 => Alpha::Scalar(self.alpha[0]),
                _ => Alpha::PerClass(&self.alpha),
            },
            weight: self.weight.as_deref(),
            pos_weight: self.pos_weight.as_deref(),
            smoothing: F::from_f64_(o.smoothing),
        }
    }
}

/// Which outputs a call asks for.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Per-element losses, the gradient with per-element upstream and the
    /// Hessian.
    Full,
    /// The gradient with a uniform factor.
    Grad,
    /// The loss sum alone.
    Loss,
}

#[allow(clippy::too_many_arguments)]
fn call<F: LossFloat>(
    level: Option<Level>,
    spec: &SigmoidSpec<'_, F>,
    geom: Geom,
    z: &[F],
    t: &[F],
    ig: Option<&[bool]>,
    u: &[F],
    mode: Mode,
) -> Res<F> {
    let mut pt = vec![F::zero(); geom.len()];
    let mut g = vec![F::zero(); geom.len()];
    let mut h = vec![F::zero(); geom.len()];
    let out = match mode {
        Mode::Full => Outputs {
            per_target: Some(&mut pt[..]),
            grad: Some((&mut g[..], Upstream::PerPosition(u))),
            hess: Some(&mut h[..]),
        },
        Mode::Grad => Outputs {
            per_target: None,
            grad: Some((&mut g[..], Upstream::Uniform(F::from_f64_(0.37)))),
            hess: None,
        },
        Mode::Loss => Outputs {
            per_target: None,
            grad: None,
            hess: None,
        },
    };
    let sum = match level {
        None => run_scalar(spec, z, t, ig, geom, out),
        Some(level) => {
            let mut out = out;
            run_vector(level, spec, z, t, ig, geom, &mut out).map_err(|Fallback| {
                // Marks a declined call; compared below.
                KernelError::NonFinite(usize::MAX)
            })
        }
    };
    (sum, pt, g, h)
}

/// Every level against the scalar kernel, in every output mode.
#[allow(clippy::too_many_arguments)]
fn compare<F: LossFloat>(
    o: &Opts,
    geom: Geom,
    z: &[F],
    t: &[F],
    ig: Option<&[bool]>,
    u: &[F],
    tol: f64,
) {
    let cv = conv::<F>(o);
    let spec = cv.spec(o);
    let close = |a: f64, b: f64| (a - b).abs() <= tol * (1.0 + b.abs());
    for mode in [Mode::Full, Mode::Grad, Mode::Loss] {
        let (sum_ref, pt_ref, g_ref, h_ref) = call(None, &spec, geom, z, t, ig, u, mode);
        for level in Level::available() {
            let (sum, pt, g, h) = call(Some(level), &spec, geom, z, t, ig, u, mode);
            let what = format!(
                "{level:?} {mode:?} {geom:?} gamma {} alpha {} weight {} pw {} eps {}",
                o.gamma,
                o.alpha_kind,
                o.weight.is_some(),
                o.pos_weight.is_some(),
                o.smoothing
            );
            let (sum, sum_ref) = match (sum, sum_ref) {
                (Ok(a), Ok(b)) => (a, b),
                // Declining is right for any non-finite logit.
                (Err(_), _) if z.iter().any(|v| !v.is_finite()) => continue,
                (a, b) => panic!("{what}: vector {a:?} vs scalar {b:?}"),
            };
            assert!(close(sum, sum_ref), "{what}: sum {sum} vs {sum_ref}");
            for (i, (a, b)) in pt.iter().zip(&pt_ref).enumerate() {
                let (a, b) = (a.to_f64_(), b.to_f64_());
                assert!(close(a, b), "{what}: per_target[{i}] {a} vs {b}");
            }
            for (i, (a, b)) in g.iter().zip(&g_ref).enumerate() {
                let (a, b) = (a.to_f64_(), b.to_f64_());
                assert!(close(a, b), "{what}: grad[{i}] {a} vs {b}");
            }
            for (i, (a, b)) in h.iter().zip(&h_ref).enumerate() {
                let (a, b) = (a.to_f64_(), b.to_f64_());
                assert!(close(a, b), "{what}: hess[{i}] {a} vs {b}");
            }
            // The loss does not depend on which outputs are asked for.
            let (s_loss, _, _, _) = call(Some(level), &spec, geom, z, t, ig, u, Mode::Loss);
            assert_eq!(s_loss.unwrap().to_bits(), sum.to_bits(), "{what}");
        }
    }
}

fn opts(c: usize) -> impl Strategy<Value = Opts> {
    (
        prop_oneof![
            Just(0.0),
            Just(0.5),
            Just(1.0),
            Just(2.0),
            Just(3.3),
            0.0f64..4.0
        ],
        0u8..3,
        prop::collection::vec(0.0f64..1.0, c),
        prop::option::of(prop::collection::vec(0.0f64..3.0, c)),
        prop::option::of(prop::collection::vec(0.1f64..5.0, c)),
        prop_oneof![3 => Just(0.0), 1 => 0.0f64..0.5],
    )
        .prop_map(
            |(gamma, alpha_kind, alpha, weight, pos_weight, smoothing)| Opts {
                gamma,
                alpha_kind,
                alpha,
                weight,
                pos_weight,
                smoothing,
            },
        )
}

/// A target: hard, soft, or (when ignored) a placeholder.
fn target(hard_only: bool) -> BoxedStrategy<f64> {
    if hard_only {
        prop_oneof![Just(0.0), Just(1.0)].boxed()
    } else {
        prop_oneof![2 => Just(0.0), 2 => Just(1.0), 3 => 0.0f64..=1.0].boxed()
    }
}

#[allow(clippy::type_complexity)]
fn problem() -> impl Strategy<Value = (Geom, Opts, Vec<f64>, Vec<f64>, Option<Vec<bool>>, Vec<f64>)>
{
    prop_oneof![
        // (N, C), whole items per block.
        (1usize..300, 1usize..12, Just(1usize)),
        // Rows longer than a block.
        (1usize..3, 500usize..1200, Just(1usize)),
        // K-dim, items within or beyond a block.
        (1usize..3, 1usize..25, 1usize..150),
        (1usize..3, 2usize..5, 200usize..700),
    ]
    .prop_flat_map(|(n, c, m)| {
        let geom = Geom { n, c, m };
        let len = geom.len();
        let logit = prop_oneof![20 => -30.0f64..30.0, 1 => -800.0f64..800.0];
        (
            Just(geom),
            opts(c),
            prop::collection::vec(logit, len),
            any::<bool>().prop_flat_map(move |h| prop::collection::vec(target(h), len)),
            prop::option::of(prop::collection::vec(prop::bool::weighted(0.2), len)),
            prop::collection::vec(-2.0f64..2.0, len),
        )
    })
}

fn to32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn vector_kernel_matches_scalar((geom, o, z, mut t, ig, u) in problem()) {
        if let Some(ig) = &ig {
            // Placeholders the kernel must not read as targets.
            for (i, (tv, &skip)) in t.iter_mut().zip(ig).enumerate() {
                if skip {
                    *tv = [f64::NAN, 255.0, -1.0, 0.5][i % 4];
                }
            }
        }
        let ig = ig.as_deref();
        compare::<f64>(&o, geom, &z, &t, ig, &u, 1e-12);
        compare::<f32>(&o, geom, &to32(&z), &to32(&t), ig, &to32(&u), 2e-5);
    }
}

/// Saturated sigmoids, subnormal-range exponentials and non-finite logits
/// (which the vector kernel declines; `run` then matches the scalar kernel,
/// errors included).
#[test]
fn extremes_and_fallback() {
    let geom = Geom { n: 2, c: 3, m: 4 };
    let mut z = vec![
        0.0, 1e-300, -1e-300, 40.0, -40.0, 88.0, -88.0, 700.0, -700.0, 745.0, -745.0, 1e300,
    ];
    z.extend_from_slice(&[
        -1e300, 36.0, -36.0, 0.5, 17.0, -17.0, 1e4, -1e4, 2.0, -3.0, 0.1, 5.0,
    ]);
    let t: Vec<f64> = (0..24).map(|i| [0.0, 1.0, 0.3][i % 3]).collect();
    let u = vec![1.0; 24];
    for gamma in [0.0, 0.25, 2.0, 3.5] {
        let o = Opts {
            gamma,
            alpha_kind: 1,
            alpha: vec![0.25; 3],
            weight: None,
            pos_weight: Some(vec![2.0, 1.0, 0.5]),
            smoothing: 0.0,
        };
        compare::<f64>(&o, geom, &z, &t, None, &u, 1e-12);
        let z32: Vec<f32> = z.iter().map(|&x| x.clamp(-3e38, 3e38) as f32).collect();
        compare::<f32>(&o, geom, &z32, &to32(&t), None, &to32(&u), 2e-5);
        let cv = conv::<f64>(&o);
        let spec = cv.spec(&o);
        for (pos, bad, y) in [
            (5, f64::NEG_INFINITY, 0.0),
            (7, f64::NEG_INFINITY, 1.0),
            (9, f64::NAN, 0.0),
            (20, f64::INFINITY, 0.0),
        ] {
            let (mut z, mut t) = (z.clone(), t.clone());
            z[pos] = bad;
            t[pos] = y;
            let mut res = Vec::new();
            for scalar in [true, false] {
                let mut pt = vec![0.0; 24];
                let out = Outputs {
                    per_target: Some(&mut pt[..]),
                    grad: None,
                    hess: None,
                };
                let sum = if scalar {
                    run_scalar(&spec, &z, &t, None, geom, out)
                } else {
                    run(&spec, &z, &t, None, geom, out)
                };
                res.push((sum, pt));
            }
            assert_eq!(res[0], res[1], "logit {bad} target {y}");
        }
    }
}

/// With `rayon`, the thread count changes no bit of any output.
#[cfg(feature = "rayon")]
#[test]
fn thread_count_is_bitwise_invisible() {
    // 600 * 7 * 64 = 268 800 logits: above the parallel threshold.
    let geom = Geom {
        n: 600,
        c: 7,
        m: 64,
    };
    let len = geom.len();
    let z: Vec<f32> = (0..len)
        .map(|i| ((i * 7919) % 2003) as f32 / 100.0 - 10.0)
        .collect();
    let t: Vec<f32> = (0..len)
        .map(|i| [0.0, 1.0, 0.0, 0.7][(i * 31) % 4])
        .collect();
    let u: Vec<f32> = (0..len).map(|i| ((i * 13) % 7) as f32 - 3.0).collect();
    let ig: Vec<bool> = (0..len).map(|i| i % 11 == 0).collect();
    let o = Opts {
        gamma: 2.0,
        alpha_kind: 2,
        alpha: vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
        weight: None,
        pos_weight: None,
        smoothing: 0.0,
    };
    let cv = conv::<f32>(&o);
    let spec = cv.spec(&o);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let go = |threads: usize, ig: Option<&[bool]>| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut pt = vec![0.0f32; len];
            let mut g = vec![0.0f32; len];
            let out = Outputs {
                per_target: Some(&mut pt[..]),
                grad: Some((&mut g[..], Upstream::PerPosition(&u))),
                hess: None,
            };
            let sum = run(&spec, &z, &t, ig, geom, out).unwrap();
            (sum.to_bits(), bits(&pt), bits(&g))
        })
    };
    for ig in [None, Some(&ig[..])] {
        let one = go(1, ig);
        assert_eq!(one, go(2, ig));
        assert_eq!(one, go(3, ig));
    }
}

/// Rough timing of each level (release mode):
/// `cargo test --release --lib kernel::sigmoid::tests::timing -- --ignored --nocapture`
#[test]
#[ignore]
fn timing() {
    for (n, c, m) in [(65536, 4, 1), (4096, 1000, 1), (8, 19, 16384)] {
        let geom = Geom { n, c, m };
        let len = geom.len();
        let z: Vec<f32> = (0..len)
            .map(|i| ((i * 7919) % 1000) as f32 / 250.0 - 2.0)
            .collect();
        let t: Vec<f32> = (0..len).map(|i| f32::from(u8::from(i % c == 0))).collect();
        let mut g = vec![0f32; len];
        for gamma in [2.0, 0.5] {
            let o = Opts {
                gamma,
                alpha_kind: 1,
                alpha: vec![0.25; c],
                weight: None,
                pos_weight: None,
                smoothing: 0.0,
            };
            let cv = conv::<f32>(&o);
            let spec = cv.spec(&o);
            for level in Level::available() {
                let mut best = f64::INFINITY;
                for _ in 0..10 {
                    let t0 = std::time::Instant::now();
                    let mut out = Outputs {
                        per_target: None,
                        grad: Some((&mut g[..], Upstream::Uniform(1.0))),
                        hess: None,
                    };
                    run_vector(level, &spec, &z, &t, None, geom, &mut out).unwrap();
                    best = best.min(t0.elapsed().as_secs_f64());
                }
                println!(
                    "{geom:?} gamma {gamma} {level:?}: {:.3} ms, {:.2} ns/elem",
                    best * 1e3,
                    best * 1e9 / len as f64
                );
            }
        }
    }
}
