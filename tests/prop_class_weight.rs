//! Property tests for `focal_loss::class_weight`: the balanced identities,
//! scale invariance, and finite positive weights for every scheme under
//! every zero-frequency policy but `Error`; the identities for counts
//! anywhere in the `f64` range (errors only where a weight truly exceeds
//! `f64::MAX`), and bitwise the plain formulas for ordinary counts.

use focal_loss::class_weight::{
    self, compute_class_weight, compute_sample_weight, compute_sample_weight_multi, pos_weight,
    ClassWeight, Normalization, SampleClassWeight, Scheme, Weighting, ZeroFrequency,
};
use focal_loss::LossError;
use ndarray::Array2;
use proptest::prelude::*;

/// `|a - b| <= tol * scale`, for identities that hold up to rounding.
fn near(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-12 * scale.max(1.0)
}

/// Labels in `0..k` in which every class occurs.
fn all_present_labels() -> impl Strategy<Value = (usize, Vec<usize>)> {
    (1_usize..12).prop_flat_map(|k| {
        prop::collection::vec(0..k, 0..150).prop_map(move |mut extra| {
            extra.extend(0..k);
            (k, extra)
        })
    })
}

/// Integer counts for 1..15 classes, some of them zero.
fn counts_with_zeros() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![
            Just(0.0),
            (1_u32..1_000_000).prop_map(f64::from),
            0.001_f64..1e4
        ],
        1..15,
    )
}

fn schemes() -> impl Strategy<Value = Scheme> {
    prop_oneof![
        Just(Scheme::Balanced),
        Just(Scheme::InverseFrequency),
        Just(Scheme::InverseSqrtFrequency),
        (0.0_f64..0.99999).prop_map(|beta| Scheme::EffectiveNumber { beta }),
        Just(Scheme::EffectiveNumber { beta: 0.0 }),
        Just(Scheme::MedianFrequency),
        (1.0001_f64..3.0).prop_map(|c| Scheme::Enet { c }),
        Just(Scheme::Enet {
            c: class_weight::ENET_C
        }),
    ]
}

fn normalizations() -> impl Strategy<Value = Normalization> {
    prop_oneof![
        Just(Normalization::None),
        Just(Normalization::SumToK),
        Just(Normalization::MeanOne),
    ]
}

