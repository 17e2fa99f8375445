//! Multi-label `pos_weight = n_neg / n_pos` per column, with the
//! zero-frequency guard.

use ndarray::{ArrayBase, Data, Ix2};
use num_traits::ToPrimitive;

use super::ZeroFrequency;
use crate::error::LossError;

/// Per-column `pos_weight = n_neg / n_pos` from a multi-label target matrix
/// `y` of shape `(n_samples, n_labels)` with entries 0 or 1 (any numeric
/// type): the weight PyTorch's `BCEWithLogitsLoss(pos_weight=..)` documents
/// for balancing each label's positives against its negatives, so that
/// positives and negatives contribute equally (`n_pos · pos_weight = n_neg`).
///
/// A column with no positives (the ratio is undefined) or no negatives (it
/// is 0, which would silence the label) is handled by `zero`:
///
/// - `Error`: [`LossError::DegenerateColumn`];
/// - `Fixed(w)`: that column gets `w`; the others `n_neg / n_pos`;
/// - `PseudoCount(k)`: every column gets `(n_neg + k) / (n_pos + k)`.
///
/// # Errors
///
/// [`LossError::InvalidTarget`] for an entry other than 0 or 1 (naming its
/// `[row, column]`); [`LossError::InvalidParameter`] for an invalid policy
/// parameter; [`LossError::DegenerateColumn`] as above;
/// [`LossError::NonFiniteWeight`] (naming the column) when a pseudo-count
/// so small makes `(n_neg + k) / k` exceed `f64::MAX`.
///
/// # Examples
///
/// ```
/// use focal_loss::class_weight::{pos_weight, ZeroFrequency};
/// use ndarray::array;
///
/// let y = array![[1_u8, 0, 0], [0, 0, 1], [0, 1, 1], [0, 0, 1]];
/// assert_eq!(pos_weight(&y, ZeroFrequency::Error)?, vec![3.0, 3.0, 1.0 / 3.0]);
///
/// let y = array![[1.0, 0.0], [1.0, 0.0]]; // column 1 has no positives
/// assert!(pos_weight(&y, ZeroFrequency::Error).is_err());
/// assert_eq!(pos_weight(&y, ZeroFrequency::Fixed(1.0))?, vec![1.0, 1.0]);
/// assert_eq!(pos_weight(&y, ZeroFrequency::PseudoCount(1.0))?, vec![1.0 / 3.0, 3.0]);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
pub fn pos_weight<A, S>(y: &ArrayBase<S, Ix2>, zero: ZeroFrequency) -> Result<Vec<f64>, LossError>
where
    A: ToPrimitive,
    S: Data<Elem = A>,
{
    let zero = zero.checked()?;
    let (n_samples, n_labels) = y.dim();
    let mut positives = vec![0_usize; n_labels];
    for ((row, col), v) in y.indexed_iter() {
        let value = v.to_f64().unwrap_or(f64::NAN);
        if value == 1.0 {
            positives[col] += 1;
        } else if value != 0.0 {
            return Err(LossError::InvalidTarget {
                position: vec![row, col],
                value,
                expected: "0 or 1",
            });
        }
    }
    positives
        .iter()
        .enumerate()
        .map(|(column, &n_pos)| {
            let n_neg = n_samples - n_pos;
            match zero {
                ZeroFrequency::PseudoCount(k) => {
                    let value = (n_neg as f64 + k) / (n_pos as f64 + k);
                    if value.is_finite() {
                        Ok(value)
                    } else {
                        Err(LossError::NonFiniteWeight {
                            class: format!("{column:?}"),
                            index: column,
                            value,
                        })
                    }
                }
                _ if n_pos > 0 && n_neg > 0 => Ok(n_neg as f64 / n_pos as f64),
                ZeroFrequency::Fixed(w) => Ok(w),
                ZeroFrequency::Error => Err(LossError::DegenerateColumn {
                    column,
                    positives: n_pos,
                    samples: n_samples,
                }),
            }
        })
        .collect()
}
