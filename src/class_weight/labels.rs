//! Label bookkeeping shared by the class-weight functions: the class lookup,
//! label → class index, and weighted class counts.

use std::collections::BTreeMap;
use std::fmt::Debug;

use super::wide::Wide;
use crate::error::LossError;

/// Maps each class to its index in `classes`.
///
/// # Errors
///
/// [`LossError::DuplicateClass`] if a class appears twice.
pub(super) fn class_index<T: Ord + Debug>(classes: &[T]) -> Result<BTreeMap<&T, usize>, LossError> {
    let mut lookup = BTreeMap::new();
    for (second, class) in classes.iter().enumerate() {
        if let Some(&first) = lookup.get(class) {
            return Err(LossError::DuplicateClass {
                class: format!("{class:?}"),
                first,
                second,
            });
        }
        lookup.insert(class, second);
    }
    Ok(lookup)
}

/// A label that can be looked up among classes of type `T`: a `T` itself,
/// or a `String` among `&str` classes (labels read from a file, classes
/// written in the code). Sealed.
///
/// # Examples
///
/// ```
/// use focal_loss::class_weight::{compute_class_weight, ClassWeight};
///
/// let y: Vec<String> = ["cat", "cat", "cat", "dog"].iter().map(|s| s.to_string()).collect();
/// let w = compute_class_weight(&ClassWeight::Balanced, &["cat", "dog"], &y, None)?;
/// assert_eq!(w, vec![4.0 / 6.0, 2.0]);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
pub trait ClassLabel<T>: Debug + sealed::Sealed<T> {
    /// This label's class index in `lookup`, if it is a class.
    #[doc(hidden)]
    fn find(&self, lookup: &BTreeMap<&T, usize>) -> Option<usize>;
}

mod sealed {
    pub trait Sealed<T> {}
    impl<T: Ord> Sealed<T> for T {}
    impl Sealed<&str> for String {}
}

impl<T: Ord + Debug> ClassLabel<T> for T {
    fn find(&self, lookup: &BTreeMap<&T, usize>) -> Option<usize> {
        lookup.get(self).copied()
    }
}

impl<'a> ClassLabel<&'a str> for String {
    fn find(&self, lookup: &BTreeMap<&&'a str, usize>) -> Option<usize> {
        // The map is covariant in its keys: look up with this label's lifetime.
        let lookup: &BTreeMap<&&str, usize> = lookup;
        lookup.get(&self.as_str()).copied()
    }
}

/// The class index of every label.
///
/// # Errors
///
/// [`LossError::LabelNotInClasses`] naming the first label that is not a class.
pub(super) fn index_labels<T: Ord + Debug, Y: ClassLabel<T>>(
    lookup: &BTreeMap<&T, usize>,
    y: &[Y],
) -> Result<Vec<usize>, LossError> {
    y.iter()
        .enumerate()
        .map(|(i, label)| {
            label
                .find(lookup)
                .ok_or_else(|| LossError::LabelNotInClasses {
                    label: format!("{label:?}"),
                    position: vec![i],
                })
        })
        .collect()
}

/// `n_c = Σ_{idx_i = c} s_i` over `k` classes, after checking the sample
/// weights as scikit-learn's `_check_sample_weight` does (length, finite,
/// not all zero) and, beyond it, non-negative. The sums are [`Wide`], so a
/// class's total weight may exceed `f64::MAX`.
///
/// # Errors
///
/// [`LossError::ShapeMismatch`] for a length other than `idx.len()`;
/// [`LossError::InvalidParameterEntry`] for a negative or non-finite weight;
/// [`LossError::ZeroTotalWeight`] if every weight is 0 (or there are none).
pub(super) fn weighted_counts(
    idx: &[usize],
    k: usize,
    sample_weight: &[f64],
) -> Result<Vec<Wide>, LossError> {
    if sample_weight.len() != idx.len() {
        return Err(LossError::ShapeMismatch {
            what: "sample_weight",
            expected: vec![idx.len()],
            actual: vec![sample_weight.len()],
        });
    }
    for (index, &value) in sample_weight.iter().enumerate() {
        if !(value.is_finite() && value >= 0.0) {
            return Err(LossError::InvalidParameterEntry {
                name: "sample_weight",
                index,
                value,
                expected: "a finite, non-negative number",
            });
        }
    }
    if sample_weight.iter().all(|&s| s == 0.0) {
        return Err(LossError::ZeroTotalWeight { samples: idx.len() });
    }
    let mut counts = crate::params::class_table(k, Wide::ZERO)?;
    for (&i, &s) in idx.iter().zip(sample_weight) {
        counts[i] = counts[i].add(Wide::new(s));
    }
    Ok(counts)
}

/// The sorted distinct values of `y` (`np.unique`).
pub(super) fn unique<'a, T: Ord>(y: &[&'a T]) -> Vec<&'a T> {
    let mut v = y.to_vec();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_class_names_both_positions() {
        let e = class_index(&[3, 1, 3]).err();
        assert_eq!(
            e,
            Some(LossError::DuplicateClass {
                class: "3".into(),
                first: 0,
                second: 2
            })
        );
    }

    #[test]
    fn negative_sample_weight_is_rejected() {
        let e = weighted_counts(&[0, 1], 2, &[1.0, -1.0]).err();
        assert!(matches!(
            e,
            Some(LossError::InvalidParameterEntry {
                name: "sample_weight",
                index: 1,
                ..
            })
        ));
    }
}
