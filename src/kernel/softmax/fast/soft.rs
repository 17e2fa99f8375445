//! Softmax focal loss with soft target mass, rows (`M = 1`): probability
//! targets, or class-index targets with label smoothing. (The rows' loop
//! also serves cross-entropy with probability targets, whose row is
//! `probs::row`.) With
//! `t'_k = (1 - eps) t_k + eps / C` (`t` one-hot for an index target),
//! `a_k = w_k t'_k` and `lp_k = (z_k - mx) - ln Σ`, the row's loss is
//! `Σ_k -a_k (1 - p_k)^gamma lp_k` and its gradient
//! `g_k = s (G_k - p_k Σ_c G_c)`, with `G_k = a_k g(lp_k)` and `g` the
//! focal derivative of `focal_with` (as the scalar kernel's `soft_row`).
//!
//! Passes over the row: the maximum; the exponentials and their sum (in
//! the gradient row); the focal terms per class, vectorised along segments
//! of the row, accumulating the loss and `Σ G` (with `G_k` stored in
//! scratch); and, with a gradient, the gradient in place from the stored
//! exponentials (rows longer than `SCRATCH`: `G_k` in the gradient row,
//! `p_k` computed again). A
//! class with `t'_k = 0` adds nothing (so a masked `-inf` logit there stays
//! on this path); other non-finite values make the row's loss or sum
//! non-finite and the chunk goes to the scalar kernel, as do rows with a
//! weighted target mass above [`MAX_MASS`]. Focal loss's Hessian is the
//! blocks' (`soft_kdim`; `Fallback` here when one is requested).

use super::probs;
use super::row::{exp_row, finite_or_masked, max_of, sum_acc, ACC};
use super::{Consts, SCRATCH};
use crate::kernel::chunks::Work;
use crate::kernel::float::LossFloat;
use crate::kernel::level::{dispatch_levels, Fallback, Level};
use crate::kernel::softmax::spec::{SoftmaxKind, Weights};

dispatch_levels! {
    /// Soft targets on one chunk of rows: cross-entropy with probability
    /// targets (`probs::row`), focal loss with soft target mass.
    fn run_level<F>(k: &Consts<'_, F>, c: usize, w: Work<'_, '_, '_, F>) -> Result<f64, Fallback> {
        generic => run::<F, false, false>(k, c, w),
        avx2 => run::<F, true, false>(k, c, w),
        avx512 => run::<F, true, true>(k, c, w),
    }
}

/// A row's targets.
#[derive(Clone, Copy)]
enum Soft<'a, F> {
    /// Probabilities `t_k`.
    Probs(&'a [F]),
    /// A class index (with label smoothing).
    Hot(usize),
}

impl<F: LossFloat> Soft<'_, F> {
    /// `t'_k` for the classes `off .. off + tp.len()`.
    #[inline(always)]
    fn fill(&self, k: &Consts<'_, F>, off: usize, tp: &mut [F]) {
        match *self {
            Soft::Probs(t) => {
                for (v, &tk) in tp.iter_mut().zip(&t[off..]) {
                    *v = k.one_m_eps * tk + k.e;
                }
            }
            Soft::Hot(y) => {
                tp.fill(k.e);
                if let Some(v) = y.checked_sub(off).and_then(|i| tp.get_mut(i)) {
                    *v = k.one_m_eps + k.e;
                }
            }
        }
    }
}

