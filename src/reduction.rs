//! How per-target losses are combined into one number.

/// How the per-target losses `l_n` are reduced to one value, with an
/// explicit denominator.
///
/// | variant | loss | matches |
/// |---|---|---|
/// | `Sum` | `Σ l_n` | every library's `'sum'` |
/// | `Mean` | `Σ l_n / #non-ignored targets` | torchvision `sigmoid_focal_loss` `'mean'`; PyTorch CE `'mean'` with probability targets; PyTorch `BCEWithLogitsLoss` `'mean'` |
/// | `WeightedMean` | `Σ l_n / Σ w_n` | PyTorch `NLLLoss` / `CrossEntropyLoss` `'mean'` with class indices |
///
/// For `WeightedMean`, `w_n` is the weight that scaled target `n`: the class
/// weight `w[y_n]` (`alpha[y_n]` for focal loss), or `Σ_c w_c t'_c` for
/// probability targets. Label smoothing does not change it (as in PyTorch).
///
/// PyTorch's `'none'` is [`per_target`](crate::CrossEntropyLoss::per_target).
///
/// Not every library's `'mean'` is `Mean`: kornia 0.9's multiclass
/// `focal_loss` averages a per-class map, so its `'mean'` divides by
/// `N · C · d1 ⋯ dk` (this crate's `Sum` divided by that count), and its
/// binary focal loss keeps ignored elements in the denominator. The sums
/// (`'sum'`) agree.
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
