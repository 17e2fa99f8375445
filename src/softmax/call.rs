//! The softmax family's part of the call path: validates shapes and
//! targets, counts the reduction denominator, lays the inputs out
//! row-major and runs the softmax kernel. The rest is [`crate::call`].

use super::targets::{index_stats, TargetView, Targets};
use crate::call::guard::Magnitudes;
use crate::call::layout::{check_len, check_shape, flat, geometry, max_or_one, widen};
use crate::call::{Call, Laid};
use crate::error::{unravel, LossError};
use crate::kernel::float::LossFloat;
use crate::kernel::label::Label;
use crate::kernel::level::{dispatch_levels, Level};
use crate::kernel::softmax::{self, SoftmaxKind, SoftmaxSpec, TargetSlice, Weights};
use crate::kernel::{Geom, Outputs};
use crate::params::PerClass;
use crate::reduction::Reduction;
use ndarray::{ArrayViewD, Dimension};
use std::borrow::Cow;

/// A loss call's configuration, borrowed from a loss type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config<'a, F> {
    pub spec: SoftmaxSpec<'a, F>,
    pub reduction: Reduction,
    /// Name of the input array in errors (`"logits"` or `"log_probs"`).
    pub input_name: &'static str,
    /// The ignore index as configured; `spec.ignore_index` holds its key
    /// for the call's label type.
    pub ignore: Option<i128>,
}

impl<'a, F: LossFloat> Config<'a, F> {
    /// A call's configuration from a loss type's settings: the loss
    /// `kind`, its class weights, ignore index,
    /// reduction and the input's name in errors.
    pub fn new(
        kind: SoftmaxKind<F>,
        weight: Weights<'a, F>,
        ignore: Option<i128>,
        reduction: Reduction,
        input_name: &'static str,
    ) -> Self {
        Config {
            spec: SoftmaxSpec {
                kind,
                weight,
                ignore_index: None,
            },
            reduction,
            input_name,
            ignore,
        }
    }
}

/// Per-class weights, or 1 for every class where none were set.
pub(crate) fn class_weights<F: LossFloat>(w: Option<&PerClass>) -> Weights<'_, F> {
    w.map_or(Weights::Uniform(F::one()), |w| Weights::PerClass(w.get()))
}

/// Targets laid out row-major.
enum Tgt<'a, F: Clone, L: Clone> {
    Index(Cow<'a, [L]>),
    Probs(Cow<'a, [F]>),
}

/// A validated softmax-family call: row-major inputs plus the reduction
/// denominators.
pub(crate) struct Prepared<'c, 'a, 'b, F: Clone, L: Clone> {
    cfg: Config<'c, F>,
    laid: Laid<'a, F>,
    t: Tgt<'b, F, L>,
    /// Sum over non-ignored positions of the weight that scaled each.
    weight_sum: f64,
}

/// The shape of one value per position: `shape` without axis 1.
pub(crate) fn position_shape(shape: &[usize]) -> Vec<usize> {
    let mut s = shape.to_vec();
    s.remove(1);
    s
}

/// Errors unless `actual` is `shape` without axis 1 (one value per
/// position); allocates only to build the error.
fn check_positions(what: &'static str, shape: &[usize], actual: &[usize]) -> Result<(), LossError> {
    let same = actual.len() + 1 == shape.len()
        && actual.first() == shape.first()
        && actual.get(1..) == shape.get(2..);
    if same {
        Ok(())
    } else {
        check_shape(what, &position_shape(shape), actual)
    }
}

/// Largest total probability-target mass accepted, `2^512`: with weights
/// and `gamma` at most `f32::MAX`, every intermediate of the gradient
/// (`Σ w t g`, at most `w · mass · (gamma + 1)`) then stays below `f64::MAX`.
const MAX_TARGET_MASS: f64 = 1.340_780_792_994_259_7e154;

