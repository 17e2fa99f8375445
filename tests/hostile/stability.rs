//! Numerical stability at the extremes: finite losses and gradients for
//! logits up to `±1e4` (`f32`) and `±1e300` (`f64`) in every loss, focal
//! losses with `0 < gamma < 1` at `p_t = 1` exactly, and `-inf` logits on
//! non-target (masked) classes. Every case also goes through the full
//! hostile oracle (`softmax::check` / `sigmoid::check`).

use super::check::{close, Stats};
use super::layout::Layout;
use super::sigmoid::{self, Kind as SKind, Spec as SSpec};
use super::softmax::{self, Case, Kind, Spec, Tgt};
use focal_loss::{CrossEntropyLoss, FocalLoss, LossError, LossFloat, Reduction, SigmoidFocalLoss};
use ndarray::{array, Array1, Array2, ArrayD, Axis, IxDyn};

fn spec(kind: Kind, gamma: f64, eps: f64, weight: Option<Vec<f64>>) -> Spec {
    Spec {
        kind,
        weight,
        alpha_scalar: None,
        gamma,
        eps: (kind != Kind::Nll).then_some(eps),
        ignore: None,
        reduction: Reduction::Mean,
    }
}

/// Every softmax-family configuration the stability tests cover.
fn softmax_specs(c: usize) -> Vec<Spec> {
    let w: Vec<f64> = (0..c).map(|k| 0.5 + k as f64).collect();
    let mut v = vec![
        spec(Kind::Nll, 0.0, 0.0, None),
        spec(Kind::Nll, 0.0, 0.0, Some(w.clone())),
    ];
    for eps in [0.0, 0.1] {
        v.push(spec(Kind::Ce, 0.0, eps, None));
        v.push(spec(Kind::Ce, 0.0, eps, Some(w.clone())));
        for gamma in [0.0, 0.5, 1.0, 2.0, 3.5] {
            v.push(spec(Kind::Focal, gamma, eps, Some(w.clone())));
        }
    }
    for s in v.iter_mut().step_by(3) {
        s.reduction = Reduction::WeightedMean;
    }
    v
}

/// Runs every method on one case through the oracle, then requires every
/// method to succeed with finite numbers.
fn softmax_finite<F: LossFloat>(spec: Spec, x: ArrayD<F>, t: Tgt<F>) -> Result<(), String> {
    let ps = softmax::pos_shape(x.shape());
    let case = Case {
        spec,
        grad_shape: x.shape().to_vec(),
        u: ArrayD::from_elem(IxDyn(&ps), F::from_f64_(0.75)),
        x,
        t,
        layouts: [
            Layout::Standard,
            Layout::Reversed(0),
            Layout::Transposed,
            Layout::Strided(1),
        ],
    };
    softmax::check(&case, &mut Stats::default())?;
    let built = case.spec.build().map_err(|e| format!("{e:?}"))?;
    let outs = softmax::run(&case, &built, false);
    let finite = |v: &[F]| v.iter().all(|x| x.is_finite());
    let ok = matches!(&outs.fwd, Ok(Ok(l)) if l.is_finite())
        && matches!(&outs.fb, Ok(Ok((l, g))) if l.is_finite() && finite(g.as_slice().unwrap_or(&[])))
        && matches!(&outs.pt, Ok(Ok(p)) if p.iter().all(|v| v.is_finite()))
        && matches!(&outs.ptb, Ok(Ok(g)) if g.iter().all(|v| v.is_finite()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "not all finite: fwd {:?} fb {:?} pt {:?} ptb {:?}\ncase {case:#?}",
            outs.fwd.as_ref().map(|r| r.as_ref().map(|v| v.to_f64_())),
            outs.fb.as_ref().map(|r| r.as_ref().map(|v| v.0.to_f64_())),
            outs.pt.as_ref().map(|r| r.is_ok()),
            outs.ptb.as_ref().map(|r| r.is_ok()),
        ))
    }
}

/// Rows mixing `±big` with moderate logits, every target.
fn extreme_rows(big: f64) -> (Array2<f64>, ArrayD<usize>) {
    let rows = [
        [big, -big, 0.0],
        [-big, big, 0.0],
        [big, big, -big],
        [-big, -big, -big],
        [big, big, big],
        [big, big * 0.5, 1.0],
        [0.0, -big, -big],
    ];
    let n = rows.len() * 3;
    let x = Array2::from_shape_fn((n, 3), |(r, k)| rows[r / 3][k]);
    let t = ArrayD::from_shape_fn(IxDyn(&[n]), |i| i[0] % 3);
    (x, t)
}

