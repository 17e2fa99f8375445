//! The candle adapter (feature `candle`): values and gradients through
//! candle's `backward()` equal the ndarray path bitwise, for every loss,
//! 2-D and K-dim inputs, strided tensors, upstream gradients other than 1;
//! bad input is an error, never a panic.
#![cfg(feature = "candle")]

use candle_core::{DType, Device, Tensor, Var};
use focal_loss::candle::CandleLoss;
use focal_loss::{
    BceWithLogitsLoss, CrossEntropyLoss, FocalLoss, LossFloat, Masked, NllLoss, Probs, Reduction,
    SigmoidFocalLoss,
};
use ndarray::{ArrayD, Dimension, IxDyn};

const CPU: Device = Device::Cpu;

fn logits<F: LossFloat>(shape: &[usize]) -> ArrayD<F> {
    ArrayD::from_shape_fn(IxDyn(shape), |i| {
        let s: usize = i
            .slice()
            .iter()
            .enumerate()
            .map(|(a, &v)| (a + 3) * v)
            .sum();
        F::from_f64_(((s * 37) % 64) as f64 / 8.0 - 4.0)
    })
}

fn tensor<F: LossFloat + candle_core::WithDType>(a: &ArrayD<F>) -> Tensor {
    Tensor::from_vec(a.iter().copied().collect::<Vec<F>>(), a.shape(), &CPU).expect("tensor")
}

fn to_array<F: LossFloat + candle_core::WithDType>(t: &Tensor) -> ArrayD<F> {
    let v: Vec<F> = t.flatten_all().expect("flat").to_vec1().expect("vec");
    ArrayD::from_shape_vec(IxDyn(t.dims()), v).expect("shape")
}

/// `(loss, grad)` through candle, the loss scaled by `scale` before backward.
fn through_candle<F: LossFloat + candle_core::WithDType>(
    f: impl Fn(&Tensor) -> candle_core::Result<Tensor>,
    x: &ArrayD<F>,
    scale: f64,
) -> (F, ArrayD<F>) {
    let v = Var::from_tensor(&tensor(x)).expect("var");
    let l = f(v.as_tensor()).expect("loss");
    let grads = (&l * scale).expect("scale").backward().expect("backward");
    let g = grads.get(&v).expect("gradient of the leaf");
    (l.to_scalar::<F>().expect("scalar"), to_array(g))
}

macro_rules! same {
    ($name:expr, $candle:expr, $nd:expr) => {{
        let ((l, g), (l2, g2)) = ($candle, $nd);
        assert_eq!(
            l.to_f64_().to_bits(),
            l2.to_f64_().to_bits(),
            "{}: loss",
            $name
        );
        assert_eq!(g, g2, "{}: gradient", $name);
    }};
}

fn softmax_case<F: LossFloat + candle_core::WithDType>(shape: &[usize]) {
    let x = logits::<F>(shape);
    let c = shape[1];
    let mut ps = shape.to_vec();
    ps.remove(1);
    let t32 = ArrayD::from_shape_fn(IxDyn(&ps), |i| (i.slice().iter().sum::<usize>() % c) as u32);
    let t64 = t32.mapv(|v| if v == 1 { -100_i64 } else { i64::from(v) });
    let probs = x.mapv(|v| F::from_f64_((v.to_f64_() + 4.0) / 8.0));
    let alpha: Vec<f64> = (0..c).map(|k| 0.5 + k as f64 * 0.25).collect();
    let focal = FocalLoss::new(0.5)
        .and_then(|f| f.with_alpha(&alpha))
        .expect("valid");
    let ce = CrossEntropyLoss::new()
        .with_weight(&alpha)
        .expect("valid")
        .with_ignore_index(-100);
    let ce_smooth = ce.clone().with_label_smoothing(0.1).expect("valid");
    let (tt32, tt64, tp) = (tensor_u32(&t32), tensor_i64(&t64), tensor(&probs));
    for scale in [1.0, 3.0] {
        let times = |(l, g): (F, ArrayD<F>)| (l, g.mapv(|v| v * F::from_f64_(scale)));
        same!(
            "focal u32",
            through_candle(|x| focal.forward_tensor(x, &tt32), &x, scale),
            times(focal.forward_backward(&x, &t32).expect("valid"))
        );
        same!(
            "ce i64 -100",
            through_candle(|x| ce.forward_tensor(x, &tt64), &x, scale),
            times(ce.forward_backward(&x, &t64).expect("valid"))
        );
        same!(
            "ce smoothing",
            through_candle(|x| ce_smooth.forward_tensor(x, &tt32), &x, scale),
            times(ce_smooth.forward_backward(&x, &t32).expect("valid"))
        );
        same!(
            "focal probs",
            through_candle(|x| focal.forward_tensor(x, &tp), &x, scale),
            times(focal.forward_backward(&x, &Probs(&probs)).expect("valid"))
        );
        let nll = NllLoss::new().with_reduction(Reduction::Sum);
        same!(
            "nll",
            through_candle(|x| nll.forward_tensor(x, &tt32), &x, scale),
            times(nll.forward_backward(&x, &t32).expect("valid"))
        );
    }
}

