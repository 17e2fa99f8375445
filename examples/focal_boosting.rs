//! Does focal loss help gradient boosting? Perpetual's booster on real,
//! imbalanced data, with this crate's losses as its objective.
//!
//! ```text
//! cargo run --release --features perpetual --example focal_boosting
//! ```
//!
//! The red Wine Quality data (Cortez et al. 2009, see data/README.md) as a
//! binary problem: "good" wines (quality >= 7, 217 of 1,599) against the
//! rest. For each of `SPLITS` stratified 75/25 splits (fixed seeds),
//! perpetual (budget 0.5) is fitted once per objective:
//!
//! | objective | what it is |
//! |---|---|
//! | log loss | `BceWithLogitsLoss` |
//! | weighted log loss | `pos_weight = n_neg / n_pos` |
//! | focal γ=1 / γ=2 | `SigmoidFocalLoss`, no alpha, cross-entropy curvature |
//! | focal γ=2 + α | alpha = the negatives' share (up-weights the rare positives) |
//! | focal γ=2, exact / floor | the same loss with the exact (sometimes negative) second derivative, or floored at 1e-6 |
//!
//! It reports, on the test split, balanced accuracy and the positives' F1
//! at the 0.5 probability threshold, and the precision-recall AUC (average
//! precision, threshold-free), averaged over the splits (± standard
//! deviation).
//!
//! Then the six qualities one-vs-rest (`OVR_SPLITS` splits, one booster per
//! quality and objective, the predicted quality the one of largest margin;
//! alpha and `pos_weight` from each quality's own share): balanced accuracy,
//! macro-F1 and the recall of the two rarest qualities (3 and 8: 10 and 18
//! wines).

#[path = "common/mod.rs"]
mod common;

use common::{load_wine, stratified_split, wine_csv, Rng};
use focal_loss::metrics::ConfusionMatrix;
use focal_loss::perpetual::{Curvature, PerpetualObjective};
use focal_loss::{BceWithLogitsLoss, SigmoidFocalLoss};
use perpetual::objective::{Objective, ObjectiveFunction};
use perpetual::{Matrix, PerpetualBooster};
use std::error::Error;
use std::sync::Arc;

/// Stratified train/test splits averaged in the binary table.
const SPLITS: u64 = 5;
/// Splits of the one-vs-rest table (six boosters per split and objective).
const OVR_SPLITS: u64 = 3;

/// Column-major features of the rows `idx`, as perpetual's `Matrix` reads them.
fn columns(x: &ndarray::Array2<f64>, idx: &[usize]) -> Vec<f64> {
    let mut out = Vec::with_capacity(idx.len() * x.ncols());
    for col in x.columns() {
        out.extend(idx.iter().map(|&i| col[i]));
    }
    out
}

/// Average precision: the area under the precision-recall curve, as
/// scikit-learn's `average_precision_score` (ties broken by order).
fn average_precision(scores: &[f64], y: &[usize]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let positives = y.iter().filter(|&&v| v == 1).count() as f64;
    let (mut tp, mut ap) = (0.0, 0.0);
    for (rank, &i) in order.iter().enumerate() {
        if y[i] == 1 {
            tp += 1.0;
            ap += tp / (rank + 1) as f64;
        }
    }
    if positives > 0.0 {
        ap / positives
    } else {
        0.0
    }
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0).max(1.0);
    (m, var.sqrt())
}

/// One objective of the comparison.
#[derive(Debug, Clone, Copy)]
enum Kind {
    LogLoss,
    WeightedLogLoss,
    Focal {
        gamma: f64,
        alpha: bool,
        curvature: Curvature,
    },
}

/// The perpetual objective of `kind` for a problem whose negatives make up
/// the share `neg` of the training set.
fn objective(kind: Kind, neg: f64) -> Result<Arc<dyn ObjectiveFunction>, focal_loss::LossError> {
    Ok(match kind {
        Kind::LogLoss => Arc::new(PerpetualObjective::new(
            BceWithLogitsLoss::new(),
            Curvature::Exact,
        )),
        Kind::WeightedLogLoss => {
            let bce = BceWithLogitsLoss::new().with_pos_weight([neg / (1.0 - neg)])?;
            Arc::new(PerpetualObjective::new(bce, Curvature::Exact))
        }
        Kind::Focal {
            gamma,
            alpha,
            curvature,
        } => {
            let mut l = SigmoidFocalLoss::new(gamma)?;
            if alpha {
                l = l.with_alpha_scalar(neg)?;
            }
            Arc::new(PerpetualObjective::new(l, curvature))
        }
    })
}

