//! Every `LossError` the sigmoid-family losses (`SigmoidFocalLoss`,
//! `BceWithLogitsLoss`) can return, each produced by a real bad input, and
//! the inputs they deliberately accept.

use focal_loss::{BceWithLogitsLoss, LossError, Masked, SigmoidFocalLoss};
use ndarray::{arr0, array, Array2, Array3};

fn x() -> Array2<f64> {
    array![[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]]
}

fn y() -> Array2<f64> {
    array![[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]]
}

fn focal() -> SigmoidFocalLoss {
    SigmoidFocalLoss::new(2.0).unwrap()
}

#[test]
fn gamma_must_be_finite_and_non_negative() {
    for g in [-0.5, f64::NAN, f64::INFINITY] {
        match SigmoidFocalLoss::new(g).unwrap_err() {
            LossError::InvalidParameter { name, value, .. } => {
                assert_eq!(name, "gamma");
                assert!(value.is_nan() || value == g);
            }
            e => panic!("{e:?}"),
        }
    }
}

#[test]
fn scalar_alpha_and_label_smoothing_must_lie_in_unit_interval() {
    for a in [-0.1, 1.5, f64::NAN] {
        let e = focal().with_alpha_scalar(a).unwrap_err();
        assert!(
            matches!(e, LossError::InvalidParameter { name: "alpha", value, .. } if value == a || a.is_nan()),
            "{e:?}"
        );
        let e = focal().with_label_smoothing(a).unwrap_err();
        assert!(
            matches!(e, LossError::InvalidParameter { name: "label_smoothing", value, .. } if value == a || a.is_nan()),
            "{e:?}"
        );
    }
}

#[test]
fn per_class_entries_are_checked() {
    assert_eq!(
        focal().with_alpha([0.25, 1.25]).unwrap_err(),
        LossError::InvalidParameterEntry {
            name: "alpha",
            index: 1,
            value: 1.25,
            expected: "0, or a number in [1.2e-38, 1]"
        }
    );
    let e = focal().with_alpha([f64::NAN]).unwrap_err();
    assert!(matches!(
        e,
        LossError::InvalidParameterEntry {
            name: "alpha",
            index: 0,
            ..
        }
    ));
    for bad in [-1.0, f64::INFINITY] {
        let e = focal().with_pos_weight([1.0, bad]).unwrap_err();
        assert!(
            matches!(e, LossError::InvalidParameterEntry { name: "pos_weight", index: 1, value, .. } if value == bad),
            "{e:?}"
        );
        let e = BceWithLogitsLoss::new().with_pos_weight([bad]).unwrap_err();
        assert!(matches!(
            e,
            LossError::InvalidParameterEntry {
                name: "pos_weight",
                index: 0,
                ..
            }
        ));
        let e = BceWithLogitsLoss::new()
            .with_weight([2.0, 1.0, bad])
            .unwrap_err();
        assert!(matches!(
            e,
            LossError::InvalidParameterEntry {
                name: "weight",
                index: 2,
                ..
            }
        ));
    }
}

#[test]
fn per_class_length_must_be_c() {
    let cases: Vec<(&str, Result<f64, LossError>)> = vec![
        (
            "alpha",
            focal().with_alpha([0.5, 0.5]).unwrap().forward(&x(), &y()),
        ),
        (
            "pos_weight",
            focal()
                .with_pos_weight([1.0; 4])
                .unwrap()
                .forward(&x(), &y()),
        ),
        (
            "weight",
            BceWithLogitsLoss::new()
                .with_weight([1.0])
                .unwrap()
                .forward(&x(), &y()),
        ),
    ];
    for (what, r) in cases {
        let actual = if what == "alpha" {
            2
        } else if what == "weight" {
            1
        } else {
            4
        };
        assert_eq!(
            r.unwrap_err(),
            LossError::LengthMismatch {
                what,
                expected: 3,
                actual
            }
        );
    }
    // (N) is one class.
    let e = BceWithLogitsLoss::new()
        .with_pos_weight([1.0, 2.0])
        .unwrap()
        .forward(&array![0.5, 1.0], &array![1.0, 0.0])
        .unwrap_err();
    assert_eq!(
        e,
        LossError::LengthMismatch {
            what: "pos_weight",
            expected: 1,
            actual: 2
        }
    );
}

#[test]
fn shape_mismatches_name_the_array() {
    let f = focal();
    let e = f.forward(&x(), &Array2::<f64>::zeros((3, 2))).unwrap_err();
    assert_eq!(
        e,
        LossError::ShapeMismatch {
            what: "targets",
            expected: vec![2, 3],
            actual: vec![3, 2]
        }
    );
    let mask = Array2::from_elem((2, 2), false);
    let e = f
        .forward(
            &x(),
            &Masked {
                targets: &y(),
                ignore: &mask,
            },
        )
        .unwrap_err();
    assert_eq!(
        e,
        LossError::ShapeMismatch {
            what: "ignore",
            expected: vec![2, 3],
            actual: vec![2, 2]
        }
    );
    let mut g = Array3::<f64>::zeros((2, 3, 1));
    let e = f.forward_backward_into(&x(), &y(), &mut g).unwrap_err();
    assert_eq!(
        e,
        LossError::ShapeMismatch {
            what: "grad",
            expected: vec![2, 3],
            actual: vec![2, 3, 1]
        }
    );
    let e = f
        .per_target_backward(&x(), &y(), &array![1.0, 1.0])
        .unwrap_err();
    assert_eq!(
        e,
        LossError::ShapeMismatch {
            what: "upstream",
            expected: vec![2, 3],
            actual: vec![2]
        }
    );
}