/// Validates a call and lays it out for the kernel. The happy path
/// borrows every input and allocates nothing.
pub(crate) fn prepare<'c, 'a, 'b, F: LossFloat, L: Label>(
    mut cfg: Config<'c, F>,
    logits: ArrayViewD<'a, F>,
    targets: TargetView<'b, F, L>,
) -> Result<Prepared<'c, 'a, 'b, F, L>, LossError> {
    cfg.spec.ignore_index = cfg.ignore.and_then(L::ignore_key);
    let shape = logits.raw_dim();
    let geom = geometry(shape.slice(), cfg.input_name)?;
    let w = cfg.spec.weight;
    if let Weights::PerClass(v) = w {
        check_len(weight_name(&cfg), v.len(), geom.c)?;
    }
    let (t, count, weight_sum, mass) = match targets {
        TargetView::Index(t) => {
            check_positions("targets", shape.slice(), t.shape())?;
            let t = flat(t);
            // Only `WeightedMean` divides by the weight sum: other reductions
            // skip the per-target weight loads (the sum is then 0, unused).
            let ws_w = match cfg.reduction {
                Reduction::WeightedMean => w,
                Reduction::Sum | Reduction::Mean => Weights::Uniform(F::zero()),
            };
            let (count, ws) = index_stats(&t, cfg.spec.ignore_index, geom.c, ws_w)
                .map_err(|p| out_of_range(t[p], p, shape.slice(), geom.c))?;
            (Tgt::Index(t), count, ws, 1.0)
        }
        TargetView::Probs(t) => {
            check_shape("targets", shape.slice(), t.shape())?;
            let t = flat(t);
            let (ws, mass) = probs_stats(&cfg, &t, shape.slice(), geom)?;
            (Tgt::Probs(t), geom.positions(), ws, mass)
        }
    };
    let weight = match w {
        Weights::Uniform(v) => v.to_f64_(),
        Weights::PerClass(v) => max_or_one(Some(v)),
    };
    let gamma = match cfg.spec.kind {
        SoftmaxKind::Focal { gamma, .. } => gamma.to_f64_(),
        _ => 0.0,
    };
    let laid = Laid {
        z: flat(logits),
        shape,
        geom,
        count,
        mags: Magnitudes {
            weight,
            mass,
            gamma,
        },
        reduction: cfg.reduction,
    };
    Ok(Prepared {
        cfg,
        laid,
        t,
        weight_sum,
    })
}

/// The error for target `y` at flat position `p` (of a `shape` input).
fn out_of_range<L: Label>(y: L, p: usize, shape: &[usize], classes: usize) -> LossError {
    let position = unravel(p, &position_shape(shape));
    match usize::try_from(y.value()) {
        Ok(target) => LossError::TargetOutOfRange {
            position,
            target,
            classes,
        },
        // Every label type fits in i64 but u64 / usize, which are never negative.
        Err(_) => LossError::NegativeTarget {
            position,
            target: i64::try_from(y.value()).unwrap_or(i64::MIN),
            classes,
        },
    }
}

/// Validates probability targets; returns `Σ_c w_c t'_c` over the batch and
/// the total (smoothed) target mass. One vectorised pass per contiguous run
/// of one class (a row of `C` when `M = 1`, `M` positions otherwise); on
/// any bad value the exact element-by-element pass reports it.
fn probs_stats<F: LossFloat>(
    cfg: &Config<'_, F>,
    t: &[F],
    shape: &[usize],
    geom: Geom,
) -> Result<(f64, f64), LossError> {
    if t.is_empty() {
        // No classes or no positions (and `chunks` needs a non-zero size).
        return Ok((0.0, 0.0));
    }
    let eps = smoothing(cfg).to_f64_();
    let w = cfg.spec.weight;
    if let Some(v) = probs_sums(Level::best(), t, geom.c, geom.m, w, eps) {
        return Ok(v);
    }
    // Element by element, reporting the first bad value.
    let cf = geom.c as f64;
    let (mut ws, mut mass) = (0.0, 0.0);
    for (i, &v) in t.iter().enumerate() {
        let bad = |expected| {
            Err(LossError::InvalidTarget {
                position: unravel(i, shape),
                value: v.to_f64_(),
                expected,
            })
        };
        if !(v.is_finite() && v >= F::zero()) {
            return bad("a finite, non-negative probability");
        }
        let k = (i / geom.m) % geom.c;
        let tp = (1.0 - eps) * v.to_f64_() + eps / cf;
        ws += cfg.spec.weight.at(k).to_f64_() * tp;
        mass += tp;
        if mass > MAX_TARGET_MASS {
            return bad("probabilities whose total over the batch is at most 2^512 (1.3e154)");
        }
    }
    Ok((ws, mass))
}

dispatch_levels! {
    /// [`probs_sums_in`] at the given level (the loops then use the
    /// level's vector width).
    fn probs_sums<F>(t: &[F], c: usize, m: usize, w: Weights<'_, F>, eps: f64) -> Option<(f64, f64)> {
        generic => probs_sums_in(t, c, m, w, eps),
        avx2 => probs_sums_in(t, c, m, w, eps),
        avx512 => probs_sums_in(t, c, m, w, eps),
    }
}

