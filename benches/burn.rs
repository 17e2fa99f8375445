//! Criterion benchmarks of the burn adapter (feature `burn`): one training
//! step's loss and gradient through `forward_burn` + `backward()` on
//! autodiff Flex and NdArray, the generic path (`forward_burn_ops`, burn
//! tensor ops) on autodiff Flex, and the crate on ndarray
//! (`forward_backward_into`); focal loss γ=2 + α, `f32`, at the shapes of
//! issue 17.
//!
//! Run: `RAYON_NUM_THREADS=1 cargo bench --features burn --bench burn`.
#![allow(deprecated)] // burn 0.22 deprecates NdArray; it is measured too.

use burn_tensor::{Device, Int, Tensor, TensorData};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use focal_loss::burn::BurnLoss;
use focal_loss::FocalLoss;
use ndarray::{ArrayD, IxDyn};
use std::hint::black_box;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    for (n, classes) in [(65536_usize, 10_usize), (16384, 100), (4096, 1000)] {
        let alpha: Vec<f64> = (0..classes).map(|k| 0.5 + (k % 4) as f64 * 0.5).collect();
        let focal = FocalLoss::new(2.0)
            .and_then(|f| f.with_alpha(alpha))
            .expect("valid settings");
        let xs: Vec<f32> = (0..n * classes)
            .map(|i| ((i * 2_654_435_761) % 4096) as f32 / 512.0 - 4.0)
            .collect();
        let ts: Vec<i64> = (0..n).map(|i| ((i * 40_503) % classes) as i64).collect();
        let xa = ArrayD::from_shape_vec(IxDyn(&[n, classes]), xs.clone()).expect("x");
        let ta = ArrayD::from_shape_vec(IxDyn(&[n]), ts.clone()).expect("t");
        let mut grad = ArrayD::<f32>::zeros(IxDyn(&[n, classes]));
        let id = format!("({n},{classes})");
        let mut group = c.benchmark_group("burn/focal_g2_alpha/f32");
        group.throughput(Throughput::Elements((n * classes) as u64));
        for (name, dev) in [
            ("flex", Device::flex().autodiff()),
            ("ndarray", Device::ndarray().autodiff()),
        ] {
            let x = Tensor::<2>::from_data(TensorData::new(xs.clone(), [n, classes]), &dev)
                .require_grad();
            let t = Tensor::<1, Int>::from_data(TensorData::new(ts.clone(), [n]), &dev);
            group.bench_function(
                BenchmarkId::new(format!("forward_burn+backward {name}"), &id),
                |b| {
                    b.iter(|| {
                        let l = focal.forward_burn(x.clone(), t.clone()).expect("valid");
                        black_box(x.grad(&l.backward()))
                    })
                },
            );
            if name == "flex" {
                group.bench_function(
                    BenchmarkId::new("forward_burn_ops+backward flex", &id),
                    |b| {
                        b.iter(|| {
                            let l = focal
                                .forward_burn_ops(x.clone(), t.clone(), None)
                                .expect("valid");
                            black_box(x.grad(&l.backward()))
                        })
                    },
                );
            }
        }
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
    name = burn;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(burn);
