//! Plots the focal loss and its gradient against the probability of the
//! true class, as in Lin et al. 2017 ("Focal Loss for Dense Object
//! Detection"), fig. 1.
//!
//! ```text
//! cargo run --release --example focal_curves
//! ```
//!
//! Writes `docs/focal_loss_vs_pt.svg` (loss `-(1 - p_t)^γ ln p_t`) and
//! `docs/focal_grad_vs_pt.svg` (`|∂l/∂z_t|`, the gradient with respect to
//! the true class's logit) for γ in {0, 0.5, 1, 2, 5}. The curves are
//! computed with this crate's `FocalLoss` on two-class logits `[z, 0]`
//! with target 0, where `z = ln(p_t / (1 - p_t))` makes `softmax(z)_0 = p_t`.

use focal_loss::{FocalLoss, Reduction};
use ndarray::{Array1, Array2};
use plotters::prelude::*;
use std::error::Error;

const GAMMAS: [f64; 5] = [0.0, 0.5, 1.0, 2.0, 5.0];
/// Points per curve.
const POINTS: usize = 400;
/// Smallest p_t of the loss plot: where cross-entropy equals 5, its top.
const P_MIN_LOSS: f64 = 0.006_737_946_999_085_467; // exp(-5)
/// Smallest p_t of the gradient plot (the gradient stays bounded as p_t → 0).
const P_MIN_GRAD: f64 = 1e-4;

/// One curve per gamma: (p_t, loss) and (p_t, |∂l/∂z_t|).
type Curve = Vec<(f64, f64)>;

/// Loss and gradient magnitude on `POINTS` values of p_t from `p_min` to 1.
fn curves(gamma: f64, p_min: f64) -> Result<(Curve, Curve), Box<dyn Error>> {
    let p: Vec<f64> = (0..POINTS)
        .map(|i| p_min + (1.0 - p_min) * i as f64 / (POINTS - 1) as f64)
        .collect();
    // Two classes: logits [ln(p / (1 - p)), 0] give softmax probability p
    // for class 0. At p = 1 use a large finite logit (p_t = 1 to rounding).
    let mut logits = Array2::zeros((POINTS, 2));
    for (mut row, &pt) in logits.rows_mut().into_iter().zip(&p) {
        row[0] = if pt < 1.0 {
            (pt / (1.0 - pt)).ln()
        } else {
            40.0
        };
    }
    let targets = Array1::<usize>::zeros(POINTS);
    // Sum reduction: row n of the gradient is ∂l_n/∂z_n.
    let focal = FocalLoss::new(gamma)?.with_reduction(Reduction::Sum);
    let loss = focal.per_target(&logits, &targets)?;
    let (_, grad) = focal.forward_backward(&logits, &targets)?;
    let loss_curve = p.iter().zip(loss.iter()).map(|(&x, &l)| (x, l)).collect();
    let grad_curve = p
        .iter()
        .zip(grad.column(0))
        .map(|(&x, &g)| (x, g.abs()))
        .collect();
    Ok((loss_curve, grad_curve))
}

fn plot(
    path: &str,
    caption: &str,
    y_desc: &str,
    y_max: f64,
    series: &[(f64, Curve)],
) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(path, (720, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..1.0, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc("probability of the ground-truth class, p_t")
        .y_desc(y_desc)
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 14))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let colors = [
        BLUE,
        RGBColor(0, 150, 0),
        RGBColor(230, 130, 0),
        RED,
        MAGENTA,
    ];
    for ((gamma, curve), color) in series.iter().zip(colors) {
        let label = if *gamma == 0.0 {
            "γ = 0 (cross-entropy)".to_string()
        } else {
            format!("γ = {gamma}")
        };
        chart
            .draw_series(LineSeries::new(
                curve.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    println!("wrote {path}");
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/docs");
    std::fs::create_dir_all(dir)?;
    let mut losses = Vec::new();
    let mut grads = Vec::new();
    for gamma in GAMMAS {
        losses.push((gamma, curves(gamma, P_MIN_LOSS)?.0));
        grads.push((gamma, curves(gamma, P_MIN_GRAD)?.1));
    }
    let g_max = grads
        .iter()
        .flat_map(|(_, c)| c.iter().map(|&(_, g)| g))
        .fold(0.0, f64::max);
    plot(
        &format!("{dir}/focal_loss_vs_pt.svg"),
        "Focal loss  -(1 - p_t)^γ ln p_t",
        "loss",
        5.0,
        &losses,
    )?;
    plot(
        &format!("{dir}/focal_grad_vs_pt.svg"),
        "Gradient magnitude |∂l/∂z_t| (true-class logit)",
        "|∂l/∂z_t|",
        (g_max * 1.05).max(1.0),
        &grads,
    )?;
    Ok(())
}