/// Every policy except `Error`, with a positive parameter.
fn lenient_policies() -> impl Strategy<Value = ZeroFrequency> {
    prop_oneof![
        (1e-3_f64..100.0).prop_map(ZeroFrequency::Fixed),
        (1e-3_f64..100.0).prop_map(ZeroFrequency::PseudoCount),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Balanced weights satisfy Σ_c n_c w_c = n.
    #[test]
    fn balanced_sum_identity((k, labels) in all_present_labels()) {
        let w = class_weight::balanced(&labels, k)?;
        let counts = class_weight::count_labels(&labels, k)?;
        let total: f64 = counts.iter().zip(&w).map(|(&c, &wc)| c as f64 * wc).sum();
        let n = labels.len() as f64;
        prop_assert!(near(total, n, n * k as f64), "{total} vs {n}");
    }

    /// With sample weights: Σ_c S_c w_c = Σ_i s_i, S_c the class's total weight.
    #[test]
    fn weighted_balanced_sum_identity(
        (k, labels) in all_present_labels(),
        seed in prop::collection::vec(0.01_f64..10.0, 200),
    ) {
        let sw: Vec<f64> = labels.iter().enumerate().map(|(i, _)| seed[i % seed.len()]).collect();
        let classes: Vec<usize> = (0..k).collect();
        let w = compute_class_weight(&ClassWeight::Balanced, &classes, &labels, Some(&sw))?;
        let mut totals = vec![0.0; k];
        for (&y, &s) in labels.iter().zip(&sw) {
            totals[y] += s;
        }
        let lhs: f64 = totals.iter().zip(&w).map(|(t, wc)| t * wc).sum();
        let n: f64 = sw.iter().sum();
        prop_assert!(near(lhs, n, n * k as f64), "{lhs} vs {n}");
    }

    /// Multiplying every class count by a constant (repeating every label m
    /// times, or scaling every sample weight) leaves balanced weights unchanged.
    #[test]
    fn balanced_is_scale_invariant(
        (k, labels) in all_present_labels(),
        m in 2_usize..20,
        factor in 1e-3_f64..1e3,
    ) {
        let w = class_weight::balanced(&labels, k)?;
        let repeated: Vec<usize> = labels.iter().flat_map(|&y| std::iter::repeat(y).take(m)).collect();
        let w_rep = class_weight::balanced(&repeated, k)?;
        let counts: Vec<f64> = class_weight::count_labels(&labels, k)?
            .iter()
            .map(|&c| c as f64 * factor)
            .collect();
        let w_scaled = Weighting::default().from_counts(&counts)?;
        for c in 0..k {
            prop_assert!(near(w_rep[c], w[c], w[c] * 4.0), "class {c}: {} vs {}", w_rep[c], w[c]);
            prop_assert!(near(w_scaled[c], w[c], w[c] * 8.0), "class {c}: {} vs {}", w_scaled[c], w[c]);
        }
    }

    /// Every scheme and normalisation gives finite, positive weights under
    /// every zero-frequency policy except `Error`, zero counts included.
    #[test]
    fn lenient_policies_give_finite_positive_weights(
        counts in counts_with_zeros(),
        scheme in schemes(),
        norm in normalizations(),
        zero in lenient_policies(),
    ) {
        let w = Weighting::new(scheme)?
            .with_zero_frequency(zero)?
            .with_normalization(norm)
            .from_counts(&counts)?;
        prop_assert_eq!(w.len(), counts.len());
        for (c, &wc) in w.iter().enumerate() {
            prop_assert!(wc.is_finite() && wc > 0.0, "class {}: {} ({:?})", c, wc, w);
        }
        if let ZeroFrequency::Fixed(fixed) = zero {
            for (c, &n_c) in counts.iter().enumerate() {
                if n_c == 0.0 {
                    prop_assert_eq!(w[c], fixed);
                }
            }
        }
    }

    /// The same from labels: empty classes are weighted, never inf or NaN.
    #[test]
    fn lenient_policies_from_labels(
        k in 1_usize..10,
        raw in prop::collection::vec(0_usize..100, 0..60),
        scheme in schemes(),
        norm in normalizations(),
        zero in lenient_policies(),
    ) {
        let labels: Vec<usize> = raw.iter().map(|&r| r % k).collect();
        let w = Weighting::new(scheme)?
            .with_zero_frequency(zero)?
            .with_normalization(norm)
            .from_labels(&labels, k)?;
        prop_assert!(w.iter().all(|x| x.is_finite() && *x > 0.0), "{:?}", w);
    }

    /// Under `Error`, positive counts give finite positive weights and a zero
    /// count is an error naming the first empty class.
    #[test]
    fn error_policy(counts in counts_with_zeros(), scheme in schemes(), norm in normalizations()) {
        let got = Weighting::new(scheme)?.with_normalization(norm).from_counts(&counts);
        match counts.iter().position(|&c| c == 0.0) {
            Some(index) => prop_assert_eq!(
                got,
                Err(LossError::ClassNotInLabels { class: index.to_string(), index })
            ),
            None => {
                let w = got?;
                prop_assert!(w.iter().all(|x| x.is_finite() && *x > 0.0), "{:?}", w);
            }
        }
    }

    /// The normalisations hold: SumToK sums to K', MeanOne gives Σ n_c w_c = n.
    #[test]
    fn normalizations_hold(counts in counts_with_zeros(), scheme in schemes()) {
        let recipe = Weighting::new(scheme)?.with_zero_frequency(ZeroFrequency::Fixed(0.0))?;
        let present: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] > 0.0).collect();
        let k = present.len() as f64;
        let w = recipe.with_normalization(Normalization::SumToK).from_counts(&counts)?;
        let sum: f64 = present.iter().map(|&c| w[c]).sum();
        prop_assert!(near(sum, k, 4.0 * k), "{sum} vs {k}");
        let w = recipe.with_normalization(Normalization::MeanOne).from_counts(&counts)?;
        let n: f64 = counts.iter().sum();
        let total: f64 = present.iter().map(|&c| counts[c] * w[c]).sum();
        prop_assert!(near(total, n, 4.0 * n * k), "{total} vs {n}");
    }

    /// Cui et al.'s weights sum to K, β = 0 is uniform, and rarer classes
    /// never weigh less.
    #[test]
    fn effective_number_properties((k, labels) in all_present_labels(), beta in 0.0_f64..0.9999) {
        let w = class_weight::effective_number(&labels, k, beta)?;
        let sum: f64 = w.iter().sum();
        prop_assert!(near(sum, k as f64, 4.0 * k as f64), "{sum}");
        let counts = class_weight::count_labels(&labels, k)?;
        for a in 0..k {
            for b in 0..k {
                if counts[a] < counts[b] {
                    prop_assert!(w[a] >= w[b] * (1.0 - 1e-12), "{:?} {:?}", counts, w);
                }
            }
        }
        let uniform = class_weight::effective_number(&labels, k, 0.0)?;
        prop_assert!(uniform.iter().all(|&x| x == 1.0), "{:?}", uniform);
    }

    /// Relabelling (to strings, classes listed in another order) permutes
    /// the weights and changes nothing else.
    #[test]
    fn labels_of_any_type((k, labels) in all_present_labels(), rot in 0_usize..12) {
        let w = class_weight::balanced(&labels, k)?;
        let names: Vec<String> = (0..k).map(|c| format!("class-{c}")).collect();
        let order: Vec<usize> = (0..k).map(|i| (i + rot) % k).collect();
        let classes: Vec<&str> = order.iter().map(|&c| names[c].as_str()).collect();
        let y: Vec<&str> = labels.iter().map(|&c| names[c].as_str()).collect();
        let ws = compute_class_weight(&ClassWeight::Balanced, &classes, &y, None)?;
        for (i, &c) in order.iter().enumerate() {
            prop_assert_eq!(ws[i], w[c]);
        }
    }

    /// Balanced sample weights are w[y_i] and sum to n.
    #[test]
    fn balanced_sample_weights((k, labels) in all_present_labels()) {
        let sw = compute_sample_weight(&SampleClassWeight::Balanced, &labels, None)?;
        let w = class_weight::balanced(&labels, k)?;
        for (&y, &s) in labels.iter().zip(&sw) {
            prop_assert_eq!(s, w[y]);
        }
        let n = labels.len() as f64;
        prop_assert!(near(sw.iter().sum(), n, n * k as f64));
    }

    /// pos_weight balances each column (n_pos · pos_weight = n_neg) and is
    /// finite and positive under the lenient policies.
    #[test]
    fn pos_weight_properties(
        (rows, cols, bits) in (0_usize..30, 1_usize..6)
            .prop_flat_map(|(r, c)| (Just(r), Just(c), prop::collection::vec(any::<bool>(), r * c))),
        zero in lenient_policies(),
    ) {
        let y = Array2::from_shape_vec((rows, cols), bits.iter().map(|&b| u8::from(b)).collect())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let lenient = pos_weight(&y, zero)?;
        prop_assert!(lenient.iter().all(|x| x.is_finite() && *x > 0.0), "{:?}", lenient);
        match pos_weight(&y, ZeroFrequency::Error) {
            Ok(w) => {
                for (j, col) in y.columns().into_iter().enumerate() {
                    let n_pos = col.iter().filter(|&&v| v == 1).count() as f64;
                    let n_neg = rows as f64 - n_pos;
                    prop_assert!(near(n_pos * w[j], n_neg, n_neg), "column {j}");
                }
            }
            Err(e) => prop_assert!(matches!(e, LossError::DegenerateColumn { .. }), "{e}"),
        }
    }
}

