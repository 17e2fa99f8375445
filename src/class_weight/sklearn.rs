//! scikit-learn 1.9's `compute_class_weight`, with its errors as typed
//! variants.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use super::labels::{class_index, index_labels, ClassLabel};
use super::Weighting;
use crate::error::LossError;

/// The `class_weight` argument of [`compute_class_weight`]: scikit-learn's
/// `'balanced'`, a dict, or `None`.
///
/// # Examples
///
/// ```
/// use focal_loss::class_weight::{compute_class_weight, ClassWeight};
/// use std::collections::BTreeMap;
///
/// let custom = ClassWeight::Custom(BTreeMap::from([("spam", 5.0)]));
/// let w = compute_class_weight(&custom, &["ham", "spam"], &["ham", "spam", "ham"], None)?;
/// assert_eq!(w, vec![1.0, 5.0]);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum ClassWeight<T> {
    /// Every class weighs 1 (scikit-learn's `None`, or an empty dict).
    Uniform,
    /// `w_c = Σs / (K Σ_{y_i = c} s_i)`, i.e. `n / (K n_c)` without sample
    /// weights (scikit-learn's `'balanced'`).
    Balanced,
    /// One weight per listed class (finite, `>= 0`); an unlisted class
    /// weighs 1. As in scikit-learn, a key that is not a class is an error
    /// only when some class is unlisted (the key is then presumably a typo
    /// for it); keys for classes absent from this `y` are allowed when every
    /// class is listed.
    Custom(BTreeMap<T, f64>),
}

/// scikit-learn's `compute_class_weight(class_weight, classes=classes, y=y,
/// sample_weight=sample_weight)`: one weight per entry of `classes`, in
/// `classes`' order.
///
/// - `Balanced`: `w_c = Σ_i s_i / (K Σ_{y_i = c} s_i)` with `K = |classes|`
///   and `s_i = 1` without sample weights, i.e. `n / (K n_c)`.
/// - `Custom(map)`: `map[c]` for listed classes, 1 for the others.
/// - `Uniform`: 1 for every class.
///
/// `classes` must list every label in `y` (any order, no duplicates); labels
/// may be any ordered type (`usize`, `i64`, `&str`, `String`, ..), and `y`
/// may hold `String` labels for `&str` classes ([`ClassLabel`](super::ClassLabel)).
/// `sample_weight` is only used by `Balanced` (and, as in scikit-learn, not
/// checked otherwise).
///
/// Where scikit-learn returns `inf` (a class whose samples all have sample
/// weight 0) this returns [`LossError::ZeroClassWeight`]. For the other
/// zero-frequency policies, or other schemes, use
/// [`Weighting::from_classes`]. Beyond scikit-learn, duplicate classes,
/// negative sample weights and negative or non-finite custom weights are
/// errors.
///
/// # Errors
///
/// In scikit-learn's order:
/// [`LossError::DuplicateClass`] (not an error in scikit-learn);
/// [`LossError::LabelNotInClasses`] — "classes should include all valid
/// labels that can be in y";
/// `Balanced`: [`LossError::ClassNotInLabels`] — "classes should have valid
/// labels that are in y"; [`LossError::ShapeMismatch`] (`"sample_weight"`)
/// for a length other than `y`'s; [`LossError::InvalidParameterEntry`]
/// (`"sample_weight"`) for a NaN, infinite or negative sample weight;
/// [`LossError::ZeroTotalWeight`] — "Sample weights must contain at least one
/// non-zero number" (also for empty `y` and `classes`);
/// [`LossError::ZeroClassWeight`] where scikit-learn returns `inf`;
/// [`LossError::NonFiniteWeight`] where a weight exceeds `f64::MAX` (sample
/// weights so extreme that `Σs / (K S_c)` does);
/// `Custom`: [`LossError::UnknownClassWeightKey`] — "The classes, [..], are
/// not in class_weight"; [`LossError::InvalidClassWeight`].
///
/// # Examples
///
/// ```
/// use focal_loss::class_weight::{compute_class_weight, ClassWeight};
/// use focal_loss::{FocalLoss, LossError};
///
/// let y = [1_i64, 1, 1, 1, 0, 0];
/// let w = compute_class_weight(&ClassWeight::Balanced, &[0, 1], &y, None)?;
/// assert_eq!(w, vec![1.5, 0.75]);
/// let focal = FocalLoss::new(2.0)?.with_alpha(w)?;
///
/// let e = compute_class_weight(&ClassWeight::Balanced, &[0, 1, 2], &y, None);
/// assert_eq!(e, Err(LossError::ClassNotInLabels { class: "2".into(), index: 2 }));
/// # Ok::<(), LossError>(())
/// ```
pub fn compute_class_weight<T: Ord + Debug, Y: ClassLabel<T>>(
    class_weight: &ClassWeight<T>,
    classes: &[T],
    y: &[Y],
    sample_weight: Option<&[f64]>,
) -> Result<Vec<f64>, LossError> {
    class_weight_of(Spec::from(class_weight), classes, y, sample_weight)
}

