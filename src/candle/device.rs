//! The device path: the losses composed from candle-core ops, for tensors
//! on any device (CUDA, Metal), with no copy to the host but a few scalars.
//!
//! The value is composed from ops; the gradient is not left to autograd
//! (which differentiates `(1 - p)^gamma` into `gamma (1 - p)^(gamma - 1)`,
//! NaN at `p = 1` for `gamma < 1`): it is computed from the stable formulas
//! of the crate (`1 - p_y` as the sum of the other classes' probabilities,
//! `r = lp_y / (1 - p_y)`, `-1` where `p_y = 1`) and attached through
//! `value + Σ x G - stop(Σ x G)`, whose value is `value` and whose gradient
//! with respect to `x` is exactly `G` (times the upstream gradient).
//!
//! Covered: every option of every loss (class-index and probability
//! targets, label smoothing, weights / alpha, ignore index / masks, every
//! reduction).

pub(super) use crate::bridge::settings::Settings;
use crate::bridge::settings::{Sigmoid, Softmax};
use crate::{LossError, Reduction};
use ::candle_core::{DType, Result, Tensor};

fn unsupported(what: &'static str) -> ::candle_core::Error {
    LossError::InvalidParameter {
        name: "device path",
        value: f64::NAN,
        expected: what,
    }
    .into()
}

/// The dtype the losses are computed in: the input's, or `f32` for half
/// precisions.
fn compute_dtype(x: &Tensor) -> DType {
    match x.dtype() {
        DType::F64 => DType::F64,
        _ => DType::F32,
    }
}

/// `(N, C, d1, .., dk)` as `(positions, C)` rows, class axis last.
fn rows(x: &Tensor) -> Result<Tensor> {
    let rank = x.rank();
    if rank < 2 {
        return Err(LossError::TooFewDimensions {
            what: "logits",
            min: 2,
            actual: rank,
        }
        .into());
    }
    let c = x.dim(1)?;
    let mut order: Vec<usize> = vec![0];
    order.extend(2..rank);
    order.push(1);
    x.permute(order)?.contiguous()?.reshape(((), c))
}

/// `value` carrying the gradient `g` with respect to `x` (see the module docs).
fn attach(value: &Tensor, x: &Tensor, g: &Tensor) -> Result<Tensor> {
    let g = g.detach();
    let xg = (x * &g)?.sum_all()?;
    (value.detach() + xg.clone())? - xg.detach()
}

/// The reduction denominator `d` (a scalar tensor), `1` where it is 0 (the
/// numerator is then 0: loss and gradient 0, never NaN).
fn denominator(reduction: Reduction, count: &Tensor, weight_sum: &Tensor) -> Result<Tensor> {
    let d = match reduction {
        Reduction::Sum => count.ones_like()?,
        Reduction::Mean => count.clone(),
        Reduction::WeightedMean => weight_sum.clone(),
    };
    let zero = d.eq(0.0_f64)?;
    zero.where_cond(&d.ones_like()?, &d)
}

/// A per-class vector on `x`'s device in `dt`, or `fill` for every class.
fn per_class(v: Option<&[f64]>, fill: f64, c: usize, x: &Tensor, dt: DType) -> Result<Tensor> {
    let v = crate::bridge::settings::per_class_values(v, fill, c)?;
    Tensor::new(v, x.device())?.to_dtype(dt)
}

/// A family's loss composed from candle-core ops, with the exact gradient
/// attached; `mask` is a sigmoid loss's ignore mask.
pub(super) trait Composed {
    fn compose(&self, x: &Tensor, t: &Tensor, mask: Option<&Tensor>) -> Result<Tensor>;
}

