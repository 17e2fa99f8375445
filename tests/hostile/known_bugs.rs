//! Regression tests for the bugs the hostile suite and the fuzz targets
//! found in `src/`, one minimal input each, stating the contract (no
//! panic, no NaN, no silently wrong weight). All are fixed; the oracles
//! tolerate nothing but the documented `f64` limit (see `check::judge`). A
//! new bug gets a test here, `#[ignore]`d with its reason until fixed.

use focal_loss::class_weight::{
    self, compute_sample_weight_multi, pos_weight, ClassWeight, Normalization, SampleClassWeight,
    Scheme, Weighting, ZeroFrequency,
};
use focal_loss::metrics::ConfusionMatrix;
use focal_loss::{
    BceWithLogitsLoss, CrossEntropyLoss, FocalLoss, LossError, LossFloat, Probs, Reduction,
    SigmoidFocalLoss,
};
use ndarray::{array, Array2, ArrayBase, Data, Dimension};
use std::panic::catch_unwind;

/// `Ok` with no NaN anywhere, or an `Err`.
fn no_nan<F: LossFloat, S: Data<Elem = F>, D: Dimension>(
    r: &Result<(F, ArrayBase<S, D>), LossError>,
) -> bool {
    match r {
        Ok((l, g)) => !l.is_nan() && g.iter().all(|v| !v.is_nan()),
        Err(_) => true,
    }
}

/// Fixed: a per-class weight that is finite in `f64` but overflows `f32`
/// used to be accepted and then used as `inf` in `f32` calls (NaN). Now rejected
/// when set, or (if accepted) it must not produce NaN.
#[test]
fn f32_overflowing_parameters() {
    let x = array![[0.0_f32, -1e4], [1.0, 2.0]];
    let t = array![0_usize, 1];
    if let Ok(ce) = CrossEntropyLoss::new().with_weight([1e300, 1.0]) {
        assert!(no_nan(&ce.forward_backward(&x, &t)));
    }
    if let Ok(focal) = FocalLoss::new(1e300) {
        let r = focal.forward_backward(&array![[0.0_f32, -200.0]], &array![1_usize]);
        assert!(no_nan(&r), "{r:?}");
    }
    if let Ok(sf) = SigmoidFocalLoss::new(1e300) {
        let r = sf.forward_backward(&array![-200.0_f32], &array![1.0_f32]);
        assert!(no_nan(&r), "{r:?}");
    }
    if let Ok(bce) = BceWithLogitsLoss::new().with_pos_weight([1e300]) {
        let r = bce.forward_backward(&array![-3.0_f32, 200.0], &array![0.0_f32, 1.0]);
        assert!(no_nan(&r), "{r:?}");
    }
}

/// Fixed: `WeightedMean` scales the gradient by `1 / Σ w` computed in the
/// input's precision: it overflowed for tiny weights (`inf * 0` is NaN). Tiny
/// weights are now rejected when set; if accepted, the weights are uniform,
/// so the result must equal the unweighted one.
#[test]
fn weighted_mean_with_tiny_weights() {
    let x = array![[0.0_f32, 1.0], [2.0, -1.0]];
    let t = array![0_usize, 0];
    let plain = CrossEntropyLoss::new().forward_backward(&x, &t).unwrap();
    for w in [1e-40, 1.2e-38] {
        if let Ok(tiny) = CrossEntropyLoss::new().with_weight([w, w]) {
            let r = tiny.forward_backward(&x, &t).unwrap();
            let same =
                r.1.iter()
                    .zip(plain.1.iter())
                    .all(|(a, b)| (a - b).abs() < 1e-6);
            assert!(same, "{w}: {r:?}");
        }
    }
    let x64 = array![[0.0_f64, -1e4], [1.0, 2.0]];
    if let Ok(tiny) = CrossEntropyLoss::new().with_weight([1e-310, 1e-310]) {
        assert!(no_nan(&tiny.forward_backward(&x64, &t)));
    }
}

