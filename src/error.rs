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
}
