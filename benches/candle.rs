//! Criterion benchmarks of the candle adapter (feature `candle`): one
//! training step's loss and gradient through `forward_tensor` +
//! `backward()`, the op alone (`forward_tensor`), and the crate on ndarray
//! (`forward_backward_into`), `f32`, at the shapes of issue 16.
//!
//! Run: `cargo bench --features candle --bench candle`.

use candle_core::{Device, Tensor, Var};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use focal_loss::candle::CandleLoss;
use focal_loss::FocalLoss;
use ndarray::{ArrayD, IxDyn};
use std::hint::black_box;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let shapes: [&[usize]; 4] = [
        &[65536, 10],
        &[16384, 100],
        &[4096, 1000],
        &[8, 19, 128, 128],
    ];
    let focal = FocalLoss::new(2.0).expect("valid gamma");
    for shape in shapes {
        let n: usize = shape.iter().product();
        let classes = shape[1];
        let mut ps = shape.to_vec();
        ps.remove(1);
        let positions: usize = ps.iter().product();
        let xs: Vec<f32> = (0..n)
            .map(|i| ((i * 2_654_435_761) % 4096) as f32 / 512.0 - 4.0)
            .collect();
        let ts: Vec<u32> = (0..positions)
            .map(|i| ((i * 40_503) % classes) as u32)
            .collect();
        let x = Var::from_tensor(&Tensor::from_vec(xs.clone(), shape, &Device::Cpu).expect("x"))
            .expect("var");
        let t = Tensor::from_vec(ts.clone(), ps.as_slice(), &Device::Cpu).expect("t");
        let xa = ArrayD::from_shape_vec(IxDyn(shape), xs).expect("x");
        let ta = ArrayD::from_shape_vec(IxDyn(&ps), ts).expect("t");
        let mut grad = ArrayD::<f32>::zeros(IxDyn(shape));
        let id = format!("{shape:?}").replace(' ', "");
        let mut group = c.benchmark_group("candle/focal_g2/f32");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("forward_tensor+backward", &id), |b| {
            b.iter(|| {
                let l = focal.forward_tensor(x.as_tensor(), &t).expect("valid");
                black_box(l.backward().expect("backward"))
            })
        });
        group.bench_function(BenchmarkId::new("forward_tensor", &id), |b| {
            b.iter(|| black_box(focal.forward_tensor(x.as_tensor(), &t).expect("valid")))
        });
        group.bench_function(
            BenchmarkId::new("ndarray forward_backward_into", &id),
            |b| {
                b.iter(|| {
                    black_box(
                        focal
                            .forward_backward_into(&xa, &ta, &mut grad)
                            .expect("valid"),
                    )
                })
            },
        );
        group.finish();
    }
}

criterion_group! {
    name = candle;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(candle);
