//! The burn adapter (feature `burn`): values and gradients through burn's
//! `backward()` equal the ndarray path bitwise, for every loss, on Flex and
//! NdArray, 2-D and K-dim inputs, `f32` and `f64`, reduced and per-target,
//! upstream gradients other than 1; bad input is an error, never a panic.
#![cfg(feature = "burn")]
#![allow(deprecated)] // burn 0.22 deprecates its NdArray backend; it is tested too.

use burn_tensor::{Bool, Device, Element, Int, Tensor, TensorData};
use focal_loss::burn::BurnLoss;
use focal_loss::{
    BceWithLogitsLoss, CrossEntropyLoss, FocalLoss, LossFloat, Masked, NllLoss, Probs, Reduction,
    SigmoidFocalLoss,
};
use ndarray::{ArrayD, Dimension, IxDyn};

fn devices() -> [(&'static str, Device); 2] {
    [("flex", Device::flex()), ("ndarray", Device::ndarray())]
}

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

fn labels(shape: &[usize], c: usize) -> ArrayD<i64> {
    ArrayD::from_shape_fn(IxDyn(shape), |i| {
        let s: usize = i.slice().iter().map(|&v| v * 7 + 1).sum();
        (s % c) as i64
    })
}

fn data<E: Element>(a: &ArrayD<E>) -> TensorData {
    TensorData::new(a.iter().copied().collect::<Vec<E>>(), a.shape().to_vec())
}

fn float<const D: usize, F: LossFloat + Element>(a: &ArrayD<F>, dev: &Device) -> Tensor<D> {
    Tensor::from_data(data(a), (dev, F::dtype()))
}

fn array<const D: usize, F: LossFloat + Element>(t: Tensor<D>) -> ArrayD<F> {
    let shape = t.dims().to_vec();
    let v = t.into_data().try_to_vec::<F>().expect("float data");
    ArrayD::from_shape_vec(IxDyn(&shape), v).expect("shape")
}

/// `(loss, grad)` through burn's autodiff on `dev`, the loss scaled by
/// `scale` before backward.
fn through_burn<const D: usize, F: LossFloat + Element>(
    x: &ArrayD<F>,
    dev: &Device,
    scale: f64,
    f: impl Fn(Tensor<D>) -> Result<Tensor<1>, focal_loss::LossError>,
) -> (F, ArrayD<F>) {
    let xt = float::<D, F>(x, &dev.clone().autodiff()).require_grad();
    let loss = f(xt.clone()).expect("loss");
    let value = array::<1, F>(loss.clone().inner())[[0]];
    let grads = if scale == 1.0 {
        loss.backward()
    } else {
        (loss * scale).backward()
    };
    let g = array::<D, F>(xt.grad(&grads).expect("grad"));
    (value, g)
}

fn same<F: LossFloat + Bits>(what: &str, a: &ArrayD<F>, b: &ArrayD<F>) {
    assert_eq!(a.shape(), b.shape(), "{what}: shape");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            x.to_bits_u64() == y.to_bits_u64(),
            "{what}: element {i}: {x:?} vs {y:?}"
        );
    }
}

trait Bits {
    fn to_bits_u64(self) -> u64;
}
impl Bits for f32 {
    fn to_bits_u64(self) -> u64 {
        u64::from(self.to_bits())
    }
}
impl Bits for f64 {
    fn to_bits_u64(self) -> u64 {
        self.to_bits()
    }
}

