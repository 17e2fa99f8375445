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

/// Stratified train/test splits averaged in the table.
const SPLITS: u64 = 5;

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

fn main() -> Result<(), Box<dyn Error>> {
    let (x, quality) = load_wine(&wine_csv())?;
    // Class index k is quality k + 3: "good" is quality >= 7.
    let good: Vec<usize> = quality.iter().map(|&k| usize::from(k + 3 >= 7)).collect();
    let n_pos = good.iter().sum::<usize>();
    let n_neg = good.len() - n_pos;
    let share_neg = n_neg as f64 / good.len() as f64;
    println!(
        "red wine, good (quality >= 7) vs rest: {n_pos} positives, {n_neg} negatives; \
         {SPLITS} stratified 75/25 splits\n"
    );

    type Make = Box<dyn Fn() -> Result<Arc<dyn ObjectiveFunction>, focal_loss::LossError>>;
    let focal = move |g: f64, alpha: Option<f64>, c: Curvature| -> Make {
        Box::new(move || {
            let mut l = SigmoidFocalLoss::new(g)?;
            if let Some(a) = alpha {
                l = l.with_alpha_scalar(a)?;
            }
            Ok(Arc::new(PerpetualObjective::new(l, c)))
        })
    };
    let ratio = n_neg as f64 / n_pos as f64;
    let objectives: Vec<(&str, Make)> = vec![
        (
            "log loss",
            Box::new(|| {
                Ok(Arc::new(PerpetualObjective::new(
                    BceWithLogitsLoss::new(),
                    Curvature::Exact,
                )))
            }),
        ),
        (
            "weighted log loss (pos_weight)",
            Box::new(move || {
                let bce = BceWithLogitsLoss::new().with_pos_weight([ratio])?;
                Ok(Arc::new(PerpetualObjective::new(bce, Curvature::Exact)))
            }),
        ),
        ("focal γ=1", focal(1.0, None, Curvature::CrossEntropy)),
        ("focal γ=2", focal(2.0, None, Curvature::CrossEntropy)),
        (
            "focal γ=2 + α",
            focal(2.0, Some(share_neg), Curvature::CrossEntropy),
        ),
        (
            "focal γ=2, exact curvature",
            focal(2.0, None, Curvature::Exact),
        ),
        (
            "focal γ=2, curvature floor 1e-6",
            focal(2.0, None, Curvature::Floor(1e-6)),
        ),
    ];

    println!(
        "{:<34} {:>14} {:>14} {:>14}",
        "objective", "bal-acc", "F1 (good)", "PR-AUC"
    );
    for (name, make) in &objectives {
        let (mut bal, mut f1, mut prauc) = (Vec::new(), Vec::new(), Vec::new());
        for seed in 0..SPLITS {
            let mut rng = Rng::new(1000 + seed);
            let (train, test) = stratified_split(&good, 2, 0.25, &mut rng);
            let (xtr, xte) = (columns(&x, &train), columns(&x, &test));
            let ytr: Vec<f64> = train.iter().map(|&i| good[i] as f64).collect();
            let yte: Vec<usize> = test.iter().map(|&i| good[i]).collect();
            let mut booster = PerpetualBooster::default()
                .set_objective(Objective::Custom(make()?))
                .set_budget(0.5);
            booster.fit(&Matrix::new(&xtr, train.len(), x.ncols()), &ytr, None, None)?;
            let margins = booster.predict(&Matrix::new(&xte, test.len(), x.ncols()), true);
            let pred: Vec<usize> = margins.iter().map(|&m| usize::from(m >= 0.0)).collect();
            let cm = ConfusionMatrix::new(&yte, &pred, 2)?;
            bal.push(cm.balanced_accuracy());
            f1.push(cm.f1()[1]);
            prauc.push(average_precision(&margins, &yte));
        }
        let show = |v: &[f64]| {
            let (m, s) = mean_sd(v);
            format!("{m:.3} ± {s:.3}")
        };
        println!(
            "{name:<34} {:>14} {:>14} {:>14}",
            show(&bal),
            show(&f1),
            show(&prauc)
        );
    }
    println!("\nperpetual 3.0.0-rc.2, budget 0.5; thresholds at probability 0.5 (margin 0).");
    Ok(())
}
