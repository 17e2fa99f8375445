//! Range guard: keeps extreme but valid inputs from overflowing the
//! kernels' intermediate values.
//!
//! The kernels compute in the input precision. A weight near `f32::MAX`, a
//! probability-target mass in the millions, a huge `gamma` or upstream
//! factor, or a tiny `WeightedMean` denominator can make an intermediate
//! product overflow (or two overflowed terms cancel into NaN) although the
//! true result is representable. Before each call the drivers bound those
//! magnitudes ([`Magnitudes`]); when the bound leaves the safe range:
//!
//! - `f32` inputs are computed in `f64` (from copies, so the call allocates)
//!   and the results rounded back to `f32`; so are `f32` calls whose loss
//!   came out non-finite;
//! - `f64` inputs are computed with an unscaled gradient, which is then
//!   scaled position by position (`u · g`, never `u · a - u · b`).
//!
//! Ordinary inputs take neither path: results stay bitwise those of the
//! kernels, and `forward_backward_into` stays allocation-free.

use crate::error::LossError;
use crate::kernel::float::LossFloat;
use crate::kernel::{Geom, Outputs, Upstream};

/// How each position's gradient is scaled.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scale<'u, F> {
    /// Every position by 0 (a zero reduction denominator).
    Zero,
    /// Every position divided by this denominator (1 for `Sum`, the count
    /// for `Mean`, the weight sum for `WeightedMean`).
    Divide(f64),
    /// Position `p` by `u[p]` (a vector-Jacobian product).
    PerPosition(&'u [F]),
}

/// Bounds on the factors that multiply a position's loss and gradient.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Magnitudes {
    /// Largest per-element factor (class weight, alpha, `pos_weight`).
    pub weight: f64,
    /// Largest target mass of a position (`1` for class-index targets).
    pub mass: f64,
    /// The focusing parameter (`0` outside focal losses).
    pub gamma: f64,
}

/// Above this bound `f32` calls are computed in `f64`.
const F32_SAFE: f64 = (1_u64 << 60) as f64;
/// Above this bound `f64` gradients are scaled after the kernel.
const F64_SAFE: f64 = 1e280;

/// `f32` (whose values all fit in `f64` with room to spare); `false` for
/// `f64`, which has no wider precision to fall back to.
pub(crate) fn narrow<F: LossFloat>() -> bool {
    F::max_value().to_f64_() < f64::MAX
}

/// `2^-700`: the factor on every weight when a reduced `f64` loss sum is
/// recomputed because per-position terms overflowed. Weights are at least
/// `1.2e-38`, so scaled they stay normal (`2e-249`); terms are at most
/// `3.4e38 · 2^512 · 3.6e308` (weight, target mass, `-ln p`), so scaled
/// they stay below `3e290`, and a sum of `2^40` of them is finite.
pub(crate) fn rescale_down() -> f64 {
    2.0_f64.powi(-700)
}

/// A bound on the magnitude of any intermediate value of the call.
fn risk<F: LossFloat>(m: Magnitudes, scale: &Scale<'_, F>) -> f64 {
    let s = match scale {
        Scale::Zero => 1.0,
        Scale::Divide(d) => 1.0 / d,
        Scale::PerPosition(u) => u.iter().fold(0.0_f64, |a, v| a.max(v.to_f64_().abs())),
    };
    m.weight.max(1.0) * m.mass.max(1.0) * (m.gamma + 2.0) * s.max(1.0)
}

/// A gradient to compute: its buffer, its scale, and optionally the
/// Hessian diagonal's buffer (scaled the same way).
pub(crate) struct Grad<'o, 'u, F> {
    pub grad: &'o mut [F],
    pub scale: Scale<'u, F>,
    pub hess: Option<&'o mut [F]>,
}

impl<'o, 'u, F> Grad<'o, 'u, F> {
    /// A gradient without a Hessian.
    pub fn new(grad: &'o mut [F], scale: Scale<'u, F>) -> Self {
        Self {
            grad,
            scale,
            hess: None,
        }
    }
}

