//! Class weights, focal loss, or both? A comparison on real, imbalanced data.
//!
//! ```text
//! cargo run --release -p wine_quality
//! ```
//!
//! The red Wine Quality data (Cortez et al. 2009, see data/README.md):
//! 1,599 wines, 11 physico-chemical features, quality 3..8 as six classes
//! of very different sizes (10, 53, 681, 638, 199 and 18 wines).
//!
//! For each of `SPLITS` stratified 75/25 train/test splits (fixed seeds), the
//! features are standardised with the training rows' mean and deviation, and
//! two models — softmax regression (11→6) and a small MLP (11→32→6, ReLU) —
//! are trained with Adam on mini-batches, once per loss:
//!
//! | loss | what it is |
//! |---|---|
//! | CE | plain cross-entropy |
//! | CE + balanced w | class weights `n / (K n_c)` (sklearn "balanced"), PyTorch's weighted mean |
//! | focal γ=2 | softmax focal loss, no alpha |
//! | focal γ=2 + balanced α | the same balanced vector as the per-class alpha |
//! | focal γ=2 + eff-num α | alpha from the effective number of samples, β = 0.999 (Cui et al. 2019) |
//! | focal γ=2 of batch-mean CE | a common bug: `(1 - exp(-CE))^γ CE` with CE the batch mean |
//!
//! The loss's gradient with respect to the logits comes from this crate
//! (`forward_backward_into`, into a reused buffer); the model's backward pass
//! and Adam are plain ndarray code (examples/common). The table reports test
//! accuracy, balanced accuracy (mean per-class recall), macro-F1 and the
//! recall of each quality class, averaged over the splits. Every run is
//! seeded, so the output is the same on every run.

#[path = "../../common/mod.rs"]
mod common;

use common::{
    argmax_rows, gather, load_wine, stratified_split, wine_csv, Adam, Mlp, Rng, Standardizer,
    WINE_CLASSES, WINE_MIN_QUALITY,
};
use focal_loss::metrics::ConfusionMatrix;
use focal_loss::{class_weight, CrossEntropyLoss, FocalLoss, LossError};
use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2};
use std::error::Error;
use std::io::Write;

/// Number of stratified train/test splits averaged in the table.
const SPLITS: u64 = 5;
/// Fraction of each class held out for testing.
const TEST_FRACTION: f64 = 0.25;
/// Focusing parameter of every focal configuration.
const GAMMA: f64 = 2.0;
/// β of the effective-number alpha.
const BETA: f64 = 0.999;
/// Mini-batch size.
const BATCH: usize = 64;
/// Print the running training loss every this many epochs.
const REPORT_EVERY: usize = 25;

/// A model to train: name, layer sizes, Adam step size, epochs.
struct ModelSpec {
    name: &'static str,
    sizes: &'static [usize],
    lr: f64,
    epochs: usize,
}

const MODELS: [ModelSpec; 2] = [
    ModelSpec {
        name: "softmax",
        sizes: &[11, WINE_CLASSES],
        lr: 0.01,
        epochs: 100,
    },
    ModelSpec {
        name: "MLP",
        sizes: &[11, 32, WINE_CLASSES],
        lr: 0.003,
        epochs: 100,
    },
];

/// The training objective: one of the crate's losses, or the batch-mean bug.
enum Objective {
    Ce(CrossEntropyLoss),
    Focal(FocalLoss),
    /// `(1 - exp(-c))^γ c` with `c` the batch-mean cross-entropy: p_t is
    /// computed once per batch instead of once per sample.
    FocalOfMeanCe(CrossEntropyLoss, f64),
}

impl Objective {
    /// The batch loss; writes d(loss)/d(logits) into `grad`.
    fn loss_grad(
        &self,
        logits: &ArrayView2<f64>,
        y: &ArrayView1<usize>,
        grad: &mut ArrayViewMut2<f64>,
    ) -> Result<f64, LossError> {
        match self {
            Objective::Ce(l) => l.forward_backward_into(logits, y, grad),
            Objective::Focal(l) => l.forward_backward_into(logits, y, grad),
            Objective::FocalOfMeanCe(ce, gamma) => {
                let c = ce.forward_backward_into(logits, y, grad)?;
                let q = -(-c).exp_m1(); // 1 - p_t with p_t = exp(-c)
                let loss = q.powf(*gamma) * c;
                // d/dc [q^γ c] = q^γ + γ q^(γ-1) (1 - q) c
                let dloss_dc = q.powf(*gamma) + gamma * q.powf(gamma - 1.0) * (1.0 - q) * c;
                grad.mapv_inplace(|g| g * dloss_dc);
                Ok(loss)
            }
        }
    }
}

