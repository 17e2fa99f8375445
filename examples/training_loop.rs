//! The smallest complete training loop: softmax regression on the wine
//! data with a class-balanced focal loss and plain gradient descent.
//!
//! ```text
//! cargo run --release --example training_loop
//! ```
//!
//! The loss gives the gradient with respect to the logits
//! (`forward_backward_into`, into a buffer allocated once); the chain rule
//! through `logits = x W + b` is two matrix products.

mod common;

use common::{argmax_rows, load_wine, wine_csv, Standardizer, WINE_CLASSES};
use focal_loss::metrics::ConfusionMatrix;
use focal_loss::{class_weight, FocalLoss};
use ndarray::{Array1, Array2, Axis};

const LR: f64 = 0.5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (x, labels) = load_wine(&wine_csv())?;
    let x = Standardizer::fit(&x.view()).transform(&x.view());

    let focal = FocalLoss::new(2.0)?.with_alpha(class_weight::balanced(&labels, WINE_CLASSES)?)?;
    let targets = Array1::from(labels.clone());
    let mut w = Array2::<f64>::zeros((x.ncols(), WINE_CLASSES));
    let mut b = Array1::<f64>::zeros(WINE_CLASSES);
    let mut grad = Array2::zeros((x.nrows(), WINE_CLASSES)); // dL/dlogits, reused
    for epoch in 0..=500 {
        let logits = x.dot(&w) + &b;
        let loss = focal.forward_backward_into(&logits, &targets, &mut grad)?;
        w.scaled_add(-LR, &x.t().dot(&grad)); // dL/dW = xᵀ dL/dlogits
        b.scaled_add(-LR, &grad.sum_axis(Axis(0))); // dL/db
        if epoch % 50 == 0 {
            println!("epoch {epoch:3}  loss {loss:.4}");
        }
    }

    let pred = argmax_rows(&(x.dot(&w) + &b).view());
    let cm = ConfusionMatrix::new(&labels, &pred, WINE_CLASSES)?;
    println!(
        "training set: accuracy {:.3}, balanced accuracy {:.3}, macro-F1 {:.3}",
        cm.accuracy(),
        cm.balanced_accuracy(),
        cm.macro_f1()
    );
    Ok(())
}
