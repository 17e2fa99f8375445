//! Second derivatives: the Hessian diagonal of every loss against float64
//! PyTorch autograd (tests/fixtures/hessian.json, written by
//! `/tmp/ref/bin/python scripts/gen_hessian_fixtures.py`; see its header),
//! against finite differences of the crate's own gradient (proptest, f64),
//! and the invariants: cross-entropy's diagonal is `A p_k (1 - p_k)`, focal
//! loss with `gamma = 0` is cross-entropy, `Sum` is `N` times `Mean`, the
//! gradient of `forward_grad_hess` is `forward_backward`'s, and fractional
//! `gamma` stays finite at `p_t = 1`.

mod common;

use focal_loss::{
    BceWithLogitsLoss, CrossEntropyLoss, FocalLoss, LossError, Masked, NllLoss, Probs, Reduction,
    SigmoidFocalLoss,
};
use ndarray::{array, Array2, ArrayD};
use proptest::prelude::*;
use serde_json::Value;

type Out = Result<(f64, ArrayD<f64>, ArrayD<f64>), LossError>;

/// Runs one fixture case through `forward_grad_hess`.
fn run(case: &Value) -> Out {
    let p = &case["params"];
    let inp = &case["inputs"];
    let x = common::array_f64(&inp["logits"]);
    let red = common::reduction(p["reduction"].as_str().expect("reduction"));
    let vec_of = |k: &str| (!p[k].is_null()).then(|| common::nums(&p[k]));
    let eps = common::num(&p["label_smoothing"]);
    let gamma = p["gamma"].as_f64();
    let idx = (!inp["targets"].is_null()).then(|| common::array_usize(&inp["targets"]));
    let probs = (!inp["probs"].is_null()).then(|| common::array_f64(&inp["probs"]));
    macro_rules! softmax_call {
        ($loss:expr) => {{
            let loss = $loss;
            match (&idx, &probs) {
                (Some(t), _) => loss.forward_grad_hess(&x, t),
                (None, Some(pr)) => loss.forward_grad_hess(&x, &Probs(pr)),
                _ => panic!("no targets"),
            }
        }};
    }
    let ignore = p["ignore_index"].as_i64();
    match case["loss"].as_str().expect("loss") {
        "nll" => {
            let mut l = NllLoss::new().with_reduction(red);
            if let Some(w) = vec_of("weight") {
                l = l.with_weight(w)?;
            }
            if let Some(i) = ignore {
                l = l.with_ignore_index(i);
            }
            let t = idx.expect("nll targets");
            l.forward_grad_hess(&x, &t)
        }
        "ce" => {
            let mut l = CrossEntropyLoss::new()
                .with_reduction(red)
                .with_label_smoothing(eps)?;
            if let Some(w) = vec_of("weight") {
                l = l.with_weight(w)?;
            }
            if let Some(i) = ignore {
                l = l.with_ignore_index(i);
            }
            softmax_call!(l)
        }
        "focal" => {
            let mut l = FocalLoss::new(gamma.expect("gamma"))?
                .with_reduction(red)
                .with_label_smoothing(eps)?;
            if let Some(a) = vec_of("alpha") {
                l = l.with_alpha(a)?;
            }
            if let Some(a) = p["alpha_scalar"].as_f64() {
                l = l.with_alpha_scalar(a)?;
            }
            if let Some(i) = ignore {
                l = l.with_ignore_index(i);
            }
            softmax_call!(l)
        }
        kind @ ("bce" | "sigmoid_focal") => {
            let y = common::array_f64(&inp["binary"]);
            let mask = (!inp["ignore"].is_null()).then(|| common::array_bool(&inp["ignore"]));
            macro_rules! sigmoid_call {
                ($loss:expr) => {{
                    let loss = $loss;
                    match &mask {
                        Some(m) => loss.forward_grad_hess(
                            &x,
                            &Masked {
                                targets: &y,
                                ignore: m,
                            },
                        ),
                        None => loss.forward_grad_hess(&x, &y),
                    }
                }};
            }
            if kind == "bce" {
                let mut l = BceWithLogitsLoss::new().with_reduction(red);
                if let Some(w) = vec_of("weight") {
                    l = l.with_weight(w)?;
                }
                if let Some(w) = vec_of("pos_weight") {
                    l = l.with_pos_weight(w)?;
                }
                sigmoid_call!(l)
            } else {
                let mut l = SigmoidFocalLoss::new(gamma.expect("gamma"))?
                    .with_reduction(red)
                    .with_label_smoothing(eps)?;
                if let Some(a) = vec_of("alpha") {
                    l = l.with_alpha(a)?;
                }
                if let Some(a) = p["alpha_scalar"].as_f64() {
                    l = l.with_alpha_scalar(a)?;
                }
                if let Some(w) = vec_of("pos_weight") {
                    l = l.with_pos_weight(w)?;
                }
                sigmoid_call!(l)
            }
        }
        other => panic!("unknown loss {other}"),
    }
}