fn tensor_u32(a: &ArrayD<u32>) -> Tensor {
    Tensor::from_vec(a.iter().copied().collect::<Vec<u32>>(), a.shape(), &CPU).expect("tensor")
}

fn tensor_i64(a: &ArrayD<i64>) -> Tensor {
    Tensor::from_vec(a.iter().copied().collect::<Vec<i64>>(), a.shape(), &CPU).expect("tensor")
}

fn sigmoid_case<F: LossFloat + candle_core::WithDType>(shape: &[usize]) {
    let x = logits::<F>(shape);
    let y = x.mapv(|v| F::from_f64_(f64::from(u8::from(v.to_f64_() > 1.0))));
    let ig = ArrayD::from_shape_fn(IxDyn(shape), |i| i.slice().iter().sum::<usize>() % 5 == 0);
    let igt = Tensor::from_vec(
        ig.iter().map(|&b| u8::from(b)).collect::<Vec<u8>>(),
        shape,
        &CPU,
    )
    .expect("mask");
    let c = if shape.len() > 1 { shape[1] } else { 1 };
    let pw: Vec<f64> = (0..c).map(|k| 1.0 + k as f64).collect();
    let sfl = SigmoidFocalLoss::new(2.0)
        .and_then(|f| f.with_pos_weight(&pw))
        .expect("valid");
    let bce = BceWithLogitsLoss::new().with_weight(&pw).expect("valid");
    let ty = tensor(&y);
    for scale in [1.0, 0.25] {
        let times = |(l, g): (F, ArrayD<F>)| (l, g.mapv(|v| v * F::from_f64_(scale)));
        same!(
            "sigmoid focal",
            through_candle(|x| sfl.forward_tensor(x, &ty), &x, scale),
            times(sfl.forward_backward(&x, &y).expect("valid"))
        );
        same!(
            "sigmoid focal masked",
            through_candle(|x| sfl.forward_tensor_masked(x, &ty, &igt), &x, scale),
            times(
                sfl.forward_backward(
                    &x,
                    &Masked {
                        targets: &y,
                        ignore: &ig
                    }
                )
                .expect("valid")
            )
        );
        same!(
            "bce",
            through_candle(|x| bce.forward_tensor(x, &ty), &x, scale),
            times(bce.forward_backward(&x, &y).expect("valid"))
        );
    }
}

#[test]
fn every_loss_equals_the_ndarray_path_bitwise() {
    for shape in [&[7, 3][..], &[4, 5, 3, 2], &[3, 70]] {
        softmax_case::<f32>(shape);
        softmax_case::<f64>(shape);
        sigmoid_case::<f32>(shape);
        sigmoid_case::<f64>(shape);
    }
    sigmoid_case::<f32>(&[9]);
}

#[test]
fn strided_tensors_are_read_through_their_strides() {
    let x = logits::<f32>(&[5, 4]);
    let xt = tensor(&x.t().to_owned().into_dyn()); // (4, 5), contiguous
    let strided = xt.t().expect("transpose"); // (5, 4), strided view of it
    assert!(!strided.is_contiguous());
    let t = Tensor::new(&[0_u32, 1, 2, 3, 0], &CPU).expect("t");
    let focal = FocalLoss::new(2.0).expect("valid");
    let l = focal
        .forward_tensor(&strided, &t)
        .expect("loss")
        .to_scalar::<f32>()
        .expect("f32");
    let want = focal
        .forward(&x, &ndarray::array![0_u32, 1, 2, 3, 0])
        .expect("valid");
    assert_eq!(l.to_bits(), want.to_bits());
}

#[test]
fn half_precision_logits_are_computed_in_f32() {
    let x = logits::<f32>(&[6, 4]);
    let t = Tensor::new(&[0_u32, 1, 2, 3, 0, 1], &CPU).expect("t");
    let ce = CrossEntropyLoss::new();
    let want = ce
        .forward_tensor(&tensor(&x), &t)
        .expect("f32")
        .to_scalar::<f32>()
        .expect("f32");
    for dt in [DType::BF16, DType::F16] {
        let xh = Var::from_tensor(&tensor(&x).to_dtype(dt).expect("half")).expect("var");
        let l = ce.forward_tensor(xh.as_tensor(), &t).expect("half loss");
        assert_eq!(l.dtype(), dt);
        let got = l
            .to_dtype(DType::F32)
            .expect("f32")
            .to_scalar::<f32>()
            .expect("f32");
        assert!(
            (got - want).abs() < 1e-2 * want.abs(),
            "{dt:?}: {got} vs {want}"
        );
        let g = l.backward().expect("backward");
        assert_eq!(g.get(&xh).expect("grad").dtype(), dt);
    }
}

