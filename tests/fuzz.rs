//! Fuzz targets, one per family, as long-running randomized tests (the
//! stable toolchain has no libFuzzer): each draws structured random cases
//! from a seeded RNG, hostile values included, and checks the contract of
//! `tests/hostile.rs` — no panic, no NaN, no unexplained error, no `inf`
//! where the true result is bounded — plus cross-method invariants
//! (`forward` == the loss of `forward_backward`, `per_target_backward`
//! with upstream 1 == the `Sum` gradient, `forward` == `Σ per_target / D`,
//! identical results in every memory layout) and, for clean inputs, the
//! agreement of `f32` with `f64`.
//!
//! Ignored by default. Run them all with `scripts/fuzz.sh`, or
//! `FUZZ_SECONDS=600 cargo test --release --test fuzz -- --ignored --nocapture --test-threads 1`.
//! `FUZZ_SECONDS` is the budget per target (default 5); `FUZZ_SEED` fixes
//! the base seed (default: from the clock; printed). A failure prints the
//! seed of the failing execution; rerun it with `FUZZ_SEED=<seed>`.

mod hostile {
    pub mod check;
    pub mod layout;
    pub mod rng;
    pub mod sigmoid;
    pub mod sigmoid_oracle;
    pub mod softmax;
    pub mod softmax_oracle;
    pub mod weights;
    pub mod weights_oracle;
}

use focal_loss::{
    BceWithLogitsLoss, CrossEntropyLoss, FocalLoss, LossError, LossFloat, NllLoss, Reduction,
    SigmoidFocalLoss,
};
use hostile::check::Stats;
use hostile::rng::Rng;
use hostile::{sigmoid, softmax, weights};
use ndarray::{ArrayD, IxDyn};
use std::time::{Duration, Instant};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