/// The softmax losses on class-index targets (no ignore mask: they ignore
/// by class index).
/// Validated class-index targets as row indices (ignored ones replaced by
/// class 0) and the 0 / 1 validity of each row.
fn index_targets(s: &Softmax<'_>, t: &Tensor, xr: &Tensor, dt: DType) -> Result<(Tensor, Tensor)> {
    let (n, c) = xr.dims2()?;
    let t = t.flatten_all()?.to_dtype(DType::I64)?;
    if t.elem_count() != n {
        return Err(LossError::ShapeMismatch {
            what: "targets",
            expected: vec![n],
            actual: t.dims().to_vec(),
        }
        .into());
    }
    let valid = match s.ignore.and_then(|v| i64::try_from(v).ok()) {
        Some(ig) => t.ne(ig)?,
        None => t.ones_like()?.to_dtype(DType::U8)?,
    };
    let ts = valid.where_cond(&t, &t.zeros_like()?)?;
    // Targets out of range (one scalar to the host).
    let bad = (ts.lt(0_i64)?.to_dtype(DType::F32)? + ts.ge(c as i64)?.to_dtype(DType::F32)?)?;
    if bad.max_all()?.to_scalar::<f32>()? > 0.0 {
        return Err(unsupported("class indices in 0..C (or the ignore index)"));
    }
    Ok((ts, valid.to_dtype(dt)?))
}

/// Errors unless the targets `t` have the logits' shape.
fn same_shape(t: &Tensor, x: &Tensor) -> Result<()> {
    if t.dims() == x.dims() {
        return Ok(());
    }
    Err(LossError::ShapeMismatch {
        what: "targets",
        expected: x.dims().to_vec(),
        actual: t.dims().to_vec(),
    }
    .into())
}

/// `log_softmax` of rows, stable (max-shifted), tracked by autograd.
fn log_softmax(xr: &Tensor) -> Result<Tensor> {
    let m = xr.max_keepdim(1)?.detach();
    let sh = xr.broadcast_sub(&m)?;
    let lse = sh.exp()?.sum_keepdim(1)?.log()?;
    sh.broadcast_sub(&lse)
}

/// Cross-entropy and focal loss with per-class target mass: label
/// smoothing on class indices, or probability targets (`t'` as in the
/// crate). Focal loss's gradient `G_k = g_k - p_k Σ_c g_c`,
/// `g_c = a_c q_c^gamma (gamma p_c r_c - 1)`, with `q_c = 1 - p_c`, except
/// for the most probable class, whose `q` is the other classes' mass.
fn soft(s: &Softmax<'_>, x: &Tensor, t: &Tensor) -> Result<Tensor> {
    if s.nll {
        return Err(crate::bridge::not_index().into());
    }
    let dt = compute_dtype(x);
    let xr = rows(&x.to_dtype(dt)?)?;
    let (n, c) = xr.dims2()?;
    let w = per_class(s.weight, s.scalar, c, &xr, dt)?.unsqueeze(0)?;
    let eps = s.smoothing;
    let spread = |m: Tensor| (m * (1.0 - eps))? + eps / c as f64;
    let (tp, validf, wsum) = if matches!(t.dtype(), DType::U8 | DType::U32 | DType::I64) {
        let (ts, validf) = index_targets(s, t, &xr, dt)?;
        let classes = Tensor::arange(0_i64, c as i64, xr.device())?.unsqueeze(0)?;
        let onehot = classes.broadcast_eq(&ts.unsqueeze(1)?)?.to_dtype(dt)?;
        let tp = spread(onehot)?.broadcast_mul(&validf.unsqueeze(1)?)?;
        // WeightedMean divides by Σ w[y] even with smoothing (PyTorch).
        let wsum = (w.squeeze(0)?.index_select(&ts, 0)? * &validf)?.sum_all()?;
        (tp, validf, wsum)
    } else {
        same_shape(t, x)?;
        let tr = rows(&t.to_dtype(dt)?)?;
        let ok = (tr.ge(0.0_f64)?.to_dtype(DType::F32)?
            * tr.lt(f64::INFINITY)?.to_dtype(DType::F32)?)?;
        if ok.min_all()?.to_scalar::<f32>()? < 1.0 {
            return Err(unsupported("finite, non-negative probabilities"));
        }
        let tp = spread(tr)?;
        let wsum = tp.broadcast_mul(&w)?.sum_all()?;
        (tp, Tensor::ones(n, dt, xr.device())?, wsum)
    };
    let a = tp.broadcast_mul(&w)?;
    let lp = log_softmax(&xr)?;
    let d = denominator(s.reduction, &validf.sum_all()?, &wsum)?;
    let Some(gamma) = s.gamma else {
        return ((a * lp)?.sum_all()?.neg()? / d)?.to_dtype(x.dtype());
    };
    let lp = lp.detach();
    let p = lp.exp()?;
    let top = p.argmax_keepdim(1)?.to_dtype(DType::I64)?;
    let classes = Tensor::arange(0_i64, c as i64, xr.device())?.unsqueeze(0)?;
    let is_top = classes.broadcast_eq(&top)?;
    let rest = (&p * is_top.to_dtype(dt)?.affine(-1.0, 1.0)?)?.sum_keepdim(1)?;
    let q = is_top.where_cond(&rest.broadcast_as((n, c))?, &p.affine(-1.0, 1.0)?)?;
    let md = if gamma == 0.0 {
        q.ones_like()?
    } else {
        q.powf(gamma)?
    };
    let value = ((&a * &md)? * &lp)?.sum_all()?.neg()?.broadcast_div(&d)?;
    let r = q
        .gt(0.0_f64)?
        .where_cond(&(&lp / &q)?, &q.ones_like()?.neg()?)?;
    let gf = (&md * (((&p * r)? * gamma)? - 1.0)?)?;
    let gc = (a * gf)?;
    let g = (&gc - p.broadcast_mul(&gc.sum_keepdim(1)?)?)?.broadcast_div(&d)?;
    attach(&value, &xr, &g)?.to_dtype(x.dtype())
}