#[test]
fn invalid_parameters_are_rejected() {
    let bad = [
        Weighting::new(Scheme::EffectiveNumber { beta: 1.0 }),
        Weighting::new(Scheme::EffectiveNumber { beta: -0.1 }),
        Weighting::new(Scheme::EffectiveNumber { beta: f64::NAN }),
        Weighting::new(Scheme::Enet { c: 1.0 }),
        Weighting::new(Scheme::Enet { c: f64::INFINITY }),
        Weighting::default().with_zero_frequency(ZeroFrequency::Fixed(-1.0)),
        Weighting::default().with_zero_frequency(ZeroFrequency::Fixed(f64::NAN)),
        Weighting::default().with_zero_frequency(ZeroFrequency::PseudoCount(0.0)),
        Weighting::default().with_zero_frequency(ZeroFrequency::PseudoCount(f64::INFINITY)),
    ];
    for r in bad {
        assert!(
            matches!(r, Err(LossError::InvalidParameter { .. })),
            "{r:?}"
        );
    }
    assert!(matches!(
        class_weight::effective_number(&[0, 1], 2, 1.0),
        Err(LossError::InvalidParameter { name: "beta", .. })
    ));
    assert!(matches!(
        Weighting::default().from_counts(&[1.0, -2.0]),
        Err(LossError::InvalidParameterEntry {
            name: "counts",
            index: 1,
            ..
        })
    ));
    assert!(matches!(
        class_weight::balanced(&[0, 3], 3),
        Err(LossError::TargetOutOfRange {
            target: 3,
            classes: 3,
            ..
        })
    ));
    assert!(matches!(
        pos_weight(&ndarray::array![[0.0, 0.5]], ZeroFrequency::Error),
        Err(LossError::InvalidTarget { .. })
    ));
}

