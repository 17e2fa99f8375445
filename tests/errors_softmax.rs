//! Every `LossError` variant the softmax-family losses can return, each
//! produced by a real bad input; and the documented edge cases.

use focal_loss::{CrossEntropyLoss, FocalLoss, LossError, NllLoss, Probs, Reduction};
use ndarray::{array, Array, Array1, Array2, Array3, ArrayD, IxDyn};

fn logits() -> Array2<f64> {
    array![[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]
}

#[test]
fn shape_mismatch_targets_grad_upstream() {
    let ce = CrossEntropyLoss::new();
    let err = ce.forward(&logits(), &array![0_usize, 1, 2]).unwrap_err();
    assert_eq!(
        err,
        LossError::ShapeMismatch {
            what: "targets",
            expected: vec![2],
            actual: vec![3]
        }
    );
    let p = array![[0.5, 0.5], [0.5, 0.5]];
    let err = ce.forward(&logits(), &Probs(&p)).unwrap_err();
    assert_eq!(
        err,
        LossError::ShapeMismatch {
            what: "targets",
            expected: vec![2, 3],
            actual: vec![2, 2]
        }
    );
    let mut g = Array2::<f64>::zeros((3, 2));
    let err = ce
        .forward_backward_into(&logits(), &array![0_usize, 1], &mut g)
        .unwrap_err();
    assert_eq!(
        err,
        LossError::ShapeMismatch {
            what: "grad",
            expected: vec![2, 3],
            actual: vec![3, 2]
        }
    );
    let err = ce
        .per_target_backward(&logits(), &array![0_usize, 1], &array![1.0])
        .unwrap_err();
    assert_eq!(
        err,
        LossError::ShapeMismatch {
            what: "upstream",
            expected: vec![2],
            actual: vec![1]
        }
    );
}

#[test]
fn too_few_dimensions_and_no_classes() {
    let ce = CrossEntropyLoss::new();
    let x = Array1::<f64>::zeros(4);
    let t = Array::from_shape_vec(IxDyn(&[]), vec![0_usize]).unwrap();
    assert_eq!(
        ce.forward(&x, &t).unwrap_err(),
        LossError::TooFewDimensions {
            what: "logits",
            min: 2,
            actual: 1
        }
    );
    let x = Array2::<f64>::zeros((3, 0));
    assert_eq!(
        ce.forward(&x, &array![0_usize, 0, 0]).unwrap_err(),
        LossError::NoClasses
    );
}

#[test]
fn target_out_of_range_names_position() {
    let x = Array3::<f64>::zeros((2, 3, 4));
    let mut t = Array2::<usize>::zeros((2, 4));
    t[[1, 2]] = 7;
    for err in [
        CrossEntropyLoss::new().forward(&x, &t).unwrap_err(),
        NllLoss::new().forward(&x, &t).unwrap_err(),
        FocalLoss::new(2.0).unwrap().forward(&x, &t).unwrap_err(),
    ] {
        assert_eq!(
            err,
            LossError::TargetOutOfRange {
                position: vec![1, 2],
                target: 7,
                classes: 3
            }
        );
    }
    // The ignore index itself is not out of range.
    t[[1, 2]] = 255;
    assert!(CrossEntropyLoss::new()
        .with_ignore_index(255)
        .forward(&x, &t)
        .is_ok());
}

#[test]
fn per_class_vector_length() {
    let t = array![0_usize, 1];
    let err = CrossEntropyLoss::new()
        .with_weight([1.0, 2.0])
        .unwrap()
        .forward(&logits(), &t);
    assert_eq!(
        err.unwrap_err(),
        LossError::LengthMismatch {
            what: "weight",
            expected: 3,
            actual: 2
        }
    );
    let err = FocalLoss::new(2.0)
        .unwrap()
        .with_alpha([1.0; 4])
        .unwrap()
        .forward(&logits(), &t);
    assert_eq!(
        err.unwrap_err(),
        LossError::LengthMismatch {
            what: "alpha",
            expected: 3,
            actual: 4
        }
    );
}

#[test]
fn invalid_parameters() {
    for g in [-1.0, f64::NAN, f64::INFINITY] {
        match FocalLoss::new(g).unwrap_err() {
            LossError::InvalidParameter {
                name: "gamma",
                value,
                ..
            } => {
                assert!(value.to_bits() == g.to_bits())
            }
            other => panic!("{other:?}"),
        }
    }
    for eps in [-0.1, 1.5, f64::NAN] {
        assert!(matches!(
            CrossEntropyLoss::new()
                .with_label_smoothing(eps)
                .unwrap_err(),
            LossError::InvalidParameter {
                name: "label_smoothing",
                ..
            }
        ));
        assert!(matches!(
            FocalLoss::new(1.0)
                .unwrap()
                .with_label_smoothing(eps)
                .unwrap_err(),
            LossError::InvalidParameter {
                name: "label_smoothing",
                ..
            }
        ));
    }
    assert!(matches!(
        FocalLoss::new(1.0).unwrap().with_alpha_scalar(-0.5).unwrap_err(),
        LossError::InvalidParameter { name: "alpha", value, .. } if value == -0.5
    ));
    assert_eq!(
        CrossEntropyLoss::new()
            .with_weight([1.0, -2.0])
            .unwrap_err(),
        LossError::InvalidParameterEntry {
            name: "weight",
            index: 1,
            value: -2.0,
            expected: "0, or a number in [1.2e-38, 3.4e38] (a normal f32)"
        }
    );
    assert!(matches!(
        NllLoss::new().with_weight([f64::INFINITY]).unwrap_err(),
        LossError::InvalidParameterEntry {
            name: "weight",
            index: 0,
            ..
        }
    ));
    assert!(matches!(
        FocalLoss::new(1.0)
            .unwrap()
            .with_alpha([0.5, f64::NAN])
            .unwrap_err(),
        LossError::InvalidParameterEntry {
            name: "alpha",
            index: 1,
            ..
        }
    ));
}

#[test]
fn non_finite_inputs_name_first_position() {
    let t = array![[0_usize, 1], [2, 0]];
    for bad in [f64::NAN, f64::INFINITY] {
        let mut x = Array3::<f64>::zeros((2, 3, 2));
        x[[1, 2, 0]] = bad;
        x[[1, 2, 1]] = bad;
        let losses: Vec<Box<dyn Fn() -> LossError>> = vec![
            Box::new(|| CrossEntropyLoss::new().forward(&x, &t).unwrap_err()),
            Box::new(|| {
                FocalLoss::new(0.5)
                    .unwrap()
                    .forward_backward(&x, &t)
                    .unwrap_err()
            }),
            Box::new(|| CrossEntropyLoss::new().per_target(&x, &t).unwrap_err()),
        ];
        for f in losses {
            match f() {
                LossError::NonFiniteInput {
                    what: "logits",
                    position,
                    value,
                } => {
                    assert_eq!(position, vec![1, 2, 0]);
                    assert_eq!(value.is_nan(), bad.is_nan());
                }
                other => panic!("{other:?}"),
            }
        }
        match NllLoss::new().forward(&x, &t).unwrap_err() {
            LossError::NonFiniteInput {
                what: "log_probs",
                position,
                ..
            } => {
                assert_eq!(position, vec![1, 2, 0])
            }
            other => panic!("{other:?}"),
        }
    }
    // Even at an ignored position, NaN input is reported.
    let x = array![[0.0, f64::NAN], [1.0, 2.0]];
    let err = CrossEntropyLoss::new()
        .with_ignore_index(9)
        .forward(&x, &array![9_usize, 0]);
    assert!(
        matches!(err.unwrap_err(), LossError::NonFiniteInput { position, .. } if position == vec![0, 1])
    );
    // Upstream gradients must be finite.
    let err = CrossEntropyLoss::new()
        .per_target_backward(&logits(), &array![0_usize, 1], &array![1.0, f64::NAN])
        .unwrap_err();
    assert!(
        matches!(err, LossError::NonFiniteInput { what: "upstream", position, .. } if position == vec![1])
    );
}

#[test]
fn masked_classes() {
    let x = array![[0.0, f64::NEG_INFINITY, 1.0], [2.0, 0.5, f64::NEG_INFINITY]];
    let t = array![0_usize, 1];
    // -inf on non-target classes masks them: finite results.
    for (l, g) in [
        CrossEntropyLoss::new().forward_backward(&x, &t).unwrap(),
        FocalLoss::new(0.5)
            .unwrap()
            .forward_backward(&x, &t)
            .unwrap(),
        FocalLoss::new(2.0)
            .unwrap()
            .with_alpha([1.0, 2.0, 3.0])
            .unwrap()
            .forward_backward(&x, &t)
            .unwrap(),
    ] {
        assert!(l.is_finite());
        assert!(g.iter().all(|v| v.is_finite()));
        assert_eq!(g[[0, 1]], 0.0);
        assert_eq!(g[[1, 2]], 0.0);
    }
    // Masked class with a probability target of 0 is fine too.
    let p = array![[0.5, 0.0, 0.5], [0.2, 0.8, 0.0]];
    assert!(CrossEntropyLoss::new()
        .forward(&x, &Probs(&p))
        .unwrap()
        .is_finite());
    // A target on a masked class is an error naming the logit.
    let err = CrossEntropyLoss::new()
        .forward(&x, &array![1_usize, 1])
        .unwrap_err();
    assert_eq!(
        err,
        LossError::MaskedTarget {
            position: vec![0, 1]
        }
    );
    let err = NllLoss::new().forward(&x, &array![0_usize, 2]).unwrap_err();
    assert_eq!(
        err,
        LossError::MaskedTarget {
            position: vec![1, 2]
        }
    );
    // Label smoothing puts mass on every class.
    let err = CrossEntropyLoss::new()
        .with_label_smoothing(0.1)
        .unwrap()
        .forward(&x, &t);
    assert_eq!(
        err.unwrap_err(),
        LossError::MaskedTarget {
            position: vec![0, 1]
        }
    );
    let p = array![[0.5, 0.1, 0.4], [0.2, 0.8, 0.0]];
    let err = FocalLoss::new(2.0)
        .unwrap()
        .forward(&x, &Probs(&p))
        .unwrap_err();
    assert_eq!(
        err,
        LossError::MaskedTarget {
            position: vec![0, 1]
        }
    );
}

#[test]
fn invalid_probability_targets() {
    for bad in [-0.25, f64::NAN, f64::INFINITY] {
        let mut p = ArrayD::<f64>::from_elem(IxDyn(&[2, 3]), 1.0 / 3.0);
        p[[1, 1]] = bad;
        let err = CrossEntropyLoss::new()
            .forward(&logits(), &Probs(&p))
            .unwrap_err();
        match err {
            LossError::InvalidTarget {
                position, value, ..
            } => {
                assert_eq!(position, vec![1, 1]);
                assert_eq!(value.to_bits(), bad.to_bits());
            }
            other => panic!("{other:?}"),
        }
    }
}

/// Documented choice: a zero denominator gives loss 0 and a zero gradient
/// (PyTorch returns NaN for 'mean' here).
#[test]
fn empty_and_all_ignored_batches_give_zero() {
    let empty = Array2::<f64>::zeros((0, 4));
    let t = Array1::<usize>::zeros(0);
    for r in [Reduction::Sum, Reduction::Mean, Reduction::WeightedMean] {
        let (l, g) = CrossEntropyLoss::new()
            .with_reduction(r)
            .forward_backward(&empty, &t)
            .unwrap();
        assert_eq!(l, 0.0);
        assert_eq!(g.shape(), &[0, 4]);
        let ce = CrossEntropyLoss::new()
            .with_ignore_index(7)
            .with_reduction(r);
        let (l, g) = ce.forward_backward(&logits(), &array![7_usize, 7]).unwrap();
        assert_eq!(l, 0.0);
        assert!(g.iter().all(|&v| v == 0.0));
        let focal = FocalLoss::new(2.0)
            .unwrap()
            .with_ignore_index(7)
            .with_reduction(r);
        let (l, g) = focal
            .forward_backward(&logits(), &array![7_usize, 7])
            .unwrap();
        assert_eq!(l, 0.0);
        assert!(g.iter().all(|&v| v == 0.0));
        assert!(focal
            .per_target(&logits(), &array![7_usize, 7])
            .unwrap()
            .iter()
            .all(|&v| v == 0.0));
    }
    // All weights zero: WeightedMean has a zero denominator too.
    let ce = CrossEntropyLoss::new().with_weight([0.0; 3]).unwrap();
    let (l, g) = ce.forward_backward(&logits(), &array![0_usize, 1]).unwrap();
    assert_eq!(l, 0.0);
    assert!(g.iter().all(|&v| v == 0.0));
}

#[test]
fn errors_display_their_numbers() {
    let err = FocalLoss::new(-2.5).unwrap_err();
    assert!(err.to_string().contains("gamma") && err.to_string().contains("-2.5"));
    let x = array![[0.0, f64::NAN]];
    let err = CrossEntropyLoss::new()
        .forward(&x, &array![0_usize])
        .unwrap_err();
    assert!(err.to_string().contains("[0, 1]"), "{err}");
    let _: &dyn std::error::Error = &err;
}

/// The vectorised row kernel (C >= 64) defers its finiteness check to the
/// loss; errors must still name the first offending position exactly.
#[test]
fn non_finite_inputs_in_long_rows() {
    for c in [64, 100, 1000] {
        for bad in [f64::NAN, f64::INFINITY] {
            let mut x = Array2::<f64>::from_shape_fn((5, c), |(i, k)| ((i + k) % 7) as f64);
            x[[3, c - 2]] = bad;
            let t = Array1::from_shape_fn(5, |i| i % c);
            for err in [
                CrossEntropyLoss::new()
                    .forward_backward(&x, &t)
                    .map(|r| r.0),
                FocalLoss::new(0.5).unwrap().forward(&x, &t),
                CrossEntropyLoss::new().with_ignore_index(3).forward(&x, &t),
            ] {
                match err.expect_err(&format!("C = {c}, {bad}")) {
                    LossError::NonFiniteInput { position, .. } => {
                        assert_eq!(position, vec![3, c - 2], "C = {c}, {bad}")
                    }
                    other => panic!("C = {c}: {other:?}"),
                }
            }
            let t_ignored = Array1::from_shape_fn(5, |i| if i == 3 { 7 } else { i % c });
            let err = CrossEntropyLoss::new()
                .with_ignore_index(7)
                .forward(&x, &t_ignored)
                .unwrap_err();
            assert!(matches!(err, LossError::NonFiniteInput { .. }), "{err:?}");
        }
        // A masked target in a long row, and a masked class with smoothing.
        let mut x = Array2::<f64>::zeros((2, c));
        x[[1, 5]] = f64::NEG_INFINITY;
        let t = array![0_usize, 5];
        assert_eq!(
            CrossEntropyLoss::new().forward(&x, &t).unwrap_err(),
            LossError::MaskedTarget {
                position: vec![1, 5]
            }
        );
        let smooth = CrossEntropyLoss::new().with_label_smoothing(0.1).unwrap();
        assert!(matches!(
            smooth.forward(&x, &array![0_usize, 1]).unwrap_err(),
            LossError::MaskedTarget { .. }
        ));
        // Masked non-target classes stay exact and finite.
        let (l, g) = CrossEntropyLoss::new()
            .forward_backward(&x, &array![0_usize, 1])
            .unwrap();
        assert!(l.is_finite() && g.iter().all(|v| v.is_finite()));
        assert_eq!(g[[1, 5]], 0.0);
    }
}
