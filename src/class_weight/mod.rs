//! Class weights from labels: scikit-learn's exactly, a zero-frequency guard,
//! and the re-weighting schemes beyond scikit-learn.
//!
//! Every function here is a pure function of the labels (or of per-class
//! counts) that returns one weight per class, ready for
//! [`CrossEntropyLoss::with_weight`](crate::CrossEntropyLoss::with_weight) or
//! [`FocalLoss::with_alpha`](crate::FocalLoss::with_alpha), or one weight per
//! sample ([`compute_sample_weight`]), or one `pos_weight` per column for
//! multi-label losses ([`pos_weight`]).
//!
//! ## Which function
//!
//! | want | call |
//! |---|---|
//! | scikit-learn `class_weight='balanced'` for labels `0..K` | [`balanced`] |
//! | Cui et al. 2019 class-balanced weights for labels `0..K` | [`effective_number`] |
//! | scikit-learn `compute_class_weight` (any label type, maps, sample weights) | [`compute_class_weight`] |
//! | the same with `&str` classes and `String` labels (or any mix of string types) | [`compute_class_weight_str`] |
//! | scikit-learn `compute_sample_weight` (1-D, multi-output, subsample `indices`) | [`compute_sample_weight`], [`compute_sample_weight_multi`] |
//! | another [`Scheme`], a [`ZeroFrequency`] policy, a [`Normalization`] | [`Weighting`] |
//! | multi-label `pos_weight = n_neg / n_pos` | [`pos_weight`] |
//!
//! ## Classes with no samples
//!
//! scikit-learn raises an error when a class has no samples and silently
//! returns `inf` when a class's samples all have sample weight 0. Here both
//! are governed by an explicit [`ZeroFrequency`] policy: `Error` (the
//! default, scikit-learn's behaviour, extended to the zero-weight case), a
//! `Fixed` weight for such classes, or a `PseudoCount` added to every class
//! count. No function in this module returns `inf` or NaN: a weight that
//! would not be finite is an error.
//!
//! ## Extreme counts
//!
//! Sums, products and ratios of counts and weights (`n = Σ n_c`, `K n_c`,
//! `Σ w_c`, `Σ n_c w_c`, the product over outputs) are computed with an
//! unbounded exponent, so they neither overflow nor lose precision to
//! subnormal intermediates: a result is an error only when the weight itself
//! exceeds `f64::MAX`, and a weight too small for `f64` rounds to a
//! subnormal or 0. Where no intermediate leaves the normal range, the
//! result is bitwise the plain `f64` formula (scikit-learn's included).
//!
//! ```
//! use focal_loss::class_weight::{Normalization, Scheme, Weighting};
//!
//! // K n_c = 2 MAX overflows; the weight MAX / (2 MAX) does not.
//! let w = Weighting::default().from_counts(&[1.0, f64::MAX])?;
//! assert_eq!(w[1], 0.5);
//! // Σ n_c w_c overflows; MeanOne still holds.
//! let w = Weighting::new(Scheme::Enet { c: 1.02 })?
//!     .with_normalization(Normalization::MeanOne)
//!     .from_counts(&[f64::MAX, f64::MAX])?;
//! assert_eq!(w, vec![1.0, 1.0]);
//! // A weight beyond f64::MAX is an error.
//! assert!(Weighting::default().from_counts(&[5e-324, 1.0]).is_err());
//! # Ok::<(), focal_loss::LossError>(())
//! ```
//!
//! ## Example
//!
//! ```
//! use focal_loss::{class_weight, FocalLoss};
//! use ndarray::array;
//!
//! let train_labels = [0_usize, 0, 0, 0, 0, 0, 1, 1, 2];
//! let alpha = class_weight::balanced(&train_labels, 3)?; // n / (K n_c)
//! assert_eq!(alpha, vec![0.5, 1.5, 3.0]);
//! let focal = FocalLoss::new(2.0)?.with_alpha(alpha)?;
//! let loss = focal.forward(&array![[2.0_f64, 0.1, -1.0]], &array![2_usize])?;
//! assert!(loss > 0.0);
//! # Ok::<(), focal_loss::LossError>(())
//! ```

mod labels;
mod multilabel;
mod sample;
mod schemes;
mod sklearn;
mod weighting;
mod wide;

pub use labels::ClassLabel;
pub use multilabel::pos_weight;
pub use sample::{compute_sample_weight, compute_sample_weight_multi, SampleClassWeight};
pub use schemes::{Scheme, ENET_C};
pub use sklearn::{compute_class_weight, compute_class_weight_str, ClassWeight};
pub use weighting::Weighting;

use crate::error::LossError;