/// Any finite, non-negative count: every binary exponent about equally
/// likely (subnormals and 0 included), the extremes themselves, and
/// ordinary counts.
fn extreme_count() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0_u64..0x7ff0_0000_0000_0000).prop_map(f64::from_bits),
        (1_u64..1 << 52).prop_map(f64::from_bits),
        Just(f64::MAX),
        Just(5e-324),
        1.0_f64..1e6,
    ]
}

/// 1..8 extreme counts.
fn extreme_counts() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(extreme_count(), 1..8)
}

/// `c_i / Σ c` for each count, with the counts scaled by `2^-8` (exact but
/// for shares far below `2^-1000`) where their sum overflows.
fn shares(c: &[f64]) -> Vec<f64> {
    let scale = if c.iter().sum::<f64>().is_finite() {
        1.0
    } else {
        1.0 / 256.0
    };
    let n: f64 = c.iter().map(|&x| x * scale).sum();
    c.iter().map(|&x| x * scale / n).collect()
}

/// `log2(c_i / Σ c)`, exact to rounding for any counts (also subnormal
/// ones, and sums beyond `f64::MAX`).
fn log2_shares(c: &[f64]) -> Vec<f64> {
    let n: f64 = c.iter().map(|&x| x / 256.0).sum();
    c.iter().map(|&x| x.log2() - n.log2() - 8.0).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The normalisations hold for counts anywhere in the `f64` range, even
    /// where `Σ w_c`, `Σ n_c` or `n_c w_c` overflow or are subnormal:
    /// `SumToK` never fails (its weights are at most `K'`) and sums to `K'`;
    /// `MeanOne` gives `Σ (n_c / n) w_c = 1`, or an `inf` weight error.
    #[test]
    fn normalizations_hold_for_extreme_counts(counts in extreme_counts(), scheme in schemes()) {
        let recipe = Weighting::new(scheme)?.with_zero_frequency(ZeroFrequency::Fixed(0.0))?;
        let present: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] > 0.0).collect();
        let k = present.len() as f64;
        let w = recipe.with_normalization(Normalization::SumToK).from_counts(&counts)?;
        prop_assert!(w.iter().all(|x| x.is_finite() && *x >= 0.0), "{:?}", w);
        let sum: f64 = present.iter().map(|&c| w[c]).sum();
        prop_assert!(near(sum, k, 4.0 * k), "{} vs {} ({:?})", sum, k, w);
        match recipe.with_normalization(Normalization::MeanOne).from_counts(&counts) {
            Ok(w) => {
                prop_assert!(w.iter().all(|x| x.is_finite() && *x >= 0.0), "{:?}", w);
                let share = shares(&counts);
                let total: f64 = present.iter().map(|&c| share[c] * w[c]).sum();
                prop_assert!(near(total, 1.0, 4.0 * k), "{} ({:?})", total, w);
            }
            Err(e) => prop_assert!(
                matches!(e, LossError::NonFiniteWeight { value, .. } if value == f64::INFINITY),
                "{}", e
            ),
        }
    }

    /// `Balanced` is an error exactly when a true weight `n / (K n_c)`
    /// exceeds `f64::MAX` (up to a margin for rounding); otherwise each
    /// weight satisfies `K (n_c / n) w_c = 1`, however extreme the counts.
    #[test]
    fn balanced_overflows_only_when_the_weight_does(counts in extreme_counts()) {
        prop_assume!(counts.iter().all(|&c| c > 0.0));
        let k = counts.len() as f64;
        let log2_w: Vec<f64> = log2_shares(&counts).iter().map(|s| -s - k.log2()).collect();
        let got = Weighting::default().from_counts(&counts);
        let first_over = log2_w.iter().position(|&l| l > 1024.0 + 1e-9);
        if let Some(index) = first_over {
            prop_assert!(
                matches!(&got, Err(LossError::NonFiniteWeight { index: i, value, .. })
                    if *i <= index && *value == f64::INFINITY),
                "{:?} (log2 weights {:?})", got, log2_w
            );
        }
        if log2_w.iter().all(|&l| l < 1024.0 - 1e-9) {
            let w = got?;
            let share = shares(&counts);
            for c in 0..counts.len() {
                prop_assert!(near(k * share[c] * w[c], 1.0, 4.0), "class {}: {:?}", c, w);
            }
        }
    }

    /// For ordinary counts the weights are bitwise the plain `f64` formulas
    /// (scikit-learn's `n / (K n_c)` included), normalisations too.
    #[test]
    fn ordinary_counts_give_the_plain_formulas_bitwise(
        counts in prop::collection::vec(
            prop_oneof![1e-3_f64..1e6, (1_u32..1000).prop_map(f64::from)],
            1..12,
        ),
    ) {
        let n: f64 = counts.iter().sum();
        let k = counts.len() as f64;
        let plain = |f: &dyn Fn(f64) -> f64| counts.iter().map(|&c| f(c)).collect::<Vec<f64>>();
        let recipe = |s: Scheme, norm: Normalization| {
            Weighting::new(s)
                .map(|w| w.with_normalization(norm))
                .and_then(|w| w.from_counts(&counts))
        };
        prop_assert_eq!(recipe(Scheme::Balanced, Normalization::None)?, plain(&|c| n / (k * c)));
        prop_assert_eq!(recipe(Scheme::InverseFrequency, Normalization::None)?, plain(&|c| n / c));
        prop_assert_eq!(
            recipe(Scheme::InverseSqrtFrequency, Normalization::None)?,
            plain(&|c| (n / c).sqrt())
        );
        let inverse = plain(&|c| n / c);
        let to_k = k / inverse.iter().sum::<f64>();
        prop_assert_eq!(
            recipe(Scheme::InverseFrequency, Normalization::SumToK)?,
            inverse.iter().map(|w| w * to_k).collect::<Vec<f64>>()
        );
        let to_n = n / counts.iter().zip(&inverse).map(|(c, w)| c * w).sum::<f64>();
        prop_assert_eq!(
            recipe(Scheme::InverseFrequency, Normalization::MeanOne)?,
            inverse.iter().map(|w| w * to_n).collect::<Vec<f64>>()
        );
    }

    /// Two-output sample weights are the plain products `a b` (correctly
    /// rounded, as one `f64` multiplication is), or, where a product
    /// exceeds `f64::MAX`, an error naming the first such sample.
    #[test]
    fn sample_weight_products(
        weights in prop::collection::vec(extreme_count(), 4),
        rows in prop::collection::vec((0_i64..2, 0_i64..2), 1..6),
    ) {
        let map = |a: f64, b: f64| ClassWeight::Custom([(0_i64, a), (1, b)].into());
        let cw = SampleClassWeight::PerOutput(vec![
            map(weights[0], weights[1]),
            map(weights[2], weights[3]),
        ]);
        let y = Array2::from_shape_fn((rows.len(), 2), |(i, j)| {
            if j == 0 { rows[i].0 } else { rows[i].1 }
        });
        let got = compute_sample_weight_multi(&cw, &y, None);
        let want: Vec<f64> = rows
            .iter()
            .map(|&(a, b)| weights[a as usize] * weights[2 + b as usize])
            .collect();
        match want.iter().position(|w| w.is_infinite()) {
            Some(position) => prop_assert_eq!(
                got,
                Err(LossError::NonFiniteSampleWeight { position, value: f64::INFINITY })
            ),
            None => prop_assert_eq!(got, Ok(want)),
        }
    }

    /// `pos_weight` with any pseudo-count: finite, or an error naming a
    /// column whose true weight `(n_neg + k) / (n_pos + k)` exceeds `MAX`.
    #[test]
    fn pos_weight_with_extreme_pseudo_counts(
        k in extreme_count(),
        (rows, bits) in (1_usize..6)
            .prop_flat_map(|r| (Just(r), prop::collection::vec(any::<bool>(), r * 3))),
    ) {
        prop_assume!(k > 0.0);
        let y = Array2::from_shape_vec((rows, 3), bits.iter().map(|&b| u8::from(b)).collect())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        match pos_weight(&y, ZeroFrequency::PseudoCount(k)) {
            Ok(w) => prop_assert!(w.iter().all(|x| x.is_finite() && *x >= 0.0), "{:?}", w),
            Err(LossError::NonFiniteWeight { index, value, .. }) => {
                let n_pos = y.column(index).iter().filter(|&&v| v == 1).count() as f64;
                let n_neg = rows as f64 - n_pos;
                // The true weight's log2 exceeds 1024.
                let log2 = (n_neg + k).log2() - (n_pos + k).log2();
                prop_assert!(value == f64::INFINITY && log2 > 1023.99, "{} {}", value, log2);
            }
            Err(e) => prop_assert!(false, "{}", e),
        }
    }
}

/// A product of per-output weights whose intermediate value overflows but
/// whose result does not is computed: `MAX * 2 * 0.25 = MAX / 2`.
#[test]
fn sample_weight_product_comes_back_into_range() {
    let custom = |w: f64| ClassWeight::Custom([(1_i64, w)].into());
    let cw = SampleClassWeight::PerOutput(vec![custom(f64::MAX), custom(2.0), custom(0.25)]);
    let y = ndarray::array![[1_i64, 1, 1], [2, 2, 2]];
    assert_eq!(
        compute_sample_weight_multi(&cw, &y, None),
        Ok(vec![f64::MAX / 2.0, 1.0])
    );
}
