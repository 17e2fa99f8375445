//! Finite-difference gradient checks (f64, proptest) and invariants for the
//! softmax-family losses.

use focal_loss::{CrossEntropyLoss, FocalLoss, NllLoss, Probs, Reduction};
use ndarray::{Array, ArrayD, IxDyn};
use proptest::prelude::*;

const REDUCTIONS: [Reduction; 3] = [Reduction::Sum, Reduction::Mean, Reduction::WeightedMean];

/// A random problem: logits `(N, C, m)` or `(N, C)`, index targets (some
/// ignored), probability targets, per-class weights, upstream.
#[derive(Debug, Clone)]
struct Case {
    shape: Vec<usize>,
    logits: Vec<f64>,
    index: Vec<usize>,
    probs: Vec<f64>,
    weight: Vec<f64>,
    upstream: Vec<f64>,
    reduction: Reduction,
}

impl Case {
    fn logits(&self) -> ArrayD<f64> {
        Array::from_shape_vec(IxDyn(&self.shape), self.logits.clone()).unwrap()
    }
    fn pshape(&self) -> Vec<usize> {
        let mut s = self.shape.clone();
        s.remove(1);
        s
    }
    fn index(&self) -> ArrayD<usize> {
        Array::from_shape_vec(IxDyn(&self.pshape()), self.index.clone()).unwrap()
    }
    fn probs(&self) -> ArrayD<f64> {
        Array::from_shape_vec(IxDyn(&self.shape), self.probs.clone()).unwrap()
    }
    fn upstream(&self) -> ArrayD<f64> {
        Array::from_shape_vec(IxDyn(&self.pshape()), self.upstream.clone()).unwrap()
    }
}

/// Index 255 marks an ignored target.
const IGNORE: usize = 255;

fn case() -> impl Strategy<Value = Case> {
    (
        1usize..4,
        1usize..6,
        prop_oneof![Just(0usize), 1usize..4],
        0usize..3,
    )
        .prop_flat_map(|(n, c, m, r)| {
            let shape = if m == 0 { vec![n, c] } else { vec![n, c, m] };
            let len: usize = shape.iter().product();
            let pos = len / c;
            (
                Just(shape),
                prop::collection::vec(-5.0f64..5.0, len),
                prop::collection::vec(prop_oneof![4 => 0..c, 1 => Just(IGNORE)], pos),
                prop::collection::vec(0.0f64..1.0, len),
                prop::collection::vec(0.1f64..3.0, c),
                prop::collection::vec(-2.0f64..2.0, pos),
                Just(REDUCTIONS[r]),
            )
                .prop_map(
                    |(shape, logits, index, probs, weight, upstream, reduction)| Case {
                        shape,
                        logits,
                        index,
                        probs,
                        weight,
                        upstream,
                        reduction,
                    },
                )
        })
}

/// Central differences of `f` at `x`.
fn numeric_grad(x: &ArrayD<f64>, f: impl Fn(&ArrayD<f64>) -> f64) -> ArrayD<f64> {
    let h = 1e-6;
    let mut g = ArrayD::zeros(x.raw_dim());
    let mut xp = x.clone();
    for (i, gi) in g.iter_mut().enumerate() {
        let orig = xp.as_slice().unwrap()[i];
        xp.as_slice_mut().unwrap()[i] = orig + h;
        let fp = f(&xp);
        xp.as_slice_mut().unwrap()[i] = orig - h;
        let fm = f(&xp);
        xp.as_slice_mut().unwrap()[i] = orig;
        *gi = (fp - fm) / (2.0 * h);
    }
    g
}

fn assert_grad_close(ctx: &str, analytic: &ArrayD<f64>, numeric: &ArrayD<f64>) {
    for ((i, a), n) in analytic.indexed_iter().zip(numeric.iter()) {
        assert!(
            (a - n).abs() <= 1e-6 + 1e-5 * n.abs(),
            "{ctx}: at {i:?} analytic {a:e}, numeric {n:e}"
        );
    }
}

