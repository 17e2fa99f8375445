//! Classification metrics for imbalanced data, with scikit-learn parity,
//! and the predictions they are computed from: [`argmax`] and [`top_k`]
//! class indices, [`multilabel`] thresholding, or straight from logits with
//! [`ConfusionMatrix::from_logits`].
//!
//! Everything is derived from one [`ConfusionMatrix`] built from class-index
//! labels `y_true`, `y_pred` and the number of classes `C`:
//! accuracy, balanced accuracy, per-class precision / recall / F1 / support,
//! and their macro and support-weighted averages.
//!
//! ## Parity with scikit-learn
//!
//! The per-class scores and their averages equal scikit-learn's
//! `precision_recall_fscore_support(y_true, y_pred, labels=range(C))` (and
//! `f1_score(.., labels=range(C), average="macro" | "weighted")`) with the
//! default `zero_division="warn"`: a ratio whose denominator is 0 is `0`.
//! That is
//!
//! - precision of a class that is never predicted is `0`,
//! - recall of a class absent from `y_true` is `0`,
//! - F1 is `2 tp / (2 tp + fp + fn)`, and `0` when that denominator is 0
//!   (a class absent from both `y_true` and `y_pred`).
//!
//! Because every class in `0..C` is a label (as when scikit-learn is given
//! `labels` explicitly), a class absent from both `y_true` and `y_pred`
//! still counts in the macro average, with F1 `0`. Balanced accuracy equals
//! `balanced_accuracy_score(y_true, y_pred)`: the mean recall over the
//! classes present in `y_true` (classes only predicted are left out, as
//! scikit-learn does after its warning). No warnings are printed.
//!
//! Empty inputs are accepted (scikit-learn raises): the matrix is all zeros
//! and every score is `0`.
//!
//! # Examples
//!
//! ```
//! use focal_loss::metrics::ConfusionMatrix;
//!
//! let y_true = [0, 0, 0, 0, 1, 1, 2];
//! let y_pred = [0, 0, 0, 1, 1, 0, 0];
//! let cm = ConfusionMatrix::new(&y_true, &y_pred, 3)?;
//! assert_eq!(cm.support(), vec![4, 2, 1]);
//! assert_eq!(cm.recall(), vec![0.75, 0.5, 0.0]);
//! assert!((cm.balanced_accuracy() - 1.25 / 3.0).abs() < 1e-15);
//! # Ok::<(), focal_loss::LossError>(())
//! ```

use crate::error::LossError;
use ndarray::{Array2, ArrayView2};

mod predict;
pub use predict::{argmax, multilabel, top_k};

/// A `C × C` confusion matrix: entry `[i, j]` counts the samples of true
/// class `i` predicted as class `j` (scikit-learn's `confusion_matrix` with
/// `labels=range(C)`).
///
/// # Examples
///
/// ```
/// use focal_loss::metrics::ConfusionMatrix;
///
/// let cm = ConfusionMatrix::new(&[0, 1, 1, 2], &[0, 1, 2, 2], 3)?;
/// assert_eq!(cm.counts()[[1, 2]], 1);
/// assert_eq!(cm.accuracy(), 0.75);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    counts: Array2<usize>,
}

/// `num / den`, or `0` when `den` is 0 (scikit-learn's `zero_division="warn"`).
fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// The mean of `values`, or `0` for an empty slice.
fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

