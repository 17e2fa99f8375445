//! [`Weighting`]: a scheme applied to counts with the zero-frequency guard
//! and the normalisation.

use std::fmt::Debug;

use super::labels::{class_index, index_labels, weighted_counts, ClassLabel};
use super::wide::Wide;
use super::{Normalization, Scheme, ZeroFrequency};
use crate::error::LossError;

/// A validated recipe — [`Scheme`] + [`ZeroFrequency`] policy +
/// [`Normalization`] — applied to labels, to labels of any type with sample
/// weights, or directly to per-class counts.
///
/// Steps: counts `n_c` → the zero-frequency policy (`PseudoCount(k)`:
/// `n_c += k` for every class; `Fixed(w)`: classes with `n_c = 0` are set
/// aside and get `w`) → the scheme on the classes with `n_c > 0` → the
/// normalisation over those classes. A weight that exceeds `f64::MAX` is an
/// error; intermediate sums and products never overflow (see the
/// [module docs](super#extreme-counts)).
///
/// `Weighting::default()` is scikit-learn's `'balanced'` with the `Error`
/// policy and no normalisation.
///
/// # Examples
///
/// ```
/// use focal_loss::class_weight::{Normalization, Scheme, Weighting, ZeroFrequency};
/// use focal_loss::FocalLoss;
///
/// let labels = ["cat", "dog", "dog", "dog", "cat", "dog"];
/// let w = Weighting::new(Scheme::InverseSqrtFrequency)?
///     .with_zero_frequency(ZeroFrequency::PseudoCount(1.0))?
///     .with_normalization(Normalization::SumToK)
///     .from_classes(&["bird", "cat", "dog"], &labels, None)?;
/// assert!(w[0] > w[1] && w[1] > w[2]);
/// let focal = FocalLoss::new(2.0)?.with_alpha(w)?;
/// # Ok::<(), focal_loss::LossError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Weighting {
    scheme: Scheme,
    zero: ZeroFrequency,
    norm: Normalization,
}

impl Weighting {
    /// A recipe with `scheme`, the `Error` zero-frequency policy and no
    /// normalisation.
    ///
    /// # Errors
    ///
    /// [`LossError::InvalidParameter`] if `beta` is not in `[0, 1)`
    /// (`EffectiveNumber`) or `c` is not a finite number `> 1` (`Enet`).
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::class_weight::{Scheme, Weighting};
    /// assert!(Weighting::new(Scheme::EffectiveNumber { beta: 0.99 }).is_ok());
    /// assert!(Weighting::new(Scheme::EffectiveNumber { beta: 1.0 }).is_err());
    /// assert!(Weighting::new(Scheme::Enet { c: 1.0 }).is_err());
    /// ```
    pub fn new(scheme: Scheme) -> Result<Self, LossError> {
        Ok(Self {
            scheme: scheme.checked()?,
            ..Self::default()
        })
    }

    /// Sets the zero-frequency policy (default `Error`).
    ///
    /// # Errors
    ///
    /// [`LossError::InvalidParameter`] for `Fixed(w)` with `w` negative or
    /// not finite, or `PseudoCount(k)` with `k <= 0` or not finite.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::class_weight::{Weighting, ZeroFrequency};
    /// let w = Weighting::default().with_zero_frequency(ZeroFrequency::Fixed(0.0))?;
    /// assert_eq!(w.from_labels(&[0, 0, 2], 3)?, vec![0.75, 0.0, 1.5]); // K' = 2
    /// assert!(Weighting::default().with_zero_frequency(ZeroFrequency::PseudoCount(0.0)).is_err());
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    pub fn with_zero_frequency(mut self, zero: ZeroFrequency) -> Result<Self, LossError> {
        self.zero = zero.checked()?;
        Ok(self)
    }