#[test]
fn bad_input_is_a_candle_error_not_a_panic() {
    let x = tensor(&logits::<f32>(&[3, 4]));
    let focal = FocalLoss::new(2.0).expect("valid");
    let e = focal.forward_tensor(&x, &Tensor::new(&[0_u32, 9, 1], &CPU).expect("t"));
    assert!(e.expect_err("out of range").to_string().contains('9'));
    let e = focal.forward_tensor(&x, &Tensor::new(&[0_i64, -3, 1], &CPU).expect("t"));
    assert!(e.expect_err("negative").to_string().contains("-3"));
    let e = focal.forward_tensor(&x, &Tensor::new(&[0_u32, 1], &CPU).expect("t"));
    assert!(e.is_err(), "shape");
    let e = NllLoss::new().forward_tensor(&x, &x);
    assert!(e.is_err(), "nll takes class indices only");
    let e = focal.forward_tensor_masked(&x, &Tensor::new(&[0_u32, 1, 2], &CPU).expect("t"), &x);
    assert!(e.is_err(), "no mask for softmax losses");
    let e = SigmoidFocalLoss::new(2.0)
        .expect("valid")
        .forward_tensor(&x, &Tensor::new(&[0_u32, 1, 2], &CPU).expect("t"));
    assert!(e.is_err(), "sigmoid needs float targets");
    let nan = Tensor::new(&[[f32::NAN, 0.0], [0.0, 1.0]], &CPU).expect("nan");
    assert!(CrossEntropyLoss::new()
        .forward_tensor(&nan, &Tensor::new(&[0_u32, 1], &CPU).expect("t"))
        .is_err());
}

/// `(loss, grad)` of the device path (`forward_tensor_ops`) on the CPU.
fn through_ops<F: LossFloat + candle_core::WithDType>(
    loss: &impl CandleLoss,
    x: &ArrayD<F>,
    t: &Tensor,
    mask: Option<&Tensor>,
    scale: f64,
) -> (F, ArrayD<F>) {
    through_candle(|x| loss.forward_tensor_ops(x, t, mask), x, scale)
}

fn close<F: LossFloat>(name: &str, (l, g): (F, ArrayD<F>), (l2, g2): (F, ArrayD<F>), rel: f64) {
    let scale = g2.iter().fold(1e-30_f64, |m, v| m.max(v.to_f64_().abs()));
    assert!(
        (l.to_f64_() - l2.to_f64_()).abs() <= rel * l2.to_f64_().abs().max(1e-30),
        "{name}: loss {l:?} vs {l2:?}"
    );
    for (a, b) in g.iter().zip(g2.iter()) {
        assert!(
            (a.to_f64_() - b.to_f64_()).abs() <= rel * scale,
            "{name}: grad {a:?} vs {b:?}"
        );
        assert!(a.is_finite(), "{name}: non-finite gradient");
    }
}