#[test]
fn hessian_matches_pytorch_autograd() {
    let cases = common::fixture("hessian.json");
    let cases = cases.as_array().expect("array of cases");
    assert!(cases.len() >= 50, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let want = &case["expected"];
        let (l, g, h) = match run(case) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{name}: error {e}"));
                continue;
            }
        };
        let lw = want["loss"].as_f64().expect("loss");
        if !common::close_f64(l, lw) {
            failures.push(format!("{name}: loss {l:e} want {lw:e}"));
        }
        for (what, got, w) in [("grad", &g, &want["grad"]), ("hess", &h, &want["hess"])] {
            let w = common::array_f64(w);
            assert_eq!(got.shape(), w.shape(), "{name}: {what} shape");
            for (i, (&a, &b)) in got.iter().zip(w.iter()).enumerate() {
                if !common::close_f64(a, b) {
                    failures.push(format!("{name}: {what}[{i}] {a:e} want {b:e}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Central differences of the crate's own gradient, `(g(x + h e_i) - g(x - h e_i)) / 2h`.
fn fd_diag(f: impl Fn(&Array2<f64>) -> Array2<f64>, x: &Array2<f64>) -> Array2<f64> {
    let h = 1e-5;
    let mut out = Array2::zeros(x.raw_dim());
    for idx in ndarray::indices(x.raw_dim()) {
        let (mut a, mut b) = (x.clone(), x.clone());
        a[idx] += h;
        b[idx] -= h;
        out[idx] = (f(&a)[idx] - f(&b)[idx]) / (2.0 * h);
    }
    out
}

fn fd_close(h: &Array2<f64>, fd: &Array2<f64>) -> Result<(), TestCaseError> {
    let scale = fd.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
    for (a, b) in h.iter().zip(fd.iter()) {
        prop_assert!((a - b).abs() <= 1e-6 * scale, "{a} vs {b} (fd)\n{h}\n{fd}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn softmax_hessian_is_the_derivative_of_the_gradient(
        n in 1usize..4, c in 2usize..6, seed in 0u64..1000,
        gamma in prop::sample::select(vec![0.0, 0.5, 1.0, 2.0, 2.5]),
        eps in prop::sample::select(vec![0.0, 0.2]),
        soft in any::<bool>(),
    ) {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; (s % 4096) as f64 / 512.0 - 4.0 };
        let x = Array2::from_shape_fn((n, c), |_| next());
        let t = ndarray::Array1::from_shape_fn(n, |i| (i * 7 + seed as usize) % c);
        let pr = Array2::from_shape_fn((n, c), |_| next().abs());
        let alpha: Vec<f64> = (0..c).map(|k| 0.5 + k as f64 * 0.25).collect();
        let focal = FocalLoss::new(gamma).and_then(|f| f.with_alpha(&alpha))
            .and_then(|f| f.with_label_smoothing(eps)).expect("valid").with_reduction(Reduction::Sum);
        let grad = |z: &Array2<f64>| -> Array2<f64> {
            if soft { focal.forward_backward(z, &Probs(&pr)).expect("valid").1 }
            else { focal.forward_backward(z, &t).expect("valid").1 }
        };
        let h = if soft { focal.forward_grad_hess(&x, &Probs(&pr)) } else { focal.forward_grad_hess(&x, &t) };
        fd_close(&h.expect("valid").2, &fd_diag(grad, &x))?;
    }

    #[test]
    fn sigmoid_hessian_is_the_derivative_of_the_gradient(
        n in 1usize..4, c in 1usize..5, seed in 0u64..1000,
        gamma in prop::sample::select(vec![0.0, 0.5, 1.0, 2.0]),
        eps in prop::sample::select(vec![0.0, 0.1]),
        soft in any::<bool>(),
    ) {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; (s % 4096) as f64 / 512.0 - 4.0 };
        let x = Array2::from_shape_fn((n, c), |_| next());
        let y = Array2::from_shape_fn((n, c), |_| if soft { (next() + 4.0) / 8.0 } else { f64::from(next() > 0.0) });
        let a: Vec<f64> = (0..c).map(|k| 0.2 + k as f64 * 0.15).collect();
        let pw: Vec<f64> = (0..c).map(|k| 1.0 + k as f64).collect();
        let loss = SigmoidFocalLoss::new(gamma).and_then(|f| f.with_alpha(&a)).and_then(|f| f.with_pos_weight(&pw))
            .and_then(|f| f.with_label_smoothing(eps)).expect("valid").with_reduction(Reduction::Sum);
        let grad = |z: &Array2<f64>| loss.forward_backward(z, &y).expect("valid").1;
        fd_close(&loss.forward_grad_hess(&x, &y).expect("valid").2, &fd_diag(grad, &x))?;
    }
}

#[test]
fn cross_entropy_diagonal_is_a_p_one_minus_p() {
    let x = array![[2.0_f64, 0.5, -1.0], [0.1, 0.2, 3.0]];
    let w = [0.5, 2.0, 1.5];
    let ce = CrossEntropyLoss::new()
        .with_weight(w)
        .expect("valid")
        .with_reduction(Reduction::Sum);
    let (_, _, h) = ce
        .forward_grad_hess(&x, &array![0_usize, 2])
        .expect("valid");
    for (n, y) in [(0, 0), (1, 2)] {
        let row = x.row(n);
        let m = row.fold(f64::NEG_INFINITY, |a, &v| a.max(v));
        let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
        for k in 0..3 {
            let p = (row[k] - m).exp() / s;
            assert!((h[[n, k]] - w[y] * p * (1.0 - p)).abs() < 1e-15);
        }
    }
}

#[test]
fn focal_gamma_zero_is_cross_entropy_and_sum_is_n_times_mean() {
    let x = array![[2.0_f64, 0.5, -1.0], [0.1, 0.2, 3.0], [1.0, 1.0, -2.0]];
    let t = array![0_usize, 2, 1];
    let a = [0.5, 2.0, 1.5];
    let focal = FocalLoss::new(0.0)
        .and_then(|f| f.with_alpha(a))
        .expect("valid");
    let ce = CrossEntropyLoss::new()
        .with_weight(a)
        .expect("valid")
        .with_reduction(Reduction::Mean);
    let (_, _, hf) = focal.forward_grad_hess(&x, &t).expect("valid");
    let (_, _, hc) = ce.forward_grad_hess(&x, &t).expect("valid");
    assert!((&hf - &hc).iter().all(|d| d.abs() < 1e-15));
    let f2 = FocalLoss::new(2.0).expect("valid");
    let (_, _, hm) = f2.forward_grad_hess(&x, &t).expect("valid");
    let (_, _, hs) = f2
        .with_reduction(Reduction::Sum)
        .forward_grad_hess(&x, &t)
        .expect("valid");
    assert!((&hs - &(&hm * 3.0)).iter().all(|d| d.abs() < 1e-14));
}

#[test]
fn fractional_gamma_is_finite_at_p_one() {
    for x in [
        array![[0.0_f64, -200.0, -200.0]],
        array![[0.0, -40.0, -40.0]],
    ] {
        let (l, g, h) = FocalLoss::new(0.5)
            .expect("valid")
            .forward_grad_hess(&x, &array![0_usize])
            .expect("valid");
        assert!(
            l.is_finite() && g.iter().chain(h.iter()).all(|v| v.is_finite()),
            "{h}"
        );
    }
    let x = array![[1e4_f32, -1e4]];
    let y = array![[1.0_f32, 0.0]];
    let (_, _, h) = SigmoidFocalLoss::new(0.25)
        .expect("valid")
        .forward_grad_hess(&x, &y)
        .expect("valid");
    assert!(h.iter().all(|v| v.is_finite()), "{h}");
    let (_, g, h) = FocalLoss::new(0.5)
        .and_then(|f| f.with_label_smoothing(0.1))
        .expect("valid")
        .forward_grad_hess(&array![[0.0_f64, -200.0, -200.0]], &array![0_u8])
        .expect("valid");
    assert!(g.iter().chain(h.iter()).all(|v| v.is_finite()), "{h}");
}

#[test]
fn nll_hessian_is_zero_and_ignored_targets_have_none() {
    let x = array![[-0.1_f64, -2.4], [-1.9, -0.16]];
    let (_, _, h) = NllLoss::new()
        .forward_grad_hess(&x, &array![0_usize, 1])
        .expect("valid");
    assert!(h.iter().all(|&v| v == 0.0));
    let (_, _, h) = FocalLoss::new(2.0)
        .expect("valid")
        .with_ignore_index(-100)
        .forward_grad_hess(&array![[1.0_f32, 0.0], [0.5, 2.0]], &array![-100_i64, 1])
        .expect("valid");
    assert_eq!(h.row(0).to_vec(), vec![0.0, 0.0]);
    assert!(h.row(1).iter().all(|v| *v != 0.0));
}

#[test]
fn shape_errors_name_hess() {
    let x = array![[1.0_f64, 0.0]];
    let (mut g, mut h) = (Array2::zeros((1, 2)), Array2::zeros((2, 2)));
    let e = CrossEntropyLoss::new().forward_grad_hess_into(&x, &array![0_usize], &mut g, &mut h);
    assert!(matches!(
        e,
        Err(LossError::ShapeMismatch { what: "hess", .. })
    ));
}
