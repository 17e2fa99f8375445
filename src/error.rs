//! The crate's error type.
//!
//! Every public function that can reject its input returns
//! `Result<_, LossError>`. Each variant carries the numbers needed to find
//! the offending value: the parameter's name and value, the position (a full
//! multi-dimensional index into the array it came from), or both shapes.

use std::fmt;

/// Everything that can go wrong when configuring or calling a loss.
///
/// Positions are full indices into the array named by `what`, e.g.
/// `[3, 1, 4]` for `logits[[3, 1, 4]]`.
///
/// # Examples
///
/// Match on the variants you handle; the enum is `#[non_exhaustive]`, so a
/// catch-all arm is needed:
///
/// ```
/// use focal_loss::{CrossEntropyLoss, LossError};
/// use ndarray::array;
///
/// let logits = array![[2.0_f32, 0.5, -1.0], [0.1, f32::NAN, 3.0]];
/// match CrossEntropyLoss::new().forward(&logits, &array![0_usize, 7]) {
///     Err(LossError::TargetOutOfRange { position, target, classes }) => {
///         assert_eq!((position, target, classes), (vec![1], 7, 3));
///     }
///     Err(LossError::NonFiniteInput { what, position, .. }) => {
///         panic!("{what} is not finite at {position:?}")
///     }
///     Err(other) => panic!("{other}"),
///     Ok(loss) => panic!("accepted: {loss}"),
/// }
/// // Every error prints its numbers.
/// let e = CrossEntropyLoss::new().with_weight([1.0, -2.0]).unwrap_err();
/// assert!(e.to_string().contains("-2"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LossError {
    /// Two arrays that must agree in shape do not.
    ShapeMismatch {
        /// Which array is wrong (e.g. `"targets"`).
        what: &'static str,
        /// The shape it must have.
        expected: Vec<usize>,
        /// The shape it has.
        actual: Vec<usize>,
    },
    /// An array has too few dimensions (logits need `(N, C, ..)`).
    TooFewDimensions {
        /// Which array.
        what: &'static str,
        /// Dimensions required at least.
        min: usize,
        /// Dimensions it has.
        actual: usize,
    },
    /// The class axis has length 0.
    NoClasses,
    /// A class-index target is not in `0..classes` (and not the ignore index).
    TargetOutOfRange {
        /// Index into the targets array.
        position: Vec<usize>,
        /// The target value found there.
        target: usize,
        /// Number of classes `C`.
        classes: usize,
    },
    /// A signed class-index target is negative and not the ignore index.
    NegativeTarget {
        /// Index into the targets array.
        position: Vec<usize>,
        /// The target value found there.
        target: i64,
        /// Number of classes `C`.
        classes: usize,
    },
    /// A per-class vector (weight, alpha, pos_weight) has the wrong length.
    LengthMismatch {
        /// Which parameter (`"weight"`, `"alpha"`, ..).
        what: &'static str,
        /// Required length (the number of classes `C`).
        expected: usize,
        /// Length given.
        actual: usize,
    },
    /// A scalar parameter is outside its domain (NaN, negative, > 1, ..).
    InvalidParameter {
        /// Parameter name (`"gamma"`, `"label_smoothing"`, ..).
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// The domain it must lie in, in words.
        expected: &'static str,
    },
    /// One entry of a per-class parameter vector is outside its domain.
    InvalidParameterEntry {
        /// Parameter name (`"weight"`, `"alpha"`, ..).
        name: &'static str,
        /// Index of the entry (the class).
        index: usize,
        /// The rejected value.
        value: f64,
        /// The domain it must lie in, in words.
        expected: &'static str,
    },
    /// An input value is NaN or `+inf` (logits, log-probabilities, upstream
    /// gradients). `-inf` logits are allowed: they mask a class.
    NonFiniteInput {
        /// Which array.
        what: &'static str,
        /// Index of the first offending value.
        position: Vec<usize>,
        /// The value found there.
        value: f64,
    },
    /// A target puts weight on a class whose logit is `-inf` (a masked
    /// class), which would make the loss infinite.
    MaskedTarget {
        /// Index into the logits of the masked entry.
        position: Vec<usize>,
    },
    /// A probability (soft) target is negative, NaN or infinite, or a
    /// binary target lies outside `[0, 1]`.
    InvalidTarget {
        /// Index into the targets array.
        position: Vec<usize>,
        /// The value found there.
        value: f64,
        /// The domain it must lie in, in words.
        expected: &'static str,
    },
    /// A label in `y` is not one of the given `classes` (scikit-learn:
    /// "classes should include all valid labels that can be in y").
    LabelNotInClasses {
        /// The label, formatted with `{:?}`.
        label: String,
        /// Its position in `y` (`[row]`, or `[row, output]` for multi-output `y`).
        position: Vec<usize>,
    },
    /// A class has no samples and the zero-frequency policy is `Error`
    /// (scikit-learn: "classes should have valid labels that are in y").
    ClassNotInLabels {
        /// The class, formatted with `{:?}` (its index for count vectors).
        class: String,
        /// Its index in `classes`.
        index: usize,
    },
    /// A class has samples but their sample weights are all 0 and the
    /// zero-frequency policy is `Error` (scikit-learn returns `inf` here).
    ZeroClassWeight {
        /// The class, formatted with `{:?}`.
        class: String,
        /// Its index in `classes`.
        index: usize,
        /// How many samples it has.
        samples: usize,
    },
    /// The samples' total weight is zero: every sample weight is 0, or there
    /// are no samples and no classes (scikit-learn: "Sample weights must
    /// contain at least one non-zero number").
    ZeroTotalWeight {
        /// Number of samples.
        samples: usize,
    },
    /// A class appears twice in `classes`.
    DuplicateClass {
        /// The class, formatted with `{:?}`.
        class: String,
        /// Index of its first occurrence.
        first: usize,
        /// Index of its second occurrence.
        second: usize,
    },
    /// A custom class-weight map has a key that is not a class while some
    /// class is missing from the map (scikit-learn: "The classes, [..], are
    /// not in class_weight").
    UnknownClassWeightKey {
        /// The first key that is not a class, formatted with `{:?}`.
        key: String,
        /// The classes missing from the map, formatted with `{:?}`.
        unlisted: Vec<String>,
    },
    /// A custom class weight is negative, NaN or infinite.
    InvalidClassWeight {
        /// The class, formatted with `{:?}`.
        class: String,
        /// The rejected weight.
        value: f64,
    },
    /// `compute_sample_weight` was given subsample `indices` with a class
    /// weight other than `Balanced` (scikit-learn: "The only valid
    /// class_weight for subsampling is 'balanced'").
    SubsampleNeedsBalanced {
        /// The class weight given (`"Uniform"`, `"Custom"`, `"PerOutput"`).
        given: &'static str,
    },
    /// Multi-output `y` with a single-output class weight (scikit-learn: "For
    /// multi-output, class_weight should be a list of dicts, or the string
    /// 'balanced'").
    NeedsPerOutputWeights {
        /// Number of outputs (columns of `y`).
        outputs: usize,
        /// The class weight given (`"Uniform"`, `"Custom"`).
        given: &'static str,
    },
    /// A per-output class-weight list does not have one entry per output of
    /// a multi-output `y` (or `y` has a single output).
    PerOutputCount {
        /// Number of outputs (columns of `y`).
        outputs: usize,
        /// Number of entries given.
        entries: usize,
    },
    /// A subsample index is not a row of `y`.
    SubsampleIndexOutOfRange {
        /// Position in `indices`.
        position: usize,
        /// The index found there.
        index: usize,
        /// Number of samples (rows of `y`).
        samples: usize,
    },
    /// A computed class weight is not finite (the counts are so extreme that
    /// the formula overflows).
    NonFiniteWeight {
        /// The class, formatted with `{:?}` (its index for count vectors).
        class: String,
        /// Its index in `classes`.
        index: usize,
        /// The value computed.
        value: f64,
    },
    /// A sample weight of `compute_sample_weight_multi` (the product of the
    /// sample's per-output class weights) exceeds `f64::MAX`.
    NonFiniteSampleWeight {
        /// The sample (row of `y`).
        position: usize,
        /// The value computed (`inf`).
        value: f64,
    },
    /// A multi-label column has no positives or no negatives, so
    /// `pos_weight = n_neg / n_pos` is undefined or 0, and the zero-frequency
    /// policy is `Error`.
    DegenerateColumn {
        /// The column (class).
        column: usize,
        /// Number of positives in it.
        positives: usize,
        /// Number of samples (rows).
        samples: usize,
    },
}

