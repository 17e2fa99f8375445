//! The generic path: the losses composed from burn tensor ops, for tensors
//! on any backend (CubeCL: wgpu, CUDA, ..; LibTorch), with no copy to the
//! host but a few boolean scalars (input checks).
//!
//! Value and gradient are computed from the crate's stable formulas on the
//! detached logits (`1 - p_y` as the other classes' mass, `r = lp / q`,
//! `-1` where `q = 0`), never by autodiff through `(1 - p)^gamma` (NaN at
//! `p = 1` for `gamma < 1`). The gradient `G` is attached as
//! `value + Σ (x - stop(x)) G`: the added term is exactly 0 in value, and
//! its gradient with respect to `x` is exactly `G` (times the upstream
//! gradient).

use super::TargetKind;
use crate::bridge::settings::{per_class_values, Sigmoid, Softmax};
use crate::{LossError, Reduction};
use burn_tensor::activation::log_softmax;
use burn_tensor::{Bool, DType, Device, Float, Int, Tensor, TensorData};

fn invalid(name: &'static str, expected: &'static str) -> LossError {
    LossError::InvalidParameter {
        name,
        value: f64::NAN,
        expected,
    }
}

/// Whether any element of `m` is true (one scalar read back).
fn any<const D: usize>(m: Tensor<D, Bool>) -> bool {
    m.any().into_scalar::<bool>()
}

/// A per-class vector (or `fill` for every class) in `dtype` on `device`.
fn per_class(
    v: Option<&[f64]>,
    fill: f64,
    c: usize,
    device: &Device,
    dtype: DType,
) -> Result<Tensor<1>, LossError> {
    let v = per_class_values(v, fill, c)?;
    Ok(Tensor::from_data(TensorData::new(v, [c]), (device, dtype)))
}

/// Errors on NaN or infinite logits.
fn finite<const D: usize>(x: &Tensor<D>) -> Result<(), LossError> {
    if any(x.clone().is_nan()) || any(x.clone().is_inf()) {
        return Err(invalid(
            "logits",
            "finite logits (the generic path takes no masked -inf classes)",
        ));
    }
    Ok(())
}

/// `(N, C, d1, .., dk)` as `(positions, C)` rows, and the targets' shape.
fn rows<const D: usize>(x: Tensor<D>) -> Result<(Tensor<2>, Vec<usize>), LossError> {
    if D < 2 {
        return Err(LossError::TooFewDimensions {
            what: "logits",
            min: 2,
            actual: D,
        });
    }
    let dims = x.dims();
    let c = dims[1];
    if c == 0 {
        return Err(LossError::NoClasses);
    }
    let mut axes = [0_usize; D];
    for (i, a) in axes.iter_mut().enumerate().take(D - 1).skip(1) {
        *a = i + 1;
    }
    axes[D - 1] = 1;
    let p = dims.iter().product::<usize>() / c;
    let mut tdims = dims.to_vec();
    tdims.remove(1);
    Ok((x.permute(axes).reshape([p, c]), tdims))
}

/// The reduction's denominator as a `[1, 1]` tensor, 1 where it is 0.
fn denominator(reduction: Reduction, count: Tensor<1>, weight_sum: Tensor<1>) -> Tensor<2> {
    let d = match reduction {
        Reduction::Sum => count.ones_like(),
        Reduction::Mean => count,
        Reduction::WeightedMean => weight_sum,
    };
    let zero = d.clone().equal_elem(0.0);
    d.mask_fill(zero, 1.0).reshape([1, 1])
}

/// The output: the reduced loss (`[1]`), or per-target losses of shape
/// `out_dims`, carrying the gradient `g` (rows) with respect to `xr`.
fn finish<const R: usize>(
    xr: &Tensor<2>,
    per_row: Tensor<1>,
    g: Tensor<2>,
    d: Tensor<2>,
    per_target: bool,
    out_dims: &[usize],
) -> Result<Tensor<R>, LossError> {
    let tracked = xr.is_tracked();
    let zero = || xr.clone() - xr.clone().detach();
    if per_target {
        let per_row = if tracked {
            per_row + (zero() * g).sum_dim(1).squeeze_dim::<1>(1)
        } else {
            per_row
        };
        let dims: [usize; R] = out_dims.try_into().map_err(|_| LossError::ShapeMismatch {
            what: "output rank",
            expected: vec![R],
            actual: vec![out_dims.len()],
        })?;
        return Ok(per_row.reshape(dims));
    }
    let value = per_row.sum() / d.clone().reshape([1]);
    let value = if tracked {
        value + (zero() * (g / d)).sum()
    } else {
        value
    };
    let dims: [usize; R] = [1_usize; 1]
        .as_slice()
        .try_into()
        .map_err(|_| invalid("output", "a rank-1 output for a reduced loss"))?;
    Ok(value.reshape(dims))
}

