//! Validated loss parameters, stored once in `f64` and once in `f32` so a
//! loss configured once serves both precisions without converting (or
//! allocating) on each call.

use crate::error::LossError;
use crate::float::LossFloat;

/// A validated per-class vector (weights, alpha, pos_weight).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PerClass {
    v64: Vec<f64>,
    v32: Vec<f32>,
}

impl PerClass {
    /// Validates that every entry is finite and `>= 0`.
    pub fn new(name: &'static str, values: &[f64]) -> Result<Self, LossError> {
        for (index, &value) in values.iter().enumerate() {
            if !(value.is_finite() && value >= 0.0) {
                return Err(LossError::InvalidParameterEntry {
                    name,
                    index,
                    value,
                    expected: "a finite, non-negative number",
                });
            }
        }
        Ok(Self::new_unchecked(values))
    }

    /// Like [`PerClass::new`], but every entry must also be `<= 1`.
    pub fn new_unit(name: &'static str, values: &[f64]) -> Result<Self, LossError> {
        for (index, &value) in values.iter().enumerate() {
            if !(0.0..=1.0).contains(&value) {
                return Err(LossError::InvalidParameterEntry {
                    name,
                    index,
                    value,
                    expected: "a number in [0, 1]",
                });
            }
        }
        Ok(Self::new_unchecked(values))
    }

    fn new_unchecked(values: &[f64]) -> Self {
        Self {
            v64: values.to_vec(),
            v32: values.iter().map(|&v| v as f32).collect(),
        }
    }

    /// The values in precision `F`.
    pub fn get<F: LossFloat>(&self) -> &[F] {
        F::select(&self.v64, &self.v32)
    }

    /// The values as given.
    pub fn as_f64(&self) -> &[f64] {
        &self.v64
    }
}

/// `gamma` must be finite and `>= 0`.
pub(crate) fn check_gamma(gamma: f64) -> Result<f64, LossError> {
    if gamma.is_finite() && gamma >= 0.0 {
        Ok(gamma)
    } else {
        Err(LossError::InvalidParameter {
            name: "gamma",
            value: gamma,
            expected: "a finite number >= 0",
        })
    }
}

/// A parameter that must lie in `[0, 1]` (label smoothing, scalar alpha).
pub(crate) fn check_unit(name: &'static str, v: f64) -> Result<f64, LossError> {
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(LossError::InvalidParameter {
            name,
            value: v,
            expected: "a number in [0, 1]",
        })
    }
}

/// A parameter that must be finite and `>= 0` (a scalar weight).
pub(crate) fn check_nonneg(name: &'static str, v: f64) -> Result<f64, LossError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(LossError::InvalidParameter {
            name,
            value: v,
            expected: "a finite number >= 0",
        })
    }
}
