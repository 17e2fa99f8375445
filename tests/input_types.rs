//! Targets of every integer width, per-class vectors of `f32` / `f64` in
//! every container, and the re-exported ndarray: each gives bitwise the
//! results of the `usize` / `f64` path.

use focal_loss::ndarray::{array, Array1, Array2, ArrayD, IxDyn};
use focal_loss::{
    BceWithLogitsLoss, CrossEntropyLoss, FocalLoss, Label, LossError, NllLoss, SigmoidFocalLoss,
};

/// Every method's results, as bits.
fn bits<T: focal_loss::Targets<f32> + ?Sized>(
    loss: &FocalLoss,
    x: &ArrayD<f32>,
    t: &T,
) -> Vec<u32> {
    let mut out = Vec::new();
    let (l, g) = loss.forward_backward(x, t).expect("valid input");
    out.push(l.to_bits());
    out.extend(g.iter().map(|v| v.to_bits()));
    out.extend(
        loss.per_target(x, t)
            .expect("valid")
            .iter()
            .map(|v| v.to_bits()),
    );
    out
}

fn inputs() -> (ArrayD<f32>, Vec<usize>) {
    let (n, c, m) = (40, 6, 3);
    let x = ArrayD::from_shape_fn(IxDyn(&[n, c, m]), |i| {
        ((i[0] * 7 + i[1] * 3 + i[2] * 5) % 17) as f32 * 0.37 - 3.0
    });
    // Every fifth target is the ignore index.
    let t = (0..n * m)
        .map(|p| if p % 5 == 0 { 99 } else { p % c })
        .collect();
    (x, t)
}

/// `usize` targets with ignore index 99 against `L` targets with ignore
/// index `ig` standing where 99 stood.
fn same_as_usize<L: Label>(conv: impl Fn(usize) -> L, ig: L) {
    let (x, t) = inputs();
    let tu = ArrayD::from_shape_vec(IxDyn(&[40, 3]), t.clone()).expect("shape");
    let tl = tu.mapv(|v| if v == 99 { ig } else { conv(v) });
    let base = FocalLoss::new(0.5).and_then(|f| f.with_alpha([1.0, 2.0, 0.5, 1.0, 3.0, 1.0]));
    let base = base.expect("valid");
    let want = bits(&base.clone().with_ignore_index(99_usize), &x, &tu);
    let got = bits(&base.with_ignore_index(ig), &x, &tl);
    assert_eq!(want, got, "{}", std::any::type_name::<L>());
}

#[test]
fn every_label_type_matches_usize() {
    same_as_usize(|v| v as u8, 99_u8);
    same_as_usize(|v| v as u16, 99_u16);
    same_as_usize(|v| v as u32, 99_u32);
    same_as_usize(|v| v as u64, 99_u64);
    same_as_usize(|v| v as i32, -100_i32);
    same_as_usize(|v| v as i64, -100_i64);
    same_as_usize(|v| v as i64, 255_i64);
}

#[test]
fn slices_and_vecs_match_arrays() {
    let x = array![[2.0_f64, 0.5, -1.0], [0.1, 0.2, 3.0], [1.0, 1.0, 1.0]];
    let ce = CrossEntropyLoss::new().with_ignore_index(-100);
    let want = ce
        .forward_backward(&x, &array![0_usize, 2, 1])
        .expect("valid");
    let (l1, g1) = ce.forward_backward(&x, &vec![0_u32, 2, 1]).expect("valid");
    let (l2, g2) = ce.forward_backward(&x, &[0_i64, 2, 1][..]).expect("valid");
    assert_eq!((want.0.to_bits(), &want.1), (l1.to_bits(), &g1));
    assert_eq!((want.0.to_bits(), &want.1), (l2.to_bits(), &g2));
    let nll = NllLoss::new();
    assert_eq!(
        nll.forward(&x, &array![0_usize, 2, 1])
            .expect("valid")
            .to_bits(),
        nll.forward(&x, &vec![0_i32, 2, 1])
            .expect("valid")
            .to_bits()
    );
}

#[test]
fn negative_targets_are_errors_not_wraparounds() {
    let x = array![[2.0_f32, 0.5], [0.1, 1.0], [0.3, 0.2]];
    let e = CrossEntropyLoss::new().forward(&x, &array![0_i64, -3, 1]);
    assert_eq!(
        e,
        Err(LossError::NegativeTarget {
            position: vec![1],
            target: -3,
            classes: 2
        })
    );
    // -100 is an error unless it is the ignore index.
    let e = FocalLoss::new(2.0)
        .expect("valid")
        .forward(&x, &vec![-100_i32, 0, 1]);
    assert!(matches!(
        e,
        Err(LossError::NegativeTarget { target: -100, .. })
    ));
    assert!(e.expect_err("negative").to_string().contains("-100"));
    // An unsigned target never equals a negative ignore index.
    let e = CrossEntropyLoss::new()
        .with_ignore_index(-100)
        .forward(&x, &array![0_u8, 255, 1]);
    assert!(matches!(
        e,
        Err(LossError::TargetOutOfRange { target: 255, .. })
    ));
}

#[test]
fn ignore_index_getters() {
    let ce = CrossEntropyLoss::new().with_ignore_index(-100);
    assert_eq!((ce.ignore_index(), ce.ignore_value()), (None, Some(-100)));
    let ce = CrossEntropyLoss::new().with_ignore_index(255_u8);
    assert_eq!(
        (ce.ignore_index(), ce.ignore_value()),
        (Some(255), Some(255))
    );
}