    /// Sets the normalisation (default [`Normalization::None`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::class_weight::{Normalization, Weighting};
    /// let w = Weighting::default().with_normalization(Normalization::SumToK);
    /// assert_eq!(w.from_labels(&[0, 0, 0, 1], 2)?, vec![0.5, 1.5]);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn with_normalization(mut self, norm: Normalization) -> Self {
        self.norm = norm;
        self
    }

    /// The scheme.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::class_weight::{Normalization, Scheme, Weighting, ZeroFrequency};
    /// let w = Weighting::new(Scheme::MedianFrequency)?;
    /// assert_eq!(w.scheme(), Scheme::MedianFrequency);
    /// assert_eq!(w.zero_frequency(), ZeroFrequency::Error);
    /// assert_eq!(w.normalization(), Normalization::None);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The zero-frequency policy.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::class_weight::{Weighting, ZeroFrequency};
    /// assert_eq!(Weighting::default().zero_frequency(), ZeroFrequency::Error);
    /// ```
    #[must_use]
    pub fn zero_frequency(&self) -> ZeroFrequency {
        self.zero
    }

    /// The normalisation.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::class_weight::{Normalization, Weighting};
    /// assert_eq!(Weighting::default().normalization(), Normalization::None);
    /// ```
    #[must_use]
    pub fn normalization(&self) -> Normalization {
        self.norm
    }

    /// Weights from per-class counts `n_c` (finite, `>= 0`; they need not be
    /// integers, e.g. summed sample weights or pixel fractions).
    ///
    /// # Errors
    ///
    /// [`LossError::InvalidParameterEntry`] (`"counts"`) for a negative or
    /// non-finite count; under the `Error` policy
    /// [`LossError::ClassNotInLabels`] for a zero count and
    /// [`LossError::ZeroTotalWeight`] for an empty `counts`;
    /// [`LossError::NonFiniteWeight`] if a weight exceeds `f64::MAX`.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::class_weight::Weighting;
    /// assert_eq!(Weighting::default().from_counts(&[3.0, 1.0])?, vec![4.0 / 6.0, 2.0]);
    /// assert!(Weighting::default().from_counts(&[3.0, 0.0]).is_err());
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    pub fn from_counts(&self, counts: &[f64]) -> Result<Vec<f64>, LossError> {
        for (index, &value) in counts.iter().enumerate() {
            if !(value.is_finite() && value >= 0.0) {
                return Err(LossError::InvalidParameterEntry {
                    name: "counts",
                    index,
                    value,
                    expected: "a finite, non-negative number",
                });
            }
        }
        let counts: Vec<Wide> = counts.iter().map(|&x| Wide::new(x)).collect();
        self.weigh(counts, None, &|i| format!("{i:?}"))
    }

    /// Weights for labels in `0..n_classes`, counted.
    ///
    /// # Errors
    ///
    /// [`LossError::TargetOutOfRange`] for a label `>= n_classes`; then as
    /// [`from_counts`](Self::from_counts).
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::class_weight::{Scheme, Weighting};
    /// let w = Weighting::new(Scheme::MedianFrequency)?.from_labels(&[0, 1, 1, 2, 2, 2], 3)?;
    /// assert_eq!(w, vec![2.0, 1.0, 2.0 / 3.0]);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    pub fn from_labels(&self, labels: &[usize], n_classes: usize) -> Result<Vec<f64>, LossError> {
        let raw = super::count_labels(labels, n_classes)?;
        let counts: Vec<Wide> = raw.iter().map(|&c| Wide::new(c as f64)).collect();
        self.weigh(counts, Some(&raw), &|i| format!("{i:?}"))
    }

    /// Weights for the given `classes` (any ordered label type, in the
    /// order given), counted in `y`, optionally with per-sample weights
    /// (`n_c = Σ_{y_i = c} s_i`).
    ///
    /// Checks run in scikit-learn's order: duplicate classes (an error here,
    /// not in scikit-learn), a label not in `classes`, a class with no
    /// samples (under `Error`), the sample weights, a class whose samples
    /// all weigh 0 (under `Error`).
    ///
    /// # Errors
    ///
    /// [`LossError::DuplicateClass`], [`LossError::LabelNotInClasses`];
    /// [`LossError::ShapeMismatch`] (`"sample_weight"`) if its length is not
    /// `y`'s; [`LossError::InvalidParameterEntry`] (`"sample_weight"`) for a
    /// negative or non-finite sample weight; [`LossError::ZeroTotalWeight`]
    /// if all sample weights are 0; under `Error`
    /// [`LossError::ClassNotInLabels`] and [`LossError::ZeroClassWeight`];
    /// [`LossError::NonFiniteWeight`] if a weight exceeds `f64::MAX`.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::class_weight::Weighting;
    /// let w = Weighting::default().from_classes(
    ///     &["a", "b"],
    ///     &["a", "b", "b"],
    ///     Some(&[2.0, 1.0, 1.0]),
    /// )?;
    /// assert_eq!(w, vec![1.0, 1.0]);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    pub fn from_classes<T: Ord + Debug, Y: ClassLabel<T>>(
        &self,
        classes: &[T],
        y: &[Y],
        sample_weight: Option<&[f64]>,
    ) -> Result<Vec<f64>, LossError> {
        let lookup = class_index(classes)?;
        let idx = index_labels(&lookup, y)?;
        let mut raw = vec![0_usize; classes.len()];
        for &i in &idx {
            raw[i] += 1;
        }
        let name = |i: usize| format!("{:?}", classes[i]);
        if self.zero == ZeroFrequency::Error {
            if let Some(index) = raw.iter().position(|&r| r == 0) {
                return Err(LossError::ClassNotInLabels {
                    class: name(index),
                    index,
                });
            }
        }
        let counts = match sample_weight {
            Some(sw) => weighted_counts(&idx, classes.len(), sw)?,
            None => raw.iter().map(|&c| Wide::new(c as f64)).collect(),
        };
        self.weigh(counts, Some(&raw), &name)
    }

    /// The recipe on validated counts; `raw` (sample counts, if known)
    /// tells a class without samples from one whose samples weigh 0.
    ///
    /// Counts, weights and the normalisation's sums are [`Wide`] numbers;
    /// only the final weights are rounded to `f64`, so a weight is an error
    /// only when it truly exceeds `f64::MAX`.
    fn weigh(
        &self,
        mut c: Vec<Wide>,
        raw: Option<&[usize]>,
        name: &dyn Fn(usize) -> String,
    ) -> Result<Vec<f64>, LossError> {
        match self.zero {
            ZeroFrequency::Error => {
                if c.is_empty() {
                    return Err(LossError::ZeroTotalWeight { samples: 0 });
                }
                if let Some(index) = c.iter().position(|x| x.is_zero()) {
                    return Err(match raw {
                        Some(r) if r[index] > 0 => LossError::ZeroClassWeight {
                            class: name(index),
                            index,
                            samples: r[index],
                        },
                        _ => LossError::ClassNotInLabels {
                            class: name(index),
                            index,
                        },
                    });
                }
            }
            ZeroFrequency::PseudoCount(k) => {
                let k = Wide::new(k);
                c.iter_mut().for_each(|x| *x = x.add(k));
            }
            ZeroFrequency::Fixed(_) => {}
        }
        let present: Vec<usize> = (0..c.len()).filter(|&i| !c[i].is_zero()).collect();
        let mut w = vec![Wide::ZERO; c.len()];
        self.scheme.weights(&c, &present, &mut w);
        self.normalize(&c, &present, &mut w);
        let fixed = match self.zero {
            ZeroFrequency::Fixed(fixed) => fixed,
            _ => 0.0,
        };
        let mut out = vec![fixed; c.len()];
        for &index in &present {
            let value = w[index].to_f64();
            if !value.is_finite() {
                return Err(LossError::NonFiniteWeight {
                    class: name(index),
                    index,
                    value,
                });
            }
            out[index] = value;
        }
        Ok(out)
    }

    /// Rescales the weights of the classes in `present`: by `K' / Σ w_c`
    /// (`SumToK`) or `n / Σ n_c w_c` (`MeanOne`), the sums in [`Wide`]
    /// arithmetic so that they neither overflow nor lose subnormal products.
    fn normalize(&self, c: &[Wide], present: &[usize], w: &mut [Wide]) {
        if present.is_empty() {
            return;
        }
        let scale = match self.norm {
            Normalization::None => return,
            Normalization::SumToK => {
                Wide::new(present.len() as f64).div(Wide::sum(present.iter().map(|&i| w[i])))
            }
            Normalization::MeanOne => {
                let n = Wide::sum(c.iter().copied());
                n.div(Wide::sum(present.iter().map(|&i| c[i].mul(w[i]))))
            }
        };
        for &i in present {
            w[i] = w[i].mul(scale);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_weight_is_not_rescaled() {
        let w = Weighting::default()
            .with_zero_frequency(ZeroFrequency::Fixed(7.0))
            .and_then(|w| {
                w.with_normalization(Normalization::SumToK)
                    .from_counts(&[1.0, 0.0, 3.0])
            });
        let w = w.unwrap_or_default();
        assert_eq!(w.len(), 3);
        assert_eq!(w[1], 7.0);
        assert!((w[0] + w[2] - 2.0).abs() < 1e-12);
    }

    #[test]
    fn overflow_is_an_error() {
        let r = Weighting::default().from_counts(&[f64::MAX, f64::MAX, 1e-300]);
        assert!(matches!(r, Err(LossError::NonFiniteWeight { .. })), "{r:?}");
    }
}
