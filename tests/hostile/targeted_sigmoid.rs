//! Every hostile category of the sigmoid losses, deterministically (see
//! `targeted_softmax.rs`), masks included.

use super::check::Stats;
use super::layout::Layout;
use super::sigmoid::{self, Kind as SKind, Spec as SSpec};
use super::targeted_softmax::{arr, BAD, REDUCTIONS};
use focal_loss::{LossFloat, Reduction};
use ndarray::{ArrayD, IxDyn};

fn sigmoid_base<F: LossFloat>(kind: SKind) -> sigmoid::Case<F> {
    let focal = kind == SKind::Focal;
    sigmoid::Case {
        spec: SSpec {
            kind,
            gamma: if focal { 2.0 } else { 0.0 },
            alpha_scalar: None,
            alpha: focal.then(|| vec![0.25, 0.5, 0.75]),
            weight: (!focal).then(|| vec![0.5, 1.0, 2.0]),
            pos_weight: Some(vec![1.0, 3.0, 0.5]),
            eps: focal.then_some(0.0),
            reduction: Reduction::Mean,
        },
        x: arr(&[2, 3, 2], |i| (i as f64 * 1.3).sin() * 4.0),
        t: arr(&[2, 3, 2], |i| [0.0, 1.0, 0.5, 1.0][i % 4]),
        ignore: None,
        u: arr(&[2, 3, 2], |i| 1.0 - 0.1 * i as f64),
        grad_shape: vec![2, 3, 2],
        layouts: [
            Layout::Standard,
            Layout::Standard,
            Layout::Standard,
            Layout::Standard,
            Layout::Standard,
        ],
    }
}

fn sig_reshape<F: LossFloat>(c: &mut sigmoid::Case<F>, shape: &[usize]) {
    c.x = arr(shape, |i| (i as f64).cos() * 3.0);
    c.t = arr(shape, |i| (i % 2) as f64);
    c.u = arr(shape, |_| 1.0);
    c.grad_shape = shape.to_vec();
    let classes = match shape.len() {
        0 | 1 => 1,
        _ => shape[1],
    };
    for v in [
        &mut c.spec.alpha,
        &mut c.spec.weight,
        &mut c.spec.pos_weight,
    ] {
        *v = v.as_ref().map(|_| vec![0.5; classes]);
    }
}