fn device_path_case<F: LossFloat + candle_core::WithDType>(shape: &[usize], rel: f64) {
    let mut x = logits::<F>(shape);
    // One position with p_t = 1 in floating point: fractional gamma's hard case.
    if let Some(v) = x.iter_mut().next() {
        *v = F::from_f64_(60.0);
    }
    let c = shape[1];
    let mut ps = shape.to_vec();
    ps.remove(1);
    let t = ArrayD::from_shape_fn(IxDyn(&ps), |i| {
        let v = (i.slice().iter().sum::<usize>() % c) as i64;
        if v == 1 {
            -100
        } else {
            v
        }
    });
    let tt = tensor_i64(&t);
    let alpha: Vec<f64> = (0..c).map(|k| 0.5 + k as f64 * 0.25).collect();
    for red in [Reduction::Sum, Reduction::Mean, Reduction::WeightedMean] {
        for gamma in [0.0, 0.5, 2.0] {
            let focal = FocalLoss::new(gamma)
                .and_then(|f| f.with_alpha(&alpha))
                .expect("valid")
                .with_ignore_index(-100)
                .with_reduction(red);
            close(
                "focal ops",
                through_ops(&focal, &x, &tt, None, 3.0),
                through_candle(|x| focal.forward_tensor(x, &tt), &x, 3.0),
                rel,
            );
        }
        let ce = CrossEntropyLoss::new()
            .with_weight(&alpha)
            .expect("valid")
            .with_ignore_index(-100)
            .with_reduction(red);
        close(
            "ce ops",
            through_ops(&ce, &x, &tt, None, 1.0),
            through_candle(|x| ce.forward_tensor(x, &tt), &x, 1.0),
            rel,
        );
        let probs = x.mapv(|v| F::from_f64_((v.to_f64_() + 5.0) / 10.0));
        let tp = tensor(&probs);
        for gamma in [None, Some(0.5), Some(2.0)] {
            for eps in [0.0, 0.1] {
                match gamma {
                    None => {
                        let ce = CrossEntropyLoss::new()
                            .with_weight(&alpha)
                            .expect("valid")
                            .with_ignore_index(-100)
                            .with_label_smoothing(eps)
                            .expect("valid")
                            .with_reduction(red);
                        close(
                            "ce smooth ops",
                            through_ops(&ce, &x, &tt, None, 1.0),
                            through_candle(|x| ce.forward_tensor(x, &tt), &x, 1.0),
                            rel,
                        );
                        close(
                            "ce probs ops",
                            through_ops(&ce, &x, &tp, None, 1.0),
                            through_candle(|x| ce.forward_tensor(x, &tp), &x, 1.0),
                            rel,
                        );
                    }
                    Some(g) => {
                        let f = FocalLoss::new(g)
                            .and_then(|f| f.with_alpha(&alpha))
                            .and_then(|f| f.with_label_smoothing(eps))
                            .expect("valid")
                            .with_ignore_index(-100)
                            .with_reduction(red);
                        close(
                            "focal smooth ops",
                            through_ops(&f, &x, &tt, None, 2.0),
                            through_candle(|x| f.forward_tensor(x, &tt), &x, 2.0),
                            rel,
                        );
                        close(
                            "focal probs ops",
                            through_ops(&f, &x, &tp, None, 2.0),
                            through_candle(|x| f.forward_tensor(x, &tp), &x, 2.0),
                            rel,
                        );
                    }
                }
            }
        }
        let nll = NllLoss::new()
            .with_weight(&alpha)
            .expect("valid")
            .with_ignore_index(-100)
            .with_reduction(red);
        close(
            "nll ops",
            through_ops(&nll, &x, &tt, None, 1.0),
            through_candle(|x| nll.forward_tensor(x, &tt), &x, 1.0),
            rel,
        );
        let y = x.mapv(|v| F::from_f64_(f64::from(u8::from(v.to_f64_() > 1.0))));
        let ty = tensor(&y);
        let mask = Tensor::from_vec(
            (0..x.len())
                .map(|i| u8::from(i % 7 == 3))
                .collect::<Vec<u8>>(),
            shape,
            &CPU,
        )
        .expect("mask");
        for gamma in [0.0, 0.5, 2.0] {
            let sfl = SigmoidFocalLoss::new(gamma)
                .and_then(|f| f.with_alpha_scalar(0.25))
                .and_then(|f| f.with_label_smoothing(0.1))
                .expect("valid")
                .with_reduction(red);
            close(
                "sigmoid ops",
                through_ops(&sfl, &x, &ty, Some(&mask), 0.5),
                through_candle(|x| sfl.forward_tensor_masked(x, &ty, &mask), &x, 0.5),
                rel,
            );
        }
        let pw: Vec<f64> = (0..c).map(|k| 1.0 + k as f64).collect();
        let bce = BceWithLogitsLoss::new()
            .with_pos_weight(&pw)
            .expect("valid")
            .with_reduction(red);
        close(
            "bce ops",
            through_ops(&bce, &x, &ty, None, 1.0),
            through_candle(|x| bce.forward_tensor(x, &ty), &x, 1.0),
            rel,
        );
    }
}

#[test]
fn the_device_path_equals_the_fused_path_on_the_cpu() {
    for shape in [&[6, 4][..], &[3, 5, 2, 3]] {
        device_path_case::<f64>(shape, 1e-10);
        device_path_case::<f32>(shape, 1e-5);
    }
    // Bad input on the device path: an error, not a wrong answer.
    let x = tensor(&logits::<f32>(&[3, 4]));
    let negative = Tensor::new(&[[0.5_f32, -0.1, 0.3, 0.3]; 3], &CPU).expect("t");
    assert!(CrossEntropyLoss::new()
        .forward_tensor_ops(&x, &negative, None)
        .is_err());
    let bad = Tensor::new(&[0_u32, 7, 2], &CPU).expect("t");
    assert!(CrossEntropyLoss::new()
        .forward_tensor_ops(&x, &bad, None)
        .is_err());
}
