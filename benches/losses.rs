//! Criterion benchmarks of every loss, `forward` and `forward_backward_into`
//! (and `forward_grad_hess_into` for CE, focal and sigmoid focal),
//! at the shapes of issue 5, in `f32` and `f64`. Throughput is reported in
//! logits (elements) per second.
//!
//! Two memory floors per shape (`floor/<type>`): `copy` reads the logits and
//! writes one array of their size (what `forward_backward_into` must move at
//! least), `copy2` writes two (what `forward_grad_hess_into` must move).
//!
//! Run: `cargo bench --bench losses` (add `--features rayon` for the
//! parallel kernels; filter with e.g. `cargo bench --bench losses -- ce/f32`).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use focal_loss::{
    CrossEntropyLoss, FocalLoss, LossError, LossFloat, NllLoss, Reduction, SigmoidFocalLoss,
};
use ndarray::{ArrayD, IxDyn};
use std::hint::black_box;
use std::time::Duration;

const SHAPES: [&[usize]; 5] = [
    &[65536, 4],
    &[65536, 10],
    &[16384, 100],
    &[4096, 1000],
    &[8, 19, 128, 128],
];

/// Deterministic inputs: logits in [-2, 2), index targets, ~1/C positives.
fn inputs<F: LossFloat>(shape: &[usize]) -> (ArrayD<F>, ArrayD<usize>, ArrayD<F>) {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let c = shape[1] as u64;
    let x = ArrayD::from_shape_fn(IxDyn(shape), |_| {
        F::from_f64_((next() % 4096) as f64 / 1024.0 - 2.0)
    });
    let mut ts = shape.to_vec();
    ts.remove(1);
    let t = ArrayD::from_shape_fn(IxDyn(&ts), |_| (next() % c) as usize);
    let yb = ArrayD::from_shape_fn(IxDyn(shape), |_| {
        F::from_f64_(f64::from(u8::from(next() % c == 0)))
    });
    (x, t, yb)
}

type Run<'a, F> = Box<dyn Fn(Option<&mut ArrayD<F>>) -> Result<F, LossError> + 'a>;
type Hess<'a, F> = Box<dyn Fn(&mut ArrayD<F>, &mut ArrayD<F>) -> Result<F, LossError> + 'a>;

fn bench_dtype<F: LossFloat>(c: &mut Criterion, ty: &str) {
    for shape in SHAPES {
        let (x, t, yb) = inputs::<F>(shape);
        let n = x.len() as u64;
        let alpha: Vec<f64> = (0..shape[1])
            .map(|k| 0.25 + (k % 4) as f64 * 0.25)
            .collect();
        let ce = CrossEntropyLoss::new();
        let nll = NllLoss::new();
        let f2 = FocalLoss::new(2.0)
            .and_then(|f| f.with_alpha(&alpha))
            .map(|f| f.with_reduction(Reduction::Mean))
            .expect("valid focal parameters");
        let f05 = FocalLoss::new(0.5)
            .and_then(|f| f.with_alpha(&alpha))
            .expect("valid focal parameters");
        let sfl = SigmoidFocalLoss::new(2.0)
            .and_then(|f| f.with_alpha_scalar(0.25))
            .expect("valid sigmoid focal parameters");
        let losses: Vec<(&str, Run<'_, F>)> = vec![
            (
                "nll",
                Box::new(|g| match g {
                    Some(g) => nll.forward_backward_into(&x, &t, g),
                    None => nll.forward(&x, &t),
                }),
            ),
            (
                "ce",
                Box::new(|g| match g {
                    Some(g) => ce.forward_backward_into(&x, &t, g),
                    None => ce.forward(&x, &t),
                }),
            ),
            (
                "focal_g2_alpha",
                Box::new(|g| match g {
                    Some(g) => f2.forward_backward_into(&x, &t, g),
                    None => f2.forward(&x, &t),
                }),
            ),
            (
                "focal_g0.5_alpha",
                Box::new(|g| match g {
                    Some(g) => f05.forward_backward_into(&x, &t, g),
                    None => f05.forward(&x, &t),
                }),
            ),
            (
                "sigmoid_focal",
                Box::new(|g| match g {
                    Some(g) => sfl.forward_backward_into(&x, &yb, g),
                    None => sfl.forward(&x, &yb),
                }),
            ),
        ];
        let mut grad = ArrayD::<F>::zeros(IxDyn(shape));
        let id = format!("{shape:?}").replace(' ', "");
        for (name, run) in &losses {
            let mut group = c.benchmark_group(format!("{name}/{ty}"));
            group.throughput(Throughput::Elements(n));
            group.bench_function(BenchmarkId::new("forward", &id), |b| {
                b.iter(|| black_box(run(None).expect("benchmark input is valid")))
            });
            group.bench_function(BenchmarkId::new("forward_backward_into", &id), |b| {
                b.iter(|| black_box(run(Some(&mut grad)).expect("benchmark input is valid")))
            });
            group.finish();
        }
        // Second order: loss, gradient and Hessian diagonal in one call.
        let mut hess = ArrayD::<F>::zeros(IxDyn(shape));
        let second: Vec<(&str, Hess<'_, F>)> = vec![
            (
                "ce",
                Box::new(|g, h| ce.forward_grad_hess_into(&x, &t, g, h)),
            ),
            (
                "focal_g2_alpha",
                Box::new(|g, h| f2.forward_grad_hess_into(&x, &t, g, h)),
            ),
            (
                "sigmoid_focal",
                Box::new(|g, h| sfl.forward_grad_hess_into(&x, &yb, g, h)),
            ),
        ];
        // The memory floors of the two methods.
        let mut group = c.benchmark_group(format!("floor/{ty}"));
        group.throughput(Throughput::Elements(n));
        let xs = x.as_slice().expect("standard layout");
        group.bench_function(BenchmarkId::new("copy", &id), |b| {
            b.iter(|| {
                let g = grad.as_slice_mut().expect("standard layout");
                for (gv, &v) in g.iter_mut().zip(xs) {
                    *gv = v;
                }
                black_box(&grad);
            })
        });
        group.bench_function(BenchmarkId::new("copy2", &id), |b| {
            b.iter(|| {
                let g = grad.as_slice_mut().expect("standard layout");
                let h = hess.as_slice_mut().expect("standard layout");
                for ((gv, hv), &v) in g.iter_mut().zip(h.iter_mut()).zip(xs) {
                    *gv = v;
                    *hv = v;
                }
                black_box((&grad, &hess));
            })
        });
        group.finish();
        for (name, run) in &second {
            let mut group = c.benchmark_group(format!("{name}/{ty}"));
            group.throughput(Throughput::Elements(n));
            group.bench_function(BenchmarkId::new("forward_grad_hess_into", &id), |b| {
                b.iter(|| black_box(run(&mut grad, &mut hess).expect("benchmark input is valid")))
            });
            group.finish();
        }
    }
}

fn benches(c: &mut Criterion) {
    bench_dtype::<f32>(c, "f32");
    bench_dtype::<f64>(c, "f64");
}

criterion_group! {
    name = losses;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(losses);