/// `(Σ_c w_c t'_c, Σ t')` over non-empty targets laid out `(N, C, M)`, or
/// `None` on a bad value or too much mass.
#[inline(always)]
fn probs_sums_in<F: LossFloat>(
    t: &[F],
    c: usize,
    m: usize,
    w: Weights<'_, F>,
    eps: f64,
) -> Option<(f64, f64)> {
    let (mut ws, mut mass) = (0.0, 0.0);
    let cf = c as f64;
    if m == 1 {
        // In f64, as the exact pass (an `F` sum of the weights is coarser).
        let wsum: f64 = (0..c).map(|k| w.at(k).to_f64_()).sum();
        // Whole groups of rows per run (one row per run cost about 15 ns
        // a row, as much as the loss itself at C = 4), with the weights
        // repeated once per row of a group.
        let rows = (GROUP / c).max(1);
        let mut buf = [F::zero(); GROUP];
        // Per-class weights for a whole run, or the uniform weight.
        let (wrep, uniform): (Option<&[F]>, f64) = match w {
            Weights::Uniform(u) => (None, u.to_f64_()),
            Weights::PerClass(ws) if rows == 1 => (Some(&ws[..c]), 0.0),
            Weights::PerClass(ws) => {
                for (d, &v) in buf.iter_mut().zip(ws[..c].iter().cycle()) {
                    *d = v;
                }
                (Some(&buf[..rows * c]), 0.0)
            }
        };
        for run in t.chunks(rows * c) {
            let nr = (run.len() / c) as f64;
            let (sv, swv, ok) = match wrep {
                Some(wr) => run_sums(run, Some(&wr[..run.len()])),
                None => {
                    let (sv, _, ok) = run_sums(run, None);
                    (sv, uniform * sv, ok)
                }
            };
            ws += (1.0 - eps) * swv + eps / cf * wsum * nr;
            mass += (1.0 - eps) * sv + eps * nr;
            if !(ok && fast_sums_ok(ws, mass)) {
                return None;
            }
        }
    } else {
        for (r, slice) in t.chunks(m).enumerate() {
            let wk = w.at(r % c).to_f64_();
            let (sv, _, ok) = run_sums(slice, None);
            let tp = (1.0 - eps) * sv + eps / cf * m as f64;
            ws += wk * tp;
            mass += tp;
            if !(ok && fast_sums_ok(ws, mass)) {
                return None;
            }
        }
    }
    // Subnormal-scale totals lose relative precision to the order of the
    // sums: the exact pass's order then decides.
    (ws >= TINY_TOTAL && mass >= TINY_TOTAL).then_some((ws, mass))
}

/// Elements per run of rows in [`probs_sums_in`] (a row longer than this
/// is a run of its own).
const GROUP: usize = 1024;

/// Totals below this go to the exact pass (`2^-900`: the rounding of the
/// subnormal terms they may contain is then far below `f64::EPSILON`).
const TINY_TOTAL: f64 = 1.183_052_186_166_774_7e-271;

/// Whether the running totals may stay on the vectorised pass: finite (a
/// NaN from `0 · inf`, with `eps = 1` and an overflowing target sum, too)
/// and clear of [`MAX_TARGET_MASS`] by more than rounding, so that the exact
/// pass decides the limit.
#[inline(always)]
fn fast_sums_ok(ws: f64, mass: f64) -> bool {
    ws.is_finite() && mass <= MAX_TARGET_MASS * (1.0 - 1e-9)
}

/// `(Σ v, Σ w v, every v finite and >= 0)` over a run of targets, in eight
/// `f64` lanes (vectorised; `Σ w v` is 0 without `w`).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // one lane per index, as in the kernels
fn run_sums<F: LossFloat>(vals: &[F], w: Option<&[F]>) -> (f64, f64, bool) {
    const L: usize = 8;
    let (mut sv, mut sw, mut chk) = ([0.0f64; L], [0.0f64; L], [0.0f64; L]);
    let mut mn = [0.0f64; L];
    let body = vals.len() / L * L;
    // One simple loop per quantity (fused loop bodies stayed scalar).
    let mut x = [0.0f64; L];
    let mut wx = [0.0f64; L];
    let wchunks = w.map(|w| w[..body].chunks_exact(L));
    let mut wchunks = wchunks.into_iter().flatten();
    for ch in vals[..body].chunks_exact(L) {
        for i in 0..L {
            x[i] = ch[i].to_f64_();
        }
        for i in 0..L {
            sv[i] += x[i];
        }
        for i in 0..L {
            // x * 0 is NaN exactly for NaN and infinite x.
            chk[i] += x[i] * 0.0;
        }
        for i in 0..L {
            mn[i] = if x[i] < mn[i] { x[i] } else { mn[i] };
        }
        if let Some(wc) = wchunks.next() {
            for i in 0..L {
                wx[i] = wc[i].to_f64_();
            }
            for i in 0..L {
                sw[i] += wx[i] * x[i];
            }
        }
    }
    for (i, &v) in vals[body..].iter().enumerate() {
        let x = v.to_f64_();
        sv[i] += x;
        chk[i] += x * 0.0;
        mn[i] = if x < mn[i] { x } else { mn[i] };
        if let Some(w) = w {
            sw[i] += w[body + i].to_f64_() * x;
        }
    }
    let ok = !chk.iter().sum::<f64>().is_nan() && mn.iter().all(|&v| v >= 0.0);
    (sv.iter().sum(), sw.iter().sum(), ok)
}