/// What to do with a class that has no samples, or whose samples all have
/// sample weight 0 (its count `n_c` is 0).
///
/// | policy | such a class gets | the other classes |
/// |---|---|---|
/// | `Error` (default) | an error ([`LossError::ClassNotInLabels`], [`LossError::ZeroClassWeight`]) | — |
/// | `Fixed(w)` | exactly `w` (finite, `>= 0`), never rescaled by a [`Normalization`] | weighted as if the class did not exist |
/// | `PseudoCount(k)` | a weight from the count `k` | every count becomes `n_c + k` (`k` finite, `> 0`) |
///
/// `PseudoCount` is additive (Laplace) smoothing: it changes every weight a
/// little and the empty classes most. `Fixed(0.0)` drops the empty classes,
/// which is what scikit-learn's subsample rule does.
///
/// # Examples
///
/// ```
/// use focal_loss::class_weight::{balanced, Scheme, Weighting, ZeroFrequency};
///
/// let labels = [0_usize, 0, 0, 1]; // class 2 has no samples
/// assert!(balanced(&labels, 3).is_err());
/// let fixed = Weighting::new(Scheme::Balanced)?
///     .with_zero_frequency(ZeroFrequency::Fixed(1.0))?
///     .from_labels(&labels, 3)?;
/// assert_eq!(fixed, vec![4.0 / 6.0, 2.0, 1.0]);
/// let smoothed = Weighting::new(Scheme::Balanced)?
///     .with_zero_frequency(ZeroFrequency::PseudoCount(1.0))?
///     .from_labels(&labels, 3)?; // counts 4, 2, 1 of 7
/// assert_eq!(smoothed, vec![7.0 / 12.0, 7.0 / 6.0, 7.0 / 3.0]);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum ZeroFrequency {
    /// Return an error naming the class (scikit-learn's behaviour).
    #[default]
    Error,
    /// Give such a class this weight (finite, `>= 0`).
    Fixed(f64),
    /// Add this pseudo-count (finite, `> 0`) to every class count.
    PseudoCount(f64),
}

impl ZeroFrequency {
    /// Checks the policy's parameter.
    pub(crate) fn checked(self) -> Result<Self, LossError> {
        match self {
            ZeroFrequency::Fixed(w) if !(w.is_finite() && w >= 0.0) => {
                Err(LossError::InvalidParameter {
                    name: "ZeroFrequency::Fixed",
                    value: w,
                    expected: "a finite number >= 0",
                })
            }
            ZeroFrequency::PseudoCount(k) if !(k.is_finite() && k > 0.0) => {
                Err(LossError::InvalidParameter {
                    name: "ZeroFrequency::PseudoCount",
                    value: k,
                    expected: "a finite number > 0",
                })
            }
            other => Ok(other),
        }
    }
}

/// How the weights of a [`Scheme`] are rescaled after they are computed.
///
/// With `n_c` the (pseudo-)count of class `c`, `n = Σ_c n_c`, and `K'` the
/// number of classes with `n_c > 0`; classes given a `ZeroFrequency::Fixed`
/// weight are left out of both sums and keep their fixed weight.
///
/// | variant | rescales so that | use it when |
/// |---|---|---|
/// | `None` | (no rescaling) | you want the scheme's own scale |
/// | `SumToK` | `Σ_c w_c = K'` (mean class weight 1) | comparing schemes; Cui et al. 2019 normalise this way |
/// | `MeanOne` | `Σ_c n_c w_c = n` (mean *sample* weight 1) | keeping the loss on the unweighted scale (learning rates carry over) |
///
/// [`Scheme::Balanced`] already satisfies `MeanOne`.
///
/// # Examples
///
/// ```
/// use focal_loss::class_weight::{Normalization, Scheme, Weighting};
///
/// let counts = [30.0, 10.0];
/// let w = Weighting::new(Scheme::InverseFrequency)?.from_counts(&counts)?;
/// assert_eq!(w, vec![40.0 / 30.0, 4.0]);
/// let w = Weighting::new(Scheme::InverseFrequency)?
///     .with_normalization(Normalization::SumToK)
///     .from_counts(&counts)?;
/// assert!((w[0] + w[1] - 2.0).abs() < 1e-12);
/// let w = Weighting::new(Scheme::InverseFrequency)?
///     .with_normalization(Normalization::MeanOne)
///     .from_counts(&counts)?;
/// assert!((30.0 * w[0] + 10.0 * w[1] - 40.0).abs() < 1e-12);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Normalization {
    /// Leave the weights as the scheme computes them.
    #[default]
    None,
    /// Rescale so the weights of the classes with samples sum to their number.
    SumToK,
    /// Rescale so the mean weight over the samples is 1: `Σ_c n_c w_c = n`.
    MeanOne,
}