/// [`compute_class_weight`] for string labels, where the classes and the
/// labels may be held in different string types: `&str` classes for
/// `String` labels read from a file, say (the same function with one type
/// `T` would make both `String` or both `&str`). Class-weight keys may be
/// `String` or `&str` too.
///
/// # Errors
///
/// As [`compute_class_weight`]; labels are named in them as strings.
///
/// # Examples
///
/// ```
/// use focal_loss::class_weight::{compute_class_weight_str, ClassWeight};
///
/// let y: Vec<String> = ["cat", "cat", "cat", "dog"].iter().map(|s| s.to_string()).collect();
/// let w = compute_class_weight_str(&ClassWeight::<&str>::Balanced, &["cat", "dog"], &y, None)?;
/// assert_eq!(w, vec![4.0 / 6.0, 2.0]);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
pub fn compute_class_weight_str<K, C, Y>(
    class_weight: &ClassWeight<K>,
    classes: &[C],
    y: &[Y],
    sample_weight: Option<&[f64]>,
) -> Result<Vec<f64>, LossError>
where
    K: Borrow<str> + Ord,
    C: AsRef<str>,
    Y: AsRef<str>,
{
    let classes: Vec<&str> = classes.iter().map(AsRef::as_ref).collect();
    let y: Vec<&str> = y.iter().map(AsRef::as_ref).collect();
    let cw: ClassWeight<&str> = match class_weight {
        ClassWeight::Uniform => ClassWeight::Uniform,
        ClassWeight::Balanced => ClassWeight::Balanced,
        ClassWeight::Custom(map) => {
            ClassWeight::Custom(map.iter().map(|(k, &v)| (k.borrow(), v)).collect())
        }
    };
    compute_class_weight(&cw, &classes, &y, sample_weight)
}

/// A borrowed [`ClassWeight`], so that callers holding a map elsewhere
/// (in a [`SampleClassWeight`](super::SampleClassWeight)) need not clone it.
pub(super) enum Spec<'a, T> {
    /// [`ClassWeight::Uniform`].
    Uniform,
    /// [`ClassWeight::Balanced`].
    Balanced,
    /// [`ClassWeight::Custom`].
    Custom(&'a BTreeMap<T, f64>),
}

impl<'a, T> From<&'a ClassWeight<T>> for Spec<'a, T> {
    fn from(cw: &'a ClassWeight<T>) -> Self {
        match cw {
            ClassWeight::Uniform => Spec::Uniform,
            ClassWeight::Balanced => Spec::Balanced,
            ClassWeight::Custom(map) => Spec::Custom(map),
        }
    }
}

/// [`compute_class_weight`] for classes and labels held as `T` or `&T`.
pub(super) fn class_weight_of<T, U, Y>(
    spec: Spec<'_, T>,
    classes: &[U],
    y: &[Y],
    sample_weight: Option<&[f64]>,
) -> Result<Vec<f64>, LossError>
where
    T: Ord + Debug,
    U: Ord + Debug + Borrow<T>,
    Y: ClassLabel<U>,
{
    match spec {
        Spec::Balanced => Weighting::default().from_classes(classes, y, sample_weight),
        Spec::Uniform => {
            index_labels(&class_index(classes)?, y)?;
            Ok(vec![1.0; classes.len()])
        }
        Spec::Custom(map) => {
            index_labels(&class_index(classes)?, y)?;
            custom_weights(map, classes)
        }
    }
}

/// `map[c]` for listed classes, 1 for the others, with scikit-learn's key
/// check.
fn custom_weights<T, U>(map: &BTreeMap<T, f64>, classes: &[U]) -> Result<Vec<f64>, LossError>
where
    T: Ord + Debug,
    U: Debug + Borrow<T>,
{
    let unlisted: Vec<String> = classes
        .iter()
        .filter(|c| !map.contains_key((*c).borrow()))
        .map(|c| format!("{c:?}"))
        .collect();
    if !unlisted.is_empty() {
        let class_set: BTreeSet<&T> = classes.iter().map(Borrow::borrow).collect();
        if let Some(key) = map.keys().find(|k| !class_set.contains(k)) {
            return Err(LossError::UnknownClassWeightKey {
                key: format!("{key:?}"),
                unlisted,
            });
        }
    }
    classes
        .iter()
        .map(|c| match map.get(c.borrow()) {
            None => Ok(1.0),
            Some(&w) if w.is_finite() && w >= 0.0 => Ok(w),
            Some(&value) => Err(LossError::InvalidClassWeight {
                class: format!("{c:?}"),
                value,
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_key_is_fine_when_every_class_is_listed() {
        let map = BTreeMap::from([(0, 2.0), (1, 3.0), (5, 1.0)]);
        let w = compute_class_weight(&ClassWeight::Custom(map), &[0, 1], &[0, 1, 1], None);
        assert_eq!(w, Ok(vec![2.0, 3.0]));
    }

    #[test]
    fn extra_key_with_an_unlisted_class_is_an_error() {
        let map = BTreeMap::from([(0, 2.0), (5, 1.0)]);
        let w = compute_class_weight(&ClassWeight::Custom(map), &[0, 1], &[0, 1, 1], None);
        assert_eq!(
            w,
            Err(LossError::UnknownClassWeightKey {
                key: "5".into(),
                unlisted: vec!["1".into()]
            })
        );
    }

    #[test]
    fn string_labels_are_debug_formatted() {
        let w = compute_class_weight(&ClassWeight::Uniform, &["a"], &["a", "b"], None);
        assert_eq!(
            w,
            Err(LossError::LabelNotInClasses {
                label: "\"b\"".into(),
                position: vec![1]
            })
        );
    }
}