fn weight_name<F>(cfg: &Config<'_, F>) -> &'static str {
    match cfg.spec.kind {
        SoftmaxKind::Focal { .. } => "alpha",
        _ => "weight",
    }
}

fn smoothing<F: LossFloat>(cfg: &Config<'_, F>) -> F {
    match cfg.spec.kind {
        SoftmaxKind::Nll => F::zero(),
        SoftmaxKind::CrossEntropy { smoothing } | SoftmaxKind::Focal { smoothing, .. } => smoothing,
    }
}

/// `cfg` in `f64`, with exactly its (already rounded) parameter values, so
/// that the guard's wide path computes the same loss; `w64` holds the
/// per-class weights in `f64`.
fn wide_config<'w, F: LossFloat>(cfg: &Config<'_, F>, w64: &'w [f64]) -> Config<'w, f64> {
    use SoftmaxKind as K;
    let kind = match cfg.spec.kind {
        K::Nll => K::Nll,
        K::CrossEntropy { smoothing } => K::CrossEntropy {
            smoothing: smoothing.to_f64_(),
        },
        K::Focal { gamma, smoothing } => K::Focal {
            gamma: gamma.to_f64_(),
            smoothing: smoothing.to_f64_(),
        },
    };
    let weight = match cfg.spec.weight {
        Weights::Uniform(v) => Weights::Uniform(v.to_f64_()),
        Weights::PerClass(_) => Weights::PerClass(w64),
    };
    Config {
        spec: SoftmaxSpec {
            kind,
            weight,
            ignore_index: cfg.spec.ignore_index,
        },
        reduction: cfg.reduction,
        input_name: cfg.input_name,
        ignore: cfg.ignore,
    }
}

impl<F: LossFloat, L: Label> Call<F> for Prepared<'_, '_, '_, F, L> {
    fn laid(&self) -> &Laid<'_, F> {
        &self.laid
    }

    fn target_shape(&self) -> Vec<usize> {
        position_shape(self.laid.shape.slice())
    }

    fn weight_sum(&self) -> f64 {
        self.weight_sum
    }

    fn run(&self, down: Option<f64>, out: Outputs<'_, '_, F>) -> Result<f64, LossError> {
        let scaled: Vec<F>;
        let mut spec = self.cfg.spec;
        if let Some(down) = down {
            spec.weight = match spec.weight {
                Weights::Uniform(v) => Weights::Uniform(F::from_f64_(v.to_f64_() * down)),
                Weights::PerClass(v) => {
                    scaled = v.iter().map(|x| F::from_f64_(x.to_f64_() * down)).collect();
                    Weights::PerClass(&scaled)
                }
            };
        }
        let t = match &self.t {
            Tgt::Index(t) => TargetSlice::Index(L::labels(t)),
            Tgt::Probs(t) => TargetSlice::Probs(t),
        };
        softmax::run(&spec, &self.laid.z, t, self.laid.geom, out)
            .map_err(|e| self.laid.error(e, self.cfg.input_name))
    }

    fn run_wide(&self, outs: Outputs<'_, '_, f64>) -> Result<f64, LossError> {
        let w64 = match self.cfg.spec.weight {
            Weights::Uniform(_) => Vec::new(),
            Weights::PerClass(v) => widen(v),
        };
        let cfg = wide_config(&self.cfg, &w64);
        let wide = Prepared {
            cfg,
            laid: self.laid.widen(),
            t: match &self.t {
                Tgt::Index(t) => Tgt::Index(Cow::Borrowed(&t[..])),
                Tgt::Probs(t) => Tgt::Probs(Cow::Owned(widen(t))),
            },
            weight_sum: self.weight_sum,
        };
        wide.run(None, outs)
    }
}

/// Borrows any softmax-family targets as a [`TargetView`].
pub(crate) fn view<F: LossFloat, T: Targets<F> + ?Sized>(t: &T) -> TargetView<'_, F, T::Label> {
    t.target_view()
}