/// The configurations compared, built from the training labels.
fn objectives(train_labels: &[usize]) -> Result<Vec<(&'static str, Objective)>, LossError> {
    let balanced = class_weight::balanced(train_labels, WINE_CLASSES)?;
    let eff_num = class_weight::effective_number(train_labels, WINE_CLASSES, BETA)?;
    Ok(vec![
        ("CE", Objective::Ce(CrossEntropyLoss::new())),
        (
            "CE + balanced w",
            Objective::Ce(CrossEntropyLoss::new().with_weight(&balanced)?),
        ),
        ("focal γ=2", Objective::Focal(FocalLoss::new(GAMMA)?)),
        (
            "focal γ=2 + balanced α",
            Objective::Focal(FocalLoss::new(GAMMA)?.with_alpha(&balanced)?),
        ),
        (
            "focal γ=2 + eff-num α",
            Objective::Focal(FocalLoss::new(GAMMA)?.with_alpha(&eff_num)?),
        ),
        (
            "focal γ=2 of batch-mean CE",
            Objective::FocalOfMeanCe(CrossEntropyLoss::new(), GAMMA),
        ),
    ])
}

/// Test-set scores of one trained model.
struct Scores {
    accuracy: f64,
    balanced_accuracy: f64,
    macro_f1: f64,
    recall: Vec<f64>,
}

/// Trains `spec` on (x, y) with `objective`; returns the fitted model.
/// Prints the mean training loss every `REPORT_EVERY` epochs on one line.
fn train(
    spec: &ModelSpec,
    objective: &Objective,
    x: &ArrayView2<f64>,
    y: &ArrayView1<usize>,
    seed: u64,
) -> Result<Mlp, Box<dyn Error>> {
    // Same seed for every objective: identical initial weights and batches.
    let mut rng = Rng::new(seed);
    let mut model = Mlp::new(spec.sizes, &mut rng);
    let opt = Adam::new(spec.lr);
    let mut xb = Array2::zeros((BATCH, x.ncols()));
    let mut yb = Array1::zeros(BATCH);
    let mut grad = Array2::zeros((BATCH, WINE_CLASSES)); // reused every step
    let mut order: Vec<usize> = (0..x.nrows()).collect();
    let mut out = std::io::stdout();
    for epoch in 1..=spec.epochs {
        rng.shuffle(&mut order);
        let mut sum = 0.0;
        for idx in order.chunks(BATCH) {
            let b = gather(x, y, idx, &mut xb, &mut yb);
            let logits = model.forward(&xb.slice(s![..b, ..]));
            let mut g = grad.slice_mut(s![..b, ..]);
            let loss = objective.loss_grad(&logits.view(), &yb.slice(s![..b]), &mut g)?;
            model.backward(&g.view());
            model.adam_step(&opt);
            sum += loss * b as f64;
        }
        if epoch % REPORT_EVERY == 0 {
            write!(out, " {:>7.4}", sum / x.nrows() as f64)?;
            out.flush()?;
        }
    }
    Ok(model)
}

fn evaluate(model: &Mlp, x: &ArrayView2<f64>, y: &[usize]) -> Result<Scores, LossError> {
    let pred = argmax_rows(&model.predict(x).view());
    let cm = ConfusionMatrix::new(y, &pred, WINE_CLASSES)?;
    Ok(Scores {
        accuracy: cm.accuracy(),
        balanced_accuracy: cm.balanced_accuracy(),
        macro_f1: cm.macro_f1(),
        recall: cm.recall(),
    })
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, var.sqrt())
}