/// `1` where `m` holds, `0` elsewhere, in `dtype`.
fn indicator<const D: usize>(m: Tensor<D, Bool>, dtype: DType) -> Tensor<D> {
    let z = Tensor::<D>::zeros(m.shape(), (&m.device(), dtype));
    z.mask_fill(m, 1.0)
}

/// A softmax loss (NLL, cross-entropy, focal) on index or float targets.
pub(super) fn softmax<const D: usize, const E: usize, const R: usize, K: TargetKind>(
    s: &Softmax<'_>,
    x: Tensor<D>,
    t: Tensor<E, K>,
    per_target: bool,
) -> Result<Tensor<R>, LossError> {
    let (device, dtype) = (x.device(), x.dtype());
    let (xr, tdims) = rows(x)?;
    let [p, c] = xr.dims();
    let xd = xr.clone().detach();
    finite(&xd)?;
    let w = per_class(s.weight, s.scalar, c, &device, dtype)?.reshape([1, c]);
    let lp = if s.nll { xd } else { log_softmax(xd, 1) };
    let eps = s.smoothing;
    let ones = Tensor::<1>::ones([p], (&device, dtype));
    // Per-class target mass `tp`, the validity of each row, Σ w[y] (index
    // targets) or Σ tp w (probabilities), and the one-hot of index targets.
    let (tp, validf, wsum, onehot) = if K::INDEX {
        let t = Tensor::<E, Int>::from_dispatch(t.into_dispatch());
        if t.dims().as_slice() != tdims.as_slice() {
            return Err(LossError::ShapeMismatch {
                what: "targets",
                expected: tdims,
                actual: t.dims().to_vec(),
            });
        }
        let t = t.reshape([p]);
        let valid = match s.ignore.and_then(|v| i64::try_from(v).ok()) {
            Some(ig) => t.clone().not_equal_elem(ig),
            None => t.clone().equal(t.clone()),
        };
        let ts = t.mask_fill(valid.clone().bool_not(), 0);
        if any(ts.clone().lower_elem(0)) || any(ts.clone().greater_equal_elem(c as i64)) {
            return Err(invalid(
                "targets",
                "class indices in 0..C (or the ignore index)",
            ));
        }
        let validf = indicator(valid, dtype);
        let onehot = indicator(ts.clone().one_hot::<2>(c).equal_elem(1), dtype);
        let wy = w.clone().reshape([c]).select(0, ts) * validf.clone();
        let tp = (onehot.clone() * (1.0 - eps) + eps / c as f64) * validf.clone().reshape([p, 1]);
        (tp, validf, wy.clone().sum(), Some((onehot, wy)))
    } else {
        if s.nll {
            return Err(crate::bridge::not_index());
        }
        let t = Tensor::<E, Float>::from_dispatch(t.into_dispatch());
        let mut full = tdims.clone();
        full.insert(1, c);
        if t.dims().as_slice() != full.as_slice() || E != D {
            return Err(LossError::ShapeMismatch {
                what: "targets",
                expected: full,
                actual: t.dims().to_vec(),
            });
        }
        let (tr, _) = rows(Tensor::<D>::from_dispatch(t.into_dispatch()).cast(dtype))?;
        if any(tr.clone().lower_elem(0.0)) || any(tr.clone().is_nan()) || any(tr.clone().is_inf()) {
            return Err(invalid("targets", "finite, non-negative probabilities"));
        }
        let tp = tr * (1.0 - eps) + eps / c as f64;
        let wsum = (tp.clone() * w.clone()).sum();
        (tp, ones.clone(), wsum, None)
    };
    let d = denominator(s.reduction, validf.sum(), wsum);
    let pr = lp.clone().exp();
    match (s.gamma, eps == 0.0, onehot) {
        // Cross-entropy / NLL on class indices.
        (None, true, Some((onehot, wy))) => {
            let lpy = (lp * onehot.clone()).sum_dim(1).squeeze_dim::<1>(1);
            let g = if s.nll { onehot.neg() } else { pr - onehot };
            let g = g * wy.clone().reshape([p, 1]);
            finish(&xr, (lpy * wy).neg(), g, d, per_target, &tdims)
        }
        // Focal loss on class indices.
        (Some(gamma), true, Some((onehot, wy))) => {
            let lpy = (lp * onehot.clone()).sum_dim(1).squeeze_dim::<1>(1);
            let q = (pr.clone() * (onehot.clone().neg() + 1.0))
                .sum_dim(1)
                .squeeze_dim::<1>(1);
            let md = if gamma == 0.0 {
                q.ones_like()
            } else {
                q.clone().powf_scalar(gamma)
            };
            let value = (md.clone() * lpy.clone() * wy.clone()).neg();
            let r = (lpy.clone() / q.clone()).mask_fill(q.lower_equal_elem(0.0), -1.0);
            let gfac = md * ((lpy.exp() * r) * gamma - 1.0);
            let g = (onehot - pr) * (gfac * wy).reshape([p, 1]);
            finish(&xr, value, g, d, per_target, &tdims)
        }
        // Per-class target mass: smoothing or probabilities.
        _ => {
            let a = tp * w;
            match s.gamma {
                None => {
                    let value = (a.clone() * lp).sum_dim(1).squeeze_dim::<1>(1).neg();
                    let g = pr * a.clone().sum_dim(1) - a;
                    finish(&xr, value, g, d, per_target, &tdims)
                }
                Some(gamma) => {
                    let top = pr
                        .clone()
                        .argmax(1)
                        .reshape([p])
                        .one_hot::<2>(c)
                        .equal_elem(1);
                    let not_top = indicator(top.clone().bool_not(), dtype);
                    let rest = (pr.clone() * not_top).sum_dim(1);
                    let q = (pr.clone().neg() + 1.0).mask_where(top, rest.expand([p, c]));
                    let md = if gamma == 0.0 {
                        q.ones_like()
                    } else {
                        q.clone().powf_scalar(gamma)
                    };
                    let value = (a.clone() * md.clone() * lp.clone())
                        .sum_dim(1)
                        .squeeze_dim::<1>(1)
                        .neg();
                    let r = (lp / q.clone()).mask_fill(q.lower_equal_elem(0.0), -1.0);
                    let gc = a * md * ((pr.clone() * r) * gamma - 1.0);
                    let g = gc.clone() - pr * gc.sum_dim(1);
                    finish(&xr, value, g, d, per_target, &tdims)
                }
            }
        }
    }
}

