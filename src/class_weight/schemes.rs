//! The re-weighting schemes: how a class's weight follows from its count.

use super::wide::Wide;
use crate::error::LossError;

/// ENet's default constant `c` in `w_c = 1 / ln(c + p_c)` (Paszke et al. 2016).
///
/// # Examples
///
/// ```
/// use focal_loss::class_weight::{Scheme, ENET_C};
/// assert_eq!(Scheme::Enet { c: ENET_C }, Scheme::Enet { c: 1.02 });
/// ```
pub const ENET_C: f64 = 1.02;

/// A re-weighting scheme: how a class's weight follows from its count.
///
/// Notation: `n_c` the count of class `c` (number of samples, or their total
/// sample weight), `n = Σ_c n_c`, `p_c = n_c / n` its frequency, `K'` the
/// number of classes with `n_c > 0`. Classes with `n_c = 0` are handled by
/// the [`ZeroFrequency`](super::ZeroFrequency) policy before the scheme applies. Every scheme gives
/// rarer classes larger weights; they differ in how steeply.
///
/// | scheme | `w_c` | ratio rarest / commonest for counts 1000 : 10 |
/// |---|---|---|
/// | `Balanced` | `n / (K' n_c)` | 100 |
/// | `InverseFrequency` | `1 / p_c` | 100 |
/// | `InverseSqrtFrequency` | `1 / sqrt(p_c)` | 10 |
/// | `EffectiveNumber { beta: 0.99 }` | `(1-β) / (1-β^{n_c})` | 10.46 |
/// | `MedianFrequency` | `median_c(p_c) / p_c` | 100 |
/// | `Enet { c: 1.02 }` | `1 / ln(c + p_c)` | 23.7 |
///
/// Use the result as [`FocalLoss`](crate::FocalLoss) alpha or
/// [`CrossEntropyLoss`](crate::CrossEntropyLoss) weight; see [`Weighting`](super::Weighting).
///
/// # Examples
///
/// ```
/// use focal_loss::class_weight::{Scheme, Weighting};
///
/// let counts = [1000.0, 10.0];
/// let w = Weighting::new(Scheme::InverseSqrtFrequency)?.from_counts(&counts)?;
/// assert!((w[1] / w[0] - 10.0).abs() < 1e-9);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Scheme {
    /// scikit-learn's `'balanced'`: `w_c = n / (K' n_c)`.
    ///
    /// Every class then carries the same total weight `n / K'`, and the mean
    /// sample weight is 1 (`Σ_c n_c w_c = n`), so the loss keeps its
    /// unweighted scale. The default choice for moderate imbalance; with
    /// extreme imbalance its large weights can make training noisy (consider
    /// `EffectiveNumber` or `InverseSqrtFrequency`). Reference: King & Zeng
    /// 2001, "Logistic Regression in Rare Events Data".
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::class_weight::{Scheme, Weighting};
    /// use focal_loss::FocalLoss;
    ///
    /// let w = Weighting::new(Scheme::Balanced)?.from_labels(&[0, 0, 0, 1], 2)?;
    /// assert_eq!(w, vec![4.0 / 6.0, 2.0]);
    /// let focal = FocalLoss::new(2.0)?.with_alpha(w)?;
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    Balanced,
    /// Inverse class frequency: `w_c = 1 / p_c = n / n_c`.
    ///
    /// `K'` times `Balanced`; the classic re-weighting baseline (Cui et al.,
    /// CVPR 2019, §1–2, discuss it as such). Use it with a [`Normalization`](super::Normalization)
    /// when only the ratios matter.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::class_weight::{Scheme, Weighting};
    /// use focal_loss::FocalLoss;
    ///
    /// let w = Weighting::new(Scheme::InverseFrequency)?.from_counts(&[75.0, 25.0])?;
    /// assert_eq!(w, vec![100.0 / 75.0, 4.0]);
    /// let focal = FocalLoss::new(2.0)?.with_alpha(w)?;
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    InverseFrequency,
    /// Inverse square-root frequency: `w_c = 1 / sqrt(p_c) = sqrt(n / n_c)`.
    ///
    /// A smoothed inverse frequency: the weight ratio is the square root of
    /// the count ratio, so very rare classes are boosted less aggressively.
    /// Use it under heavy (long-tailed) imbalance where `Balanced` weights
    /// become too large. Square-root smoothing of class frequencies is used
    /// by Mahajan et al. (ECCV 2018, "Exploring the Limits of Weakly
    /// Supervised Pretraining") and discussed as a re-weighting baseline by
    /// Cui et al. (CVPR 2019).
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::class_weight::{Scheme, Weighting};
    /// use focal_loss::FocalLoss;
    ///
    /// let w = Weighting::new(Scheme::InverseSqrtFrequency)?.from_counts(&[75.0, 25.0])?;
    /// assert_eq!(w, vec![(100.0_f64 / 75.0).sqrt(), 2.0]);
    /// let focal = FocalLoss::new(2.0)?.with_alpha(w)?;
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    InverseSqrtFrequency,
    /// The inverse effective number of samples (Cui et al., CVPR 2019,
    /// "Class-Balanced Loss Based on Effective Number of Samples"):
    /// `E_c = (1 - β^{n_c}) / (1 - β)`, `w_c = 1 / E_c = (1 - β) / (1 - β^{n_c})`.
    ///
    /// `β` in `[0, 1)`. The effective number models diminishing returns of
    /// extra samples of a class: `β = 0` gives uniform weights, `β → 1`
    /// approaches inverse frequency. The paper normalises with
    /// [`Normalization::SumToK`](super::Normalization::SumToK) (as [`effective_number`](super::effective_number)
    /// does) and tunes `β` in `{0.9, 0.99, 0.999, 0.9999}`; use it for
    /// long-tailed data, where it pairs with focal loss in the paper.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::class_weight::{Normalization, Scheme, Weighting};
    /// use focal_loss::FocalLoss;
    ///
    /// let w = Weighting::new(Scheme::EffectiveNumber { beta: 0.5 })?
    ///     .from_counts(&[2.0, 1.0])?;
    /// assert_eq!(w, vec![0.5 / 0.75, 1.0]);
    /// let alpha = Weighting::new(Scheme::EffectiveNumber { beta: 0.999 })?
    ///     .with_normalization(Normalization::SumToK)
    ///     .from_counts(&[5000.0, 300.0, 20.0])?;
    /// let focal = FocalLoss::new(2.0)?.with_alpha(alpha)?;
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    EffectiveNumber {
        /// `β` in `[0, 1)`.
        beta: f64,
    },
    /// Median-frequency balancing (Eigen & Fergus, ICCV 2015, "Predicting
    /// Depth, Surface Normals and Semantic Labels with a Common Multi-Scale
    /// Convolutional Architecture"): `w_c = median_c(p_c) / p_c`.
    ///
    /// The class of median frequency gets weight 1, rarer classes more,
    /// commoner ones less. The standard choice for semantic segmentation,
    /// where `n_c` counts pixels (Eigen & Fergus compute `p_c` over the
    /// images containing `c`; here it is over all samples). The median is
    /// over the classes with `n_c > 0`; for an even number of them it is the
    /// mean of the middle two.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::class_weight::{Scheme, Weighting};
    /// use focal_loss::FocalLoss;
    ///
    /// let w = Weighting::new(Scheme::MedianFrequency)?.from_counts(&[60.0, 30.0, 10.0])?;
    /// assert_eq!(w, vec![0.5, 1.0, 3.0]);
    /// let focal = FocalLoss::new(2.0)?.with_alpha(w)?;
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    MedianFrequency,
    /// ENet's weighting (Paszke et al. 2016, "ENet: A Deep Neural Network
    /// Architecture for Real-Time Semantic Segmentation"):
    /// `w_c = 1 / ln(c + p_c)`, `c > 1` (default [`ENET_C`] = 1.02).
    ///
    /// Bounded: weights lie in `[1 / ln(c + 1), 1 / ln c)`, about `[1.42,
    /// 50.5)` for `c = 1.02`, so a vanishing class cannot get an unbounded
    /// weight. Use it for segmentation with very rare classes.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::class_weight::{Scheme, Weighting, ENET_C};
    /// use focal_loss::FocalLoss;
    ///
    /// let w = Weighting::new(Scheme::Enet { c: ENET_C })?.from_counts(&[99.0, 1.0])?;
    /// assert_eq!(w, vec![1.0 / (1.02_f64 + 0.99).ln(), 1.0 / (1.02_f64 + 0.01).ln()]);
    /// let focal = FocalLoss::new(2.0)?.with_alpha(w)?;
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    Enet {
        /// The constant `c`, finite and `> 1`.
        c: f64,
    },
}

