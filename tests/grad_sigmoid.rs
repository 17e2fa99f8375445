//! Finite-difference gradient checks (f64, proptest) and invariants for the
//! sigmoid-family losses (`SigmoidFocalLoss`, `BceWithLogitsLoss`).
//!
//! Gradient checks use central differences with step `h = 1e-6`: truncation
//! error `h² |l'''| / 6 ≈ 1e-12` for logits in `[-6, 6]`, rounding error
//! about `ε |L| / h ≈ 2e-10 |L|`, both far inside the `1e-6 + 1e-5 |g|`
//! tolerance.

use focal_loss::{BceWithLogitsLoss, BinaryTargets, Masked, Reduction, SigmoidFocalLoss};
use ndarray::{array, Array, Array2, ArrayD, Axis, IxDyn};
use proptest::prelude::*;

const REDUCTIONS: [Reduction; 3] = [Reduction::Sum, Reduction::Mean, Reduction::WeightedMean];
const H: f64 = 1e-6;

/// Either loss.
#[derive(Debug, Clone)]
enum Loss {
    Focal(SigmoidFocalLoss),
    Bce(BceWithLogitsLoss),
}

/// Dispatches one method call to whichever loss `$loss` holds.
macro_rules! call {
    ($loss:expr, $method:ident($($arg:expr),*)) => {
        match $loss {
            Loss::Focal(l) => l.$method($($arg),*),
            Loss::Bce(l) => l.$method($($arg),*),
        }
    };
}

/// A random problem: logits `(N)`, `(N, C)` or `(N, C, m)`, hard or soft
/// targets, maybe an ignore mask, upstream values, and every option.
#[derive(Debug, Clone)]
struct Case {
    shape: Vec<usize>,
    logits: Vec<f64>,
    targets: Vec<f64>,
    mask: Option<Vec<bool>>,
    upstream: Vec<f64>,
    gamma: f64,
    /// 0: none, 1: scalar (`alpha[0]`), 2: per class.
    alpha_kind: u8,
    alpha: Vec<f64>,
    pos_weight: Option<Vec<f64>>,
    weight: Option<Vec<f64>>,
    eps: f64,
    bce: bool,
    reduction: Reduction,
}

impl Case {
    fn arr(&self, v: &[f64]) -> ArrayD<f64> {
        Array::from_shape_vec(IxDyn(&self.shape), v.to_vec()).expect("shape")
    }
    fn mask(&self) -> Option<ArrayD<bool>> {
        let m = self.mask.as_ref()?;
        Some(Array::from_shape_vec(IxDyn(&self.shape), m.clone()).expect("shape"))
    }
    fn loss(&self) -> Loss {
        if self.bce {
            let mut l = BceWithLogitsLoss::new().with_reduction(self.reduction);
            if let Some(w) = &self.weight {
                l = l.with_weight(w).expect("weight");
            }
            if let Some(pw) = &self.pos_weight {
                l = l.with_pos_weight(pw).expect("pos_weight");
            }
            return Loss::Bce(l);
        }
        let mut l = SigmoidFocalLoss::new(self.gamma)
            .expect("gamma")
            .with_label_smoothing(self.eps)
            .expect("eps")
            .with_reduction(self.reduction);
        l = match self.alpha_kind {
            0 => l,
            1 => l.with_alpha_scalar(self.alpha[0]).expect("alpha"),
            _ => l.with_alpha(&self.alpha).expect("alpha"),
        };
        if let Some(pw) = &self.pos_weight {
            l = l.with_pos_weight(pw).expect("pos_weight");
        }
        Loss::Focal(l)
    }
}