/// Every softmax loss with class-index targets, 2-D and K-dim, both
/// backends, `f32` and `f64`, upstream 1 and 3: bitwise the ndarray path.
fn softmax_case<F: LossFloat + Element + Bits>() {
    let focal = FocalLoss::new(0.5)
        .unwrap()
        .with_alpha([0.25, 1.0, 2.0, 0.5])
        .unwrap()
        .with_ignore_index(-100);
    let ce = CrossEntropyLoss::new()
        .with_weight([1.0, 2.0, 0.5, 3.0])
        .unwrap()
        .with_label_smoothing(0.1)
        .unwrap()
        .with_reduction(Reduction::WeightedMean);
    let nll = NllLoss::new().with_ignore_index(1);
    for (name, dev) in devices() {
        for shape in [vec![7_usize, 4], vec![3, 4, 5, 2]] {
            let x = logits::<F>(&shape);
            let mut tshape = shape.clone();
            tshape.remove(1);
            let mut y = labels(&tshape, 4);
            y.as_slice_mut().unwrap()[0] = -100;
            let check = |what: &str, want: (F, ArrayD<F>), scale: f64, got: (F, ArrayD<F>)| {
                let tag = format!("{what} {name} {shape:?} x{scale}");
                assert_eq!(want.0.to_bits_u64(), got.0.to_bits_u64(), "{tag}: value");
                let wg = want.1.mapv(|g| g * F::from_f64_(scale));
                same(&tag, &wg, &got.1);
            };
            for scale in [1.0, 3.0] {
                macro_rules! run {
                    ($loss:expr, $x:expr, $y:expr, $dev:expr) => {{
                        let td = data(&$y);
                        match shape.len() {
                            2 => {
                                let yt = Tensor::<1, Int>::from_data(td, &$dev);
                                through_burn::<2, F>(&$x, &dev, scale, |xt| {
                                    $loss.forward_burn(xt, yt.clone())
                                })
                            }
                            _ => {
                                let yt = Tensor::<3, Int>::from_data(td, &$dev);
                                through_burn::<4, F>(&$x, &dev, scale, |xt| {
                                    $loss.forward_burn(xt, yt.clone())
                                })
                            }
                        }
                    }};
                }
                let ad = dev.clone().autodiff();
                let y0 = y.mapv(|v| v.max(0));
                let focal_want = focal.forward_backward(&x, &y).unwrap();
                check("focal", focal_want, scale, run!(focal, x, y, ad));
                let ce_want = ce.forward_backward(&x, &y0).unwrap();
                check("ce", ce_want, scale, run!(ce, x, y0, ad));
                // NLL on log-probabilities, its targets on the plain device.
                let lp = x.mapv(|v| v - F::from_f64_(3.0));
                let nll_want = nll.forward_backward(&lp, &y0).unwrap();
                check("nll", nll_want, scale, run!(nll, lp, y0, dev));
            }
        }
    }
}

#[test]
fn softmax_losses_equal_the_ndarray_path_f32() {
    softmax_case::<f32>();
}

#[test]
fn softmax_losses_equal_the_ndarray_path_f64() {
    softmax_case::<f64>();
}

/// A loss value and its gradient.
type Pair = (f32, ArrayD<f32>);

#[test]
fn probability_targets_and_sigmoid_losses_equal_the_ndarray_path() {
    let x = logits::<f32>(&[6, 3]);
    let p = ArrayD::from_shape_fn(IxDyn(&[6, 3]), |i| ((i[0] + 2 * i[1]) % 5) as f32 / 4.0);
    let rows = p.sum_axis(ndarray::Axis(1)).insert_axis(ndarray::Axis(1));
    let probs = &p / &rows;
    let focal = FocalLoss::new(2.0)
        .unwrap()
        .with_label_smoothing(0.05)
        .unwrap();
    let bin = p.mapv(|v| if v > 0.4 { 1.0 } else { 0.0 });
    let mut ignore = ArrayD::from_elem(IxDyn(&[6, 3]), false);
    ignore[[2, 1]] = true;
    let sfl = SigmoidFocalLoss::new(1.5)
        .unwrap()
        .with_alpha_scalar(0.25)
        .unwrap();
    let bce = BceWithLogitsLoss::new()
        .with_pos_weight([2.0, 1.0, 4.0])
        .unwrap();
    for (name, dev) in devices() {
        let ad = dev.clone().autodiff();
        let pt = float::<2, f32>(&probs, &ad);
        let bt = float::<2, f32>(&bin, &ad);
        let it = Tensor::<2, Bool>::from_data(data(&ignore), &ad);
        let cases: Vec<(&str, Pair, Pair)> = vec![
            (
                "focal probs",
                focal.forward_backward(&x, &Probs(&probs)).unwrap(),
                through_burn::<2, f32>(&x, &dev, 2.0, |xt| focal.forward_burn(xt, pt.clone())),
            ),
            (
                "sigmoid focal masked",
                sfl.forward_backward(
                    &x,
                    &Masked {
                        targets: &bin,
                        ignore: &ignore,
                    },
                )
                .unwrap(),
                through_burn::<2, f32>(&x, &dev, 2.0, |xt| {
                    sfl.forward_burn_masked(xt, bt.clone(), it.clone())
                }),
            ),
            (
                "bce",
                bce.forward_backward(&x, &bin).unwrap(),
                through_burn::<2, f32>(&x, &dev, 2.0, |xt| bce.forward_burn(xt, bt.clone())),
            ),
        ];
        for (what, want, got) in cases {
            let tag = format!("{what} {name}");
            assert_eq!(want.0.to_bits(), got.0.to_bits(), "{tag}: value");
            same(&tag, &want.1.mapv(|g| g * 2.0), &got.1);
        }
    }
}

