//! Training a burn model with this crate's focal loss and balanced alpha:
//! softmax regression on the red Wine Quality data (six imbalanced
//! classes), the loss one op of burn's autodiff graph.
//!
//! ```text
//! cargo run --release --features burn --example burn_wine
//! ```
//!
//! Five stratified 75/25 splits; for each, the same model (weights burn
//! tensors on autodiff Flex, plain gradient descent) is trained with
//! cross-entropy and with focal loss γ=2 + balanced alpha through
//! `BurnLoss::forward_burn`, and evaluated on the test rows (balanced
//! accuracy, macro-F1).

#[path = "common/mod.rs"]
mod common;

use burn_tensor::{Device, Int, Tensor, TensorData};
use common::{
    load_wine, print_scores, stratified_split, wine_csv, Rng, Standardizer, WINE_CLASSES,
};
use focal_loss::burn::BurnLoss;
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

fn to_tensor(x: &Array2<f64>, device: &Device) -> Tensor<2> {
    let v: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    Tensor::from_data(TensorData::new(v, [x.nrows(), x.ncols()]), device)
}

/// Trains softmax regression with `loss` and returns the test logits.
fn train(
    loss: &impl BurnLoss,
    (xtr, ytr): (&Tensor<2>, &Tensor<1, Int>),
    xte: &Tensor<2>,
    device: &Device,
) -> Result<Array2<f64>, Box<dyn Error>> {
    let features = xtr.dims()[1];
    let mut w = Tensor::<2>::zeros([features, WINE_CLASSES], device).require_grad();
    let mut b = Tensor::<1>::zeros([WINE_CLASSES], device).require_grad();
    for _ in 0..EPOCHS {
        let logits = xtr.clone().matmul(w.clone()) + b.clone().unsqueeze_dim(0);
        let grads = loss.forward_burn(logits, ytr.clone())?.backward();
        let gw = w.grad(&grads).ok_or("no gradient for w")?;
        let gb = b.grad(&grads).ok_or("no gradient for b")?;
        w = Tensor::from_inner(w.inner() - gw * LR).require_grad();
        b = Tensor::from_inner(b.inner() - gb * LR).require_grad();
    }
    let out = xte.clone().matmul(w) + b.unsqueeze_dim(0);
    let (n, c) = (out.dims()[0], out.dims()[1]);
    let v = out
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| format!("{e:?}"))?;
    Ok(Array2::from_shape_vec(
        (n, c),
        v.into_iter().map(f64::from).collect(),
    )?)
}

fn main() -> Result<(), Box<dyn Error>> {
    let device = Device::flex().autodiff();
    let (x, labels) = load_wine(&wine_csv())?;
    let mut scores = vec![Vec::new(); 2];
    for seed in 0..SPLITS {
        let (train_idx, test_idx) =
            stratified_split(&labels, WINE_CLASSES, 0.25, &mut Rng::new(seed));
        let std = Standardizer::fit(&rows(&x, &train_idx).view());
        let xtr = to_tensor(&std.transform(&rows(&x, &train_idx).view()), &device);
        let xte = to_tensor(&std.transform(&rows(&x, &test_idx).view()), &device);
        let ytr_labels: Vec<i64> = train_idx.iter().map(|&i| labels[i] as i64).collect();
        let ytr =
            Tensor::<1, Int>::from_data(TensorData::new(ytr_labels, [train_idx.len()]), &device);
        let yte: Vec<usize> = test_idx.iter().map(|&i| labels[i]).collect();
        let train_labels: Vec<usize> = train_idx.iter().map(|&i| labels[i]).collect();
        let alpha = class_weight::balanced(&train_labels, WINE_CLASSES)?;
        let ce = CrossEntropyLoss::new();
        let focal = FocalLoss::new(2.0)?.with_alpha(alpha)?;
        for (k, logits) in [
            train(&ce, (&xtr, &ytr), &xte, &device)?,
            train(&focal, (&xtr, &ytr), &xte, &device)?,
        ]
        .into_iter()
        .enumerate()
        {
            let cm = ConfusionMatrix::from_logits(&logits, &yte)?;
            scores[k].push((cm.balanced_accuracy(), cm.macro_f1()));
        }
    }
    println!(
        "softmax regression in burn (autodiff Flex), {SPLITS} stratified splits, {EPOCHS} full-batch steps\n"
    );
    print_scores(&["cross-entropy", "focal γ=2 + balanced α"], &scores);
    Ok(())
}