impl Composed for Softmax<'_> {
    fn compose(&self, x: &Tensor, t: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        if mask.is_some() {
            return Err(crate::bridge::no_mask().into());
        }
        let s = self;
        let index = matches!(t.dtype(), DType::U8 | DType::U32 | DType::I64);
        if s.smoothing != 0.0 || !index {
            return soft(s, x, t);
        }
        let dt = compute_dtype(x);
        let xr = rows(&x.to_dtype(dt)?)?;
        let c = xr.dim(1)?;
        let (ts, validf) = index_targets(s, t, &xr, dt)?;
        let w = per_class(s.weight, s.scalar, c, &xr, dt)?;
        let wy = (w.index_select(&ts, 0)? * &validf)?;
        let lp = if s.nll { xr.clone() } else { log_softmax(&xr)? };
        let lpy = lp.gather(&ts.unsqueeze(1)?, 1)?.squeeze(1)?;
        let count = validf.sum_all()?;
        let d = denominator(s.reduction, &count, &wy.sum_all()?)?;
        match s.gamma {
            None => ((lpy * &wy)?.sum_all()?.neg()? / d)?.to_dtype(x.dtype()),
            Some(gamma) => {
                let p = lp.exp()?.detach();
                let classes = Tensor::arange(0_i64, c as i64, xr.device())?.unsqueeze(0)?;
                let onehot = classes.broadcast_eq(&ts.unsqueeze(1)?)?.to_dtype(dt)?;
                let lpy = lpy.detach();
                let py = lpy.exp()?;
                // 1 - p_y as the other classes' mass: no cancellation near p_y = 1.
                let q = (&p * (onehot.ones_like()? - &onehot)?)?.sum(1)?;
                let md = if gamma == 0.0 {
                    q.ones_like()?
                } else {
                    q.powf(gamma)?
                };
                let value = ((&md * &lpy)? * &wy)?.sum_all()?.neg()?.broadcast_div(&d)?;
                let qpos = q.gt(0.0_f64)?;
                let r = qpos.where_cond(&(&lpy / &q)?, &q.ones_like()?.neg()?)?;
                let pr = (&py * &r)?;
                let gfac = (&md * ((pr * gamma)? - 1.0)?)?;
                let scale = (gfac * &wy)?.broadcast_div(&d)?.unsqueeze(1)?;
                let g = scale.broadcast_mul(&(onehot - p)?)?;
                attach(&value, &xr, &g)?.to_dtype(x.dtype())
            }
        }
    }
}