#[test]
fn per_target_and_its_backward_equal_the_ndarray_path() {
    let x = logits::<f64>(&[3, 4, 5]);
    let y = labels(&[3, 5], 4);
    let u = ArrayD::from_shape_fn(IxDyn(&[3, 5]), |i| (i[0] as f64) - 0.5 * (i[1] as f64));
    let focal = FocalLoss::new(2.0)
        .unwrap()
        .with_alpha([0.5, 1.0, 2.0, 1.0])
        .unwrap();
    let want = focal.per_target(&x, &y).unwrap();
    let want_g = focal.per_target_backward(&x, &y, &u).unwrap();
    for (name, dev) in devices() {
        let ad = dev.clone().autodiff();
        let xt = float::<3, f64>(&x, &ad).require_grad();
        let yt = Tensor::<2, Int>::from_data(data(&y), &ad);
        let per = focal.per_target_burn(xt.clone(), yt).unwrap();
        same(
            name,
            &want.clone().into_dyn(),
            &array::<2, f64>(per.clone().inner()),
        );
        let grads = (per * float::<2, f64>(&u, &ad)).sum().backward();
        same(
            name,
            &want_g.clone().into_dyn(),
            &array::<3, f64>(xt.grad(&grads).unwrap()),
        );
    }
}

#[test]
fn without_autodiff_the_value_is_the_same() {
    let x = logits::<f32>(&[5, 3]);
    let y = labels(&[5], 3);
    let ce = CrossEntropyLoss::new();
    for (name, dev) in devices() {
        let l = ce
            .forward_burn(
                float::<2, f32>(&x, &dev),
                Tensor::<1, Int>::from_data(data(&y), &dev),
            )
            .unwrap();
        assert_eq!(
            l.into_scalar::<f32>(),
            ce.forward(&x, &y).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn fractional_gamma_at_certainty_has_a_finite_gradient() {
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 3]), vec![0.0_f32, -200.0, -200.0]).unwrap();
    let y = ArrayD::from_elem(IxDyn(&[1]), 0_i64);
    let focal = FocalLoss::new(0.5).unwrap();
    for (name, dev) in devices() {
        let yt = Tensor::<1, Int>::from_data(data(&y), &dev);
        let (l, g) = through_burn::<2, f32>(&x, &dev, 1.0, |xt| focal.forward_burn(xt, yt.clone()));
        assert!(
            l.is_finite() && g.iter().all(|v| v.is_finite()),
            "{name}: {l} {g:?}"
        );
        assert_eq!(g.iter().map(|v| v.abs()).fold(0.0, f32::max), 0.0, "{name}");
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let ce = CrossEntropyLoss::new();
    for (name, dev) in devices() {
        let ad = dev.clone().autodiff();
        let x = float::<2, f32>(&logits(&[2, 3]), &ad).require_grad();
        let out_of_range = Tensor::<1, Int>::from_data(TensorData::from([0_i64, 3]), &ad);
        assert!(
            ce.forward_burn(x.clone(), out_of_range).is_err(),
            "{name}: range"
        );
        let wrong_len = Tensor::<1, Int>::from_data(TensorData::from([0_i64, 1, 2]), &ad);
        assert!(
            ce.forward_burn(x.clone(), wrong_len).is_err(),
            "{name}: length"
        );
        let nan = float::<2, f32>(
            &ArrayD::from_shape_vec(IxDyn(&[1, 2]), vec![f32::NAN, 0.0]).unwrap(),
            &ad,
        );
        let y = Tensor::<1, Int>::from_data(TensorData::from([0_i64]), &ad);
        assert!(ce.forward_burn(nan, y.clone()).is_err(), "{name}: NaN");
        let probs = float::<2, f32>(&logits(&[2, 3]), &ad);
        assert!(
            NllLoss::new()
                .forward_burn(x.clone(), probs.clone())
                .is_err(),
            "{name}: NLL with float targets"
        );
        assert!(
            SigmoidFocalLoss::new(2.0)
                .unwrap()
                .forward_burn(
                    x.clone(),
                    Tensor::<1, Int>::from_data(TensorData::from([0_i64, 1]), &ad)
                )
                .is_err(),
            "{name}: sigmoid with class indices"
        );
        let mask = Tensor::<2, Bool>::from_data(TensorData::from([[false; 3]; 2]), &ad);
        assert!(
            ce.forward_burn_masked(x.clone(), probs, mask).is_err(),
            "{name}: mask"
        );
    }
    // Logits and targets on different backends.
    let x = float::<2, f32>(&logits(&[2, 3]), &Device::flex());
    let y = Tensor::<1, Int>::from_data(TensorData::from([0_i64, 1]), &Device::ndarray());
    assert!(ce.forward_burn(x, y).is_err(), "mixed backends");
}

/// `|a - b| <= tol * max(1, |b|)` elementwise.
fn close(what: &str, a: &ArrayD<f64>, b: &ArrayD<f64>, tol: f64) {
    assert_eq!(a.shape(), b.shape(), "{what}: shape");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * y.abs().max(1.0),
            "{what}: element {i}: {x} vs {y}"
        );
    }
}