/// Fixed: logits whose spread exceeds `MAX` (`MAX - (-MAX)` overflows)
/// made the focal gradient NaN (`0 * -inf` in `gamma p r`).
#[test]
fn focal_logit_spread_beyond_max() {
    let r = FocalLoss::new(0.5)
        .unwrap()
        .forward_backward(&array![[f64::MAX, -f64::MAX]], &array![1_usize]);
    assert!(no_nan(&r), "{r:?}");
}

/// Fixed: probability targets whose mass overflows made `inf - inf` in
/// the gradient. A batch whose target total exceeds `2^512` is now
/// rejected, naming the element where it does; in `f32` the largest masses
/// are computed in `f64` and agree with the `f64` result of the same input.
#[test]
fn huge_probability_targets() {
    let x = array![[0.0_f64, -1e4], [1.0, 2.0]];
    let p = array![[f64::MAX, f64::MAX], [1.0, 0.0]];
    let r = CrossEntropyLoss::new().forward_backward(&x, &Probs(&p));
    assert!(
        matches!(r, Err(LossError::InvalidTarget { ref position, value, .. })
            if position == &[0, 0] && value == f64::MAX),
        "{r:?}"
    );
    let ce = CrossEntropyLoss::new().with_reduction(Reduction::WeightedMean);
    let x32 = array![[0.0_f32, -1e4], [1.0, 2.0]];
    let p32 = array![[f32::MAX, f32::MAX], [1.0, 0.0]];
    let (l, g) = ce.forward_backward(&x32, &Probs(&p32)).unwrap();
    let (l64, g64) = ce
        .forward_backward(&x32.mapv(f64::from), &Probs(&p32.mapv(f64::from)))
        .unwrap();
    assert_eq!(l, l64 as f32);
    assert_eq!(g, g64.mapv(|v| v as f32));
    assert!(
        l.is_finite() && g.iter().all(|v| v.is_finite()),
        "{l} {g:?}"
    );
}

/// Fixed: the sum of the class weights overflowed (label smoothing uses
/// it): NaN gradient although `WeightedMean` keeps the true result near 40.
#[test]
fn class_weight_sum_overflows() {
    for w in [1e308, 3e38] {
        let Ok(ce) = CrossEntropyLoss::new().with_weight([w, w]) else {
            continue;
        };
        let ce = ce.with_label_smoothing(0.1).unwrap();
        let r = ce.forward_backward(&array![[0.0_f64, -800.0]], &array![0_usize]);
        assert!(no_nan(&r), "{w}: {r:?}");
        let r = ce.forward_backward(&array![[0.0_f32, -80.0]], &array![0_usize]);
        assert!(no_nan(&r), "{w} (f32): {r:?}");
    }
}

/// Fixed: a huge upstream times a finite gradient overflowed; at the
/// target class the two overflowed terms cancelled into NaN. The gradient
/// is now scaled after the kernel: `u * g(1)`, position by position.
#[test]
fn huge_upstream_gives_nan() {
    let fl = FocalLoss::new(0.5).unwrap();
    let x = array![[0.0_f64, 1.0, -2.0]];
    let t = array![0_usize];
    let g = fl.per_target_backward(&x, &t, &array![f64::MAX]).unwrap();
    let g1 = fl.per_target_backward(&x, &t, &array![1.0]).unwrap();
    assert_eq!(g, g1.mapv(|v| v * f64::MAX));
    assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
    // f32: computed in f64 and rounded: the product overflows f32 (inf),
    // never NaN.
    let g = fl
        .per_target_backward(&x.mapv(|v| v as f32), &t, &array![f32::MAX])
        .unwrap();
    assert!(g.iter().all(|v| !v.is_nan()), "{g:?}");
    // K-dim: position (n, j) scales the classes at (n, :, j).
    let x = array![[[0.0_f64, 2.0], [1.0, -1.0], [-2.0, 0.5]]];
    let t = array![[0_usize, 2]];
    let u = array![[f64::MAX, 3.0]];
    let g = fl.per_target_backward(&x, &t, &u).unwrap();
    let g1 = fl.per_target_backward(&x, &t, &array![[1.0, 1.0]]).unwrap();
    for k in 0..3 {
        assert_eq!(g[[0, k, 0]], g1[[0, k, 0]] * f64::MAX);
        assert_eq!(g[[0, k, 1]], g1[[0, k, 1]] * 3.0);
    }
}