#[inline(always)]
fn run<F: LossFloat, const FMA: bool, const W512: bool>(
    k: &Consts<'_, F>,
    c: usize,
    w: Work<'_, '_, '_, F>,
) -> Result<f64, Fallback> {
    let (z, n) = (w.z, w.n);
    let probs = !w.aux.is_empty();
    let shapes_ok = if probs {
        w.aux.len() == z.len()
    } else {
        w.t.len() == n
    };
    // The Hessian only for cross-entropy (and with a gradient); the
    // dispatch sends focal loss's to the blocks.
    let focal = matches!(k.kind, SoftmaxKind::Focal { .. });
    if (w.hess.is_some() && (focal || w.grad.is_none())) || !shapes_ok {
        return Err(Fallback);
    }
    let (mut pt, mut grad, mut hess) = (w.per_target, w.grad, w.hess);
    let mut scratch = [F::zero(); SCRATCH];
    // The focal rows' segment arrays, set once per chunk (per row, zeroing
    // them cost as much as a row of 65 classes).
    let mut seg = Seg {
        lp: [F::zero(); SEG],
        md: [F::zero(); SEG],
        gf: [F::zero(); SEG],
        tp: [F::zero(); SEG],
        a: [F::zero(); SEG],
    };
    // Four partial sums (fixed order), as the other kernels.
    let mut acc = [0.0f64; 4];
    for r in 0..n {
        let span = r * c..(r + 1) * c;
        let zr = &z[span.clone()];
        let mut g = grad.as_mut().map(|(g, u)| (&mut g[span.clone()], u.at(r)));
        let soft = if probs {
            Soft::Probs(&w.aux[span.clone()])
        } else {
            Soft::Hot(w.t.key(r))
        };
        let loss = match soft {
            Soft::Hot(y) if k.ignore == Some(y) => {
                if !finite_or_masked(zr) {
                    return Err(Fallback);
                }
                if let Some((g, _)) = g {
                    g.fill(F::zero());
                }
                F::zero()
            }
            Soft::Probs(tr) if !focal => {
                let h = hess.as_deref_mut().map(|h| &mut h[span.clone()]);
                probs::row::<F, FMA, W512>(k, zr, tr, g, h, &mut scratch)?
            }
            _ => row::<F, FMA, W512>(k, zr, soft, g.as_mut(), &mut scratch, &mut seg)?,
        };
        acc[r % 4] += loss.to_f64_();
        if let Some(p) = pt.as_deref_mut() {
            p[r] = loss;
        }
    }
    Ok((acc[0] + acc[1]) + (acc[2] + acc[3]))
}

/// Classes per segment of a row's focal terms: stack arrays that the
/// terms' loops run along whole (a multiple of `ACC`).
const SEG: usize = 256;

/// One row: its loss, and its gradient in `g` (with upstream factor).
///
/// The focal terms run over segments of up to [`SEG`] classes, one simple
/// loop per quantity along the segment (class `k` in accumulator lane
/// `k % ACC`). Per chunk of `ACC` classes in lane arrays, those loops had
/// compiled to branches on scalars and 4-lane pieces with spills (3.3x
/// slower than the blocks at `C = 65` in cache, 16x slower than index
/// targets at `C = 1000`).
#[inline(always)]
fn row<F: LossFloat, const FMA: bool, const W512: bool>(
    k: &Consts<'_, F>,
    zr: &[F],
    soft: Soft<'_, F>,
    mut g: Option<&mut (&mut [F], F)>,
    scratch: &mut [F; SCRATCH],
    seg: &mut Seg<F>,
) -> Result<F, Fallback> {
    let mx = max_of::<F, W512>(zr);
    let sum = exp_row::<F, FMA, W512>(zr, mx, g.as_mut().map(|(g, _)| &mut **g), scratch);
    let lns = sum.vln();
    let mut acc = Acc {
        loss: [F::zero(); ACC],
        gsum: [F::zero(); ACC],
        mass: [F::zero(); ACC],
    };
    let c = zr.len();
    // With a gradient, `G_k` goes to `scratch` when the row fits (the
    // exponentials stay in the gradient row for the last pass), else into
    // the gradient row (and `p_k` is computed again).
    let stash = g.is_some() && c <= SCRATCH;
    for off in (0..c).step_by(SEG) {
        let n = SEG.min(c - off);
        // A short last chunk of `ACC` is padded with classes that add
        // exactly 0 (no target mass, `lp = 0`).
        let nn = n.div_ceil(ACC) * ACC;
        for (l, &z) in seg.lp[..n].iter_mut().zip(&zr[off..]) {
            *l = (z - mx) - lns;
        }
        seg.lp[n..nn].fill(F::zero());
        k.focal_lanes(&seg.lp[..nn], &mut seg.md[..nn], &mut seg.gf[..nn]);
        soft.fill(k, off, &mut seg.tp[..n]);
        seg.tp[n..nn].fill(F::zero());
        let a = &mut seg.a[..nn];
        match k.w {
            Weights::Uniform(v) => {
                for (ak, &t) in a.iter_mut().zip(&seg.tp[..nn]) {
                    *ak = v * t;
                }
            }
            Weights::PerClass(ws) => {
                for ((ak, &t), &wk) in a.iter_mut().zip(&seg.tp[..n]).zip(&ws[off..]) {
                    *ak = wk * t;
                }
                a[n..].fill(F::zero());
            }
        }
        acc.add(seg, nn);
        if let Some((g, _)) = g.as_mut() {
            // `G_k` aside while the gradient row keeps the exponentials.
            let dst = if stash {
                &mut scratch[off..]
            } else {
                &mut g[off..]
            };
            dst[..n].copy_from_slice(&seg.gf[..n]);
        }
    }
    let (loss, gsum) = (sum_acc(&acc.loss), sum_acc(&acc.gsum));
    if !(loss.is_finite() && sum.is_finite() && gsum.is_finite()) {
        return Err(Fallback);
    }
    let mass = sum_acc(&acc.mass);
    if mass.is_nan() || mass > F::from_f64_(MAX_MASS) {
        return Err(Fallback);
    }
    if let Some((g, s)) = g {
        if stash {
            // `p_k Σ G = e_k (Σ G / Σ)`, from the stored exponentials.
            let r = gsum / sum;
            for (gk, &big) in g.iter_mut().zip(&scratch[..c]) {
                *gk = *s * (big - *gk * r);
            }
        } else {
            for (gk, &zk) in g.iter_mut().zip(zr) {
                let p = ((zk - mx) - lns).vexp();
                *gk = *s * (*gk - p * gsum);
            }
        }
    }
    Ok(loss)
}