/// The sigmoid losses (`gamma = 0` and no alpha: BCE with logits).
impl Composed for Sigmoid<'_> {
    fn compose(&self, x: &Tensor, y: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let s = self;
        let dt = compute_dtype(x);
        let xf = x.to_dtype(dt)?;
        let y = y.to_dtype(dt)?;
        same_shape(&y, &xf)?;
        let valid = match mask {
            Some(m) => m.eq(0_u8)?,
            None => y.ones_like()?.to_dtype(DType::U8)?,
        };
        let validf = valid.to_dtype(dt)?;
        let y = valid.where_cond(&y, &y.zeros_like()?)?;
        let out_of_range =
            (y.lt(0.0_f64)?.to_dtype(DType::F32)? + y.gt(1.0_f64)?.to_dtype(DType::F32)?)?;
        if out_of_range.max_all()?.to_scalar::<f32>()? > 0.0 {
            return Err(unsupported("binary targets in [0, 1]"));
        }
        // Per-class constants broadcast along axis 1.
        let c = if xf.rank() > 1 { xf.dim(1)? } else { 1 };
        let mut cshape = vec![1_usize; xf.rank().max(1)];
        if xf.rank() > 1 {
            cshape[1] = c;
        }
        let pc = |v: Option<&[f64]>, fill: f64| -> Result<Tensor> {
            per_class(v, fill, c, &xf, dt)?
                .reshape(cshape.clone())?
                .broadcast_as(xf.shape())
        };
        let y = ((y * (1.0 - s.smoothing))? + s.smoothing / 2.0)?;
        let ym = (y.ones_like()? - &y)?;
        let xd = xf.detach();
        let e = xd.abs()?.neg()?.exp()?;
        let l1 = (&e + 1.0)?.log()?;
        let inv = (&e + 1.0)?.recip()?;
        let pos = xd.ge(0.0_f64)?;
        let ei = (&e * &inv)?;
        let a = pos.where_cond(&inv, &ei)?;
        let b = pos.where_cond(&ei, &inv)?;
        let sp_x = pos.where_cond(&(&xd + &l1)?, &l1)?;
        let sp_mx = pos.where_cond(&l1, &(&l1 - &xd)?)?;
        let pw = pc(s.pos_weight, 1.0)?;
        let w = match (s.alpha, s.alpha_scalar) {
            (None, None) => pc(s.weight, 1.0)?,
            (al, sc) => {
                let al = pc(al, sc.unwrap_or(1.0))?;
                let at = ((&al * &y)? + ((al.ones_like()? - &al)? * &ym)?)?;
                (pc(s.weight, 1.0)? * at)?
            }
        };
        let w = (w * &validf)?;
        let bce = (((&pw * &y)? * &sp_mx)? + (&ym * &sp_x)?)?;
        let q = ((&y * &b)? + (&ym * &a)?)?;
        let m = if s.gamma == 0.0 {
            q.ones_like()?
        } else {
            q.powf(s.gamma)?
        };
        let value_terms = ((&w * &m)? * &bce)?;
        let count = validf.sum_all()?;
        let d = denominator(s.reduction, &count, &w.sum_all()?)?;
        let value = value_terms.sum_all()?.broadcast_div(&d)?;
        let qpos = q.gt(0.0_f64)?;
        let r = qpos.where_cond(&((&a * &b)? / &q)?, &q.zeros_like()?)?;
        let b1 = ((&ym * &a)? - ((&pw * &y)? * &b)?)?;
        let sgn = (&ym - &y)?;
        let inner = (b1 + (((sgn * r)? * &bce)? * s.gamma)?)?;
        let g = ((&w * &m)? * inner)?.broadcast_div(&d)?;
        attach(&value, &xf, &g)?.to_dtype(x.dtype())
    }
}