impl ConfusionMatrix {
    /// Counts `(y_true[i], y_pred[i])` pairs into a `n_classes × n_classes`
    /// matrix.
    ///
    /// # Errors
    ///
    /// - [`LossError::NoClasses`] if `n_classes` is 0.
    /// - [`LossError::ShapeMismatch`] (`what = "y_pred"`) if the two slices
    ///   differ in length.
    /// - [`LossError::TargetOutOfRange`] for the first label `>= n_classes`,
    ///   with its position `[i]`; `y_true` is checked before `y_pred`.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::{metrics::ConfusionMatrix, LossError};
    ///
    /// let cm = ConfusionMatrix::new(&[0, 1, 1], &[0, 0, 1], 2)?;
    /// assert_eq!(cm.counts(), ndarray::array![[1, 0], [1, 1]]);
    /// assert!(matches!(
    ///     ConfusionMatrix::new(&[0, 5], &[0, 1], 2),
    ///     Err(LossError::TargetOutOfRange { target: 5, .. })
    /// ));
    /// assert!(ConfusionMatrix::new(&[0, 1], &[0], 2).is_err());
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    pub fn new(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Result<Self, LossError> {
        if n_classes == 0 {
            return Err(LossError::NoClasses);
        }
        if y_true.len() != y_pred.len() {
            return Err(LossError::ShapeMismatch {
                what: "y_pred",
                expected: vec![y_true.len()],
                actual: vec![y_pred.len()],
            });
        }
        for labels in [y_true, y_pred] {
            if let Some((i, &target)) = labels.iter().enumerate().find(|(_, &l)| l >= n_classes) {
                return Err(LossError::TargetOutOfRange {
                    position: vec![i],
                    target,
                    classes: n_classes,
                });
            }
        }
        let cells = n_classes
            .checked_mul(n_classes)
            .ok_or(LossError::InvalidParameter {
                name: "n_classes",
                value: n_classes as f64,
                expected: "a class count whose confusion matrix fits in memory",
            })?;
        let table = crate::params::class_table(cells, 0_usize)?;
        let mut counts = Array2::from_shape_vec((n_classes, n_classes), table).map_err(|_| {
            LossError::InvalidParameter {
                name: "n_classes",
                value: n_classes as f64,
                expected: "a class count whose confusion matrix fits in memory",
            }
        })?;
        for (&t, &p) in y_true.iter().zip(y_pred) {
            counts[[t, p]] += 1;
        }
        Ok(Self { counts })
    }

    /// The counts, rows = true class, columns = predicted class.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[0, 1], &[1, 1], 2)?;
    /// assert_eq!(cm.counts(), ndarray::array![[0, 1], [0, 1]]);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn counts(&self) -> ArrayView2<'_, usize> {
        self.counts.view()
    }