fn softmax_extremes<F: LossFloat>(big: f64) -> Result<(), String> {
    let (x, t) = extreme_rows(big);
    let x = x.mapv(F::from_f64_).into_dyn();
    for spec in softmax_specs(3) {
        softmax_finite(spec.clone(), x.clone(), Tgt::Index(t.clone()))?;
        if spec.kind != Kind::Nll {
            // Soft targets, one of them with no mass on a class.
            let p = ArrayD::from_shape_fn(x.raw_dim(), |i| F::from_f64_([0.2, 0.8, 0.0][i[1]]));
            softmax_finite(spec.clone(), x.clone(), Tgt::Probs(p))?;
            // K-dimensional: (N, C, 2) with the same rows twice.
            let (xv, tv) = (x.view().insert_axis(Axis(2)), t.view().insert_axis(Axis(1)));
            let x3 = ndarray::concatenate(Axis(2), &[xv.clone(), xv]).map_err(|e| e.to_string())?;
            let t3 = ndarray::concatenate(Axis(1), &[tv.clone(), tv]).map_err(|e| e.to_string())?;
            softmax_finite(spec, x3, Tgt::Index(t3))?;
        }
    }
    Ok(())
}

#[test]
fn softmax_losses_finite_for_logits_up_to_1e4_in_f32() -> Result<(), String> {
    softmax_extremes::<f32>(1e4)
}

#[test]
fn softmax_losses_finite_for_logits_up_to_1e300_in_f64() -> Result<(), String> {
    softmax_extremes::<f64>(1e300)?;
    softmax_extremes::<f64>(1e4)
}

/// Wide rows (`C >= 64` takes the vectorised row kernel).
#[test]
fn softmax_losses_finite_for_wide_rows_at_the_extremes() -> Result<(), String> {
    for big in [1e4, 1e300] {
        let x = Array2::from_shape_fn((4, 70), |(r, k)| match (r + k) % 3 {
            0 => big,
            1 => -big,
            _ => (k as f64).sin(),
        });
        let t = ArrayD::from_shape_fn(IxDyn(&[4]), |i| i[0] * 17);
        for spec in softmax_specs(70) {
            if big < 1e39 {
                softmax_finite(
                    spec.clone(),
                    x.mapv(|v| v as f32).into_dyn(),
                    Tgt::Index(t.clone()),
                )?;
            }
            softmax_finite(spec, x.clone().into_dyn(), Tgt::Index(t.clone()))?;
        }
    }
    Ok(())
}

/// `gamma = 0` reproduces cross-entropy at the extremes too.
#[test]
fn focal_gamma_zero_equals_cross_entropy_at_the_extremes() -> Result<(), String> {
    let (x, t) = extreme_rows(1e300);
    let w = [0.5, 1.5, 2.5];
    let ce = CrossEntropyLoss::new()
        .with_weight(w)
        .map_err(|e| e.to_string())?;
    let fl = FocalLoss::new(0.0)
        .and_then(|f| f.with_alpha(w))
        .map_err(|e| e.to_string())?
        .with_reduction(Reduction::WeightedMean);
    let (lc, gc) = ce.forward_backward(&x, &t).map_err(|e| e.to_string())?;
    let (lf, gf) = fl.forward_backward(&x, &t).map_err(|e| e.to_string())?;
    let ok = close(lc, lf, 1e-12) && gc.iter().zip(gf.iter()).all(|(a, b)| close(*a, *b, 1e-12));
    ok.then_some(())
        .ok_or(format!("CE {lc:e} {gc:?}\nfocal {lf:e} {gf:?}"))
}

