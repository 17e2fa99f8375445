//! Training a candle model with this crate's focal loss and balanced alpha:
//! softmax regression on the red Wine Quality data (six imbalanced
//! classes), the loss a node of candle's graph.
//!
//! ```text
//! cargo run --release --features candle --example candle_wine
//! ```
//!
//! Five stratified 75/25 splits; for each, the same model (weights a candle
//! `Var`, plain gradient descent) is trained with cross-entropy and with
//! focal loss γ=2 + balanced alpha through `CandleLoss::forward_tensor`, and
//! evaluated on the test rows (balanced accuracy, macro-F1).

#[path = "common/mod.rs"]
mod common;

use candle_core::{DType, Device, Tensor, Var};
use common::{
    load_wine, print_scores, stratified_split, wine_csv, Rng, Standardizer, WINE_CLASSES,
};
use focal_loss::candle::CandleLoss;
use focal_loss::metrics::ConfusionMatrix;
use focal_loss::{class_weight, CrossEntropyLoss, FocalLoss};
use ndarray::Array2;
use std::error::Error;

const SPLITS: u64 = 5;
const EPOCHS: usize = 400;
const LR: f64 = 0.5;

fn rows(x: &Array2<f64>, idx: &[usize]) -> Array2<f64> {
    x.select(ndarray::Axis(0), idx)
}

fn to_tensor(x: &Array2<f64>) -> Result<Tensor, Box<dyn Error>> {
    let v: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    Ok(Tensor::from_vec(v, x.dim(), &Device::Cpu)?)
}

/// Trains softmax regression with `loss` and returns the test logits.
fn train(
    loss: &impl CandleLoss,
    (xtr, ytr): (&Tensor, &Tensor),
    xte: &Tensor,
) -> Result<Array2<f64>, Box<dyn Error>> {
    let w = Var::zeros((xtr.dim(1)?, WINE_CLASSES), DType::F32, &Device::Cpu)?;
    let b = Var::zeros(WINE_CLASSES, DType::F32, &Device::Cpu)?;
    for _ in 0..EPOCHS {
        let logits = xtr.matmul(w.as_tensor())?.broadcast_add(b.as_tensor())?;
        let grads = loss.forward_tensor(&logits, ytr)?.backward()?;
        for v in [&w, &b] {
            let g = grads.get(v).ok_or("no gradient")?;
            v.set(&(v.as_tensor() - (g * LR)?)?)?;
        }
    }
    let out = xte.matmul(w.as_tensor())?.broadcast_add(b.as_tensor())?;
    let v: Vec<f32> = out.flatten_all()?.to_vec1()?;
    Ok(Array2::from_shape_vec(
        out.dims2()?,
        v.into_iter().map(f64::from).collect(),
    )?)
}

fn main() -> Result<(), Box<dyn Error>> {
    let (x, labels) = load_wine(&wine_csv())?;
    let mut scores = vec![Vec::new(); 2];
    for seed in 0..SPLITS {
        let (train_idx, test_idx) =
            stratified_split(&labels, WINE_CLASSES, 0.25, &mut Rng::new(seed));
        let std = Standardizer::fit(&rows(&x, &train_idx).view());
        let xtr = to_tensor(&std.transform(&rows(&x, &train_idx).view()))?;
        let xte = to_tensor(&std.transform(&rows(&x, &test_idx).view()))?;
        let ytr_labels: Vec<u32> = train_idx.iter().map(|&i| labels[i] as u32).collect();
        let ytr = Tensor::new(ytr_labels.as_slice(), &Device::Cpu)?;
        let yte: Vec<usize> = test_idx.iter().map(|&i| labels[i]).collect();
        let train_labels: Vec<usize> = train_idx.iter().map(|&i| labels[i]).collect();
        let alpha = class_weight::balanced(&train_labels, WINE_CLASSES)?;
        let ce = CrossEntropyLoss::new();
        let focal = FocalLoss::new(2.0)?.with_alpha(alpha)?;
        for (k, logits) in [
            train(&ce, (&xtr, &ytr), &xte)?,
            train(&focal, (&xtr, &ytr), &xte)?,
        ]
        .into_iter()
        .enumerate()
        {
            let cm = ConfusionMatrix::from_logits(&logits, &yte)?;
            scores[k].push((cm.balanced_accuracy(), cm.macro_f1()));
        }
    }
    println!(
        "softmax regression in candle, {SPLITS} stratified splits, {EPOCHS} full-batch steps\n"
    );
    print_scores(&["cross-entropy", "focal γ=2 + balanced α"], &scores);
    Ok(())
}
