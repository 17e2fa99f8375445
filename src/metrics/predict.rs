//! From model output to predictions: the class of highest score per row
//! ([`argmax`]), the `k` best classes ([`top_k`]), multi-label thresholding
//! ([`multilabel`]), and a confusion matrix straight from logits.

use super::ConfusionMatrix;
use crate::error::{unravel, LossError};
use crate::kernel::float::LossFloat;
use ndarray::{Array, Array2, ArrayBase, Data, Dimension, Ix2};

/// Errors on the first NaN (`±inf` are ordinary scores: `-inf` is a masked
/// class, `+inf` a certain one).
fn check_scores<F: LossFloat, S: Data<Elem = F>, D: Dimension>(
    scores: &ArrayBase<S, D>,
) -> Result<(), LossError> {
    match scores.iter().position(|v| v.is_nan()) {
        None => Ok(()),
        Some(i) => Err(LossError::NonFiniteInput {
            what: "logits",
            position: unravel(i, scores.shape()),
            value: f64::NAN,
        }),
    }
}

/// The class of highest score in each row of `(N, C)` logits (or
/// probabilities: softmax keeps the order), as `ConfusionMatrix` and the
/// losses take it. Ties go to the lowest class index (NumPy's and PyTorch's
/// `argmax`).
///
/// # Errors
///
/// [`LossError::NoClasses`] if `C = 0`; [`LossError::NonFiniteInput`]
/// naming the first NaN.
///
/// # Examples
///
/// ```
/// use focal_loss::metrics::argmax;
/// use ndarray::array;
///
/// let logits = array![[0.1_f32, 2.0, -1.0], [3.0, 3.0, 0.0]];
/// assert_eq!(argmax(&logits)?, vec![1, 0]);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
pub fn argmax<F: LossFloat, S: Data<Elem = F>>(
    logits: &ArrayBase<S, Ix2>,
) -> Result<Vec<usize>, LossError> {
    if logits.ncols() == 0 {
        return Err(LossError::NoClasses);
    }
    check_scores(logits)?;
    Ok(logits
        .rows()
        .into_iter()
        .map(|r| {
            let mut best = 0;
            for (k, &v) in r.iter().enumerate() {
                if v > r[best] {
                    best = k;
                }
            }
            best
        })
        .collect())
}

/// The `k` classes of highest score in each row of `(N, C)` logits, best
/// first: an `(N, k)` array. Equal scores keep the lower class index first
/// (a stable sort), so `top_k(x, 1)` is [`argmax`].
///
/// # Errors
///
/// [`LossError::InvalidParameter`] (`k`) unless `1 <= k <= C`;
/// [`LossError::NonFiniteInput`] naming the first NaN.
///
/// # Examples
///
/// ```
/// use focal_loss::metrics::top_k;
/// use ndarray::array;
///
/// let logits = array![[0.1_f64, 2.0, -1.0, 0.5]];
/// assert_eq!(top_k(&logits, 2)?, array![[1, 3]]);
/// // Top-2 accuracy: is the true class among the two best?
/// let hit = top_k(&logits, 2)?.row(0).iter().any(|&c| c == 3);
/// assert!(hit);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
pub fn top_k<F: LossFloat, S: Data<Elem = F>>(
    logits: &ArrayBase<S, Ix2>,
    k: usize,
) -> Result<Array2<usize>, LossError> {
    let c = logits.ncols();
    if k == 0 || k > c {
        return Err(LossError::InvalidParameter {
            name: "k",
            value: k as f64,
            expected: "a number of classes in 1..=C",
        });
    }
    check_scores(logits)?;
    let mut out = Array2::zeros((logits.nrows(), k));
    let mut order: Vec<usize> = Vec::with_capacity(c);
    for (row, mut dst) in logits.rows().into_iter().zip(out.rows_mut()) {
        order.clear();
        order.extend(0..c);
        // No NaN (checked), so the comparison is total.
        order.sort_by(|&a, &b| {
            row[b]
                .partial_cmp(&row[a])
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        for (d, &o) in dst.iter_mut().zip(&order) {
            *d = o;
        }
    }
    Ok(out)
}

/// Multi-label predictions from sigmoid logits of any shape: `true` where
/// `σ(x) >= threshold`, i.e. where the predicted probability of the label
/// reaches `threshold` (0.5 is `x >= 0`). Compared in logit space,
/// `x >= ln(t / (1 - t))`, so no probability rounds to 0 or 1 first.
///
/// # Errors
///
/// [`LossError::InvalidParameter`] (`threshold`) unless `0 < threshold < 1`;
/// [`LossError::NonFiniteInput`] naming the first NaN.
///
/// # Examples
///
/// ```
/// use focal_loss::metrics::multilabel;
/// use ndarray::array;
///
/// let logits = array![[2.0_f32, -1.0, 0.0], [-3.0, 0.5, -0.1]];
/// assert_eq!(multilabel(&logits, 0.5)?, array![[true, false, true], [false, true, false]]);
/// // A lower threshold for rare labels trades precision for recall.
/// assert_eq!(multilabel(&logits, 0.25)?.row(1).to_vec(), vec![false, true, true]);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
pub fn multilabel<F: LossFloat, S: Data<Elem = F>, D: Dimension>(
    logits: &ArrayBase<S, D>,
    threshold: f64,
) -> Result<Array<bool, D>, LossError> {
    if !(threshold > 0.0 && threshold < 1.0) {
        return Err(LossError::InvalidParameter {
            name: "threshold",
            value: threshold,
            expected: "a probability in (0, 1)",
        });
    }
    check_scores(logits)?;
    let cut = (threshold / (1.0 - threshold)).ln();
    Ok(logits.map(|&x| x.to_f64_() >= cut))
}

impl ConfusionMatrix {
    /// The confusion matrix of the [`argmax`] predictions of `(N, C)`
    /// logits against the true classes `y_true`, over `C` classes.
    ///
    /// # Errors
    ///
    /// As [`argmax`] and [`ConfusionMatrix::new`] (a length mismatch, a
    /// true class `>= C`).
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::metrics::ConfusionMatrix;
    /// use ndarray::array;
    ///
    /// let logits = array![[2.0_f64, 0.1, 0.0], [0.3, 0.2, 1.5], [0.0, 0.4, 0.1]];
    /// let cm = ConfusionMatrix::from_logits(&logits, &[0, 2, 2])?;
    /// assert_eq!(cm.recall(), vec![1.0, 0.0, 0.5]);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    pub fn from_logits<F: LossFloat, S: Data<Elem = F>>(
        logits: &ArrayBase<S, Ix2>,
        y_true: &[usize],
    ) -> Result<Self, LossError> {
        let pred = argmax(logits)?;
        Self::new(y_true, &pred, logits.ncols())
    }
}
