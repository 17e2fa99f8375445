//! scikit-learn 1.9's `compute_sample_weight`: per-sample weights from class
//! weights, for 1-D and multi-output `y`, with the subsample rule.

use std::collections::BTreeMap;
use std::fmt::Debug;

use ndarray::{ArrayBase, Data, Ix2};

use super::labels::unique;
use super::sklearn::{class_weight_of, ClassWeight, Spec};
use super::wide::Wide;
use super::Weighting;
use crate::error::LossError;

/// The `class_weight` argument of [`compute_sample_weight`]: scikit-learn's
/// `None`, `'balanced'`, a dict, or a list with one entry per output.
///
/// # Examples
///
/// ```
/// use focal_loss::class_weight::{ClassWeight, SampleClassWeight};
/// use std::collections::BTreeMap;
///
/// let per_output = SampleClassWeight::PerOutput(vec![
///     ClassWeight::Balanced,
///     ClassWeight::Custom(BTreeMap::from([(1_i64, 3.0)])),
/// ]);
/// assert_eq!(SampleClassWeight::from(ClassWeight::<i64>::Balanced), SampleClassWeight::Balanced);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum SampleClassWeight<T> {
    /// Every sample weighs 1 (scikit-learn's `None`); single output only.
    Uniform,
    /// `'balanced'` for every output; the only choice with subsample `indices`.
    Balanced,
    /// One map for a single-output `y` (see [`ClassWeight::Custom`]).
    Custom(BTreeMap<T, f64>),
    /// One class weight per output of a multi-output `y` (scikit-learn's
    /// list of dicts, whose entries may also be `'balanced'` or `None`).
    PerOutput(Vec<ClassWeight<T>>),
}

impl<T> From<ClassWeight<T>> for SampleClassWeight<T> {
    fn from(cw: ClassWeight<T>) -> Self {
        match cw {
            ClassWeight::Uniform => SampleClassWeight::Uniform,
            ClassWeight::Balanced => SampleClassWeight::Balanced,
            ClassWeight::Custom(map) => SampleClassWeight::Custom(map),
        }
    }
}

impl<T> SampleClassWeight<T> {
    fn name(&self) -> &'static str {
        match self {
            SampleClassWeight::Uniform => "Uniform",
            SampleClassWeight::Balanced => "Balanced",
            SampleClassWeight::Custom(_) => "Custom",
            SampleClassWeight::PerOutput(_) => "PerOutput",
        }
    }
}

/// scikit-learn's `compute_sample_weight(class_weight, y, indices=indices)`
/// for a 1-D `y`: sample `i` gets the weight of its class, `w[y_i]`, with
/// the classes being the distinct labels of `y` and the class weights as in
/// [`compute_class_weight`](super::compute_class_weight).
///
/// With subsample `indices` (rows of `y`, repeats allowed, as for a
/// bootstrap) the class weights are `Balanced` weights computed on the
/// subsample `y[indices]` only, and applied to *every* sample of `y`; a
/// sample whose class does not occur in the subsample gets weight 0.
///
/// With `Balanced` and no `indices`, `Σ_i w_i = n`.
///
/// # Errors
///
/// In scikit-learn's order: [`LossError::SubsampleNeedsBalanced`] if
/// `indices` is given with anything but `Balanced`;
/// [`LossError::PerOutputCount`] for `PerOutput` (a 1-D `y` has one
/// output; scikit-learn rejects a list here too);
/// [`LossError::SubsampleIndexOutOfRange`] for an index `>= y.len()`;
/// [`LossError::ZeroTotalWeight`] with `Balanced` for an empty `y` or empty
/// `indices`; the `Custom` errors of
/// [`compute_class_weight`](super::compute_class_weight).
///
/// # Examples
///
/// ```
/// use focal_loss::class_weight::{compute_sample_weight, SampleClassWeight};
///
/// let y = [1, 1, 1, 1, 0, 0];
/// let w = compute_sample_weight(&SampleClassWeight::Balanced, &y, None)?;
/// assert_eq!(w, vec![0.75, 0.75, 0.75, 0.75, 1.5, 1.5]);
///
/// // Class 0 does not occur in the subsample: its samples get 0.
/// let w = compute_sample_weight(&SampleClassWeight::Balanced, &y, Some(&[0, 1]))?;
/// assert_eq!(w, vec![1.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
pub fn compute_sample_weight<T: Ord + Debug>(
    class_weight: &SampleClassWeight<T>,
    y: &[T],
    indices: Option<&[usize]>,
) -> Result<Vec<f64>, LossError> {
    let column: Vec<&T> = y.iter().collect();
    sample_weight_of(class_weight, &[column], y.len(), indices)
}

