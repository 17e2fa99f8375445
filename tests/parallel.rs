//! With the `rayon` feature, results are bitwise identical whatever the
//! number of threads: the work is cut into fixed chunks and their sums are
//! combined over a fixed tree (run: `cargo test --features rayon --test parallel`).
#![cfg(feature = "rayon")]

use focal_loss::{CrossEntropyLoss, FocalLoss, NllLoss, Probs, SigmoidFocalLoss};
use ndarray::{Array1, Array2, Array3, Array4, ArrayD, IxDyn};

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
}

/// Runs `f` on 1, 2 and 3 threads and asserts identical bits.
fn same_bits(what: &str, f: impl Fn() -> (f32, ArrayD<f32>) + Sync) {
    let (l1, g1) = pool(1).install(&f);
    for threads in [2, 3] {
        let (l, g) = pool(threads).install(&f);
        assert_eq!(
            l.to_bits(),
            l1.to_bits(),
            "{what}: loss on {threads} threads"
        );
        assert!(
            g.iter()
                .zip(g1.iter())
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{what}: gradient on {threads} threads"
        );
    }
}

#[test]
fn results_do_not_depend_on_thread_count() {
    // 2^20 logits: well above the size at which the kernels go parallel.
    let (n, c) = (1 << 16, 16);
    let x = Array2::from_shape_fn((n, c), |(i, k)| {
        ((i * 31 + k * 7) % 101) as f32 / 20.0 - 2.5
    });
    let t = Array1::from_shape_fn(n, |i| (i * 13) % c);
    let p = Array2::from_shape_fn((n, c), |(i, k)| ((i + k) % 3) as f32 / 16.0);
    let yb = Array2::from_shape_fn((n, c), |(i, k)| f32::from(u8::from((i + k) % c == 0)));
    let ce = CrossEntropyLoss::new().with_label_smoothing(0.1).unwrap();
    let focal = FocalLoss::new(0.5)
        .unwrap()
        .with_alpha(vec![0.5; c])
        .unwrap();
    let nll = NllLoss::new();
    let sfl = SigmoidFocalLoss::new(2.0)
        .unwrap()
        .with_alpha_scalar(0.25)
        .unwrap();
    let dyn_ = |(l, g): (f32, Array2<f32>)| (l, g.into_dyn());
    same_bits("ce", || dyn_(ce.forward_backward(&x, &t).unwrap()));
    same_bits("ce probs", || {
        dyn_(ce.forward_backward(&x, &Probs(&p)).unwrap())
    });
    same_bits("focal", || dyn_(focal.forward_backward(&x, &t).unwrap()));
    // The soft target kernels: focal loss with smoothing or probabilities.
    let focal_s = focal.clone().with_label_smoothing(0.1).unwrap();
    same_bits("focal smoothing", || {
        dyn_(focal_s.forward_backward(&x, &t).unwrap())
    });
    same_bits("focal probs", || {
        dyn_(focal.forward_backward(&x, &Probs(&p)).unwrap())
    });
    same_bits("nll", || dyn_(nll.forward_backward(&x, &t).unwrap()));
    same_bits("sigmoid focal", || {
        dyn_(sfl.forward_backward(&x, &yb).unwrap())
    });
    // K-dim (segmentation) layout.
    let x4 = Array4::from_shape_fn((4, 19, 128, 128), |(b, k, i, j)| {
        ((b * 7 + k * 3 + i + 2 * j) % 29) as f32 / 7.0 - 2.0
    });
    let t4 = ArrayD::from_shape_fn(IxDyn(&[4, 128, 128]), |ix| (ix[1] + ix[2]) % 19);
    same_bits("focal k-dim", || {
        let (l, g) = focal_k(&x4, &t4);
        (l, g.into_dyn())
    });
    let focal_s = FocalLoss::new(2.0)
        .unwrap()
        .with_label_smoothing(0.1)
        .unwrap();
    same_bits("focal k-dim smoothing", || {
        let (l, g) = focal_s.forward_backward(&x4, &t4).unwrap();
        (l, g.into_dyn())
    });
    // K-dim with many classes (the strip kernel), cross-entropy smoothed.
    let x3 = Array3::from_shape_fn((6, 300, 500), |(b, k, j)| {
        ((b * 7 + k * 3 + 2 * j) % 29) as f32 / 7.0 - 2.0
    });
    let t3 = Array2::from_shape_fn((6, 500), |(b, j)| (b * 11 + j * 7) % 300);
    let ce_s = CrossEntropyLoss::new().with_label_smoothing(0.1).unwrap();
    same_bits("cross-entropy k-dim, 300 classes", || {
        let (l, g) = ce_s.forward_backward(&x3, &t3).unwrap();
        (l, g.into_dyn())
    });
    same_bits("focal k-dim, 300 classes", || {
        let (l, g) = FocalLoss::new(2.0)
            .unwrap()
            .forward_backward(&x3, &t3)
            .unwrap();
        (l, g.into_dyn())
    });
}

fn focal_k(x: &Array4<f32>, t: &ArrayD<usize>) -> (f32, Array4<f32>) {
    FocalLoss::new(2.0).unwrap().forward_backward(x, t).unwrap()
}