impl Scheme {
    /// Checks the scheme's parameter.
    pub(super) fn checked(self) -> Result<Self, LossError> {
        match self {
            Scheme::EffectiveNumber { beta } if !(0.0..1.0).contains(&beta) => {
                Err(LossError::InvalidParameter {
                    name: "beta",
                    value: beta,
                    expected: "a number in [0, 1)",
                })
            }
            Scheme::Enet { c } if !(c.is_finite() && c > 1.0) => Err(LossError::InvalidParameter {
                name: "c",
                value: c,
                expected: "a finite number > 1",
            }),
            other => Ok(other),
        }
    }

    /// Writes the scheme's weight for every class in `present` (the classes
    /// with `c_i > 0`), from the (pseudo-)counts `c`.
    ///
    /// In [`Wide`] arithmetic, so that `n = Σ c`, `K' n_c` and the ratios
    /// do not overflow (or lose precision for subnormal counts) where the
    /// weight itself is representable; where the `f64` formula does not
    /// overflow the result is bitwise the same.
    pub(super) fn weights(self, c: &[Wide], present: &[usize], w: &mut [Wide]) {
        let n = Wide::sum(c.iter().copied());
        let k = Wide::new(present.len() as f64);
        let median = match self {
            Scheme::MedianFrequency => median(present.iter().map(|&i| c[i]).collect()),
            _ => Wide::ZERO,
        };
        for &i in present {
            w[i] = match self {
                Scheme::Balanced => n.div(k.mul(c[i])),
                Scheme::InverseFrequency => n.div(c[i]),
                Scheme::InverseSqrtFrequency => n.div(c[i]).sqrt(),
                Scheme::EffectiveNumber { beta } => effective(beta, c[i]),
                Scheme::MedianFrequency => median.div(c[i]),
                Scheme::Enet { c: enet_c } => Wide::new(1.0 / (enet_c + c[i].div(n).to_f64()).ln()),
            };
        }
    }
}

