//! Times this crate's losses (forward + backward into a reused buffer) and
//! prints one JSON object per line; `scripts/bench_vs_pytorch.py` runs it
//! next to PyTorch. Also times a plain memory copy of the same bytes.
//!
//! Usage: `cargo run --release --example bench_json -- [reps] [f32|f64] [sweep|SHAPES]`
//!
//! With `sweep`, the shapes are a sweep of the class count instead: every
//! `C` from 2 to 64, then a log grid up to 4096, each as `(N, C)` and as
//! K-dim `(4, C, M)`, about 4M logits each (see [`sweep_shapes`]). Any
//! other third argument is a list of shapes, dimensions joined by `x` and
//! shapes by `,` (e.g. `220752x19,4x19x55188`).

use focal_loss::{CrossEntropyLoss, FocalLoss, LossError, NllLoss, Reduction, SigmoidFocalLoss};
use ndarray::{ArrayD, IxDyn};
use std::time::Instant;

const SHAPES: [&[usize]; 5] = [
    &[65536, 4],
    &[65536, 10],
    &[16384, 100],
    &[4096, 1000],
    &[8, 19, 128, 128],
];

/// The class counts of the sweep: every `C` up to 64, then a log grid.
const SWEEP_LOG_C: [usize; 13] = [
    80, 100, 128, 181, 256, 362, 512, 724, 1024, 1448, 2048, 2896, 4096,
];

/// The sweep's shapes: for each `C`, `(2^22 / C, C)` and `(4, C, 2^20 / C)`
/// (`scripts/bench_vs_pytorch.py --sweep` builds the same list).
fn sweep_shapes() -> Vec<Vec<usize>> {
    let cs = (2..=64).chain(SWEEP_LOG_C);
    cs.flat_map(|c| [vec![(1 << 22) / c, c], vec![4, c, (1 << 20) / c]])
        .collect()
}

/// A named loss call writing its gradient into a reused buffer.
type Case<'a, F> = (&'a str, &'a dyn Fn(&mut ArrayD<F>) -> Result<F, LossError>);

/// SplitMix64: a deterministic, dependency-free generator for bench inputs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn time(reps: usize, mut f: impl FnMut() -> Result<(), LossError>) -> Result<f64, LossError> {
    f()?; // warm-up
    let mut ts = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        f()?;
        ts.push(t.elapsed().as_secs_f64());
    }
    Ok(median(ts))
}

/// Shapes written as `NxC[xM..],NxC..` (`None` if any part is not a
/// positive integer or a shape has fewer than two dimensions).
fn parse_shapes(arg: &str) -> Option<Vec<Vec<usize>>> {
    arg.split(',')
        .map(|s| {
            let dims: Option<Vec<usize>> = s
                .split('x')
                .map(|d| d.trim().parse().ok().filter(|&v| v > 0))
                .collect();
            dims.filter(|d| d.len() >= 2)
        })
        .collect()
}

