//! What a sigmoid-family kernel call is told: focusing, alpha, weights,
//! smoothing, and where to write; and the per-class constants derived
//! from them.

use crate::kernel::float::LossFloat;

/// The class-balance factor `alpha`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Alpha<'a, F> {
    /// No alpha: `alpha_t = 1`.
    None,
    /// One alpha for every class.
    Scalar(F),
    /// One alpha per class (class axis 1).
    PerClass(&'a [F]),
}

/// A fully validated sigmoid-family problem description.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SigmoidSpec<'a, F> {
    /// Focusing parameter (`0` for BCE).
    pub gamma: F,
    /// `alpha_t = alpha y + (1 - alpha)(1 - y)`.
    pub alpha: Alpha<'a, F>,
    /// Per-class weight (BCE `weight`), default 1.
    pub weight: Option<&'a [F]>,
    /// Per-class positive weight, default 1.
    pub pos_weight: Option<&'a [F]>,
    /// Label smoothing `eps`: `y' = y (1 - eps) + eps / 2`.
    pub smoothing: F,
}

/// The constants of one class.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Class<F> {
    pub(crate) alpha: Option<F>,
    pub(crate) weight: F,
    pub(crate) pos_weight: F,
}

impl<F: LossFloat> SigmoidSpec<'_, F> {
    #[inline(always)]
    pub(crate) fn class(&self, k: usize) -> Class<F> {
        let pick = |v: Option<&[F]>| v.map_or(F::one(), |v| v[k]);
        Class {
            alpha: match self.alpha {
                Alpha::None => None,
                Alpha::Scalar(a) => Some(a),
                Alpha::PerClass(a) => Some(a[k]),
            },
            weight: pick(self.weight),
            pos_weight: pick(self.pos_weight),
        }
    }

    /// The smoothed target `y' = y (1 - eps) + eps / 2`.
    #[inline(always)]
    pub fn smooth(&self, y: F) -> F {
        let eps = self.smoothing;
        if eps == F::zero() {
            y
        } else {
            y * (F::one() - eps) + eps * F::from_f64_(0.5)
        }
    }

    /// The weight `W = weight_k · alpha_t(y')` that scales an element of
    /// class `k` with smoothed target `y'` (the `WeightedMean` summand).
    #[inline(always)]
    pub fn element_weight(&self, k: usize, y: F) -> F {
        self.class(k).scale(y)
    }
}

impl<F: LossFloat> Class<F> {
    /// `W = weight · alpha_t(y)`.
    #[inline(always)]
    pub(crate) fn scale(&self, y: F) -> F {
        match self.alpha {
            None => self.weight,
            Some(a) => self.weight * (a * y + (F::one() - a) * (F::one() - y)),
        }
    }

    /// `(W at y = 0, W at y = 1, pw)`: `W(y) = w1 y + w0 (1 - y)`.
    #[inline(always)]
    pub(crate) fn linear(&self) -> (F, F, F) {
        let (w0, w1) = match self.alpha {
            None => (self.weight, self.weight),
            Some(a) => (self.weight * (F::one() - a), self.weight * a),
        };
        (w0, w1, self.pos_weight)
    }
}