/// `(1 - β) / (1 - β^{n_c})` for `n_c > 0`, with `1 - β^{n_c} =
/// -expm1(n_c ln β)` (accurate for `β` near 1); where `n_c ln β` is
/// subnormal (or 0) in `f64`, `expm1` is the identity there and the product
/// is kept in [`Wide`] precision.
fn effective(beta: f64, count: Wide) -> Wide {
    if beta == 0.0 {
        return Wide::ONE;
    }
    let ln_beta = beta.ln();
    let x = count.to_f64() * ln_beta;
    let one_minus_power = if x > -f64::MIN_POSITIVE {
        count.mul(Wide::new(-ln_beta))
    } else {
        Wide::new(-x.exp_m1())
    };
    Wide::new(1.0 - beta).div(one_minus_power)
}

impl Default for Scheme {
    /// [`Scheme::Balanced`].
    fn default() -> Self {
        Scheme::Balanced
    }
}

/// The median of a non-empty list (the mean of the middle two for an even
/// length, as `numpy.median`); 0 for an empty one.
fn median(mut v: Vec<Wide>) -> Wide {
    v.sort_by(Wide::order);
    let m = v.len() / 2;
    match v.len() {
        0 => Wide::ZERO,
        len if len % 2 == 1 => v[m],
        _ => v[m - 1].add(v[m]).half(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_matches_numpy_convention() {
        let med = |v: &[f64]| median(v.iter().map(|&x| Wide::new(x)).collect()).to_f64();
        assert_eq!(med(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(med(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(med(&[]), 0.0);
        // The middle two sum beyond f64::MAX.
        assert_eq!(med(&[f64::MAX, f64::MAX]), f64::MAX);
    }

    #[test]
    fn effective_number_keeps_subnormal_products() {
        // n_c ln(β) is subnormal in f64: (1 - β) / (n_c |ln β|) ≈ 1e300.
        let beta = 1.0 - 1e-16;
        let w = effective(beta, Wide::new(1e-300)).to_f64();
        let want = (1.0 - beta) / -beta.ln() * 1e300;
        assert!((w - want).abs() <= 1e-14 * want, "{w:e} vs {want:e}");
    }

    #[test]
    fn parameters_are_checked() {
        assert!(Scheme::EffectiveNumber { beta: 1.0 }.checked().is_err());
        assert!(Scheme::Enet { c: 0.5 }.checked().is_err());
        assert!(Scheme::Enet { c: ENET_C }.checked().is_ok());
    }
}