/// `0 < gamma < 1` where `p_t = 1` exactly (`(1-p)^(gamma-1)` would be
/// infinite): finite, and zero.
#[test]
fn focal_gamma_below_one_at_p_t_equal_one() -> Result<(), String> {
    for gamma in [0.1, 0.5, 0.9, 0.999] {
        let fl = FocalLoss::new(gamma).map_err(|e| e.to_string())?;
        // exp(-1e4) == 0: the target's probability is exactly 1.
        let x32 = array![[0.0_f32, -1e4, -1e4], [5.0, -1e4, 5.0 - 1e4]];
        let (l, g) = fl
            .forward_backward(&x32, &array![0_usize, 0])
            .map_err(|e| e.to_string())?;
        if !(l == 0.0 && g.iter().all(|v| *v == 0.0)) {
            return Err(format!("f32 gamma {gamma}: {l:e} {g:?}"));
        }
        let x64 = array![[0.0_f64, -1e300], [1e300, -1e300]];
        let (l, g) = fl
            .forward_backward(&x64, &array![0_usize, 0])
            .map_err(|e| e.to_string())?;
        if !(l == 0.0 && g.iter().all(|v| *v == 0.0)) {
            return Err(format!("f64 gamma {gamma}: {l:e} {g:?}"));
        }
        // One class: p = 1 always.
        let one = array![[3.0_f64], [-1e300]];
        let (l, g) = fl
            .forward_backward(&one, &array![0_usize, 0])
            .map_err(|e| e.to_string())?;
        if !(l == 0.0 && g.iter().all(|v| *v == 0.0)) {
            return Err(format!("C = 1, gamma {gamma}: {l:e} {g:?}"));
        }
        // Just below p = 1: finite, and bounded by the alpha-free limit.
        let near = array![[0.0_f64, -30.0], [0.0, -700.0]];
        let (l, g) = fl
            .forward_backward(&near, &array![0_usize, 0])
            .map_err(|e| e.to_string())?;
        if !(l.is_finite() && g.iter().all(|v| v.is_finite() && v.abs() <= 1.0)) {
            return Err(format!("near p = 1, gamma {gamma}: {l:e} {g:?}"));
        }
        let sf = SigmoidFocalLoss::new(gamma).and_then(|s| s.with_alpha_scalar(0.25));
        let sf = sf.map_err(|e| e.to_string())?;
        let (x, y) = (array![1e4_f32, -1e4, 200.0], array![1.0_f32, 0.0, 1.0]);
        let (l, g) = sf.forward_backward(&x, &y).map_err(|e| e.to_string())?;
        if !(l == 0.0 && g.iter().all(|v| *v == 0.0)) {
            return Err(format!("sigmoid focal f32 gamma {gamma}: {l:e} {g:?}"));
        }
    }
    Ok(())
}

/// A `-inf` logit on a non-target class masks it: finite results, zero
/// gradient on the masked class, and the same loss as without the class.
#[test]
fn masked_non_target_class_gives_finite_results() -> Result<(), String> {
    let ninf = f64::NEG_INFINITY;
    let x = array![[1.0, ninf, 0.5], [ninf, 2.0, -1.0], [-1e300, ninf, 1e300]];
    let t = array![0_usize, 2, 0];
    let dropped = array![[1.0, 0.5], [2.0, -1.0], [-1e300, 1e300]];
    let td = array![0_usize, 1, 0];
    type Fb = dyn Fn(&Array2<f64>, &Array1<usize>) -> Result<(f64, Array2<f64>), LossError>;
    let losses: Vec<(&str, Box<Fb>)> = vec![
        (
            "ce",
            Box::new(|x: &Array2<f64>, t: &Array1<usize>| {
                CrossEntropyLoss::new().forward_backward(x, t)
            }),
        ),
        (
            "focal 0.5",
            Box::new(|x: &Array2<f64>, t: &Array1<usize>| {
                FocalLoss::new(0.5)?.forward_backward(x, t)
            }),
        ),
        (
            "focal 2",
            Box::new(|x: &Array2<f64>, t: &Array1<usize>| {
                FocalLoss::new(2.0)?.forward_backward(x, t)
            }),
        ),
    ];
    for (name, f) in &losses {
        let (l, g) = f(&x, &t).map_err(|e| format!("{name}: {e}"))?;
        let (ld, gd) = f(&dropped, &td).map_err(|e| format!("{name}: {e}"))?;
        let masked_zero = g[[0, 1]] == 0.0 && g[[1, 0]] == 0.0 && g[[2, 1]] == 0.0;
        let same = close(l, ld, 1e-12)
            && close(g[[0, 0]], gd[[0, 0]], 1e-12)
            && close(g[[1, 2]], gd[[1, 1]], 1e-12)
            && close(g[[2, 2]], gd[[2, 1]], 1e-12);
        if !(l.is_finite() && g.iter().all(|v| v.is_finite()) && masked_zero && same) {
            return Err(format!(
                "{name}: masked {l:e} {g:?}\nwithout the class {ld:e} {gd:?}"
            ));
        }
    }
    // Through the oracle, every loss, both precisions, wide rows too.
    for spec in softmax_specs(3)
        .into_iter()
        .filter(|s| s.eps == Some(0.0) || s.kind == Kind::Nll)
    {
        softmax_finite(
            spec.clone(),
            x.clone().into_dyn(),
            Tgt::Index(t.clone().into_dyn()),
        )?;
        softmax_finite(
            spec,
            x.mapv(|v| v.clamp(-1e4, 1e4) as f32).into_dyn(),
            Tgt::Index(t.clone().into_dyn()),
        )?;
    }
    let mut wide = Array2::from_shape_fn((2, 70), |(r, k)| ((r * 70 + k) as f64).cos());
    wide.column_mut(3).fill(ninf);
    let tw = ArrayD::from_shape_fn(IxDyn(&[2]), |i| 10 + i[0]);
    for spec in softmax_specs(70)
        .into_iter()
        .filter(|s| s.eps == Some(0.0) || s.kind == Kind::Nll)
    {
        softmax_finite(spec, wide.clone().into_dyn(), Tgt::Index(tw.clone()))?;
    }
    Ok(())
}