impl fmt::Display for LossError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LossError::ShapeMismatch {
                what,
                expected,
                actual,
            } => write!(f, "{what} has shape {actual:?}, expected {expected:?}"),
            LossError::TooFewDimensions { what, min, actual } => write!(
                f,
                "{what} has {actual} dimension(s), at least {min} required"
            ),
            LossError::NoClasses => write!(f, "the class axis (axis 1) has length 0"),
            LossError::TargetOutOfRange {
                position,
                target,
                classes,
            } => write!(
                f,
                "target {target} at {position:?} is out of range for {classes} classes"
            ),
            LossError::NegativeTarget {
                position,
                target,
                classes,
            } => write!(
                f,
                "target {target} at {position:?} is negative and not the ignore index: expected a class in 0..{classes}"
            ),
            LossError::LengthMismatch {
                what,
                expected,
                actual,
            } => write!(
                f,
                "{what} has length {actual}, expected {expected} (one per class)"
            ),
            LossError::InvalidParameter {
                name,
                value,
                expected,
            } => write!(f, "{name} = {value} is invalid: expected {expected}"),
            LossError::InvalidParameterEntry {
                name,
                index,
                value,
                expected,
            } => write!(
                f,
                "{name}[{index}] = {value} is invalid: expected {expected}"
            ),
            LossError::NonFiniteInput {
                what,
                position,
                value,
            } => write!(f, "{what} at {position:?} is {value}: inputs must be finite (or -inf to mask a class)"),
            LossError::MaskedTarget { position } => write!(
                f,
                "the target puts weight on logits {position:?} = -inf (a masked class): the loss would be infinite"
            ),
            LossError::InvalidTarget {
                position,
                value,
                expected,
            } => write!(
                f,
                "target {value} at {position:?} is invalid: expected {expected}"
            ),
            LossError::LabelNotInClasses { label, position } => write!(
                f,
                "label {label} at {position:?} is not one of the classes"
            ),
            LossError::ClassNotInLabels { class, index } => write!(
                f,
                "class {class} (index {index}) has no samples: scikit-learn's formula gives it no weight; to weight it anyway, use class_weight::Weighting with a ZeroFrequency policy other than Error (a fixed weight or a pseudo-count)"
            ),
            LossError::ZeroClassWeight {
                class,
                index,
                samples,
            } => write!(
                f,
                "class {class} (index {index}) has {samples} sample(s), all with sample weight 0: its balanced weight would be infinite"
            ),
            LossError::ZeroTotalWeight { samples } => write!(
                f,
                "the total sample weight over {samples} sample(s) is 0: at least one sample must have a non-zero weight"
            ),
            LossError::DuplicateClass {
                class,
                first,
                second,
            } => write!(
                f,
                "class {class} appears twice in classes, at {first} and {second}"
            ),
            LossError::UnknownClassWeightKey { key, unlisted } => write!(
                f,
                "class-weight key {key} is not a class, and the classes [{}] are not in the class-weight map",
                unlisted.join(", ")
            ),
            LossError::InvalidClassWeight { class, value } => write!(
                f,
                "class weight {value} for class {class} is invalid: expected a finite number >= 0"
            ),
            LossError::SubsampleNeedsBalanced { given } => write!(
                f,
                "subsample indices need the Balanced class weight, got {given}"
            ),
            LossError::NeedsPerOutputWeights { outputs, given } => write!(
                f,
                "y has {outputs} outputs: the class weight must be Balanced or PerOutput, got {given}"
            ),
            LossError::PerOutputCount { outputs, entries } => write!(
                f,
                "{entries} per-output class weight(s) for y with {outputs} output(s): PerOutput needs y with at least 2 outputs and one entry per output"
            ),
            LossError::SubsampleIndexOutOfRange {
                position,
                index,
                samples,
            } => write!(
                f,
                "subsample index {index} at position {position} is out of range for {samples} sample(s)"
            ),
            LossError::NonFiniteWeight {
                class,
                index,
                value,
            } => write!(
                f,
                "the weight of class {class} (index {index}) is {value}: the counts are too extreme"
            ),
            LossError::NonFiniteSampleWeight { position, value } => write!(
                f,
                "the weight of sample {position} is {value}: the product of its per-output class weights exceeds the float range"
            ),
            LossError::DegenerateColumn {
                column,
                positives,
                samples,
            } => write!(
                f,
                "column {column} has {positives} positive(s) among {samples} sample(s): pos_weight needs both positives and negatives"
            ),
        }
    }
}