/// The generic path (burn ops, any backend) against the fused kernels, on
/// autodiff Flex, `f64`: every loss and option, reduced (upstream 2) and
/// per target (upstream `u`), 2-D and K-dim.
#[test]
fn generic_path_equals_the_fused_path() {
    let dev = Device::flex().autodiff();
    let tol = 1e-9;
    let focal = FocalLoss::new(0.5)
        .unwrap()
        .with_alpha([0.25, 1.0, 2.0, 0.5])
        .unwrap()
        .with_ignore_index(-100);
    let focal_s = FocalLoss::new(2.0)
        .unwrap()
        .with_label_smoothing(0.1)
        .unwrap();
    let ce = CrossEntropyLoss::new()
        .with_weight([1.0, 2.0, 0.5, 3.0])
        .unwrap()
        .with_reduction(Reduction::WeightedMean);
    let ce_s = ce.clone().with_label_smoothing(0.2).unwrap();
    let nll = NllLoss::new()
        .with_ignore_index(1)
        .with_reduction(Reduction::Sum);
    for shape in [vec![7_usize, 4], vec![3, 4, 5, 2]] {
        let x = logits::<f64>(&shape);
        let mut tshape = shape.clone();
        tshape.remove(1);
        let mut y = labels(&tshape, 4);
        y.as_slice_mut().unwrap()[0] = -100;
        let y0 = y.mapv(|v| v.max(0));
        let u = ArrayD::from_shape_fn(IxDyn(&tshape), |i| {
            0.5 + i.slice().iter().sum::<usize>() as f64
        });
        macro_rules! both {
            ($name:expr, $loss:expr, $x:expr, $y:expr) => {{
                let tag = format!("{} {shape:?}", $name);
                let want = $loss.forward_backward(&$x, &$y).unwrap();
                let want_pt = $loss.per_target(&$x, &$y).unwrap().into_dyn();
                let want_vjp = $loss.per_target_backward(&$x, &$y, &u).unwrap();
                let (got, got_pt, got_vjp) = match shape.len() {
                    2 => generic_run::<2, 1>(&$loss, &$x, &$y, &u, &dev),
                    _ => generic_run::<4, 3>(&$loss, &$x, &$y, &u, &dev),
                };
                close(
                    &tag,
                    &ArrayD::from_elem(IxDyn(&[]), want.0),
                    &ArrayD::from_elem(IxDyn(&[]), got.0),
                    tol,
                );
                close(&tag, &want.1.mapv(|g| 2.0 * g), &got.1, tol);
                close(&tag, &want_pt, &got_pt, tol);
                close(&tag, &want_vjp, &got_vjp, tol);
            }};
        }
        both!("focal", focal, x, y);
        both!("focal smoothing", focal_s, x, y0);
        both!("ce", ce, x, y0);
        both!("ce smoothing", ce_s, x, y0);
        let lp = x.mapv(|v| v - 3.0);
        both!("nll", nll, lp, y0);
    }
}