/// Checks `forward_backward` and `per_target_backward` of one loss against
/// finite differences, for index and (where supported) probability targets.
macro_rules! check_loss {
    ($ctx:expr, $loss:expr, $case:expr, $targets:expr) => {{
        let loss = $loss;
        let case = $case;
        let x = case.logits();
        let t = $targets;
        let (l, g) = loss.forward_backward(&x, &t).unwrap();
        assert_eq!(
            l,
            loss.forward(&x, &t).unwrap(),
            "{}: forward == loss of forward_backward",
            $ctx
        );
        let num = numeric_grad(&x, |x| loss.forward(x, &t).unwrap());
        assert_grad_close($ctx, &g, &num);
        let u = case.upstream();
        let gu = loss.per_target_backward(&x, &t, &u).unwrap();
        let num = numeric_grad(&x, |x| (&loss.per_target(x, &t).unwrap() * &u).sum());
        assert_grad_close(concat!($ctx, " per_target_backward"), &gu, &num);
    }};
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn nll_gradient(case in case(), weighted in any::<bool>()) {
        let mut loss = NllLoss::new().with_ignore_index(IGNORE).with_reduction(case.reduction);
        if weighted { loss = loss.with_weight(&case.weight).unwrap(); }
        check_loss!("nll", loss, &case, case.index());
    }

    #[test]
    fn cross_entropy_gradient(case in case(), weighted in any::<bool>(), eps in prop_oneof![Just(0.0), 0.0f64..1.0]) {
        let mut loss = CrossEntropyLoss::new()
            .with_ignore_index(IGNORE)
            .with_label_smoothing(eps).unwrap()
            .with_reduction(case.reduction);
        if weighted { loss = loss.with_weight(&case.weight).unwrap(); }
        check_loss!("ce index", loss.clone(), &case, case.index());
        let p = case.probs();
        check_loss!("ce probs", loss, &case, Probs(&p));
    }

    #[test]
    fn focal_gradient(
        case in case(),
        alpha in 0usize..3,
        gamma in prop_oneof![Just(0.0), Just(0.5), Just(1.0), Just(2.0), Just(5.0), 0.0f64..5.0],
        eps in prop_oneof![Just(0.0), 0.0f64..1.0],
    ) {
        let mut loss = FocalLoss::new(gamma).unwrap()
            .with_ignore_index(IGNORE)
            .with_label_smoothing(eps).unwrap()
            .with_reduction(case.reduction);
        loss = match alpha {
            0 => loss,
            1 => loss.with_alpha_scalar(0.25).unwrap(),
            _ => loss.with_alpha(&case.weight).unwrap(),
        };
        check_loss!("focal index", loss.clone(), &case, case.index());
        let p = case.probs();
        check_loss!("focal probs", loss, &case, Probs(&p));
    }

    /// gamma = 0 focal is cross-entropy with weight = alpha: same loss, same gradient.
    #[test]
    fn focal_gamma_zero_is_cross_entropy(case in case(), eps in prop_oneof![Just(0.0), 0.0f64..1.0]) {
        let x = case.logits();
        let t = case.index();
        let ce = CrossEntropyLoss::new().with_weight(&case.weight).unwrap()
            .with_ignore_index(IGNORE).with_label_smoothing(eps).unwrap().with_reduction(case.reduction);
        let fl = FocalLoss::new(0.0).unwrap().with_alpha(&case.weight).unwrap()
            .with_ignore_index(IGNORE).with_label_smoothing(eps).unwrap().with_reduction(case.reduction);
        let (lc, gc) = ce.forward_backward(&x, &t).unwrap();
        let (lf, gf) = fl.forward_backward(&x, &t).unwrap();
        prop_assert!((lc - lf).abs() <= 1e-13 * (1.0 + lc.abs()), "{} vs {}", lc, lf);
        for (a, b) in gc.iter().zip(gf.iter()) {
            prop_assert!((a - b).abs() <= 1e-14 * (1.0 + a.abs()), "{} vs {}", a, b);
        }
        let p = case.probs();
        let (lc, gc) = ce.forward_backward(&x, &Probs(&p)).unwrap();
        let (lf, gf) = fl.forward_backward(&x, &Probs(&p)).unwrap();
        prop_assert!((lc - lf).abs() <= 1e-13 * (1.0 + lc.abs()));
        for (a, b) in gc.iter().zip(gf.iter()) {
            prop_assert!((a - b).abs() <= 1e-14 * (1.0 + a.abs()));
        }
    }

    /// Uniform weights are the same as no weights under WeightedMean, and
    /// scale the loss under Sum / Mean.
    #[test]
    fn uniform_weights_equal_none(case in case(), w in 0.1f64..5.0) {
        let x = case.logits();
        let t = case.index();
        let c = case.shape[1];
        for r in REDUCTIONS {
            let plain = CrossEntropyLoss::new().with_ignore_index(IGNORE).with_reduction(r);
            let weighted = plain.clone().with_weight(vec![w; c]).unwrap();
            let (lp, gp) = plain.forward_backward(&x, &t).unwrap();
            let (lw, gw) = weighted.forward_backward(&x, &t).unwrap();
            let k = if r == Reduction::WeightedMean { 1.0 } else { w };
            prop_assert!((lw - k * lp).abs() <= 1e-12 * (1.0 + lw.abs()));
            for (a, b) in gw.iter().zip(gp.iter()) {
                prop_assert!((a - k * b).abs() <= 1e-12 * (1.0 + a.abs()));
            }
            // Same for focal alpha, vector and scalar.
            let f = FocalLoss::new(2.0).unwrap().with_ignore_index(IGNORE).with_reduction(r);
            let lf = f.forward(&x, &t).unwrap();
            let lv = f.clone().with_alpha(vec![w; c]).unwrap().forward(&x, &t).unwrap();
            let ls = f.with_alpha_scalar(w).unwrap().forward(&x, &t).unwrap();
            prop_assert!((lv - k * lf).abs() <= 1e-12 * (1.0 + lv.abs()));
            prop_assert!((ls - lv).abs() <= 1e-12 * (1.0 + lv.abs()));
        }
    }

    /// Cross-entropy gradient rows sum to zero (index or probability
    /// targets, any weights and smoothing).
    #[test]
    fn cross_entropy_rows_sum_to_zero(case in case(), eps in 0.0f64..1.0) {
        let x = case.logits();
        let ce = CrossEntropyLoss::new().with_weight(&case.weight).unwrap()
            .with_ignore_index(IGNORE).with_label_smoothing(eps).unwrap().with_reduction(Reduction::Sum);
        let (_, g) = ce.forward_backward(&x, &case.index()).unwrap();
        for s in g.sum_axis(ndarray::Axis(1)).iter() {
            prop_assert!(s.abs() < 1e-12, "row sum {}", s);
        }
        let p = case.probs();
        let (_, g) = ce.forward_backward(&x, &Probs(&p)).unwrap();
        for s in g.sum_axis(ndarray::Axis(1)).iter() {
            prop_assert!(s.abs() < 1e-12, "row sum {}", s);
        }
    }

    /// f32 agrees with f64 on the same (f32-representable) inputs.
    #[test]
    fn f32_agrees_with_f64(case in case(), gamma in 0.0f64..5.0, eps in 0.0f64..0.5) {
        let x64 = case.logits().mapv(|v| f64::from(v as f32));
        let x32 = x64.mapv(|v| v as f32);
        let t = case.index();
        let fl = FocalLoss::new(gamma).unwrap().with_alpha(&case.weight).unwrap()
            .with_ignore_index(IGNORE).with_label_smoothing(eps).unwrap().with_reduction(case.reduction);
        let ce = CrossEntropyLoss::new().with_weight(&case.weight).unwrap()
            .with_ignore_index(IGNORE).with_label_smoothing(eps).unwrap().with_reduction(case.reduction);
        let (l64, g64) = fl.forward_backward(&x64, &t).unwrap();
        let (l32, g32) = fl.forward_backward(&x32, &t).unwrap();
        prop_assert!((f64::from(l32) - l64).abs() <= 1e-6 + 1e-5 * l64.abs(), "{} vs {}", l32, l64);
        for (a, b) in g32.iter().zip(g64.iter()) {
            prop_assert!((f64::from(*a) - b).abs() <= 1e-6 + 1e-5 * b.abs(), "{} vs {}", a, b);
        }
        let (l64, g64) = ce.forward_backward(&x64, &t).unwrap();
        let (l32, g32) = ce.forward_backward(&x32, &t).unwrap();
        prop_assert!((f64::from(l32) - l64).abs() <= 1e-6 + 1e-5 * l64.abs());
        for (a, b) in g32.iter().zip(g64.iter()) {
            prop_assert!((f64::from(*a) - b).abs() <= 1e-6 + 1e-5 * b.abs());
        }
    }
}

/// For 0 < gamma < 1 the focal gradient stays finite as p_y → 1, including
/// p_y == 1 exactly in floating point.
#[test]
fn fractional_gamma_is_finite_at_saturation() {
    for gamma in [0.1, 0.5, 0.9] {
        let focal = FocalLoss::new(gamma)
            .unwrap()
            .with_reduction(Reduction::Sum);
        for gap in [1.0, 10.0, 30.0, 50.0, 800.0, 1e300] {
            let x: ndarray::Array2<f64> = ndarray::array![[gap, 0.0, -gap]];
            let (l, g) = focal
                .forward_backward(&x, &ndarray::array![0_usize])
                .unwrap();
            assert!(
                l.is_finite() && l >= 0.0,
                "gamma {gamma}, gap {gap}: loss {l}"
            );
            assert!(
                g.iter().all(|v| v.is_finite()),
                "gamma {gamma}, gap {gap}: {g:?}"
            );
        }
    }
}