/// scikit-learn's `class_weight='balanced'` for labels in `0..n_classes`:
/// `w_c = n / (K n_c)`, with `n` the number of labels, `K = n_classes` and
/// `n_c` the number of labels equal to `c`.
///
/// Equal to `compute_class_weight(&ClassWeight::Balanced, &[0, .., K-1], labels, None)`.
/// The weights satisfy `Σ_c n_c w_c = n`: the mean sample weight is 1. A
/// class with no samples is an error (scikit-learn's behaviour); use
/// [`Weighting`] with a [`ZeroFrequency`] policy to weight it instead.
///
/// Reference: King & Zeng 2001, "Logistic Regression in Rare Events Data"
/// (the heuristic scikit-learn cites).
///
/// # Errors
///
/// [`LossError::TargetOutOfRange`] for a label `>= n_classes`;
/// [`LossError::ClassNotInLabels`] for a class with no labels;
/// [`LossError::ZeroTotalWeight`] when `n_classes` is 0.
///
/// # Examples
///
/// ```
/// use focal_loss::{class_weight, CrossEntropyLoss, FocalLoss};
///
/// let labels = [1_usize, 1, 1, 1, 0, 0];
/// let w = class_weight::balanced(&labels, 2)?;
/// assert_eq!(w, vec![1.5, 0.75]); // scikit-learn's docstring example
/// let focal = FocalLoss::new(2.0)?.with_alpha(&w)?;
/// let ce = CrossEntropyLoss::new().with_weight(&w)?;
/// # Ok::<(), focal_loss::LossError>(())
/// ```
pub fn balanced(labels: &[usize], n_classes: usize) -> Result<Vec<f64>, LossError> {
    Weighting::default().from_labels(labels, n_classes)
}

/// Class-balanced weights from the effective number of samples (Cui et al.,
/// CVPR 2019, "Class-Balanced Loss Based on Effective Number of Samples"),
/// for labels in `0..n_classes`, normalised to sum to `K` as in the paper:
///
/// `w_c ∝ (1 - β) / (1 - β^{n_c})`, `Σ_c w_c = K`.
///
/// `β` in `[0, 1)`: `β = 0` gives uniform weights, `β → 1` approaches
/// inverse frequency; the paper uses `β` in `{0.9, 0.99, 0.999, 0.9999}`
/// (larger for larger datasets). A class with no samples is an error; see
/// [`Scheme::EffectiveNumber`] and [`Weighting`] for the other policies and
/// normalisations.
///
/// # Errors
///
/// [`LossError::InvalidParameter`] if `beta` is not in `[0, 1)`;
/// [`LossError::TargetOutOfRange`] for a label `>= n_classes`;
/// [`LossError::ClassNotInLabels`] for a class with no labels;
/// [`LossError::ZeroTotalWeight`] when `n_classes` is 0.
///
/// # Examples
///
/// ```
/// use focal_loss::{class_weight, FocalLoss};
///
/// let labels = [0_usize, 0, 0, 0, 0, 0, 0, 0, 1, 2];
/// let alpha = class_weight::effective_number(&labels, 3, 0.9)?;
/// assert!((alpha.iter().sum::<f64>() - 3.0).abs() < 1e-12);
/// assert!(alpha[0] < alpha[1] && alpha[1] == alpha[2]);
/// let focal = FocalLoss::new(2.0)?.with_alpha(alpha)?;
/// # Ok::<(), focal_loss::LossError>(())
/// ```
pub fn effective_number(
    labels: &[usize],
    n_classes: usize,
    beta: f64,
) -> Result<Vec<f64>, LossError> {
    Weighting::new(Scheme::EffectiveNumber { beta })?
        .with_normalization(Normalization::SumToK)
        .from_labels(labels, n_classes)
}

/// The number of labels equal to each class `0..n_classes` (`np.bincount`
/// with `minlength = n_classes`, but out-of-range labels are an error).
///
/// # Errors
///
/// [`LossError::TargetOutOfRange`] for the first label `>= n_classes`.
///
/// # Examples
///
/// ```
/// use focal_loss::class_weight::count_labels;
/// assert_eq!(count_labels(&[2, 0, 2, 2], 4)?, vec![1, 0, 3, 0]);
/// assert!(count_labels(&[4], 4).is_err());
/// # Ok::<(), focal_loss::LossError>(())
/// ```
pub fn count_labels(labels: &[usize], n_classes: usize) -> Result<Vec<usize>, LossError> {
    let mut counts = crate::params::class_table(n_classes, 0_usize)?;
    for (i, &label) in labels.iter().enumerate() {
        match counts.get_mut(label) {
            Some(c) => *c += 1,
            None => {
                return Err(LossError::TargetOutOfRange {
                    position: vec![i],
                    target: label,
                    classes: n_classes,
                })
            }
        }
    }
    Ok(counts)
}