/// A sigmoid loss (sigmoid focal, BCE with logits) on binary targets of
/// the logits' shape, optionally masked.
pub(super) fn sigmoid<const D: usize, const E: usize, const R: usize, K: TargetKind>(
    s: &Sigmoid<'_>,
    x: Tensor<D>,
    t: Tensor<E, K>,
    ignore: Option<Tensor<D, Bool>>,
    per_target: bool,
) -> Result<Tensor<R>, LossError> {
    if K::INDEX {
        return Err(crate::bridge::not_float());
    }
    let (device, dtype) = (x.device(), x.dtype());
    let dims = x.dims();
    let t = Tensor::<E, Float>::from_dispatch(t.into_dispatch());
    if E != D || t.dims().as_slice() != dims.as_slice() {
        return Err(LossError::ShapeMismatch {
            what: "targets",
            expected: dims.to_vec(),
            actual: t.dims().to_vec(),
        });
    }
    let y = Tensor::<D>::from_dispatch(t.into_dispatch()).cast(dtype);
    let n: usize = dims.iter().product();
    let c = if D > 1 { dims[1] } else { 1 };
    // Everything elementwise on `(P, C)` rows; per-class constants broadcast.
    let (xr, y) = if D > 1 {
        (rows(x)?.0, rows(y)?.0)
    } else {
        (x.reshape([n, 1]), y.reshape([n, 1]))
    };
    let mask = match ignore {
        Some(m) if D > 1 => {
            let m = Tensor::<D>::zeros(dims, (&device, dtype)).mask_fill(m, 1.0);
            Some(rows(m)?.0.equal_elem(1.0))
        }
        Some(m) => Some(m.reshape([n, 1])),
        None => None,
    };
    let xd = xr.clone().detach();
    finite(&xd)?;
    let (validf, y) = match mask {
        Some(m) => (indicator(m.clone().bool_not(), dtype), y.mask_fill(m, 0.0)),
        None => (y.ones_like(), y),
    };
    if any(y.clone().lower_elem(0.0)) || any(y.clone().greater_elem(1.0)) || any(y.clone().is_nan())
    {
        return Err(invalid("targets", "binary targets in [0, 1]"));
    }
    let pc = |v: Option<&[f64]>, fill: f64| -> Result<Tensor<2>, LossError> {
        Ok(per_class(v, fill, c, &device, dtype)?.reshape([1, c]))
    };
    let y = y * (1.0 - s.smoothing) + s.smoothing / 2.0;
    let ym = y.clone().neg() + 1.0;
    let e = xd.clone().abs().neg().exp();
    let l1 = e.clone().log1p();
    let inv = (e.clone() + 1.0).recip();
    let pos = xd.clone().greater_equal_elem(0.0);
    let ei = e * inv.clone();
    let a = ei.clone().mask_where(pos.clone(), inv.clone());
    let b = inv.mask_where(pos.clone(), ei);
    let sp_x = l1.clone().mask_where(pos.clone(), xd.clone() + l1.clone());
    let sp_mx = (l1.clone() - xd).mask_where(pos, l1);
    let pw = pc(s.pos_weight, 1.0)?;
    let w = match (s.alpha, s.alpha_scalar) {
        (None, None) => pc(s.weight, 1.0)?.expand([n / c, c]),
        (al, sc) => {
            let al = pc(al, sc.unwrap_or(1.0))?;
            let at = al.clone() * y.clone() + (al.neg() + 1.0) * ym.clone();
            pc(s.weight, 1.0)? * at
        }
    };
    let w = w * validf.clone();
    let bce = pw.clone() * y.clone() * sp_mx + ym.clone() * sp_x;
    let q = y.clone() * b.clone() + ym.clone() * a.clone();
    let m = if s.gamma == 0.0 {
        q.ones_like()
    } else {
        q.clone().powf_scalar(s.gamma)
    };
    let terms = w.clone() * m.clone() * bce.clone();
    let d = denominator(s.reduction, validf.sum(), w.clone().sum());
    let r = (a.clone() * b.clone() / q.clone()).mask_fill(q.lower_equal_elem(0.0), 0.0);
    let b1 = ym.clone() * a - pw * y.clone() * b;
    let inner = b1 + (ym - y) * r * bce * s.gamma;
    let g = w * m * inner;
    let tracked = xr.is_tracked();
    if per_target {
        let out = if tracked {
            terms + (xr.clone() - xr.detach()) * g
        } else {
            terms
        };
        let out: Tensor<D> = if D > 1 {
            // Back from rows to `(N, C, d1, .., dk)`.
            let mut rdims = dims.to_vec();
            let cls = rdims.remove(1);
            rdims.push(cls);
            let mut axes = [0_usize; D];
            axes[1] = D - 1;
            for (i, a) in axes.iter_mut().enumerate().skip(2) {
                *a = i - 1;
            }
            let shaped: [usize; D] = rdims
                .as_slice()
                .try_into()
                .map_err(|_| LossError::NoClasses)?;
            out.reshape(shaped).permute(axes)
        } else {
            out.reshape(dims)
        };
        let dims: [usize; R] =
            out.dims()
                .as_slice()
                .try_into()
                .map_err(|_| LossError::ShapeMismatch {
                    what: "output rank",
                    expected: vec![R],
                    actual: vec![D],
                })?;
        return Ok(out.reshape(dims));
    }
    let rows_sum = terms.sum_dim(1).squeeze_dim::<1>(1);
    finish(&xr, rows_sum, g, d, false, &[])
}