/// Runs a call through the kernel in precision `F` (`direct`) or, when the
/// magnitudes call for it, through its `f64` twin (`wide`, `f32` only) or
/// with the gradient scaled afterwards (`f64`). Returns the loss sum.
///
/// `reduction` is the call's reduction scale, passed by every method of
/// a reduced loss (with or without a gradient) so that `forward` and
/// `forward_backward` take the same path and agree bitwise.
pub(crate) fn execute<F: LossFloat>(
    geom: Geom,
    mags: Magnitudes,
    reduction: Scale<'_, F>,
    mut per_target: Option<&mut [F]>,
    grad: Option<Grad<'_, '_, F>>,
    direct: impl Fn(Outputs<'_, '_, F>) -> Result<f64, LossError>,
    wide: impl Fn(Outputs<'_, '_, f64>) -> Result<f64, LossError>,
) -> Result<f64, LossError> {
    let (mut grad, mut hess) = match grad {
        Some(Grad { grad, scale, hess }) => (Some((grad, scale)), hess),
        None => (None, None),
    };
    let mut r = risk(mags, &grad.as_ref().map_or(reduction, |(_, s)| *s));
    if hess.is_some() {
        // Second derivatives carry one more factor of `gamma`.
        r *= mags.gamma + 2.0;
    }
    if narrow::<F>() {
        if r <= F32_SAFE {
            let sum = direct(Outputs {
                per_target: per_target.as_deref_mut(),
                grad: grad.as_mut().map(|(g, s)| (&mut **g, upstream(*s))),
                hess: hess.as_deref_mut(),
            })?;
            if sum.is_finite() {
                return Ok(sum);
            }
        }
        return run_wide(per_target, grad, hess, wide);
    }
    if r <= F64_SAFE {
        return direct(Outputs {
            per_target,
            grad: grad.map(|(g, s)| (g, upstream(s))),
            hess,
        });
    }
    let sum = direct(Outputs {
        per_target,
        grad: grad
            .as_mut()
            .map(|(g, _)| (&mut **g, Upstream::Uniform(F::one()))),
        hess: hess.as_deref_mut(),
    })?;
    if let Some((g, s)) = grad {
        post_scale(geom, g, s);
        if let Some(h) = hess {
            post_scale(geom, h, s);
        }
    }
    Ok(sum)
}

/// The kernel's upstream factor for an ordinary call.
fn upstream<F: LossFloat>(s: Scale<'_, F>) -> Upstream<'_, F> {
    match s {
        Scale::Zero => Upstream::Uniform(F::zero()),
        Scale::Divide(d) => Upstream::Uniform(F::from_f64_(1.0 / d)),
        Scale::PerPosition(u) => Upstream::PerPosition(u),
    }
}

/// Computes in `f64` and rounds the results into the `F` buffers.
fn run_wide<F: LossFloat>(
    per_target: Option<&mut [F]>,
    grad: Option<(&mut [F], Scale<'_, F>)>,
    hess: Option<&mut [F]>,
    wide: impl Fn(Outputs<'_, '_, f64>) -> Result<f64, LossError>,
) -> Result<f64, LossError> {
    let mut pt = per_target.as_ref().map(|p| vec![0.0_f64; p.len()]);
    let mut g64 = grad.as_ref().map(|(g, _)| vec![0.0_f64; g.len()]);
    let mut h64 = hess.as_ref().map(|h| vec![0.0_f64; h.len()]);
    let u64: Vec<f64> = match &grad {
        Some((_, Scale::PerPosition(u))) => u.iter().map(|v| v.to_f64_()).collect(),
        _ => Vec::new(),
    };
    let up = match &grad {
        Some((_, Scale::Divide(d))) => Upstream::Uniform(1.0 / d),
        Some((_, Scale::PerPosition(_))) => Upstream::PerPosition(&u64[..]),
        _ => Upstream::Uniform(0.0),
    };
    let sum = wide(Outputs {
        per_target: pt.as_deref_mut(),
        grad: g64.as_deref_mut().map(|g| (g, up)),
        hess: h64.as_deref_mut(),
    })?;
    if let (Some(dst), Some(src)) = (per_target, pt) {
        round_into(dst, &src);
    }
    if let (Some((dst, _)), Some(src)) = (grad, g64) {
        round_into(dst, &src);
    }
    if let (Some(dst), Some(src)) = (hess, h64) {
        round_into(dst, &src);
    }
    Ok(sum)
}

fn round_into<F: LossFloat>(dst: &mut [F], src: &[f64]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = F::from_f64_(s);
    }
}

/// Scales an unscaled gradient: `g / d`, or `u[p] g` at position `p`.
fn post_scale<F: LossFloat>(geom: Geom, g: &mut [F], s: Scale<'_, F>) {
    match s {
        Scale::Zero => g.iter_mut().for_each(|v| *v = F::zero()),
        Scale::Divide(d) => g
            .iter_mut()
            .for_each(|v| *v = F::from_f64_(v.to_f64_() / d)),
        Scale::PerPosition(u) => {
            let Geom { c, m, .. } = geom;
            for (i, v) in g.iter_mut().enumerate() {
                *v = *v * u[i / (c * m) * m + i % m];
            }
        }
    }
}
