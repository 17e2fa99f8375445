//! How per-target losses are combined into one number.

/// How the per-target losses `l_n` are reduced to one value, with an
/// explicit denominator.
///
/// | variant | loss |
/// |---|---|
/// | `Sum` | `Σ l_n` |
/// | `Mean` | `Σ l_n / #non-ignored targets` (elements, for the sigmoid losses) |
/// | `WeightedMean` | `Σ l_n / Σ w_n` over the non-ignored targets |
///
/// For `WeightedMean`, `w_n` is the weight that scaled target `n`: the class
/// weight `w[y_n]` (`alpha[y_n]` for focal loss), or `Σ_c w_c t'_c` for
/// probability targets. Label smoothing does not change it (as in PyTorch).
///
/// PyTorch's `'none'` is [`per_target`](crate::CrossEntropyLoss::per_target);
/// every library's `'sum'` is `Sum`. Each library's `'mean'`, checked by
/// running it (`scripts/check_reductions.py`: torch 2.15, torchvision 0.29,
/// kornia 0.9, Keras 3.15 on its torch backend; mmdet read from its source):
///
/// | library, call | its `'mean'` divides by | here |
/// |---|---|---|
/// | PyTorch `cross_entropy` / `CrossEntropyLoss`, class indices (with `weight`, `ignore_index`) | `Σ w[y_n]` over non-ignored targets | `WeightedMean` (the default) |
/// | PyTorch `nll_loss` / `NLLLoss` | `Σ w[y_n]` over non-ignored targets | `WeightedMean` (the default) |
/// | PyTorch `cross_entropy`, probability targets | `N · d1 ⋯ dk` | `Mean` |
/// | PyTorch `binary_cross_entropy_with_logits` (`weight`, `pos_weight`) | all elements | `Mean` (the default) |
/// | torchvision `ops.sigmoid_focal_loss` | all elements | `Mean` (the default) |
/// | kornia `losses.focal_loss` (multiclass) | `N · C · d1 ⋯ dk`, ignored positions included | none: `Sum / (N · C · d1 ⋯ dk)`; equals `Mean / C` when nothing is ignored |
/// | kornia `losses.binary_focal_loss_with_logits` | all elements, ignored ones included | `Mean` only when nothing is ignored |
/// | Keras `CategoricalFocalCrossentropy`, `CategoricalCrossentropy`, default `sum_over_batch_size` | `N` (even with `sample_weight`) | `Mean` |
/// | Keras `SparseCategoricalCrossentropy(ignore_class=..)` | non-ignored samples | `Mean` |
/// | Keras `BinaryFocalCrossentropy` | all elements | `Mean` |
/// | mmdet `FocalLoss` / `weight_reduce_loss` | all elements (`avg_factor` when the caller passes one) | `Mean`; with `avg_factor`, `Sum` divided by it |
///
/// No library divides focal loss by `Σ alpha[y_n]`; that is `WeightedMean`
/// here, PyTorch's convention for class weights carried over to alpha.
///
/// A zero denominator (an empty batch, every target ignored, all weights 0)
/// gives loss `0` and a zero gradient, never NaN. PyTorch returns NaN there.
///
/// # Examples
///
/// ```
/// use focal_loss::{CrossEntropyLoss, Reduction};
/// use ndarray::array;
///
/// let logits = array![[2.0_f64, 0.0], [0.0, 2.0]];
/// let targets = array![0_usize, 0];
/// let sum = CrossEntropyLoss::new().with_reduction(Reduction::Sum);
/// let mean = CrossEntropyLoss::new().with_reduction(Reduction::Mean);
/// let s = sum.forward(&logits, &targets)?;
/// let m = mean.forward(&logits, &targets)?;
/// assert!((s - 2.0 * m).abs() < 1e-12);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// Sum of the per-target losses.
    Sum,
    /// Sum divided by the number of non-ignored targets (elements, for the
    /// sigmoid losses).
    Mean,
    /// Sum divided by the sum of the weights that scaled each target.
    WeightedMean,
}