fn case() -> impl Strategy<Value = Case> {
    (
        1usize..4,
        1usize..4,
        0usize..4,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(|(n, c, m, soft, masked)| {
            let shape = match m {
                0 => vec![n],
                1 => vec![n, c],
                _ => vec![n, c, m],
            };
            let classes = if m == 0 { 1 } else { c };
            let len: usize = shape.iter().product();
            let target = if soft {
                (0.0f64..=1.0).boxed()
            } else {
                prop_oneof![Just(0.0f64), Just(1.0)].boxed()
            };
            let mask = if masked {
                prop::collection::vec(prop::bool::weighted(0.3), len)
                    .prop_map(Some)
                    .boxed()
            } else {
                Just(None).boxed()
            };
            (
                (
                    Just(shape),
                    prop::collection::vec(-6.0f64..6.0, len),
                    prop::collection::vec(target, len),
                    mask,
                    prop::collection::vec(-2.0f64..2.0, len),
                ),
                (
                    prop_oneof![Just(0.0), Just(0.5), Just(1.0), Just(2.0), 0.0f64..3.0],
                    0u8..3,
                    prop::collection::vec(0.0f64..=1.0, classes),
                    prop::option::of(prop::collection::vec(0.0f64..4.0, classes)),
                    prop::option::of(prop::collection::vec(0.0f64..3.0, classes)),
                    prop_oneof![Just(0.0), 0.0f64..=1.0],
                    any::<bool>(),
                    prop::sample::select(REDUCTIONS.to_vec()),
                ),
            )
        })
        .prop_map(
            |(
                (shape, logits, targets, mask, upstream),
                (gamma, alpha_kind, alpha, pos_weight, weight, eps, bce, reduction),
            )| Case {
                shape,
                logits,
                targets,
                mask,
                upstream,
                gamma,
                alpha_kind,
                alpha,
                pos_weight,
                weight,
                eps,
                bce,
                reduction,
            },
        )
}

/// `d loss / d x` and `upstream · d per_target / d x` against central
/// differences, element by element.
fn fd_check<T: BinaryTargets<f64>>(
    loss: &Loss,
    x: &ArrayD<f64>,
    t: &T,
    up: &ArrayD<f64>,
) -> Result<(), TestCaseError> {
    let (_, g) = call!(loss, forward_backward(x, t)).expect("forward_backward");
    let vjp = call!(loss, per_target_backward(x, t, up)).expect("vjp");
    let f = |x: &ArrayD<f64>| call!(loss, forward(x, t)).expect("forward");
    let fu = |x: &ArrayD<f64>| {
        let per = call!(loss, per_target(x, t)).expect("per_target");
        (&per * up).sum()
    };
    for i in 0..x.len() {
        let mut xp = x.clone();
        let mut xm = x.clone();
        xp.as_slice_mut().expect("contiguous")[i] += H;
        xm.as_slice_mut().expect("contiguous")[i] -= H;
        let fd = (f(&xp) - f(&xm)) / (2.0 * H);
        let gi = g.as_slice().expect("contiguous")[i];
        prop_assert!(
            (fd - gi).abs() <= 1e-6 + 1e-5 * gi.abs(),
            "grad[{}]: analytic {:e}, fd {:e}",
            i,
            gi,
            fd
        );
        let fd = (fu(&xp) - fu(&xm)) / (2.0 * H);
        let vi = vjp.as_slice().expect("contiguous")[i];
        prop_assert!(
            (fd - vi).abs() <= 1e-6 + 1e-5 * vi.abs(),
            "vjp[{}]: analytic {:e}, fd {:e}",
            i,
            vi,
            fd
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Every option (gamma incl. 0 < gamma < 1, no / scalar / per-class
    /// alpha, pos_weight, weight, label smoothing, mask, soft targets, every
    /// reduction, 1-D / 2-D / 3-D) against finite differences.
    #[test]
    fn gradient_matches_finite_differences(c in case()) {
        let loss = c.loss();
        let x = c.arr(&c.logits);
        let y = c.arr(&c.targets);
        let up = c.arr(&c.upstream);
        match c.mask() {
            None => fd_check(&loss, &x, &y, &up)?,
            Some(m) => fd_check(&loss, &x, &Masked { targets: &y, ignore: &m }, &up)?,
        }
    }

    /// `gamma = 0` and no alpha is BCE with logits (same pos_weight):
    /// identical values and gradients in every method.
    #[test]
    fn focal_gamma0_no_alpha_is_bce(c in case()) {
        let x = c.arr(&c.logits);
        let y = c.arr(&c.targets);
        let mut focal = SigmoidFocalLoss::new(0.0).unwrap().with_reduction(c.reduction);
        let mut bce = BceWithLogitsLoss::new().with_reduction(c.reduction);
        if let Some(pw) = &c.pos_weight {
            focal = focal.with_pos_weight(pw).unwrap();
            bce = bce.with_pos_weight(pw).unwrap();
        }
        prop_assert_eq!(focal.forward_backward(&x, &y).unwrap(), bce.forward_backward(&x, &y).unwrap());
        prop_assert_eq!(focal.per_target(&x, &y).unwrap(), bce.per_target(&x, &y).unwrap());
        let up = c.arr(&c.upstream);
        prop_assert_eq!(
            focal.per_target_backward(&x, &y, &up).unwrap(),
            bce.per_target_backward(&x, &y, &up).unwrap()
        );
    }

    /// A per-class alpha with every entry equal to `a` is the scalar alpha `a`.
    #[test]
    fn equal_per_class_alpha_is_scalar_alpha(c in case()) {
        let x = c.arr(&c.logits);
        let y = c.arr(&c.targets);
        let a = c.alpha[0];
        let base = SigmoidFocalLoss::new(c.gamma).unwrap()
            .with_label_smoothing(c.eps).unwrap()
            .with_reduction(c.reduction);
        let scalar = base.clone().with_alpha_scalar(a).unwrap();
        let per_class = base.with_alpha(vec![a; c.alpha.len()]).unwrap();
        prop_assert_eq!(scalar.forward_backward(&x, &y).unwrap(), per_class.forward_backward(&x, &y).unwrap());
        prop_assert_eq!(scalar.per_target(&x, &y).unwrap(), per_class.per_target(&x, &y).unwrap());
    }

    /// An all-false mask changes nothing; a mask equals zeroing those
    /// elements' losses and leaving them out of the `Mean` denominator.
    #[test]
    fn mask_semantics(c in case()) {
        let loss = c.loss();
        let x = c.arr(&c.logits);
        let y = c.arr(&c.targets);
        let none = ArrayD::from_elem(IxDyn(&c.shape), false);
        let plain = call!(&loss, forward_backward(&x, &y)).unwrap();
        let masked = call!(&loss, forward_backward(&x, &Masked { targets: &y, ignore: &none })).unwrap();
        prop_assert_eq!(plain, masked);
        if let Some(m) = c.mask() {
            let mt = Masked { targets: &y, ignore: &m };
            let per_all = call!(&loss, per_target(&x, &y)).unwrap();
            let per = call!(&loss, per_target(&x, &mt)).unwrap();
            let kept = m.iter().filter(|&&i| !i).count();
            for ((p, q), &ig) in per.iter().zip(per_all.iter()).zip(m.iter()) {
                prop_assert_eq!(*p, if ig { 0.0 } else { *q });
            }
            let sum: f64 = per.sum();
            let mean = match &loss {
                Loss::Focal(l) => l.clone().with_reduction(Reduction::Mean).forward(&x, &mt),
                Loss::Bce(l) => l.clone().with_reduction(Reduction::Mean).forward(&x, &mt),
            }.unwrap();
            let want = if kept == 0 { 0.0 } else { sum / kept as f64 };
            prop_assert!((mean - want).abs() <= 1e-12 * (1.0 + want.abs()));
            let (_, g) = call!(&loss, forward_backward(&x, &mt)).unwrap();
            for (gi, &ig) in g.iter().zip(m.iter()) {
                prop_assert!(!ig || *gi == 0.0);
            }
        }
    }

    /// `Sum = Mean · count`; without alpha and weight `WeightedMean = Mean`.
    #[test]
    fn reductions_relate(c in case()) {
        let x = c.arr(&c.logits);
        let y = c.arr(&c.targets);
        let base = SigmoidFocalLoss::new(c.gamma).unwrap();
        let sum = base.clone().with_reduction(Reduction::Sum).forward(&x, &y).unwrap();
        let mean = base.clone().with_reduction(Reduction::Mean).forward(&x, &y).unwrap();
        let wmean = base.with_reduction(Reduction::WeightedMean).forward(&x, &y).unwrap();
        let n = x.len() as f64;
        prop_assert!((sum - mean * n).abs() <= 1e-12 * (1.0 + sum.abs()));
        prop_assert!((wmean - mean).abs() <= 1e-12 * (1.0 + mean.abs()));
    }

    /// f32 agrees with f64 on the same inputs.
    #[test]
    fn f32_agrees_with_f64(c in case()) {
        let loss = c.loss();
        let x = c.arr(&c.logits).mapv(|v| f64::from(v as f32));
        let y = c.arr(&c.targets).mapv(|v| f64::from(v as f32));
        let (l64, g64) = call!(&loss, forward_backward(&x, &y)).unwrap();
        let (l32, g32) = call!(&loss, forward_backward(&x.mapv(|v| v as f32), &y.mapv(|v| v as f32))).unwrap();
        prop_assert!((f64::from(l32) - l64).abs() <= 1e-5 * (1.0 + l64.abs()), "{} vs {}", l32, l64);
        for (a, b) in g32.iter().zip(g64.iter()) {
            prop_assert!((f64::from(*a) - b).abs() <= 1e-5 * (1.0 + b.abs()), "{} vs {}", a, b);
        }
    }
}

/// Logits `(N)` are `(N, 1)`: a length-1 per-class vector applies to all.
#[test]
fn one_dimensional_is_one_class() {
    let x = array![0.3_f64, -2.0, 4.0, -0.5];
    let y = array![1.0, 0.0, 1.0, 0.25];
    let x2 = x.clone().insert_axis(Axis(1));
    let y2 = y.clone().insert_axis(Axis(1));
    let focal = SigmoidFocalLoss::new(1.5)
        .and_then(|l| l.with_alpha([0.25]))
        .and_then(|l| l.with_pos_weight([3.0]))
        .unwrap();
    let (l1, g1) = focal.forward_backward(&x, &y).unwrap();
    let (l2, g2) = focal.forward_backward(&x2, &y2).unwrap();
    assert_eq!(l1, l2);
    assert_eq!(g1, g2.index_axis(Axis(1), 0));
    let bce = BceWithLogitsLoss::new().with_weight([2.0]).unwrap();
    assert_eq!(bce.forward(&x, &y).unwrap(), bce.forward(&x2, &y2).unwrap());
}

/// Zero denominators give loss 0 and a zero gradient, never NaN.
#[test]
fn zero_denominator_gives_zero() {
    let x = array![[1.0_f64, -2.0], [0.5, 3.0]];
    let y = array![[1.0, 0.0], [0.0, 1.0]];
    let all = Array2::from_elem((2, 2), true);
    let masked = Masked {
        targets: &y,
        ignore: &all,
    };
    for r in REDUCTIONS {
        let focal = SigmoidFocalLoss::new(2.0).unwrap().with_reduction(r);
        let (l, g) = focal.forward_backward(&x, &masked).unwrap();
        assert_eq!(l, 0.0);
        assert!(g.iter().all(|&v| v == 0.0));
        let empty = Array2::<f64>::zeros((0, 3));
        let (l, g) = focal.forward_backward(&empty, &empty).unwrap();
        assert_eq!((l, g.len()), (0.0, 0));
    }
    // WeightedMean with all weights 0.
    let bce = BceWithLogitsLoss::new()
        .with_weight([0.0, 0.0])
        .unwrap()
        .with_reduction(Reduction::WeightedMean);
    let (l, g) = bce.forward_backward(&x, &y).unwrap();
    assert_eq!(l, 0.0);
    assert!(g.iter().all(|&v| v == 0.0));
}

/// A `-inf` logit with target 0 is allowed: loss 0 and gradient 0 there.
#[test]
fn negative_infinity_logit_with_zero_target() {
    let x = array![f64::NEG_INFINITY, 0.5];
    let y = array![0.0, 1.0];
    let focal = SigmoidFocalLoss::new(0.5)
        .unwrap()
        .with_reduction(Reduction::Sum);
    let per = focal.per_target(&x, &y).unwrap();
    let (l, g) = focal.forward_backward(&x, &y).unwrap();
    assert_eq!(per[0], 0.0);
    assert_eq!(l, per[1]);
    assert_eq!(g[0], 0.0);
    assert!(g[1].is_finite());
}

/// Rows of the ignore mask equal dropping those rows from the batch.
#[test]
fn masking_rows_equals_dropping_them() {
    let x = array![[0.3_f64, -1.2, 2.0], [4.0, -0.7, 0.1], [-2.5, 1.5, 0.0]];
    let y = array![[1.0, 0.0, 0.5], [-1.0, -1.0, -1.0], [0.0, 1.0, 0.75]];
    let mut ignore = Array2::from_elem((3, 3), false);
    ignore.row_mut(1).fill(true);
    let kept_x = x.select(Axis(0), &[0, 2]);
    let kept_y = y.select(Axis(0), &[0, 2]);
    let focal = SigmoidFocalLoss::new(2.0)
        .and_then(|l| l.with_alpha([0.25, 0.5, 0.75]))
        .and_then(|l| l.with_pos_weight([2.0, 1.0, 0.5]))
        .unwrap();
    for r in REDUCTIONS {
        let f = focal.clone().with_reduction(r);
        let a = f
            .forward(
                &x,
                &Masked {
                    targets: &y,
                    ignore: &ignore,
                },
            )
            .unwrap();
        let b = f.forward(&kept_x, &kept_y).unwrap();
        assert!((a - b).abs() <= 1e-15 * b.abs(), "{r:?}: {a} vs {b}");
    }
}

/// Logits given as a transposed (non-contiguous) view.
#[test]
fn non_contiguous_views() {
    let xt = array![[0.3_f64, 4.0], [-1.2, -0.7], [2.0, 0.1]];
    let yt = array![[1.0, 0.0], [0.0, 0.25], [1.0, 1.0]];
    let (x, y) = (xt.t(), yt.t());
    let focal = SigmoidFocalLoss::new(0.5)
        .unwrap()
        .with_pos_weight([1.0, 2.0, 3.0])
        .unwrap();
    let (l, g) = focal.forward_backward(&x, &y).unwrap();
    let (lc, gc) = focal
        .forward_backward(&x.to_owned(), &y.to_owned())
        .unwrap();
    assert_eq!(l, lc);
    assert_eq!(g, gc);
    let up: Array2<f64> = Array2::ones((3, 2));
    let v = focal.per_target_backward(&x, &y, &up.t()).unwrap();
    assert_eq!(
        v,
        focal
            .with_reduction(Reduction::Sum)
            .forward_backward(&x, &y)
            .unwrap()
            .1
    );
}