impl std::error::Error for LossError {}

/// Converts a flat row-major offset into a full index for `shape`.
pub(crate) fn unravel(mut offset: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (i, &d) in shape.iter().enumerate().rev() {
        if d > 0 {
            idx[i] = offset % d;
            offset /= d;
        }
    }
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unravel_row_major() {
        assert_eq!(unravel(0, &[2, 3, 4]), vec![0, 0, 0]);
        assert_eq!(unravel(23, &[2, 3, 4]), vec![1, 2, 3]);
        assert_eq!(unravel(5, &[2, 3]), vec![1, 2]);
    }

    #[test]
    fn display_names_numbers() {
        let e = LossError::TargetOutOfRange {
            position: vec![3, 1],
            target: 7,
            classes: 4,
        };
        let s = e.to_string();
        assert!(
            s.contains('7') && s.contains("[3, 1]") && s.contains('4'),
            "{s}"
        );
    }

    #[test]
    fn class_weight_errors_name_the_label() {
        let e = LossError::LabelNotInClasses {
            label: "\"cat\"".into(),
            position: vec![5],
        };
        let s = e.to_string();
        assert!(s.contains("\"cat\"") && s.contains("[5]"), "{s}");
        let e = LossError::UnknownClassWeightKey {
            key: "9".into(),
            unlisted: vec!["1".into(), "2".into()],
        };
        let s = e.to_string();
        assert!(s.contains('9') && s.contains("[1, 2]"), "{s}");
    }
}