fn run<F: focal_loss::LossFloat>(
    reps: usize,
    ty: &str,
    shapes: &[Vec<usize>],
) -> Result<(), LossError> {
    let mut rng = Rng(42);
    for shape in shapes {
        let shape = &shape[..];
        let n: usize = shape.iter().product();
        let c = shape[1];
        let x = ArrayD::from_shape_fn(IxDyn(shape), |_| {
            F::from(rng.uniform() * 4.0 - 2.0).unwrap_or(F::zero())
        });
        let mut ts = shape.to_vec();
        ts.remove(1);
        let t = ArrayD::from_shape_fn(IxDyn(&ts), |_| (rng.next() % c as u64) as usize);
        let alpha: Vec<f64> = (0..c).map(|k| 0.25 + (k % 4) as f64 * 0.25).collect();
        let mut grad = ArrayD::<F>::zeros(IxDyn(shape));
        let ce = CrossEntropyLoss::new();
        let nll = NllLoss::new();
        let f2 = FocalLoss::new(2.0)?
            .with_alpha(&alpha)?
            .with_reduction(Reduction::Mean);
        let f05 = FocalLoss::new(0.5)?
            .with_alpha(&alpha)?
            .with_reduction(Reduction::Mean);
        // Binary targets for the sigmoid focal loss (about one positive in C).
        let yb = ArrayD::from_shape_fn(IxDyn(shape), |_| {
            F::from(u8::from(rng.next() % c as u64 == 0)).unwrap_or(F::zero())
        });
        let sfl = SigmoidFocalLoss::new(2.0)?.with_alpha_scalar(0.25)?;
        // The last class masked (`-inf`) everywhere, targets elsewhere.
        let xm = {
            let mut xm = x.clone();
            xm.index_axis_mut(ndarray::Axis(1), c - 1)
                .fill(F::neg_infinity());
            xm
        };
        let tm = t.mapv(|v| v % (c - 1).max(1));
        // Probability targets (distillation): random mass per class,
        // normalised over the class axis.
        let probs = {
            let raw = ArrayD::from_shape_fn(IxDyn(shape), |_| {
                F::from(rng.uniform()).unwrap_or(F::zero())
            });
            let sums = raw.sum_axis(ndarray::Axis(1)).insert_axis(ndarray::Axis(1));
            &raw / &sums
        };
        let f2s = f2.clone().with_label_smoothing(0.1)?;
        let cases: [Case<'_, F>; 11] = [
            ("ce", &|g| ce.forward_backward_into(&x, &t, g)),
            ("ce_masked", &|g| ce.forward_backward_into(&xm, &tm, g)),
            ("focal_g2_masked", &|g| {
                f2.forward_backward_into(&xm, &tm, g)
            }),
            ("nll", &|g| nll.forward_backward_into(&x, &t, g)),
            ("nll_masked", &|g| nll.forward_backward_into(&xm, &tm, g)),
            ("focal_g2", &|g| f2.forward_backward_into(&x, &t, g)),
            ("focal_g0.5", &|g| f05.forward_backward_into(&x, &t, g)),
            ("sigmoid_focal", &|g| sfl.forward_backward_into(&x, &yb, g)),
            ("ce_probs", &|g| {
                ce.forward_backward_into(&x, &focal_loss::Probs(&probs), g)
            }),
            ("focal_g2_smooth", &|g| f2s.forward_backward_into(&x, &t, g)),
            ("focal_g2_probs", &|g| {
                f2.forward_backward_into(&x, &focal_loss::Probs(&probs), g)
            }),
        ];
        for (name, f) in cases {
            let s = time(reps, || f(&mut grad).map(|_| ()))?;
            println!(
                "{{\"loss\": \"{name}\", \"shape\": {shape:?}, \"dtype\": \"{ty}\", \"seconds\": {s:e}, \"elements_per_s\": {:e}}}",
                n as f64 / s
            );
        }
        // A plain copy of the same bytes: read the logits, write the gradient.
        // (`copy_from_slice` is libc's memcpy on contiguous data.)
        let (src, dst) = (x.as_slice(), grad.as_slice_mut());
        let (Some(src), Some(dst)) = (src, dst) else {
            unreachable!("freshly allocated arrays are contiguous")
        };
        let s = time(reps, || {
            dst.copy_from_slice(src);
            std::hint::black_box(&dst);
            Ok(())
        })?;
        println!(
            "{{\"loss\": \"memcpy\", \"shape\": {shape:?}, \"dtype\": \"{ty}\", \"seconds\": {s:e}, \"elements_per_s\": {:e}}}",
            n as f64 / s
        );
    }
    Ok(())
}

fn main() -> Result<(), LossError> {
    let args: Vec<String> = std::env::args().collect();
    let reps = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let shapes = match args.get(3).map(String::as_str) {
        None => SHAPES.iter().map(|s| s.to_vec()).collect(),
        Some("sweep") => sweep_shapes(),
        Some(list) => match parse_shapes(list) {
            Some(s) => s,
            None => {
                eprintln!("bad shape list {list:?}: expected e.g. 220752x19,4x19x55188");
                std::process::exit(2);
            }
        },
    };
    match args.get(2).map(String::as_str) {
        Some("f64") => run::<f64>(reps, "f64", &shapes),
        _ => run::<f32>(reps, "f32", &shapes),
    }
}