/// Fixed: sigmoid focal loss at `x = -MAX` with `pos_weight > 1` and
/// target 1: the BCE term overflows (the loss is truly `inf`) and the
/// gradient's `r * bce` was `0 * inf`. As `x -> -inf` with `y = 1`,
/// `dl/dx -> -pos_weight` (`(1 - p)^gamma -> 1`, `d sp(-x)/dx -> -1`).
#[test]
fn sigmoid_focal_gradient_at_minus_max() {
    let s = SigmoidFocalLoss::new(2.0)
        .unwrap()
        .with_pos_weight([1.1])
        .unwrap()
        .with_reduction(Reduction::Sum);
    let (l, g) = s
        .forward_backward(&array![-f64::MAX], &array![1.0])
        .unwrap();
    assert_eq!((l, g[0]), (f64::INFINITY, -1.1));
    let (l, g) = s
        .forward_backward(&array![-f32::MAX], &array![1.0_f32])
        .unwrap();
    assert_eq!((l, g[0]), (f32::INFINITY, -1.1));
}

/// Fixed: `f32` per-position losses overflowed before the reduction
/// divided them (`WeightedMean` of values whose true mean is about -3.6
/// gave `inf`). Such calls are now computed in `f64`: the `f32` result is
/// the `f64` result of the same input, rounded.
#[test]
fn per_position_overflow_in_f32() {
    let nll = focal_loss::NllLoss::new()
        .with_weight([1.0, 1.0, 3e38])
        .unwrap();
    let x = array![[15.7_f32, 19.2, -3.04], [3.76, 10.4, 10.2]];
    let t = array![2_usize, 2];
    let l = nll.forward(&x, &t).unwrap();
    let l64 = nll.forward(&x.mapv(f64::from), &t).unwrap();
    assert_eq!(l, l64 as f32);
    assert!((l64 - (3.04 - 10.2) / 2.0).abs() < 1e-5, "{l64}");
}

/// Fixed: with `C > 4096` the row kernel summed the exponentials in
/// chunks when no gradient was asked for, so `forward` and
/// `forward_backward` differed in the last bit.
#[test]
fn forward_equals_forward_backward_for_wide_rows() {
    let ce = CrossEntropyLoss::new().with_reduction(Reduction::Sum);
    let mut diffs = 0;
    for seed in 0..200_u64 {
        // A fixed LCG: uniform logits in [-20, 20) (6 of these 200 rows
        // differ today).
        let lcg = |s: u64| {
            s.wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407)
        };
        let mut st = lcg(seed);
        let x = Array2::from_shape_fn((1, 5000), |_| {
            st = lcg(st);
            ((st >> 33) as f64 / (1_u64 << 31) as f64 * 40.0 - 20.0) as f32
        });
        let t = array![0_usize];
        if ce.forward(&x, &t).unwrap() != ce.forward_backward(&x, &t).unwrap().0 {
            diffs += 1;
        }
    }
    assert_eq!(diffs, 0);
}

/// Fixed: with label smoothing so small that `eps / C` rounds to 0, a
/// masked (`-inf`) non-target class was an error for `C < 64` and accepted
/// for `C >= 64`.
#[test]
fn subnormal_smoothing_and_masked_classes() {
    let ce = CrossEntropyLoss::new()
        .with_label_smoothing(5e-324)
        .unwrap();
    let outcome = |c: usize| {
        let mut x = Array2::<f64>::zeros((1, c));
        x[[0, 1]] = f64::NEG_INFINITY;
        ce.forward(&x, &array![0_usize]).is_ok()
    };
    assert_eq!(outcome(3), outcome(64));
}

