//! Every hostile category of the softmax losses, deterministically: one
//! clean base case per loss, mutated one way at a time (empty arrays,
//! C = 0 and 1, 0-d / 1-d / 5-d inputs, mismatched shapes, ignored and
//! out-of-range targets, non-finite values in every input and parameter,
//! huge and subnormal weights, bad probability targets, every memory
//! layout), each run through the full oracle in both precisions and every
//! reduction.

use super::check::Stats;
use super::layout::Layout;
use super::softmax::{self, Case, Kind, Spec, Tgt};
use focal_loss::{LossFloat, Reduction};
use ndarray::{ArrayD, IxDyn};

/// Values no finite parameter or input may hold, plus huge and subnormal ones.
pub const BAD: [f64; 8] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    -1.0,
    -1e-300,
    1e300,
    f64::MAX,
    5e-324,
];
/// Every reduction.
pub const REDUCTIONS: [Reduction; 3] = [Reduction::Sum, Reduction::Mean, Reduction::WeightedMean];

/// An array of `shape` whose `i`-th element (row-major) is `f(i)`.
pub fn arr<F: LossFloat>(shape: &[usize], f: impl Fn(usize) -> f64) -> ArrayD<F> {
    let mut i = 0;
    ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        i += 1;
        F::from_f64_(f(i - 1))
    })
}

fn softmax_base<F: LossFloat>(kind: Kind) -> Case<F> {
    Case {
        spec: Spec {
            kind,
            weight: Some(vec![0.5, 1.0, 2.0, 4.0]),
            alpha_scalar: None,
            gamma: 2.0,
            eps: (kind != Kind::Nll).then_some(0.0),
            ignore: None,
            reduction: Reduction::Mean,
        },
        x: arr(&[3, 4], |i| {
            (i as f64 * 1.7).sin() * 3.0 - if kind == Kind::Nll { 3.0 } else { 0.0 }
        }),
        t: Tgt::Index(index_targets(&[3], |i| [0, 3, 1][i])),
        u: arr(&[3], |i| 1.0 - 0.4 * i as f64),
        grad_shape: vec![3, 4],
        layouts: [
            Layout::Standard,
            Layout::Standard,
            Layout::Standard,
            Layout::Standard,
        ],
    }
}

fn index_targets(shape: &[usize], v: impl Fn(usize) -> usize) -> ArrayD<usize> {
    let mut i = 0;
    ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        i += 1;
        v(i - 1)
    })
}

/// Reshapes the base case to `shape` (targets, upstream, grad follow).
fn reshape<F: LossFloat>(c: &mut Case<F>, shape: &[usize]) {
    c.x = arr(shape, |i| (i as f64).cos() * 2.0 - 2.0);
    let ps = softmax::pos_shape(shape);
    let classes = if shape.len() >= 2 { shape[1] } else { 1 };
    c.t = Tgt::Index(index_targets(&ps, |i| i % classes.max(1)));
    c.u = arr(&ps, |_| 1.0);
    c.grad_shape = shape.to_vec();
    c.spec.weight = c.spec.weight.as_ref().map(|_| vec![1.5; classes]);
}

