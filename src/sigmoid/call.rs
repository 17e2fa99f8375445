//! The sigmoid family's part of the call path: validates shapes, targets
//! and mask, counts the reduction denominator, lays the inputs out
//! row-major and runs the sigmoid kernel. The rest is [`crate::call`].

use super::targets::{BinaryTargetView, BinaryTargets};
use crate::call::guard::Magnitudes;
use crate::call::layout::{check_len, check_shape, flat, geometry, max_or_one, widen};
use crate::call::{Call, Laid};
use crate::error::{unravel, LossError};
use crate::kernel::float::LossFloat;
use crate::kernel::sigmoid::{self, Alpha, SigmoidSpec};
use crate::kernel::{Geom, Outputs};
use crate::reduction::Reduction;
use ndarray::{ArrayViewD, Dimension};
use std::borrow::Cow;

/// A loss call's configuration, borrowed from a loss type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config<'a, F> {
    pub spec: SigmoidSpec<'a, F>,
    pub reduction: Reduction,
}

/// A validated sigmoid-family call: row-major inputs plus the reduction
/// denominators.
pub(crate) struct Prepared<'c, 'a, 'b, F: Clone> {
    cfg: Config<'c, F>,
    laid: Laid<'a, F>,
    t: Cow<'b, [F]>,
    ignore: Option<Cow<'b, [bool]>>,
}

/// `(N, C, d1, .., dk)` as for the softmax losses, plus `(N)`, read as
/// `(N, 1)`: one class, so per-class vectors must have length 1.
fn sigmoid_geometry(shape: &[usize]) -> Result<Geom, LossError> {
    match *shape {
        [] => Err(LossError::TooFewDimensions {
            what: "logits",
            min: 1,
            actual: 0,
        }),
        [n] => Ok(Geom { n, c: 1, m: 1 }),
        _ => geometry(shape, "logits"),
    }
}

/// Validates a call and lays it out for the kernel. The happy path
/// borrows every input and allocates nothing.
pub(crate) fn prepare<'c, 'a, 'b, F: LossFloat>(
    cfg: Config<'c, F>,
    logits: ArrayViewD<'a, F>,
    targets: BinaryTargetView<'b, F>,
) -> Result<Prepared<'c, 'a, 'b, F>, LossError> {
    let spec = &cfg.spec;
    let shape = logits.raw_dim();
    let geom = sigmoid_geometry(shape.slice())?;
    if let Alpha::PerClass(a) = spec.alpha {
        check_len("alpha", a.len(), geom.c)?;
    }
    if let Some(w) = spec.weight {
        check_len("weight", w.len(), geom.c)?;
    }
    if let Some(pw) = spec.pos_weight {
        check_len("pos_weight", pw.len(), geom.c)?;
    }
    check_shape("targets", shape.slice(), targets.targets.shape())?;
    if let Some(mask) = &targets.ignore {
        check_shape("ignore", shape.slice(), mask.shape())?;
    }
    let t = flat(targets.targets);
    let ignore = targets.ignore.map(flat);
    let count =
        sigmoid::check_targets(&t, ignore.as_deref()).map_err(|i| LossError::InvalidTarget {
            position: unravel(i, shape.slice()),
            value: t[i].to_f64_(),
            expected: "a number in [0, 1]",
        })?;
    let mags = Magnitudes {
        weight: max_or_one(spec.weight) * max_or_one(spec.pos_weight).max(1.0),
        mass: 1.0,
        gamma: spec.gamma.to_f64_(),
    };
    let laid = Laid {
        z: flat(logits),
        shape,
        geom,
        count,
        mags,
        reduction: cfg.reduction,
    };
    Ok(Prepared {
        cfg,
        laid,
        t,
        ignore,
    })
}

impl<F: LossFloat> Call<F> for Prepared<'_, '_, '_, F> {
    fn laid(&self) -> &Laid<'_, F> {
        &self.laid
    }

    fn target_shape(&self) -> Vec<usize> {
        self.laid.shape.slice().to_vec()
    }

    /// `Σ weight_k · alpha_t` over non-ignored elements.
    fn weight_sum(&self) -> f64 {
        let (t, ignore) = (&self.t, self.ignore.as_deref());
        sigmoid::weight_sum(&self.cfg.spec, t, ignore, self.laid.geom)
    }

    /// `down` scales the per-class `weight` (the loss is linear in it).
    fn run(&self, down: Option<f64>, out: Outputs<'_, '_, F>) -> Result<f64, LossError> {
        let scaled: Vec<F>;
        let mut spec = self.cfg.spec;
        if let Some(down) = down {
            scaled = match spec.weight {
                Some(w) => w.iter().map(|x| F::from_f64_(x.to_f64_() * down)).collect(),
                None => vec![F::from_f64_(down); self.laid.geom.c],
            };
            spec.weight = Some(&scaled);
        }
        let (z, geom) = (&self.laid.z, self.laid.geom);
        sigmoid::run(&spec, z, &self.t, self.ignore.as_deref(), geom, out)
            .map_err(|e| self.laid.error(e, "logits"))
    }

    fn run_wide(&self, outs: Outputs<'_, '_, f64>) -> Result<f64, LossError> {
        let spec = &self.cfg.spec;
        let alpha = match spec.alpha {
            Alpha::PerClass(a) => widen(a),
            _ => Vec::new(),
        };
        let weight = spec.weight.map(widen);
        let pos_weight = spec.pos_weight.map(widen);
        // Exactly the (already rounded) parameters of `spec`.
        let spec64 = SigmoidSpec {
            gamma: spec.gamma.to_f64_(),
            alpha: match spec.alpha {
                Alpha::None => Alpha::None,
                Alpha::Scalar(a) => Alpha::Scalar(a.to_f64_()),
                Alpha::PerClass(_) => Alpha::PerClass(&alpha),
            },
            weight: weight.as_deref(),
            pos_weight: pos_weight.as_deref(),
            smoothing: spec.smoothing.to_f64_(),
        };
        let wide = Prepared {
            cfg: Config {
                spec: spec64,
                reduction: self.cfg.reduction,
            },
            laid: self.laid.widen(),
            t: Cow::Owned(widen(&self.t)),
            ignore: self.ignore.as_deref().map(Cow::Borrowed),
        };
        wide.run(None, outs)
    }
}

/// Borrows any sigmoid-family targets as a [`BinaryTargetView`].
pub(crate) fn view<F: LossFloat, T: BinaryTargets<F> + ?Sized>(t: &T) -> BinaryTargetView<'_, F> {
    t.binary_view()
}