/// Reduced (upstream 2) and per-target (upstream `u`) through the generic
/// path: `((value, grad), per_target, vjp)`.
fn generic_run<const D: usize, const E: usize>(
    loss: &impl BurnLoss,
    x: &ArrayD<f64>,
    y: &ArrayD<i64>,
    u: &ArrayD<f64>,
    dev: &Device,
) -> ((f64, ArrayD<f64>), ArrayD<f64>, ArrayD<f64>) {
    let yt = Tensor::<E, Int>::from_data(data(y), dev);
    let xt = float::<D, f64>(x, dev).require_grad();
    let l = loss.forward_burn_ops(xt.clone(), yt.clone(), None).unwrap();
    let value = array::<1, f64>(l.clone().inner())[[0]];
    let grads = (l * 2.0).backward();
    let g = array::<D, f64>(xt.grad(&grads).unwrap());
    let xt = float::<D, f64>(x, dev).require_grad();
    let per = loss.per_target_burn_ops(xt.clone(), yt, None).unwrap();
    let pt = array::<E, f64>(per.clone().inner());
    let grads = (per * float::<E, f64>(u, dev)).sum().backward();
    let vjp = array::<D, f64>(xt.grad(&grads).unwrap());
    ((value, g), pt, vjp)
}

/// The sigmoid losses' generic path against the fused kernels: masked and
/// unmasked, per-class alpha / pos_weight / weight, 2-D and K-dim, `f64`.
#[test]
fn generic_sigmoid_path_equals_the_fused_path() {
    let dev = Device::flex().autodiff();
    let tol = 1e-9;
    let sfl = SigmoidFocalLoss::new(1.5)
        .unwrap()
        .with_alpha([0.25, 0.5, 0.75])
        .unwrap()
        .with_label_smoothing(0.1)
        .unwrap();
    let bce = BceWithLogitsLoss::new()
        .with_pos_weight([2.0, 1.0, 4.0])
        .unwrap()
        .with_weight([1.0, 0.5, 2.0])
        .unwrap()
        .with_reduction(Reduction::Sum);
    for shape in [vec![6_usize, 3], vec![2, 3, 4]] {
        let x = logits::<f64>(&shape);
        let y = ArrayD::from_shape_fn(IxDyn(&shape), |i| {
            ((i.slice().iter().sum::<usize>()) % 2) as f64
        });
        let mut ignore = ArrayD::from_elem(IxDyn(&shape), false);
        ignore.as_slice_mut().unwrap()[1] = true;
        let u = ArrayD::from_shape_fn(IxDyn(&shape), |i| 1.0 + i.slice()[0] as f64);
        for (name, masked) in [("unmasked", false), ("masked", true)] {
            let m = Masked {
                targets: &y,
                ignore: &ignore,
            };
            macro_rules! check {
                ($loss:expr, $D:literal) => {{
                    let tag = format!("{} {name} {shape:?}", stringify!($loss));
                    let (want, want_pt, want_vjp) = if masked {
                        (
                            $loss.forward_backward(&x, &m).unwrap(),
                            $loss.per_target(&x, &m).unwrap().into_dyn(),
                            $loss.per_target_backward(&x, &m, &u).unwrap(),
                        )
                    } else {
                        (
                            $loss.forward_backward(&x, &y).unwrap(),
                            $loss.per_target(&x, &y).unwrap().into_dyn(),
                            $loss.per_target_backward(&x, &y, &u).unwrap(),
                        )
                    };
                    let mk = || masked.then(|| Tensor::<$D, Bool>::from_data(data(&ignore), &dev));
                    let yt = float::<$D, f64>(&y, &dev);
                    let xt = float::<$D, f64>(&x, &dev).require_grad();
                    let l = $loss
                        .forward_burn_ops(xt.clone(), yt.clone(), mk())
                        .unwrap();
                    let value = array::<1, f64>(l.clone().inner())[[0]];
                    let grads = (l * 2.0).backward();
                    let g = array::<$D, f64>(xt.grad(&grads).unwrap());
                    close(
                        &tag,
                        &ArrayD::from_elem(IxDyn(&[]), want.0),
                        &ArrayD::from_elem(IxDyn(&[]), value),
                        tol,
                    );
                    close(&tag, &want.1.mapv(|v| 2.0 * v), &g, tol);
                    let xt = float::<$D, f64>(&x, &dev).require_grad();
                    let per = $loss.per_target_burn_ops(xt.clone(), yt, mk()).unwrap();
                    close(&tag, &want_pt, &array::<$D, f64>(per.clone().inner()), tol);
                    let grads = (per * float::<$D, f64>(&u, &dev)).sum().backward();
                    close(
                        &tag,
                        &want_vjp,
                        &array::<$D, f64>(xt.grad(&grads).unwrap()),
                        tol,
                    );
                }};
            }
            if shape.len() == 2 {
                check!(sfl, 2);
                check!(bce, 2);
            } else {
                check!(sfl, 3);
                check!(bce, 3);
            }
        }
    }
}