type Mutation<F> = (&'static str, Box<dyn Fn(&mut Case<F>)>);

fn softmax_mutations<F: LossFloat>() -> Vec<Mutation<F>> {
    let mut m: Vec<Mutation<F>> = vec![
        ("unchanged", Box::new(|_| {})),
        ("empty batch", Box::new(|c| reshape(c, &[0, 4]))),
        ("empty spatial", Box::new(|c| reshape(c, &[3, 4, 0]))),
        ("empty everything", Box::new(|c| reshape(c, &[0, 4, 0, 2]))),
        ("C = 0", Box::new(|c| reshape(c, &[3, 0]))),
        ("C = 0, empty batch", Box::new(|c| reshape(c, &[0, 0]))),
        ("C = 1", Box::new(|c| reshape(c, &[3, 1]))),
        ("C = 1, K-dim", Box::new(|c| reshape(c, &[2, 1, 3]))),
        ("0-d", Box::new(|c| reshape(c, &[]))),
        ("1-d", Box::new(|c| reshape(c, &[4]))),
        ("5-d", Box::new(|c| reshape(c, &[2, 4, 1, 2, 3]))),
        ("wide rows", Box::new(|c| reshape(c, &[3, 70]))),
        (
            "targets too long",
            Box::new(|c| c.t = Tgt::Index(index_targets(&[4], |_| 0))),
        ),
        (
            "targets 2-d",
            Box::new(|c| c.t = Tgt::Index(index_targets(&[3, 1], |_| 0))),
        ),
        (
            "targets 0-d",
            Box::new(|c| c.t = Tgt::Index(index_targets(&[], |_| 0))),
        ),
        (
            "all ignored",
            Box::new(|c| {
                c.spec.ignore = Some(255);
                c.t = Tgt::Index(index_targets(&[3], |_| 255));
            }),
        ),
        (
            "ignore index is a class",
            Box::new(|c| {
                c.spec.ignore = Some(0);
                c.t = Tgt::Index(index_targets(&[3], |i| [0, 0, 2][i]));
            }),
        ),
        (
            "ignore usize::MAX",
            Box::new(|c| {
                c.spec.ignore = Some(usize::MAX);
                c.t = Tgt::Index(index_targets(&[3], |i| [usize::MAX, 1, usize::MAX][i]));
            }),
        ),
        (
            "target = C",
            Box::new(|c| c.t = Tgt::Index(index_targets(&[3], |i| [0, 4, 1][i]))),
        ),
        (
            "target usize::MAX",
            Box::new(|c| c.t = Tgt::Index(index_targets(&[3], |i| [usize::MAX, 0, 1][i]))),
        ),
        (
            "-inf at every non-target",
            Box::new(|c| {
                c.x = arr(&[3, 4], |i| {
                    if [0, 7, 9].contains(&i) {
                        1.0
                    } else {
                        f64::NEG_INFINITY
                    }
                });
            }),
        ),
        (
            "every logit -inf, all ignored",
            Box::new(|c| {
                c.x = arr(&[3, 4], |_| f64::NEG_INFINITY);
                c.spec.ignore = Some(9);
                c.t = Tgt::Index(index_targets(&[3], |_| 9));
            }),
        ),
        ("upstream shape", Box::new(|c| c.u = arr(&[3, 1], |_| 1.0))),
        ("grad shape", Box::new(|c| c.grad_shape = vec![4, 3])),
        ("gamma 0", Box::new(|c| c.spec.gamma = 0.0)),
        ("gamma 0.5", Box::new(|c| c.spec.gamma = 0.5)),
        ("gamma 1e300", Box::new(|c| c.spec.gamma = 1e300)),
        (
            "smoothing 1",
            Box::new(|c| c.spec.eps = c.spec.eps.map(|_| 1.0)),
        ),
        (
            "smoothing 0.2",
            Box::new(|c| c.spec.eps = c.spec.eps.map(|_| 0.2)),
        ),
        (
            "weights all 0",
            Box::new(|c| c.spec.weight = Some(vec![0.0; 4])),
        ),
        (
            "weights -0.0",
            Box::new(|c| c.spec.weight = Some(vec![-0.0, 1.0, 1.0, 1.0])),
        ),
        (
            "weight length 3",
            Box::new(|c| c.spec.weight = Some(vec![1.0; 3])),
        ),
        (
            "weight length 5",
            Box::new(|c| c.spec.weight = Some(vec![1.0; 5])),
        ),
        ("no weights", Box::new(|c| c.spec.weight = None)),
        (
            "scalar alpha",
            Box::new(|c| {
                c.spec.weight = None;
                c.spec.alpha_scalar = Some(0.25);
            }),
        ),
        (
            "probability targets",
            Box::new(|c| c.t = Tgt::Probs(arr(&[3, 4], |i| [0.1, 0.2, 0.3, 0.4][i % 4]))),
        ),
        (
            "probabilities summing to 3",
            Box::new(|c| c.t = Tgt::Probs(arr(&[3, 4], |i| (i % 4) as f64 * 0.5))),
        ),
        (
            "probabilities all 0",
            Box::new(|c| c.t = Tgt::Probs(arr(&[3, 4], |_| 0.0))),
        ),
        (
            "probabilities -0.0",
            Box::new(|c| c.t = Tgt::Probs(arr(&[3, 4], |_| -0.0))),
        ),
        (
            "probability shape",
            Box::new(|c| c.t = Tgt::Probs(arr(&[3, 3], |_| 0.5))),
        ),
    ];
    for v in BAD {
        m.push(("logit", Box::new(move |c| c.x[[1, 2]] = F::from_f64_(v))));
        m.push((
            "target-class logit",
            Box::new(move |c| c.x[[1, 3]] = F::from_f64_(v)),
        ));
        // Past the first block of the NLL kernel (2048 elements), so the
        // fast kernel has written earlier blocks before it declines.
        m.push((
            "logit in a later block",
            Box::new(move |c| {
                reshape(c, &[1100, 4]);
                c.x[[1099, 2]] = F::from_f64_(v);
            }),
        ));
        m.push(("upstream", Box::new(move |c| c.u[[2]] = F::from_f64_(v))));
        m.push((
            "weight",
            Box::new(move |c| c.spec.weight = Some(vec![1.0, v, 1.0, 1.0])),
        ));
        m.push(("gamma", Box::new(move |c| c.spec.gamma = v)));
        m.push((
            "smoothing",
            Box::new(move |c| c.spec.eps = c.spec.eps.map(|_| v)),
        ));
        m.push((
            "scalar alpha",
            Box::new(move |c| {
                c.spec.weight = None;
                c.spec.alpha_scalar = Some(v);
            }),
        ));
        m.push((
            "probability",
            Box::new(move |c| {
                c.t = Tgt::Probs(arr(&[3, 4], |i| if i == 5 { v } else { 0.25 }));
            }),
        ));
    }
    let layouts = [
        Layout::Reversed(0),
        Layout::Reversed(1),
        Layout::Transposed,
        Layout::Permuted(vec![1, 0]),
        Layout::Strided(0),
        Layout::Strided(1),
        Layout::StridedReversed(1),
        Layout::Broadcast(0),
        Layout::Broadcast(1),
    ];
    for l in layouts {
        for which in 0..4 {
            let l = l.clone();
            m.push((
                "layout",
                Box::new(move |c| {
                    c.layouts[which] = l.clone();
                    // Normalise the logical arrays as `draw` does (broadcast).
                    super::layout::Laid::new(&mut c.x, c.layouts[0].clone(), F::nan());
                    super::layout::Laid::new(&mut c.u, c.layouts[2].clone(), F::nan());
                    match &mut c.t {
                        Tgt::Index(t) => drop(super::layout::Laid::new(t, c.layouts[1].clone(), 0)),
                        Tgt::Probs(t) => {
                            drop(super::layout::Laid::new(t, c.layouts[1].clone(), F::nan()))
                        }
                    }
                }),
            ));
        }
    }
    m
}

fn softmax_all<F: LossFloat>() -> Result<Stats, String> {
    let mut stats = Stats::default();
    for kind in [Kind::Nll, Kind::Ce, Kind::Focal] {
        for (name, mutate) in softmax_mutations::<F>() {
            for red in REDUCTIONS {
                let mut c = softmax_base::<F>(kind);
                c.spec.reduction = red;
                mutate(&mut c);
                if kind == Kind::Nll && matches!(c.t, Tgt::Probs(_)) {
                    continue;
                }
                softmax::check(&c, &mut stats).map_err(|e| format!("{kind:?} / {name}: {e}"))?;
            }
        }
    }
    Ok(stats)
}

#[test]
fn softmax_family_every_category() -> Result<(), String> {
    let s64 = softmax_all::<f64>()?;
    let s32 = softmax_all::<f32>()?;
    // Each error variant the categories aim at was produced.
    for want in [
        "TooFewDimensions",
        "NoClasses",
        "ShapeMismatch",
        "LengthMismatch",
        "TargetOutOfRange",
        "NonFiniteInput",
        "MaskedTarget",
        "InvalidTarget",
        "InvalidParameter",
        "InvalidParameterEntry",
    ] {
        for s in [&s64, &s32] {
            if !s.errors.contains_key(want) {
                return Err(format!("no {want}: {s:?}"));
            }
        }
    }
    Ok(())
}