#[test]
fn upstream_must_be_finite() {
    let mut up = Array2::<f64>::ones((2, 3));
    up[[1, 2]] = f64::INFINITY;
    let e = focal().per_target_backward(&x(), &y(), &up).unwrap_err();
    assert_eq!(
        e,
        LossError::NonFiniteInput {
            what: "upstream",
            position: vec![1, 2],
            value: f64::INFINITY
        }
    );
}

#[test]
fn dimensions() {
    let e = focal().forward(&arr0(1.0), &arr0(1.0)).unwrap_err();
    assert_eq!(
        e,
        LossError::TooFewDimensions {
            what: "logits",
            min: 1,
            actual: 0
        }
    );
    let z = Array2::<f64>::zeros((2, 0));
    assert_eq!(focal().forward(&z, &z).unwrap_err(), LossError::NoClasses);
}

#[test]
fn targets_must_lie_in_unit_interval() {
    for bad in [1.5, -0.25, f64::NAN, f64::INFINITY] {
        let mut t = y();
        t[[1, 1]] = bad;
        for e in [
            focal().forward(&x(), &t).unwrap_err(),
            BceWithLogitsLoss::new().forward(&x(), &t).unwrap_err(),
        ] {
            match e {
                LossError::InvalidTarget {
                    position,
                    value,
                    expected,
                } => {
                    assert_eq!(position, vec![1, 1]);
                    assert!(value == bad || (bad.is_nan() && value.is_nan()));
                    assert_eq!(expected, "a number in [0, 1]");
                }
                e => panic!("{e:?}"),
            }
        }
        // Not read where ignored.
        let mut ignore = Array2::from_elem((2, 3), false);
        ignore[[1, 1]] = true;
        assert!(focal()
            .forward(
                &x(),
                &Masked {
                    targets: &t,
                    ignore: &ignore
                }
            )
            .is_ok());
    }
}

#[test]
fn logits_nan_and_positive_infinity_are_errors_everywhere() {
    for bad in [f64::NAN, f64::INFINITY] {
        let mut z = x();
        z[[0, 2]] = bad;
        // Even at an ignored element (as for the softmax losses).
        let mut ignore = Array2::from_elem((2, 3), false);
        ignore[[0, 2]] = true;
        let m = Masked {
            targets: &y(),
            ignore: &ignore,
        };
        let f = focal();
        let up = Array2::<f64>::ones((2, 3));
        let mut g = Array2::<f64>::zeros((2, 3));
        let errs = [
            f.forward(&z, &y()).unwrap_err(),
            f.forward(&z, &m).unwrap_err(),
            f.forward_backward(&z, &y()).unwrap_err(),
            f.forward_backward_into(&z, &y(), &mut g).unwrap_err(),
            f.per_target(&z, &y()).unwrap_err(),
            f.per_target_backward(&z, &y(), &up).unwrap_err(),
            BceWithLogitsLoss::new().forward(&z, &y()).unwrap_err(),
        ];
        for e in errs {
            match e {
                LossError::NonFiniteInput {
                    what,
                    position,
                    value,
                } => {
                    assert_eq!((what, position), ("logits", vec![0, 2]));
                    assert!(value == bad || (bad.is_nan() && value.is_nan()));
                }
                e => panic!("{e:?}"),
            }
        }
    }
    // f32 too.
    let z = array![[1.0_f32, f32::NAN]];
    let e = focal().forward(&z, &array![[1.0_f32, 0.0]]).unwrap_err();
    assert!(matches!(
        e,
        LossError::NonFiniteInput { what: "logits", .. }
    ));
}

#[test]
fn negative_infinity_logit_needs_a_zero_target() {
    let mut z = x();
    z[[1, 1]] = f64::NEG_INFINITY; // target 1 there
    let masked = LossError::MaskedTarget {
        position: vec![1, 1],
    };
    assert_eq!(focal().forward(&z, &y()).unwrap_err(), masked);
    assert_eq!(
        BceWithLogitsLoss::new().forward(&z, &y()).unwrap_err(),
        masked
    );
    // Target 0: fine.
    let mut t = y();
    t[[1, 1]] = 0.0;
    assert!(focal().forward(&z, &t).unwrap().is_finite());
    // ... unless label smoothing moves it off 0.
    let smooth = focal().with_label_smoothing(0.1).unwrap();
    assert_eq!(smooth.forward(&z, &t).unwrap_err(), masked);
    // Ignored: fine.
    let mut ignore = Array2::from_elem((2, 3), false);
    ignore[[1, 1]] = true;
    let m = Masked {
        targets: &y(),
        ignore: &ignore,
    };
    assert!(focal().forward(&z, &m).unwrap().is_finite());
}

#[test]
fn errors_display_their_numbers() {
    let e = focal().with_alpha([0.25, 1.25]).unwrap_err().to_string();
    assert!(e.contains("alpha[1]") && e.contains("1.25"), "{e}");
    let mut t = y();
    t[[0, 1]] = 2.0;
    let e = focal().forward(&x(), &t).unwrap_err().to_string();
    assert!(e.contains("[0, 1]") && e.contains('2'), "{e}");
}