/// [`compute_sample_weight`] for a multi-output `y` of shape
/// `(n_samples, n_outputs)`: the weights of the outputs (columns), each
/// computed as for a 1-D `y`, multiplied: `w_i = Π_k w^{(k)}[y_ik]`.
///
/// With more than one output the class weight must be `Balanced` (per
/// output) or `PerOutput` with one entry per output; with one output it is
/// the 1-D case. With no outputs every sample weighs 1.
///
/// # Errors
///
/// In scikit-learn's order: [`LossError::SubsampleNeedsBalanced`];
/// [`LossError::NeedsPerOutputWeights`] for `Uniform` or `Custom` with more
/// than one output; [`LossError::PerOutputCount`] for a `PerOutput` list
/// whose length is not the number of outputs (or with a single output);
/// then the errors of [`compute_sample_weight`], output by output;
/// [`LossError::NonFiniteSampleWeight`] for the first sample whose product
/// of weights exceeds `f64::MAX` (products too small to represent round to
/// 0).
///
/// # Examples
///
/// ```
/// use focal_loss::class_weight::{compute_sample_weight_multi, ClassWeight, SampleClassWeight};
/// use ndarray::array;
/// use std::collections::BTreeMap;
///
/// let y = array![[0, 1], [1, 1], [1, 0]];
/// let cw = SampleClassWeight::PerOutput(vec![
///     ClassWeight::Custom(BTreeMap::from([(0, 2.0)])),
///     ClassWeight::Custom(BTreeMap::from([(1, 3.0)])),
/// ]);
/// assert_eq!(compute_sample_weight_multi(&cw, &y, None)?, vec![6.0, 3.0, 1.0]);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
pub fn compute_sample_weight_multi<T, S>(
    class_weight: &SampleClassWeight<T>,
    y: &ArrayBase<S, Ix2>,
    indices: Option<&[usize]>,
) -> Result<Vec<f64>, LossError>
where
    T: Ord + Debug,
    S: Data<Elem = T>,
{
    let columns: Vec<Vec<&T>> = y
        .columns()
        .into_iter()
        .map(|c| c.into_iter().collect())
        .collect();
    sample_weight_of(class_weight, &columns, y.nrows(), indices)
}

/// The shared implementation over the columns (outputs) of `y`.
fn sample_weight_of<T: Ord + Debug>(
    class_weight: &SampleClassWeight<T>,
    columns: &[Vec<&T>],
    n_samples: usize,
    indices: Option<&[usize]>,
) -> Result<Vec<f64>, LossError> {
    let outputs = columns.len();
    if indices.is_some() && *class_weight != SampleClassWeight::Balanced {
        return Err(LossError::SubsampleNeedsBalanced {
            given: class_weight.name(),
        });
    }
    match class_weight {
        SampleClassWeight::Uniform | SampleClassWeight::Custom(_) if outputs > 1 => {
            return Err(LossError::NeedsPerOutputWeights {
                outputs,
                given: class_weight.name(),
            })
        }
        SampleClassWeight::PerOutput(list)
            if outputs > 0 && (outputs == 1 || list.len() != outputs) =>
        {
            return Err(LossError::PerOutputCount {
                outputs,
                entries: list.len(),
            })
        }
        _ => {}
    }
    // The product in `Wide` arithmetic: an intermediate product beyond the
    // float range may come back (`MAX * 2 * 0.25`); where the `f64` product
    // does not overflow it is bitwise the same.
    let mut weights = vec![Wide::ONE; n_samples];
    // The last factor goes straight to `f64`, rounded once even where the
    // product is subnormal.
    let mut last = None;
    for (k, column) in columns.iter().enumerate() {
        let spec = match class_weight {
            SampleClassWeight::Uniform => Spec::Uniform,
            SampleClassWeight::Balanced => Spec::Balanced,
            SampleClassWeight::Custom(map) => Spec::Custom(map),
            SampleClassWeight::PerOutput(list) => match list.get(k) {
                Some(cw) => Spec::from(cw),
                None => Spec::Uniform, // unreachable: the length was checked
            },
        };
        let column_weights = match indices {
            Some(indices) => subsample_weights(column, indices)?,
            None => {
                let classes = unique(column);
                let per_class = class_weight_of(spec, &classes, column, None)?;
                lookup(column, &classes, &per_class)
            }
        };
        if k + 1 == columns.len() {
            let products = weights.iter().zip(column_weights);
            last = Some(
                products
                    .map(|(w, wk)| w.mul_to_f64(Wide::new(wk)))
                    .collect(),
            );
        } else {
            for (w, wk) in weights.iter_mut().zip(column_weights) {
                *w = w.mul(Wide::new(wk));
            }
        }
    }
    let values: Vec<f64> = last.unwrap_or_else(|| weights.iter().map(|w| w.to_f64()).collect());
    values
        .into_iter()
        .enumerate()
        .map(|(position, value)| {
            if value.is_finite() {
                Ok(value)
            } else {
                Err(LossError::NonFiniteSampleWeight { position, value })
            }
        })
        .collect()
}

/// scikit-learn's subsample rule for one output: `Balanced` weights of the
/// subsample `column[indices]`, applied to every sample of `column`; 0 for
/// the samples whose class is not in the subsample.
fn subsample_weights<T: Ord + Debug>(
    column: &[&T],
    indices: &[usize],
) -> Result<Vec<f64>, LossError> {
    let subsample = indices
        .iter()
        .enumerate()
        .map(|(position, &index)| {
            column
                .get(index)
                .copied()
                .ok_or(LossError::SubsampleIndexOutOfRange {
                    position,
                    index,
                    samples: column.len(),
                })
        })
        .collect::<Result<Vec<&T>, LossError>>()?;
    let classes = unique(&subsample);
    let per_class = Weighting::default().from_classes(&classes, &subsample, None)?;
    Ok(lookup(column, &classes, &per_class))
}

/// `per_class[j]` for each label equal to `classes[j]`; 0 for a label not in
/// `classes` (sorted).
fn lookup<T: Ord>(column: &[&T], classes: &[&T], per_class: &[f64]) -> Vec<f64> {
    column
        .iter()
        .map(|label| {
            classes
                .binary_search(label)
                .ok()
                .and_then(|j| per_class.get(j).copied())
                .unwrap_or(0.0)
        })
        .collect()
}
