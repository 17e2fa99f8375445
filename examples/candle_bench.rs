//! Per-step loss + gradient time, single thread, `f32`: this crate through
//! the candle adapter (`forward_tensor` + `backward()` on a `Var`; and the
//! op alone, `forward_tensor` without `backward()`), the
//! crate on ndarray (`forward_backward_into`), and cross-entropy / focal
//! loss composed from candle-core ops (log-softmax by hand, autograd).
//!
//! ```text
//! cargo run --release --features candle --example candle_bench [reps]
//! ```
//!
//! Prints the median of `reps` (default 15) timed steps per shape.

#[path = "common/mod.rs"]
mod common;

use candle_core::{Device, Tensor, Var};
use common::median_ms;
use focal_loss::candle::CandleLoss;
use focal_loss::{CrossEntropyLoss, FocalLoss};
use ndarray::{ArrayD, IxDyn};
use std::error::Error;

/// `log_softmax` along axis 1 from candle-core ops (stable: max-shifted).
fn log_softmax(x: &Tensor) -> candle_core::Result<Tensor> {
    let m = x.max_keepdim(1)?;
    let s = x.broadcast_sub(&m)?;
    let lse = s.exp()?.sum_keepdim(1)?.log()?;
    s.broadcast_sub(&lse)
}

/// Mean cross-entropy (or focal loss with `gamma`) composed from ops.
fn composed(x: &Tensor, onehot: &Tensor, gamma: Option<f64>) -> candle_core::Result<Tensor> {
    let lp = log_softmax(x)?;
    let lpy = (lp * onehot)?.sum(1)?;
    let n = lpy.elem_count() as f64;
    let per = match gamma {
        None => lpy.neg()?,
        Some(g) => {
            let q = (1.0 - lpy.exp()?)?;
            (q.powf(g)? * lpy)?.neg()?
        }
    };
    per.sum_all()? / n
}

fn main() -> Result<(), Box<dyn Error>> {
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let shapes: [&[usize]; 4] = [
        &[65536, 10],
        &[16384, 100],
        &[4096, 1000],
        &[8, 19, 128, 128],
    ];
    println!(
        "{:<18} {:>10} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "shape", "loss", "adapter", "op only", "ndarray", "candle ops", "adapter/nd"
    );
    for shape in shapes {
        let c = shape[1];
        let n: usize = shape.iter().product();
        let xs: Vec<f32> = (0..n)
            .map(|i| ((i * 2654435761) % 4096) as f32 / 512.0 - 4.0)
            .collect();
        let mut ps = shape.to_vec();
        ps.remove(1);
        let npos: usize = ps.iter().product();
        let ts: Vec<u32> = (0..npos).map(|i| ((i * 40503) % c) as u32).collect();
        let x = Var::from_tensor(&Tensor::from_vec(xs.clone(), shape, &Device::Cpu)?)?;
        let t = Tensor::from_vec(ts.clone(), ps.as_slice(), &Device::Cpu)?;
        let xa = ArrayD::from_shape_vec(IxDyn(shape), xs)?;
        let ta = ArrayD::from_shape_vec(IxDyn(&ps), ts)?;
        let mut grad = ArrayD::<f32>::zeros(IxDyn(shape));
        // The composed losses work on (positions, C) rows.
        let rows = if shape.len() > 2 {
            x.as_tensor().permute((0, 2, 3, 1))?.reshape(((), c))?
        } else {
            x.as_tensor().clone()
        };
        let onehot = t
            .flatten_all()?
            .unsqueeze(1)?
            .broadcast_as((npos, c))?
            .eq(&Tensor::arange(0u32, c as u32, &Device::Cpu)?
                .unsqueeze(0)?
                .broadcast_as((npos, c))?)?
            .to_dtype(candle_core::DType::F32)?;
        let ce = CrossEntropyLoss::new();
        let focal = FocalLoss::new(2.0)?;
        for (name, gamma) in [("ce", None), ("focal γ=2", Some(2.0))] {
            let adapter = median_ms(reps, || {
                let l = match gamma {
                    None => ce.forward_tensor(x.as_tensor(), &t)?,
                    Some(_) => focal.forward_tensor(x.as_tensor(), &t)?,
                };
                let g = l.backward()?;
                std::hint::black_box(g.get(&x));
                Ok(())
            })?;
            // The op alone: the fused forward (loss and gradient), no backward.
            let op = median_ms(reps, || {
                let l = match gamma {
                    None => ce.forward_tensor(x.as_tensor(), &t)?,
                    Some(_) => focal.forward_tensor(x.as_tensor(), &t)?,
                };
                std::hint::black_box(l);
                Ok(())
            })?;
            let nd = median_ms(reps, || {
                let l = match gamma {
                    None => ce.forward_backward_into(&xa, &ta, &mut grad)?,
                    Some(_) => focal.forward_backward_into(&xa, &ta, &mut grad)?,
                };
                std::hint::black_box(l);
                Ok(())
            })?;
            let ops = median_ms(reps, || {
                let l = composed(&rows, &onehot, gamma)?;
                let g = l.backward()?;
                std::hint::black_box(g.get(&x));
                Ok(())
            })?;
            println!(
                "{:<18} {name:>10} {adapter:>8.2}ms {op:>8.2}ms {nd:>8.2}ms {ops:>10.2}ms {:>11.2}x",
                format!("{shape:?}"),
                adapter / nd
            );
        }
    }
    Ok(())
}