/// The generic path: fractional `gamma` at `p_t = 1` stays finite, and bad
/// input is an error, never a panic.
#[test]
fn generic_path_is_finite_at_certainty_and_rejects_bad_input() {
    let dev = Device::flex().autodiff();
    let focal = FocalLoss::new(0.5).unwrap();
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 3]), vec![0.0_f32, -200.0, -200.0]).unwrap();
    let y = Tensor::<1, Int>::from_data(TensorData::from([0_i64]), &dev);
    let (l, g) = through_burn::<2, f32>(&x, &Device::flex(), 1.0, |xt| {
        focal.forward_burn_ops(xt, y.clone(), None)
    });
    assert!(
        l.is_finite() && g.iter().all(|v| v.is_finite()),
        "{l} {g:?}"
    );
    let ce = CrossEntropyLoss::new();
    let xt = float::<2, f32>(&logits(&[2, 3]), &dev).require_grad();
    let bad = [
        Tensor::<1, Int>::from_data(TensorData::from([0_i64, 3]), &dev),
        Tensor::<1, Int>::from_data(TensorData::from([0_i64, -1]), &dev),
        Tensor::<1, Int>::from_data(TensorData::from([0_i64, 1, 2]), &dev),
    ];
    for (i, t) in bad.into_iter().enumerate() {
        assert!(
            ce.forward_burn_ops(xt.clone(), t, None).is_err(),
            "bad targets {i}"
        );
    }
    let nan = float::<2, f32>(
        &ArrayD::from_shape_vec(IxDyn(&[1, 2]), vec![f32::NAN, 0.0]).unwrap(),
        &dev,
    );
    let y1 = Tensor::<1, Int>::from_data(TensorData::from([0_i64]), &dev);
    assert!(ce.forward_burn_ops(nan, y1, None).is_err(), "NaN logits");
    let probs = float::<2, f32>(&logits(&[2, 3]), &dev); // negative entries
    assert!(
        ce.forward_burn_ops(xt.clone(), probs.clone(), None)
            .is_err(),
        "negative probs"
    );
    assert!(
        NllLoss::new()
            .forward_burn_ops(xt.clone(), probs.clone(), None)
            .is_err(),
        "NLL probs"
    );
    let y2 = float::<2, f32>(&logits(&[2, 3]), &dev);
    assert!(
        BceWithLogitsLoss::new()
            .forward_burn_ops(xt.clone(), y2, None)
            .is_err(),
        "binary targets outside [0, 1]"
    );
    let mask = Tensor::<2, Bool>::from_data(TensorData::from([[false; 3]; 2]), &dev);
    assert!(
        ce.forward_burn_ops(xt, probs, Some(mask)).is_err(),
        "softmax with a mask"
    );
}

/// burn-nn's own weighted cross-entropy (autodiff of composed ops) agrees
/// with the adapter's value and gradient to `f32` rounding.
#[test]
fn burn_nn_weighted_cross_entropy_agrees() {
    use burn_nn::loss::CrossEntropyLossConfig;
    let dev = Device::flex().autodiff();
    let x = logits::<f32>(&[9, 4]);
    let y = labels(&[9], 4);
    let w = [1.0_f32, 2.0, 0.5, 3.0];
    let nn = CrossEntropyLossConfig::new()
        .with_weights(Some(w.to_vec()))
        .init(&dev);
    let yt = Tensor::<1, Int>::from_data(data(&y), &dev);
    let xt = float::<2, f32>(&x, &dev).require_grad();
    let l = nn.forward(xt.clone(), yt.clone());
    let want_v = array::<1, f32>(l.clone().inner())[[0]];
    let want_g = array::<2, f32>(xt.grad(&l.backward()).unwrap());
    let ce = CrossEntropyLoss::new().with_weight(w).unwrap();
    let (v, g) = through_burn::<2, f32>(&x, &Device::flex(), 1.0, |xt| {
        ce.forward_burn(xt, yt.clone())
    });
    assert!((v - want_v).abs() <= 1e-6 * want_v.abs(), "{v} vs {want_v}");
    for (a, b) in g.iter().zip(&want_g) {
        assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
    }
}