#[test]
fn per_class_vectors_of_any_container_and_precision() {
    let w64 = vec![0.5_f64, 2.0, 1.25];
    let w32: Vec<f32> = w64.iter().map(|&v| v as f32).collect();
    let arr: Array1<f64> = Array1::from(w64.clone());
    let x: Array2<f32> = array![[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]];
    let t = array![0_u32, 2];
    let base = CrossEntropyLoss::new().with_weight(&w64).expect("valid");
    let want = base.forward_backward(&x, &t).expect("valid");
    for ce in [
        CrossEntropyLoss::new().with_weight(w32.clone()),
        CrossEntropyLoss::new().with_weight(&w32[..]),
        CrossEntropyLoss::new().with_weight(arr.clone()),
        CrossEntropyLoss::new().with_weight(arr.view()),
        CrossEntropyLoss::new().with_weight([0.5_f32, 2.0, 1.25]),
    ] {
        let ce = ce.expect("valid");
        assert_eq!(ce, base);
        let got = ce.forward_backward(&x, &t).expect("valid");
        assert_eq!((want.0.to_bits(), &want.1), (got.0.to_bits(), &got.1));
    }
    let a = FocalLoss::new(2.0)
        .and_then(|f| f.with_alpha(arr.view()))
        .expect("valid");
    let b = FocalLoss::new(2.0)
        .and_then(|f| f.with_alpha(w32.clone()))
        .expect("valid");
    assert_eq!(a, b);
    let s = SigmoidFocalLoss::new(2.0).and_then(|f| f.with_alpha(array![0.25_f32, 0.5]));
    let s64 = SigmoidFocalLoss::new(2.0).and_then(|f| f.with_alpha([0.25, 0.5]));
    assert_eq!(s.expect("valid"), s64.expect("valid"));
    let p = BceWithLogitsLoss::new().with_pos_weight(Array1::from(vec![3.0_f32]));
    assert_eq!(p.expect("valid").pos_weight(), Some(&[3.0][..]));
}

#[test]
fn predictions_from_logits() {
    use focal_loss::metrics::{argmax, multilabel, top_k, ConfusionMatrix};
    let x = array![
        [1.0_f64, 3.0, 3.0, -1.0],
        [f64::NEG_INFINITY, 0.0, -2.0, 0.5]
    ];
    assert_eq!(argmax(&x), Ok(vec![1, 3]));
    assert_eq!(top_k(&x, 3).expect("k <= C"), array![[1, 2, 0], [3, 1, 2]]);
    assert_eq!(
        top_k(&x, 1).expect("k").column(0).to_vec(),
        argmax(&x).expect("ok")
    );
    assert!(matches!(
        top_k(&x, 5),
        Err(LossError::InvalidParameter { name: "k", .. })
    ));
    assert!(matches!(
        top_k(&x, 0),
        Err(LossError::InvalidParameter { name: "k", .. })
    ));
    let nan = array![[0.0_f32, 1.0], [f32::NAN, 0.0]];
    assert!(
        matches!(argmax(&nan), Err(LossError::NonFiniteInput { ref position, .. }) if position == &vec![1, 0])
    );
    let none: Array2<f32> = Array2::zeros((3, 0));
    assert_eq!(argmax(&none), Err(LossError::NoClasses));
    // sigmoid(x) >= t exactly at the boundary logit.
    let cut = (0.8_f64 / (1.0 - 0.8)).ln();
    let m = multilabel(&array![cut, cut - 1e-12, 10.0], 0.8).expect("valid");
    assert_eq!(m.to_vec(), vec![true, false, true]);
    for t in [0.0, 1.0, f64::NAN] {
        assert!(multilabel(&array![0.0_f64], t).is_err());
    }
    let cm = ConfusionMatrix::from_logits(&x, &[1, 3]).expect("valid");
    assert_eq!(cm.accuracy(), 1.0);
}

#[test]
fn string_labels_with_str_classes() {
    use focal_loss::class_weight::{compute_class_weight, compute_class_weight_str, ClassWeight};
    use std::collections::BTreeMap;
    let y: Vec<String> = ["b", "a", "a", "c", "a"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let classes = ["a", "b", "c"];
    let y_str: Vec<&str> = y.iter().map(String::as_str).collect();
    let want = compute_class_weight(&ClassWeight::Balanced, &classes, &y_str, None);
    let got = compute_class_weight_str(&ClassWeight::<&str>::Balanced, &classes, &y, None);
    assert_eq!(want, got);
    // compute_class_weight itself takes String labels for &str classes.
    assert_eq!(
        compute_class_weight(&ClassWeight::Balanced, &classes, &y, None),
        want
    );
    let e = compute_class_weight(&ClassWeight::Uniform, &["a", "b"], &y, None);
    assert_eq!(
        e,
        Err(LossError::LabelNotInClasses {
            label: "\"c\"".into(),
            position: vec![3]
        })
    );
    let map = BTreeMap::from([("a".to_string(), 0.5), ("c".to_string(), 4.0)]);
    let got = compute_class_weight_str(&ClassWeight::Custom(map), &classes, &y, None);
    assert_eq!(got, Ok(vec![0.5, 1.0, 4.0]));
    let e = compute_class_weight_str(&ClassWeight::<String>::Uniform, &["a", "b"], &y, None);
    assert_eq!(
        e,
        Err(LossError::LabelNotInClasses {
            label: "\"c\"".into(),
            position: vec![3]
        })
    );
}
