//! Per-step loss + gradient time, single thread, `f32`: this crate through
//! the burn adapter (`forward_burn` + `backward()` on burn's autodiff Flex
//! and NdArray backends), the crate on ndarray (`forward_backward_into`),
//! the adapter's generic path (`forward_burn_ops`: burn tensor ops with
//! the exact gradient attached, what other backends run) on autodiff Flex,
//! burn-nn's weighted `CrossEntropyLoss` and a focal loss composed from
//! burn ops (log-softmax, gather, autodiff's own backward), both on
//! autodiff Flex.
//!
//! ```text
//! RAYON_NUM_THREADS=1 cargo run --release --features burn --example burn_bench [reps]
//! ```
//!
//! Prints the median of `reps` (default 15) timed steps per shape.
#![allow(deprecated)] // burn 0.22 deprecates NdArray; it is measured too.

#[path = "common/mod.rs"]
mod common;

use burn_nn::loss::CrossEntropyLossConfig;
use burn_tensor::activation::log_softmax;
use burn_tensor::{Device, Int, Tensor, TensorData};
use common::median_ms;
use focal_loss::burn::BurnLoss;
use focal_loss::{CrossEntropyLoss, FocalLoss};
use ndarray::{ArrayD, IxDyn};
use std::error::Error;

type Res = Result<(), Box<dyn Error>>;

/// Focal loss (gamma 2, per-class alpha) composed from burn ops: autodiff
/// differentiates `(1 - p)^2` itself.
fn composed_focal(x: Tensor<2>, y: &Tensor<1, Int>, w: &Tensor<1>) -> Tensor<1> {
    let lp = log_softmax(x, 1)
        .gather(1, y.clone().unsqueeze_dim(1))
        .squeeze_dim::<1>(1);
    let q = lp.clone().exp().neg().add_scalar(1.0);
    let wy = w.clone().select(0, y.clone());
    (q.clone() * q * lp * wy.clone()).sum().neg() / wy.sum()
}

fn main() -> Res {
    let reps: usize = std::env::args().nth(1).map_or(Ok(15), |s| s.parse())?;
    println!(
        "| shape | adapter on Flex | adapter on NdArray | crate on ndarray | generic path on Flex | burn-nn weighted CE | focal from burn ops |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (n, c) in [(65536_usize, 10_usize), (16384, 100), (4096, 1000)] {
        let x = ArrayD::from_shape_fn(IxDyn(&[n, c]), |i| {
            ((i[0] * 31 + i[1] * 7) % 97) as f32 / 12.0 - 4.0
        });
        let y = ArrayD::from_shape_fn(IxDyn(&[n]), |i| ((i[0] * 13) % c) as i64);
        let alpha: Vec<f64> = (0..c).map(|k| 0.5 + (k % 4) as f64 * 0.5).collect();
        let focal = FocalLoss::new(2.0)?.with_alpha(alpha.clone())?;
        let ce = CrossEntropyLoss::new().with_weight(alpha.clone())?;
        let xd = TensorData::new(x.iter().copied().collect::<Vec<f32>>(), [n, c]);
        let yd = TensorData::new(y.iter().copied().collect::<Vec<i64>>(), [n]);
        let mut adapter = [0.0; 2];
        for (slot, dev) in [Device::flex().autodiff(), Device::ndarray().autodiff()]
            .into_iter()
            .enumerate()
        {
            let xt = Tensor::<2>::from_data(xd.clone(), &dev).require_grad();
            let yt = Tensor::<1, Int>::from_data(yd.clone(), &dev);
            adapter[slot] = median_ms(reps, || {
                let grads = focal.forward_burn(xt.clone(), yt.clone())?.backward();
                std::hint::black_box(xt.grad(&grads));
                Ok(())
            })?;
        }
        let mut g = ArrayD::<f32>::zeros(IxDyn(&[n, c]));
        let crate_ms = median_ms(reps, || {
            std::hint::black_box(focal.forward_backward_into(&x, &y, &mut g)?);
            Ok(())
        })?;
        let dev = Device::flex().autodiff();
        let xt = Tensor::<2>::from_data(xd.clone(), &dev).require_grad();
        let yt = Tensor::<1, Int>::from_data(yd.clone(), &dev);
        let w = Tensor::<1>::from_data(
            TensorData::new(alpha.iter().map(|&a| a as f32).collect::<Vec<f32>>(), [c]),
            &dev,
        );
        let generic_ms = median_ms(reps, || {
            let grads = focal
                .forward_burn_ops(xt.clone(), yt.clone(), None)?
                .backward();
            std::hint::black_box(xt.grad(&grads));
            Ok(())
        })?;
        let nn_ce = CrossEntropyLossConfig::new()
            .with_weights(Some(alpha.iter().map(|&a| a as f32).collect()))
            .init(&dev);
        let ce_ms = median_ms(reps, || {
            let grads = nn_ce.forward(xt.clone(), yt.clone()).backward();
            std::hint::black_box(xt.grad(&grads));
            Ok(())
        })?;
        let focal_ms = median_ms(reps, || {
            let grads = composed_focal(xt.clone(), &yt, &w).backward();
            std::hint::black_box(xt.grad(&grads));
            Ok(())
        })?;
        // burn-nn's CE must agree with the crate's (same weights).
        let want = ce.forward(&x, &y)?;
        let got = nn_ce.forward(xt.clone(), yt.clone()).into_scalar::<f32>();
        if (want - got).abs() > 1e-3 * want.abs() {
            return Err(format!("burn-nn CE {got} vs crate {want}").into());
        }
        println!(
            "| ({n}, {c}) | {:.2} ms | {:.2} ms | {crate_ms:.2} ms | {generic_ms:.2} ms | {ce_ms:.2} ms | {focal_ms:.2} ms |",
            adapter[0], adapter[1]
        );
    }
    Ok(())
}
