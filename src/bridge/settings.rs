//! The losses' settings as the adapters' composed paths (candle's device
//! path, burn's generic path) need them: one struct per family.

use crate::{
    BceWithLogitsLoss, CrossEntropyLoss, FocalLoss, LossError, NllLoss, Reduction, SigmoidFocalLoss,
};

/// A per-class vector's `c` values, or `fill` for every class.
pub(crate) fn per_class_values(
    v: Option<&[f64]>,
    fill: f64,
    c: usize,
) -> Result<Vec<f64>, LossError> {
    match v {
        Some(v) if v.len() == c => Ok(v.to_vec()),
        Some(v) => Err(LossError::LengthMismatch {
            what: "per-class vector",
            expected: c,
            actual: v.len(),
        }),
        None => Ok(vec![fill; c]),
    }
}

/// A softmax loss's settings, as the composed (device) paths need them.
pub(crate) struct Softmax<'a> {
    /// `None` for cross-entropy / NLL, `Some(gamma)` for focal loss.
    pub(crate) gamma: Option<f64>,
    /// Per-class weights (alpha for focal loss).
    pub(crate) weight: Option<&'a [f64]>,
    /// One weight for every class (focal loss's scalar alpha), default 1.
    pub(crate) scalar: f64,
    pub(crate) ignore: Option<i128>,
    pub(crate) smoothing: f64,
    pub(crate) reduction: Reduction,
    /// The input holds log-probabilities (NLL).
    pub(crate) nll: bool,
}

/// A sigmoid loss's settings, as the composed (device) paths need them.
pub(crate) struct Sigmoid<'a> {
    pub(crate) gamma: f64,
    pub(crate) alpha: Option<&'a [f64]>,
    pub(crate) alpha_scalar: Option<f64>,
    pub(crate) weight: Option<&'a [f64]>,
    pub(crate) pos_weight: Option<&'a [f64]>,
    pub(crate) smoothing: f64,
    pub(crate) reduction: Reduction,
}

/// A loss's settings for the composed (device) paths.
pub(crate) trait Settings<'l, S> {
    fn settings(&'l self) -> S;
}

impl<'l> Settings<'l, Softmax<'l>> for NllLoss {
    fn settings(&'l self) -> Softmax<'l> {
        let (weight, ignore, reduction) = (self.weight(), self.ignore_value(), self.reduction());
        Softmax {
            gamma: None,
            weight,
            scalar: 1.0,
            ignore,
            smoothing: 0.0,
            reduction,
            nll: true,
        }
    }
}

impl<'l> Settings<'l, Softmax<'l>> for CrossEntropyLoss {
    fn settings(&'l self) -> Softmax<'l> {
        let (weight, ignore, reduction) = (self.weight(), self.ignore_value(), self.reduction());
        let smoothing = self.label_smoothing();
        Softmax {
            gamma: None,
            weight,
            scalar: 1.0,
            ignore,
            smoothing,
            reduction,
            nll: false,
        }
    }
}

impl<'l> Settings<'l, Softmax<'l>> for FocalLoss {
    fn settings(&'l self) -> Softmax<'l> {
        let (weight, scalar) = (self.alpha(), self.alpha_scalar().unwrap_or(1.0));
        let (ignore, reduction, smoothing) = (
            self.ignore_value(),
            self.reduction(),
            self.label_smoothing(),
        );
        Softmax {
            gamma: Some(self.gamma()),
            weight,
            scalar,
            ignore,
            smoothing,
            reduction,
            nll: false,
        }
    }
}

impl<'l> Settings<'l, Sigmoid<'l>> for SigmoidFocalLoss {
    fn settings(&'l self) -> Sigmoid<'l> {
        Sigmoid {
            gamma: self.gamma(),
            alpha: self.alpha(),
            alpha_scalar: self.alpha_scalar(),
            weight: None,
            pos_weight: self.pos_weight(),
            smoothing: self.label_smoothing(),
            reduction: self.reduction(),
        }
    }
}

impl<'l> Settings<'l, Sigmoid<'l>> for BceWithLogitsLoss {
    fn settings(&'l self) -> Sigmoid<'l> {
        let (weight, pos_weight, reduction) = (self.weight(), self.pos_weight(), self.reduction());
        Sigmoid {
            gamma: 0.0,
            alpha: None,
            alpha_scalar: None,
            weight,
            pos_weight,
            smoothing: 0.0,
            reduction,
        }
    }
}