fn sigmoid_specs(c: usize) -> Vec<SSpec> {
    let mut v = Vec::new();
    for (kind, gamma) in [
        (SKind::Bce, 0.0),
        (SKind::Focal, 0.0),
        (SKind::Focal, 0.5),
        (SKind::Focal, 2.0),
    ] {
        for red in [Reduction::Sum, Reduction::Mean, Reduction::WeightedMean] {
            v.push(SSpec {
                kind,
                gamma,
                alpha_scalar: (kind == SKind::Focal).then_some(0.25),
                alpha: None,
                weight: (kind == SKind::Bce).then(|| vec![2.0; c]),
                pos_weight: Some(vec![3.0; c]),
                eps: (kind == SKind::Focal && gamma == 2.0).then_some(0.1),
                reduction: red,
            });
        }
    }
    v
}

fn sigmoid_finite<F: LossFloat>(spec: SSpec, x: ArrayD<F>, t: ArrayD<F>) -> Result<(), String> {
    let case = sigmoid::Case {
        spec,
        grad_shape: x.shape().to_vec(),
        u: ArrayD::from_elem(x.raw_dim(), F::from_f64_(0.5)),
        ignore: None,
        x,
        t,
        layouts: [
            Layout::Standard,
            Layout::Reversed(0),
            Layout::Standard,
            Layout::Transposed,
            Layout::Strided(0),
        ],
    };
    sigmoid::check(&case, &mut Stats::default())?;
    let built = case.spec.build().map_err(|e| format!("{e:?}"))?;
    let o = sigmoid::run(&case, &built, false);
    let ok = matches!(&o.fwd, Ok(Ok(l)) if l.is_finite())
        && matches!(&o.fb, Ok(Ok((l, g))) if l.is_finite() && g.iter().all(|v| v.is_finite()))
        && matches!(&o.pt, Ok(Ok(p)) if p.iter().all(|v| v.is_finite()))
        && matches!(&o.ptb, Ok(Ok(g)) if g.iter().all(|v| v.is_finite()));
    ok.then_some(())
        .ok_or(format!("not all finite: case {case:#?}"))
}

fn sigmoid_extremes<F: LossFloat>(big: f64) -> Result<(), String> {
    let xs = [big, -big, big * 0.5, -big * 1e-3, 0.0, 1.0, -1.0];
    let ys = [0.0, 1.0, 0.5, 0.25];
    let n = xs.len() * ys.len();
    let x = ArrayD::from_shape_fn(IxDyn(&[n, 1]), |i| F::from_f64_(xs[i[0] % xs.len()]));
    let y = ArrayD::from_shape_fn(IxDyn(&[n, 1]), |i| F::from_f64_(ys[i[0] / xs.len()]));
    for spec in sigmoid_specs(1) {
        sigmoid_finite(spec, x.clone(), y.clone())?;
    }
    Ok(())
}

#[test]
fn sigmoid_losses_finite_for_logits_up_to_1e4_in_f32() -> Result<(), String> {
    sigmoid_extremes::<f32>(1e4)
}

#[test]
fn sigmoid_losses_finite_for_logits_up_to_1e300_in_f64() -> Result<(), String> {
    sigmoid_extremes::<f64>(1e300)?;
    sigmoid_extremes::<f64>(1e4)
}

/// `-inf` with target 0 (sigmoid's masked element) contributes nothing.
#[test]
fn sigmoid_masked_element_with_zero_target() -> Result<(), String> {
    let x = array![[f64::NEG_INFINITY, 2.0], [0.5, f64::NEG_INFINITY]].into_dyn();
    let y = array![[0.0, 1.0], [1.0, 0.0]].into_dyn();
    for spec in sigmoid_specs(2).into_iter().filter(|s| s.eps.is_none()) {
        sigmoid_finite(spec.clone(), x.clone(), y.clone())?;
        sigmoid_finite(spec, x.mapv(|v| v as f32), y.mapv(|v| v as f32))?;
    }
    Ok(())
}

/// A finite input whose true loss exceeds the range gives `+inf` (not NaN,
/// not an error), with a finite gradient: the documented overflow case.
#[test]
fn overflowing_true_loss_is_inf_with_finite_gradient() -> Result<(), String> {
    let x = array![[f64::MAX, -f64::MAX]];
    let (l, g) = CrossEntropyLoss::new()
        .forward_backward(&x, &array![1_usize])
        .map_err(|e| e.to_string())?;
    let grad_ok = g.iter().all(|v| v.is_finite());
    (l == f64::INFINITY && grad_ok)
        .then_some(())
        .ok_or(format!("{l:e} {g:?}"))
}