/// One segment's per-class values: `lp_k`, `(1 - p_k)^gamma`, the focal
/// derivative `g(lp_k)` (then `G_k`), `t'_k` and `a_k = w_k t'_k`.
struct Seg<F> {
    lp: [F; SEG],
    md: [F; SEG],
    gf: [F; SEG],
    tp: [F; SEG],
    a: [F; SEG],
}

/// Rows whose weighted target mass `Σ_k a_k` exceeds this run on the
/// scalar kernel. A gradient entry `G_k - p_k Σ G` cancels terms of size
/// `a_k`, so its rounding error is relative to the mass, not to the result;
/// the scalar kernel takes its sums in another order, and for rows with
/// this much mass (probability targets
/// are at most 1 per row, smoothed index targets exactly 1) the two would
/// differ by more than rounding of the result. Below it they agree to
/// about `1e-4` of the weights in `f32`.
pub(super) const MAX_MASS: f64 = 65536.0;

/// Per-lane partial sums of a row's loss, `Σ G` and `Σ a`.
struct Acc<F> {
    loss: [F; ACC],
    gsum: [F; ACC],
    mass: [F; ACC],
}

impl<F: LossFloat> Acc<F> {
    /// Adds the first `nn` classes of `seg` (a multiple of `ACC`), each
    /// into lane `k % ACC`, and turns their `g(lp_k)` into `G_k`.
    #[inline(always)]
    fn add(&mut self, seg: &mut Seg<F>, nn: usize) {
        // Per class first, along the segment (simple loops vectorise; with
        // the selects inside the per-lane loops below they compiled to
        // branches on scalars). No target mass, no term: `0 lp` would be
        // NaN for a masked class (`lp = -inf`). The loss terms go into `md`.
        let (tp, a) = (&seg.tp[..nn], &seg.a[..nn]);
        let terms = seg.md[..nn].iter_mut().zip(&seg.lp[..nn]);
        for ((m, &l), (&t, &ak)) in terms.zip(tp.iter().zip(a)) {
            *m = if t == F::zero() {
                F::zero()
            } else {
                ak * (*m * l)
            };
        }
        for (gk, (&t, &ak)) in seg.gf[..nn].iter_mut().zip(tp.iter().zip(a)) {
            *gk = if t == F::zero() { F::zero() } else { ak * *gk };
        }
        // One accumulator per loop, in a local array: together, or
        // through `self`, the lanes were kept in 4-wide pieces.
        self.mass = lane_sums(self.mass, a, |s, v| s + v);
        self.loss = lane_sums(self.loss, &seg.md[..nn], |s, v| s - v);
        self.gsum = lane_sums(self.gsum, &seg.gf[..nn], |s, v| s + v);
    }
}

/// `acc[i] = op(acc[i], v[j])` for each `j` in order, `i = j % ACC`
/// (`v.len()` a multiple of `ACC`).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // one lane per index, as in the kernels
fn lane_sums<F: LossFloat>(mut acc: [F; ACC], v: &[F], op: impl Fn(F, F) -> F) -> [F; ACC] {
    for ch in v.chunks_exact(ACC) {
        for i in 0..ACC {
            acc[i] = op(acc[i], ch[i]);
        }
    }
    acc
}