/// Runs `one` on consecutive seeds until the budget is spent. Failures are
/// collected (the first few printed in full) and fail the test at the end.
fn fuzz(name: &str, mut one: impl FnMut(u64, &mut Stats) -> Result<(), String>) {
    let budget = Duration::from_secs(env_u64("FUZZ_SECONDS").unwrap_or(5));
    let base = env_u64("FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let start = Instant::now();
    let mut stats = Stats::default();
    let mut failures: Vec<(u64, String)> = Vec::new();
    let mut n = 0_u64;
    while start.elapsed() < budget {
        for _ in 0..16 {
            let seed = base.wrapping_add(n);
            n += 1;
            if let Err(msg) = one(seed, &mut stats) {
                let head = msg.lines().next().unwrap_or("").to_string();
                if !failures.iter().any(|(_, h)| *h == head) && failures.len() < 5 {
                    println!("[{name}] FAILURE at seed {seed}:\n{msg}\n");
                }
                failures.push((seed, head));
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("[{name}] {n} executions in {secs:.0} s (base seed {base})");
    println!("{}", stats.report(name));
    if !failures.is_empty() {
        let seeds: Vec<u64> = failures.iter().take(10).map(|f| f.0).collect();
        panic!(
            "[{name}] {} failing executions, first seeds {seeds:?}",
            failures.len()
        );
    }
}

/// Worst observed error of `f32` against `f64`, as a fraction of the
/// tolerance `1e-6 S + 1e-5 |reference|` (must stay <= 1), with `S` the
/// largest class weight (at least 1), and for gradient elements at least
/// the largest `|gradient|` of the array.
#[derive(Debug, Default)]
struct Agreement {
    worst_loss: f64,
    worst_grad: f64,
    /// The cases of the worst ratios (printed with `FUZZ_VERBOSE=1`).
    worst_case: [String; 2],
}

impl Agreement {
    /// `scale`: the size of the terms the value is made of, at which f32
    /// rounding is absolute: for the loss the largest weight (at least 1),
    /// since `-ln p` of a confident prediction is `ln` of a sum rounded to
    /// f32; for a gradient element also the largest `|gradient|` of its
    /// array, since its entries are differences of terms that large.
    fn add(&mut self, grad: bool, got: f32, want: f64, scale: f64) -> Result<(), String> {
        let r = (f64::from(got) - want).abs() / (1e-6 * scale + 1e-5 * want.abs());
        let w = if grad {
            &mut self.worst_grad
        } else {
            &mut self.worst_loss
        };
        if r > *w {
            *w = r;
            self.worst_case[usize::from(grad)] =
                format!("f32 {got:e} vs f64 {want:e}, scale {scale:e}");
        }
        if r <= 1.0 {
            Ok(())
        } else {
            Err(format!(
                "f32 {got:e} vs f64 {want:e}: {r:.2} x the tolerance"
            ))
        }
    }
}

/// An `f32`-representable number, as `f64`.
fn f32able(v: f64) -> f64 {
    f64::from(v as f32)
}

type Both = (
    Result<(f32, ArrayD<f32>), LossError>,
    Result<(f64, ArrayD<f64>), LossError>,
);

/// A clean softmax-family problem computed in both precisions, and the
/// size of the terms its gradient entries are differences of (the largest
/// class weight, at least 1).
fn softmax_pair(rng: &mut Rng) -> (String, Both, f64) {
    let (n, c) = (rng.pick(&[1, 2, 5, 33]), rng.pick(&[1, 2, 3, 10, 70, 300]));
    let d = rng.pick(&[1, 1, 3]);
    let shape = if d == 1 { vec![n, c] } else { vec![n, c, d] };
    let scale = rng.pick(&[1.0, 5.0, 20.0]);
    let x = ArrayD::from_shape_fn(IxDyn(&shape), |_| f32able(rng.range(-scale, scale)));
    let t = ArrayD::from_shape_fn(IxDyn(&softmax::pos_shape(&shape)), |_| rng.below(c));
    let w: Vec<f64> = (0..c).map(|_| f32able(rng.range(0.1, 10.0))).collect();
    let eps = f32able(rng.pick(&[0.0, 0.1, 0.25]));
    let gamma = f32able(rng.pick(&[0.0, 0.5, 1.0, 2.0, 3.7]));
    let red = rng.pick(&[Reduction::Sum, Reduction::Mean, Reduction::WeightedMean]);
    let kind = rng.below(3);
    // NLL takes log-probabilities (<= 0): same-sign terms, no cancellation.
    let x = if kind == 0 {
        x.mapv(|v: f64| -v.abs())
    } else {
        x
    };
    let x32 = x.mapv(|v| v as f32);
    let desc = format!(
        "kind {kind} shape {shape:?} eps {eps} gamma {gamma} {red:?} w {w:?}\nx {x:?}\nt {t:?}"
    );
    let both: Both = match kind {
        0 => {
            let l = NllLoss::new()
                .with_weight(&w)
                .map(|l| l.with_reduction(red));
            let l = l.unwrap_or_default();
            (l.forward_backward(&x32, &t), l.forward_backward(&x, &t))
        }
        1 => match CrossEntropyLoss::new()
            .with_weight(&w)
            .and_then(|l| l.with_label_smoothing(eps))
        {
            Ok(l) => {
                let l = l.with_reduction(red);
                (l.forward_backward(&x32, &t), l.forward_backward(&x, &t))
            }
            Err(e) => (Err(e.clone()), Err(e)),
        },
        _ => match FocalLoss::new(gamma)
            .and_then(|l| l.with_alpha(&w))
            .and_then(|l| l.with_label_smoothing(eps))
        {
            Ok(l) => {
                let l = l.with_reduction(red);
                (l.forward_backward(&x32, &t), l.forward_backward(&x, &t))
            }
            Err(e) => (Err(e.clone()), Err(e)),
        },
    };
    (desc, both, w.iter().fold(1.0, |m, &v| m.max(v)))
}

/// A clean sigmoid-family problem computed in both precisions (and the
/// term size, as for [`softmax_pair`]).
fn sigmoid_pair(rng: &mut Rng) -> (String, Both, f64) {
    let shape = rng.pick(&[vec![7], vec![4, 3], vec![2, 3, 5]]);
    let c = if shape.len() == 1 { 1 } else { shape[1] };
    let scale = rng.pick(&[1.0, 5.0, 20.0]);
    let x = ArrayD::from_shape_fn(IxDyn(&shape), |_| f32able(rng.range(-scale, scale)));
    let soft = rng.chance(0.3);
    let y = ArrayD::from_shape_fn(IxDyn(&shape), |_| {
        if soft {
            f32able(rng.unit())
        } else {
            rng.pick(&[0.0, 1.0])
        }
    });
    let pw: Vec<f64> = (0..c).map(|_| f32able(rng.range(0.1, 5.0))).collect();
    let gamma = f32able(rng.pick(&[0.0, 0.5, 2.0]));
    let red = rng.pick(&[Reduction::Sum, Reduction::Mean, Reduction::WeightedMean]);
    let (x32, y32) = (x.mapv(|v| v as f32), y.mapv(|v| v as f32));
    let focal = rng.chance(0.5);
    let desc =
        format!("focal {focal} shape {shape:?} gamma {gamma} {red:?} pw {pw:?}\nx {x:?}\ny {y:?}");
    let both: Both = if focal {
        match SigmoidFocalLoss::new(gamma)
            .and_then(|l| l.with_alpha_scalar(0.25))
            .and_then(|l| l.with_pos_weight(&pw))
        {
            Ok(l) => {
                let l = l.with_reduction(red);
                (l.forward_backward(&x32, &y32), l.forward_backward(&x, &y))
            }
            Err(e) => (Err(e.clone()), Err(e)),
        }
    } else {
        match BceWithLogitsLoss::new().with_pos_weight(&pw) {
            Ok(l) => {
                let l = l.with_reduction(red);
                (l.forward_backward(&x32, &y32), l.forward_backward(&x, &y))
            }
            Err(e) => (Err(e.clone()), Err(e)),
        }
    };
    (desc, both, pw.iter().fold(1.0, |m, &v| m.max(v)))
}

fn agree(acc: &mut Agreement, (desc, both, terms): (String, Both, f64)) -> Result<(), String> {
    let fail = |e: String| Err(format!("f32 vs f64: {e}\n{desc}"));
    match both {
        (Ok((l32, g32)), Ok((l64, g64))) => {
            let before = [acc.worst_loss, acc.worst_grad];
            acc.add(false, l32, l64, terms).or_else(fail)?;
            let scale = g64.iter().fold(terms, |m, v| m.max(v.abs()));
            for (a, b) in g32.iter().zip(g64.iter()) {
                acc.add(true, *a, *b, scale).or_else(fail)?;
            }
            for (i, now) in [acc.worst_loss, acc.worst_grad].into_iter().enumerate() {
                if now != before[i] {
                    acc.worst_case[i] = format!("{}\n{desc}", acc.worst_case[i]);
                }
            }
            Ok(())
        }
        (a, b) => fail(format!(
            "one precision failed: {:?} / {:?}",
            a.err(),
            b.err()
        )),
    }
}

fn report_agreement(name: &str, acc: &Agreement) {
    println!(
        "[{name}] worst f32-vs-f64 error / (1e-6 S + 1e-5 |f64|): loss {:.3}, gradient {:.3}",
        acc.worst_loss, acc.worst_grad
    );
    if std::env::var_os("FUZZ_VERBOSE").is_some() {
        println!("[{name}] worst loss: {}", acc.worst_case[0]);
        println!("[{name}] worst gradient: {}", acc.worst_case[1]);
    }
}

fn one_case<F: LossFloat>(seed: u64, stats: &mut Stats, family: u8) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    match family {
        0 => softmax::check(&softmax::draw::<F>(&mut rng, true), stats),
        _ => sigmoid::check(&sigmoid::draw::<F>(&mut rng, true), stats),
    }
}

#[test]
#[ignore = "fuzz target: run with scripts/fuzz.sh"]
fn fuzz_softmax_losses() {
    let mut acc = Agreement::default();
    fuzz("softmax", |seed, stats| {
        match seed % 4 {
            0 => agree(&mut acc, softmax_pair(&mut Rng::new(seed)))?,
            1 => one_case::<f32>(seed, stats, 0)?,
            _ => one_case::<f64>(seed, stats, 0)?,
        }
        Ok(())
    });
    report_agreement("softmax", &acc);
}

#[test]
#[ignore = "fuzz target: run with scripts/fuzz.sh"]
fn fuzz_sigmoid_losses() {
    let mut acc = Agreement::default();
    fuzz("sigmoid", |seed, stats| {
        match seed % 4 {
            0 => agree(&mut acc, sigmoid_pair(&mut Rng::new(seed)))?,
            1 => one_case::<f32>(seed, stats, 1)?,
            _ => one_case::<f64>(seed, stats, 1)?,
        }
        Ok(())
    });
    report_agreement("sigmoid", &acc);
}

#[test]
#[ignore = "fuzz target: run with scripts/fuzz.sh"]
fn fuzz_class_weight_and_metrics() {
    fuzz("class_weight+metrics", |seed, stats| {
        weights::check(&weights::draw(&mut Rng::new(seed)), stats)
    });
}