    /// The number of classes `C`.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::metrics::ConfusionMatrix;
    /// assert_eq!(ConfusionMatrix::new(&[0], &[0], 4)?.n_classes(), 4);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn n_classes(&self) -> usize {
        self.counts.nrows()
    }

    /// The number of samples counted, `N = Σ_ij counts[i, j]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::metrics::ConfusionMatrix;
    /// assert_eq!(ConfusionMatrix::new(&[0, 1, 1], &[0, 0, 1], 2)?.total(), 3);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn total(&self) -> usize {
        self.counts.sum()
    }

    /// Samples per true class (row sums): scikit-learn's `support`.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[0, 1, 1], &[1, 1, 1], 3)?;
    /// assert_eq!(cm.support(), vec![1, 2, 0]);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn support(&self) -> Vec<usize> {
        self.counts.rows().into_iter().map(|r| r.sum()).collect()
    }

    /// Samples per predicted class (column sums).
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[0, 1, 1], &[1, 1, 1], 3)?;
    /// assert_eq!(cm.predicted(), vec![0, 3, 0]);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn predicted(&self) -> Vec<usize> {
        self.counts.columns().into_iter().map(|c| c.sum()).collect()
    }

    /// Correct predictions per class (the diagonal), `tp_c`.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[0, 1, 1], &[0, 0, 1], 3)?;
    /// assert_eq!(cm.true_positives(), vec![1, 1, 0]);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn true_positives(&self) -> Vec<usize> {
        self.counts.diag().to_vec()
    }

    /// Fraction of samples predicted correctly: `Σ_c tp_c / N` (`0` if `N = 0`).
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[0, 0, 0, 1], &[0, 0, 0, 0], 2)?;
    /// assert_eq!(cm.accuracy(), 0.75);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn accuracy(&self) -> f64 {
        ratio(self.counts.diag().sum(), self.total())
    }

    /// Per-class precision `tp_c / (tp_c + fp_c)` (column-wise), `0` for a
    /// class never predicted.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[0, 0, 1, 1], &[0, 1, 1, 1], 3)?;
    /// assert_eq!(cm.precision(), vec![1.0, 2.0 / 3.0, 0.0]);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn precision(&self) -> Vec<f64> {
        self.tp_over(self.predicted())
    }

    /// `tp_c / den_c` per class (`0` where `den_c = 0`).
    fn tp_over(&self, den: Vec<usize>) -> Vec<f64> {
        let tp = self.true_positives();
        tp.iter().zip(den).map(|(&t, d)| ratio(t, d)).collect()
    }

    /// Per-class recall `tp_c / (tp_c + fn_c)` (row-wise), `0` for a class
    /// absent from `y_true`.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[0, 0, 1, 1], &[0, 1, 1, 1], 3)?;
    /// assert_eq!(cm.recall(), vec![0.5, 1.0, 0.0]);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn recall(&self) -> Vec<f64> {
        self.tp_over(self.support())
    }

    /// Per-class F1 score `2 tp_c / (2 tp_c + fp_c + fn_c)` (the harmonic
    /// mean of precision and recall), `0` when the denominator is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[0, 0, 1, 1], &[0, 1, 1, 1], 3)?;
    /// assert_eq!(cm.f1(), vec![2.0 / 3.0, 0.8, 0.0]);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn f1(&self) -> Vec<f64> {
        let tp = self.true_positives();
        tp.iter()
            .zip(self.support().into_iter().zip(self.predicted()))
            .map(|(&t, (s, p))| ratio(2 * t, s + p))
            .collect()
    }

    /// Unweighted mean of the per-class precision over all `C` classes.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[0, 0, 1, 1], &[0, 1, 1, 1], 2)?;
    /// assert!((cm.macro_precision() - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-15);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn macro_precision(&self) -> f64 {
        mean(&self.precision())
    }

    /// Unweighted mean of the per-class recall over all `C` classes
    /// (classes absent from `y_true` count as `0`; compare
    /// [`balanced_accuracy`](Self::balanced_accuracy)).
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::metrics::ConfusionMatrix;
    /// // class 2 never occurs: it counts as recall 0 here
    /// let cm = ConfusionMatrix::new(&[0, 0, 1, 1], &[0, 1, 1, 1], 3)?;
    /// assert_eq!(cm.macro_recall(), 0.5);
    /// assert_eq!(cm.balanced_accuracy(), 0.75);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn macro_recall(&self) -> f64 {
        mean(&self.recall())
    }

    /// Macro-F1: the unweighted mean of the per-class F1 over all `C`
    /// classes, `Σ_c F1_c / C` (scikit-learn `average="macro"` with
    /// `labels=range(C)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[0, 0, 1, 1], &[0, 1, 1, 1], 2)?;
    /// assert!((cm.macro_f1() - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-15);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn macro_f1(&self) -> f64 {
        mean(&self.f1())
    }

    /// Support-weighted F1: `Σ_c n_c F1_c / Σ_c n_c` with `n_c` the support
    /// (scikit-learn `average="weighted"`); `0` when there are no samples.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[0, 0, 0, 1], &[0, 0, 0, 0], 2)?;
    /// assert!((cm.weighted_f1() - 0.75 * (6.0 / 7.0)).abs() < 1e-15);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn weighted_f1(&self) -> f64 {
        let support = self.support();
        let total: usize = support.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let weighted: f64 = self
            .f1()
            .iter()
            .zip(&support)
            .map(|(f, &s)| f * s as f64)
            .sum();
        weighted / total as f64
    }

    /// Balanced accuracy: the mean recall over the classes present in
    /// `y_true`, `Σ_{c: n_c > 0} recall_c / |{c: n_c > 0}|`
    /// (scikit-learn `balanced_accuracy_score`, `adjusted=False`); `0` when
    /// there are no samples.
    ///
    /// # Examples
    ///
    /// ```
    /// use focal_loss::metrics::ConfusionMatrix;
    /// // class 2 is predicted but never true: it is left out
    /// let cm = ConfusionMatrix::new(&[0, 0, 0, 1], &[0, 0, 2, 1], 3)?;
    /// assert!((cm.balanced_accuracy() - (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-15);
    /// # Ok::<(), focal_loss::LossError>(())
    /// ```
    #[must_use]
    pub fn balanced_accuracy(&self) -> f64 {
        let present: Vec<f64> = self
            .true_positives()
            .iter()
            .zip(self.support())
            .filter(|(_, s)| *s > 0)
            .map(|(&t, s)| ratio(t, s))
            .collect();
        mean(&present)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_gives_zeros() -> Result<(), LossError> {
        let cm = ConfusionMatrix::new(&[], &[], 3)?;
        assert_eq!(cm.total(), 0);
        assert_eq!(cm.accuracy(), 0.0);
        assert_eq!(cm.balanced_accuracy(), 0.0);
        assert_eq!(cm.macro_f1(), 0.0);
        assert_eq!(cm.weighted_f1(), 0.0);
        assert_eq!(cm.f1(), vec![0.0; 3]);
        Ok(())
    }

    #[test]
    fn errors_name_the_value() {
        assert_eq!(ConfusionMatrix::new(&[], &[], 0), Err(LossError::NoClasses));
        assert_eq!(
            ConfusionMatrix::new(&[0, 1], &[0, 1, 1], 2),
            Err(LossError::ShapeMismatch {
                what: "y_pred",
                expected: vec![2],
                actual: vec![3],
            })
        );
        assert_eq!(
            ConfusionMatrix::new(&[0, 1], &[0, 3], 2),
            Err(LossError::TargetOutOfRange {
                position: vec![1],
                target: 3,
                classes: 2,
            })
        );
    }
}