/// Fixed: huge class counts panicked instead of returning an error.
#[test]
fn huge_n_classes_panics() {
    assert!(catch_unwind(|| class_weight::count_labels(&[], usize::MAX)).is_ok());
    assert!(catch_unwind(|| class_weight::balanced(&[0], 1 << 61)).is_ok());
    assert!(catch_unwind(|| ConfusionMatrix::new(&[], &[], usize::MAX)).is_ok());
    assert!(catch_unwind(|| ConfusionMatrix::new(&[], &[], 1 << 32)).is_ok());
}

/// Fixed: `pos_weight` with a tiny pseudo-count returned `inf` (the module
/// promises finite weights or an error); `n_neg / k` truly exceeds `MAX`, so
/// it is now `NonFiniteWeight` naming the column.
#[test]
fn pos_weight_tiny_pseudo_count() {
    let r = pos_weight(&array![[1.0, 0.0]], ZeroFrequency::PseudoCount(5e-324));
    assert!(
        r.as_ref().map_or(true, |w| w.iter().all(|v| v.is_finite())),
        "{r:?}"
    );
}

/// Fixed: the multi-output product of per-output weights overflowed to
/// `inf`; a product beyond `MAX` is now `NonFiniteSampleWeight` naming the
/// sample.
#[test]
fn sample_weight_product_overflows() {
    let cw = SampleClassWeight::PerOutput(vec![
        ClassWeight::Custom([(1_i64, f64::MAX)].into()),
        ClassWeight::Custom([(1_i64, 2.0)].into()),
    ]);
    let r = compute_sample_weight_multi(&cw, &array![[1_i64, 1], [2, 2]], None);
    assert!(
        r.as_ref().map_or(true, |w| w.iter().all(|v| v.is_finite())),
        "{r:?}"
    );
}

/// Fixed: `Scheme::Balanced` computes `n / (K n_c)`; `K n_c` overflowed and
/// the class silently got weight 0 (its true weight is 0.2).
#[test]
fn balanced_product_overflows() {
    let w = Weighting::default().from_counts(&[2.0, 2.0, f64::MAX, 2.0, 2.0]);
    assert!(w.as_ref().map_or(true, |w| w[2] > 0.0), "{w:?}");
}

/// Fixed: `SumToK` / `MeanOne` divided by a sum that overflowed to `inf`:
/// every weight silently became 0.
#[test]
fn normalisation_overflows_to_zero_weights() {
    let w = Weighting::new(Scheme::Enet {
        c: 1.000_000_000_000_001,
    })
    .unwrap()
    .with_normalization(Normalization::MeanOne)
    .from_counts(&[f64::MAX, 1e-300, 5e-324]);
    assert!(
        w.as_ref().map_or(true, |w| w.iter().any(|&v| v > 0.0)),
        "{w:?}"
    );
}

/// Fixed: `MeanOne` with a subnormal count: `n_c w_c` lost its precision
/// and `Σ n_c w_c = n` failed (1.42 instead of 1 for a single class).
#[test]
fn mean_one_with_subnormal_count() {
    let w = Weighting::new(Scheme::Enet { c: 1.02 })
        .unwrap()
        .with_normalization(Normalization::MeanOne)
        .from_counts(&[5e-324])
        .unwrap();
    assert!((w[0] - 1.0).abs() < 1e-12, "{w:?}");
}