fn main() -> Result<(), Box<dyn Error>> {
    let start = std::time::Instant::now();
    let (x, labels) = load_wine(&wine_csv())?;
    let mut counts = [0usize; WINE_CLASSES];
    for &l in &labels {
        counts[l] += 1;
    }
    println!(
        "red wine quality: {} samples, {} features; class sizes (quality {}..{}): {:?}",
        x.nrows(),
        x.ncols(),
        WINE_MIN_QUALITY,
        WINE_MIN_QUALITY + WINE_CLASSES - 1,
        counts
    );
    println!(
        "{SPLITS} stratified {:.0}/{:.0} splits; Adam, batch {BATCH}; mean training loss every {REPORT_EVERY} epochs:",
        100.0 * (1.0 - TEST_FRACTION),
        100.0 * TEST_FRACTION
    );

    // results[model][config] = scores of each split
    let mut names = Vec::new();
    let mut results: Vec<Vec<Vec<Scores>>> = MODELS.iter().map(|_| Vec::new()).collect();
    for split in 0..SPLITS {
        let mut rng = Rng::new(1000 + split);
        let (train_idx, test_idx) =
            stratified_split(&labels, WINE_CLASSES, TEST_FRACTION, &mut rng);
        let x_train_raw = x.select(ndarray::Axis(0), &train_idx);
        let x_test_raw = x.select(ndarray::Axis(0), &test_idx);
        let scaler = Standardizer::fit(&x_train_raw.view());
        let x_train = scaler.transform(&x_train_raw.view());
        let x_test = scaler.transform(&x_test_raw.view());
        let y_train: Vec<usize> = train_idx.iter().map(|&i| labels[i]).collect();
        let y_test: Vec<usize> = test_idx.iter().map(|&i| labels[i]).collect();
        let y_train_arr = Array1::from(y_train.clone());

        let configs = objectives(&y_train)?;
        names = configs.iter().map(|(n, _)| *n).collect();
        for (m, spec) in MODELS.iter().enumerate() {
            results[m].resize_with(configs.len(), Vec::new);
            for (c, (name, objective)) in configs.iter().enumerate() {
                print!("split {}/{SPLITS} {:<8}{:<27}", split + 1, spec.name, name);
                let seed = 7 + 100 * split + m as u64;
                let model = train(spec, objective, &x_train.view(), &y_train_arr.view(), seed)?;
                let scores = evaluate(&model, &x_test.view(), &y_test)?;
                println!(
                    "  | bal-acc {:.3} macro-F1 {:.3}",
                    scores.balanced_accuracy, scores.macro_f1
                );
                results[m][c].push(scores);
            }
        }
    }

    println!();
    println!(
        "Test scores, mean over {SPLITS} splits (± standard deviation across splits for balanced accuracy and macro-F1):"
    );
    let recall_header: String = (0..WINE_CLASSES)
        .map(|k| format!(" {:>5}", format!("q{}", k + WINE_MIN_QUALITY)))
        .collect();
    println!(
        "{:<8} {:<27} {:>6} {:>14} {:>14}   recall:{recall_header}",
        "model", "loss", "acc", "bal-acc", "macro-F1"
    );
    for (m, spec) in MODELS.iter().enumerate() {
        for (c, name) in names.iter().enumerate() {
            let runs = &results[m][c];
            let pick = |f: &dyn Fn(&Scores) -> f64| runs.iter().map(f).collect::<Vec<_>>();
            let (acc, _) = mean_std(&pick(&|s| s.accuracy));
            let (bal, bal_sd) = mean_std(&pick(&|s| s.balanced_accuracy));
            let (f1, f1_sd) = mean_std(&pick(&|s| s.macro_f1));
            let recall: String = (0..WINE_CLASSES)
                .map(|k| format!(" {:>5.2}", mean_std(&pick(&|s| s.recall[k])).0))
                .collect();
            println!(
                "{:<8} {:<27} {:>6.3} {:>14} {:>14}          {recall}",
                spec.name,
                name,
                acc,
                format!("{bal:.3} ± {bal_sd:.3}"),
                format!("{f1:.3} ± {f1_sd:.3}"),
            );
        }
    }
    println!();
    println!(
        "focal α from class_weight::effective_number with β = {BETA}; balanced = class_weight::balanced."
    );
    eprintln!("finished in {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