/// Fits a booster on the rows `train` with 0/1 targets `y` and returns its
/// margins on the rows `test`.
fn margins(
    x: &ndarray::Array2<f64>,
    y: &[usize],
    (train, test): (&[usize], &[usize]),
    kind: Kind,
    budget: f32,
) -> Result<Vec<f64>, Box<dyn Error>> {
    let (xtr, xte) = (columns(x, train), columns(x, test));
    let ytr: Vec<f64> = train.iter().map(|&i| y[i] as f64).collect();
    let neg = 1.0 - ytr.iter().sum::<f64>() / ytr.len() as f64;
    let mut booster = PerpetualBooster::default()
        .set_objective(Objective::Custom(objective(kind, neg)?))
        .set_budget(budget);
    booster.fit(&Matrix::new(&xtr, train.len(), x.ncols()), &ytr, None, None)?;
    Ok(booster.predict(&Matrix::new(&xte, test.len(), x.ncols()), true))
}

fn show(v: &[f64]) -> String {
    let (m, s) = mean_sd(v);
    format!("{m:.3} ± {s:.3}")
}

fn main() -> Result<(), Box<dyn Error>> {
    let (x, quality) = load_wine(&wine_csv())?;
    // Class index k is quality k + 3: "good" is quality >= 7.
    let good: Vec<usize> = quality.iter().map(|&k| usize::from(k + 3 >= 7)).collect();
    let n_pos = good.iter().sum::<usize>();
    println!(
        "red wine, good (quality >= 7) vs rest: {n_pos} positives, {} negatives; \
         {SPLITS} stratified 75/25 splits\n",
        good.len() - n_pos
    );
    let focal = |gamma, alpha, curvature| Kind::Focal {
        gamma,
        alpha,
        curvature,
    };
    let ce = Curvature::CrossEntropy;
    let objectives = [
        ("log loss", Kind::LogLoss),
        ("weighted log loss (pos_weight)", Kind::WeightedLogLoss),
        ("focal γ=1", focal(1.0, false, ce)),
        ("focal γ=2", focal(2.0, false, ce)),
        ("focal γ=2 + α", focal(2.0, true, ce)),
        (
            "focal γ=2, exact curvature",
            focal(2.0, false, Curvature::Exact),
        ),
        (
            "focal γ=2, curvature floor 1e-6",
            focal(2.0, false, Curvature::Floor(1e-6)),
        ),
    ];
    println!(
        "{:<34} {:>14} {:>14} {:>14}",
        "objective", "bal-acc", "F1 (good)", "PR-AUC"
    );
    for (name, kind) in objectives {
        let (mut bal, mut f1, mut prauc) = (Vec::new(), Vec::new(), Vec::new());
        for seed in 0..SPLITS {
            let (train, test) = stratified_split(&good, 2, 0.25, &mut Rng::new(1000 + seed));
            let m = margins(&x, &good, (&train, &test), kind, 0.5)?;
            let yte: Vec<usize> = test.iter().map(|&i| good[i]).collect();
            let pred: Vec<usize> = m.iter().map(|&v| usize::from(v >= 0.0)).collect();
            let cm = ConfusionMatrix::new(&yte, &pred, 2)?;
            bal.push(cm.balanced_accuracy());
            f1.push(cm.f1()[1]);
            prauc.push(average_precision(&m, &yte));
        }
        println!(
            "{name:<34} {:>14} {:>14} {:>14}",
            show(&bal),
            show(&f1),
            show(&prauc)
        );
    }

    let classes = 6;
    println!("\nthe six qualities one-vs-rest, {OVR_SPLITS} stratified 75/25 splits, budget 0.3\n");
    println!(
        "{:<34} {:>14} {:>14} {:>9} {:>9}",
        "objective", "bal-acc", "macro-F1", "recall q3", "recall q8"
    );
    for (name, kind) in &objectives[..5] {
        let (mut bal, mut f1, mut r3, mut r8) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for seed in 0..OVR_SPLITS {
            let (train, test) =
                stratified_split(&quality, classes, 0.25, &mut Rng::new(2000 + seed));
            let mut scores = ndarray::Array2::<f64>::zeros((test.len(), classes));
            for k in 0..classes {
                let yk: Vec<usize> = quality.iter().map(|&q| usize::from(q == k)).collect();
                let m = margins(&x, &yk, (&train, &test), *kind, 0.3)?;
                scores.column_mut(k).assign(&ndarray::Array1::from(m));
            }
            let yte: Vec<usize> = test.iter().map(|&i| quality[i]).collect();
            let cm = ConfusionMatrix::from_logits(&scores, &yte)?;
            bal.push(cm.balanced_accuracy());
            f1.push(cm.macro_f1());
            let recall = cm.recall();
            r3.push(recall[0]);
            r8.push(recall[5]);
        }
        let m = |v: &[f64]| mean_sd(v).0;
        println!(
            "{name:<34} {:>14} {:>14} {:>9.2} {:>9.2}",
            show(&bal),
            show(&f1),
            m(&r3),
            m(&r8)
        );
    }
    println!("\nperpetual 3.0.0-rc.2; thresholds at probability 0.5 (margin 0).");
    Ok(())
}