/// Fixed: a `WeightedMean` denominator tiny although every weight is
/// valid (the weight actually applied also holds the probability-target
/// mass, or the sigmoid `alpha_t`): `1 / Σ` overflowed `f32` and gave
/// `±inf` / NaN gradients where the true ones are about ±0.73. Such calls
/// are now computed in `f64`: they equal the `f64` result of the same
/// input, rounded.
#[test]
fn weighted_mean_tiny_denominator_from_targets() {
    let p = array![[1e-45_f32, 0.0]];
    let x = array![[0.0_f32, 1.0]];
    let ce = CrossEntropyLoss::new();
    let (l, g) = ce.forward_backward(&x, &Probs(&p)).unwrap();
    let (l64, g64) = ce
        .forward_backward(&x.mapv(f64::from), &Probs(&p.mapv(f64::from)))
        .unwrap();
    assert_eq!((l, g.clone()), (l64 as f32, g64.mapv(|v| v as f32)));
    // ln(1 + e) and softmax(x) - (1, 0).
    assert!((l64 - 1.0_f64.exp().ln_1p()).abs() < 1e-12, "{l64}");
    assert!((g64[[0, 1]] - 1.0 / (1.0 + (-1.0_f64).exp())).abs() < 1e-12);
    let s = SigmoidFocalLoss::new(2.0)
        .unwrap()
        .with_alpha_scalar(1.0)
        .unwrap()
        .with_reduction(Reduction::WeightedMean);
    let r = s
        .forward_backward(&array![0.5_f32], &array![1e-45_f32])
        .unwrap();
    let r64 = s
        .forward_backward(&array![0.5_f64], &array![f64::from(1e-45_f32)])
        .unwrap();
    assert_eq!((r.0, r.1[0]), (r64.0 as f32, r64.1[0] as f32));
    assert!(r.0.is_finite() && r.1[0].is_finite(), "{r:?}");
    // f64 with a mass below 1 / f64::MAX: finite (the gradient is divided
    // by the denominator after the kernel).
    let p = array![[5e-324_f64, 0.0]];
    let r = ce
        .forward_backward(&array![[0.0_f64, 1.0]], &Probs(&p))
        .unwrap();
    assert!(
        r.0.is_finite() && r.1.iter().all(|v| v.is_finite()),
        "{r:?}"
    );
}

/// Fixed: in `f64`, a per-position term beyond `f64::MAX` (a weight of
/// `3e38` times a loss of `1e300`) made the reduced loss `inf`, or NaN for
/// NLL terms of both signs, although the reduced value is representable.
/// The sum is now recomputed with the weights scaled by `2^-700`.
#[test]
fn f64_per_position_terms_beyond_max() {
    let x = array![[0.0_f64, -1e300], [0.0, -1e300]];
    let t = array![1_usize, 1];
    let ce = CrossEntropyLoss::new()
        .with_weight([3e38, 3e38])
        .unwrap()
        .with_reduction(Reduction::WeightedMean);
    // -ln p_1 = 1e300 + ln(1 + e^-1e300) = 1e300 at each position.
    let (l, g) = ce.forward_backward(&x, &t).unwrap();
    assert_eq!(l, 1e300);
    assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
    assert_eq!(ce.forward(&x, &t).unwrap(), l);
    // Mean really is 3e338: inf.
    let mean = ce.clone().with_reduction(Reduction::Mean);
    assert_eq!(mean.forward(&x, &t).unwrap(), f64::INFINITY);
    // NLL terms -w x of both signs: -3e38 * MAX + 3e38 * MAX = 0.
    let nll = focal_loss::NllLoss::new()
        .with_weight([3e38, 1.0])
        .unwrap()
        .with_reduction(Reduction::Sum);
    let lp = array![[f64::MAX, 0.0], [-f64::MAX, 0.0]];
    assert_eq!(nll.forward(&lp, &array![0_usize, 0]).unwrap(), 0.0);
    // BCE: weight 3e38, x = -1e300, y = 1: bce = 1e300 per element.
    let bce = BceWithLogitsLoss::new()
        .with_weight([3e38])
        .unwrap()
        .with_reduction(Reduction::WeightedMean);
    let l = bce
        .forward(&array![[-1e300], [-1e300]], &array![[1.0], [1.0]])
        .unwrap();
    assert_eq!(l, 1e300);
}