type SMutation<F> = (&'static str, Box<dyn Fn(&mut sigmoid::Case<F>)>);

fn sigmoid_mutations<F: LossFloat>() -> Vec<SMutation<F>> {
    let mut m: Vec<SMutation<F>> = vec![
        ("unchanged", Box::new(|_| {})),
        ("empty", Box::new(|c| sig_reshape(c, &[0, 3]))),
        ("empty spatial", Box::new(|c| sig_reshape(c, &[2, 3, 0]))),
        ("C = 0", Box::new(|c| sig_reshape(c, &[2, 0]))),
        ("C = 1", Box::new(|c| sig_reshape(c, &[4, 1]))),
        ("0-d", Box::new(|c| sig_reshape(c, &[]))),
        ("1-d", Box::new(|c| sig_reshape(c, &[5]))),
        ("1-d empty", Box::new(|c| sig_reshape(c, &[0]))),
        ("5-d", Box::new(|c| sig_reshape(c, &[2, 3, 1, 2, 2]))),
        ("targets shape", Box::new(|c| c.t = arr(&[2, 3], |_| 1.0))),
        (
            "mask",
            Box::new(|c| c.ignore = Some(ArrayD::from_shape_fn(IxDyn(&[2, 3, 2]), |i| i[2] == 1))),
        ),
        (
            "mask everything",
            Box::new(|c| c.ignore = Some(ArrayD::from_elem(IxDyn(&[2, 3, 2]), true))),
        ),
        (
            "mask shape",
            Box::new(|c| c.ignore = Some(ArrayD::from_elem(IxDyn(&[2, 3]), false))),
        ),
        (
            "NaN target under the mask",
            Box::new(|c| {
                c.t[[0, 1, 1]] = F::nan();
                c.ignore = Some(ArrayD::from_shape_fn(IxDyn(&[2, 3, 2]), |i| i[2] == 1));
            }),
        ),
        (
            "-inf logit, target 0",
            Box::new(|c| {
                c.x[[0, 0, 0]] = F::neg_infinity();
                c.t[[0, 0, 0]] = F::zero();
            }),
        ),
        (
            "-inf logit, target 1",
            Box::new(|c| {
                c.x[[0, 0, 0]] = F::neg_infinity();
                c.t[[0, 0, 0]] = F::one();
            }),
        ),
        ("upstream shape", Box::new(|c| c.u = arr(&[2, 3], |_| 1.0))),
        ("grad shape", Box::new(|c| c.grad_shape = vec![3, 2, 2])),
        (
            "alpha length",
            Box::new(|c| c.spec.alpha = c.spec.alpha.as_ref().map(|_| vec![0.5; 2])),
        ),
        (
            "weight length",
            Box::new(|c| c.spec.weight = c.spec.weight.as_ref().map(|_| vec![0.5; 4])),
        ),
        (
            "pos_weight length",
            Box::new(|c| c.spec.pos_weight = Some(vec![1.0; 2])),
        ),
        (
            "scalar alpha",
            Box::new(|c| {
                if c.spec.kind == SKind::Focal {
                    c.spec.alpha = None;
                    c.spec.alpha_scalar = Some(0.25);
                }
            }),
        ),
        (
            "smoothing",
            Box::new(|c| c.spec.eps = c.spec.eps.map(|_| 0.1)),
        ),
        (
            "gamma 0.5",
            Box::new(|c| {
                c.spec.gamma = if c.spec.kind == SKind::Focal {
                    0.5
                } else {
                    0.0
                }
            }),
        ),
    ];
    for v in BAD.into_iter().chain([1.5, 2.0]) {
        m.push(("logit", Box::new(move |c| c.x[[1, 2, 0]] = F::from_f64_(v))));
        m.push((
            "target",
            Box::new(move |c| c.t[[1, 0, 1]] = F::from_f64_(v)),
        ));
        m.push((
            "upstream",
            Box::new(move |c| c.u[[0, 1, 1]] = F::from_f64_(v)),
        ));
        m.push((
            "pos_weight",
            Box::new(move |c| c.spec.pos_weight = Some(vec![1.0, v, 1.0])),
        ));
        m.push((
            "alpha / weight",
            Box::new(move |c| {
                c.spec.alpha = c.spec.alpha.as_ref().map(|_| vec![0.5, v, 0.5]);
                c.spec.weight = c.spec.weight.as_ref().map(|_| vec![0.5, v, 0.5]);
            }),
        ));
        m.push((
            "scalar alpha",
            Box::new(move |c| {
                if c.spec.kind == SKind::Focal {
                    c.spec.alpha = None;
                    c.spec.alpha_scalar = Some(v);
                }
            }),
        ));
        m.push((
            "gamma",
            Box::new(move |c| {
                if c.spec.kind == SKind::Focal {
                    c.spec.gamma = v;
                }
            }),
        ));
        m.push((
            "smoothing",
            Box::new(move |c| c.spec.eps = c.spec.eps.map(|_| v)),
        ));
    }
    let layouts = [
        Layout::Reversed(0),
        Layout::Reversed(2),
        Layout::Transposed,
        Layout::Permuted(vec![2, 0, 1]),
        Layout::Strided(1),
        Layout::StridedReversed(2),
        Layout::Broadcast(0),
        Layout::Broadcast(2),
    ];
    for l in layouts {
        for which in 0..5 {
            let l = l.clone();
            m.push((
                "layout",
                Box::new(move |c| {
                    if which == 2 {
                        c.ignore = Some(ArrayD::from_shape_fn(IxDyn(&[2, 3, 2]), |i| i[0] == 1));
                    }
                    c.layouts[which] = l.clone();
                    super::layout::Laid::new(&mut c.x, c.layouts[0].clone(), F::nan());
                    super::layout::Laid::new(&mut c.t, c.layouts[1].clone(), F::nan());
                    if let Some(mk) = &mut c.ignore {
                        super::layout::Laid::new(mk, c.layouts[2].clone(), true);
                    }
                    super::layout::Laid::new(&mut c.u, c.layouts[3].clone(), F::nan());
                }),
            ));
        }
    }
    m
}

fn sigmoid_all<F: LossFloat>() -> Result<Stats, String> {
    let mut stats = Stats::default();
    for kind in [SKind::Focal, SKind::Bce] {
        for (name, mutate) in sigmoid_mutations::<F>() {
            for red in REDUCTIONS {
                let mut c = sigmoid_base::<F>(kind);
                c.spec.reduction = red;
                mutate(&mut c);
                sigmoid::check(&c, &mut stats).map_err(|e| format!("{kind:?} / {name}: {e}"))?;
            }
        }
    }
    Ok(stats)
}

#[test]
fn sigmoid_family_every_category() -> Result<(), String> {
    for s in [sigmoid_all::<f64>()?, sigmoid_all::<f32>()?] {
        for want in [
            "TooFewDimensions",
            "NoClasses",
            "ShapeMismatch",
            "LengthMismatch",
            "NonFiniteInput",
            "MaskedTarget",
            "InvalidTarget",
            "InvalidParameter",
            "InvalidParameterEntry",
        ] {
            if !s.errors.contains_key(want) {
                return Err(format!("no {want}: {s:?}"));
            }
        }
    }
    Ok(())
}
