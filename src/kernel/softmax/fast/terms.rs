//! Per-position coefficients of the index target kernels that work across
//! positions (tiles and strips): from each position's maximum, sum of
//! exponentials and target logit, its loss and the coefficients of
//!
//! `grad_k = e_k a + s b w_k`, plus `d` at the target,
//!
//! with `e_k = exp(z_k - max)` (and the Hessian's, see [`Coefs`]).
//! Cross-entropy (`A = (1 - eps) w_y + eps/C Σ_c w_c`):
//! `a = s A / Σ`, `b = -eps/C`, `d = -s (1 - eps) w_y`; focal loss (no
//! smoothing): `a = -s w_y g / Σ`, `b = 0`, `d = s w_y g`.

use super::hess::Coefs;
use super::{Consts, LANES};
use crate::kernel::float::LossFloat;
use crate::kernel::softmax::spec::{SoftmaxKind, Weights};
use crate::kernel::Upstream;

/// The coefficients of up to `LANES` positions (ignored ones all 0).
pub(super) struct Terms<F> {
    pub loss: [F; LANES],
    pub a: [F; LANES],
    pub d: [F; LANES],
    /// The upstream factors.
    pub s: [F; LANES],
    pub b: F,
    /// The Hessian's coefficients, when asked for.
    pub hc: Option<Coefs<F>>,
}

/// One group of positions: targets `y` (0 where ignored), which are not
/// ignored, target logits `zy`, maxima `mx` and sums `sum`, all of one
/// length; the positions' first index `p0`.
pub(super) struct Lanes<'a, F> {
    pub p0: usize,
    pub y: &'a [usize],
    pub valid: &'a [bool],
    pub zy: &'a [F],
    pub mx: &'a [F],
    pub sum: &'a [F],
    /// `ln Σ`.
    pub lns: &'a [F],
}

impl<F: LossFloat> Terms<F> {
    /// All 0, no Hessian coefficients.
    #[inline(always)]
    pub fn zeroed() -> Self {
        Self {
            loss: [F::zero(); LANES],
            a: [F::zero(); LANES],
            d: [F::zero(); LANES],
            s: [F::zero(); LANES],
            b: F::zero(),
            hc: None,
        }
    }

    /// Sets the first `g.y.len()` positions' coefficients (in place: a
    /// returned value was copied, which cost the tile kernel 10-20% at
    /// `C <= 10`); `smooth` is cross-entropy's `Σ_c w_c (mx - z_c + ln Σ)`
    /// per position when smoothing, `up` the upstream factors when a
    /// gradient is asked for.
    #[inline(always)]
    pub fn set(
        &mut self,
        k: &Consts<'_, F>,
        g: &Lanes<'_, F>,
        smooth: Option<&[F]>,
        up: Option<Upstream<'_, F>>,
        want_hess: bool,
    ) {
        let np = g.y.len();
        let (y, valid, zy, mx, sum, lns) = (g.y, g.valid, g.zy, g.mx, g.sum, g.lns);
        // Per-position weights and upstream factors; each enum is matched
        // once per group, not once per position.
        let mut wy = [F::zero(); LANES];
        let t = self;
        let wy_ = &mut wy[..np];
        match k.w {
            Weights::Uniform(w) => {
                for (wj, &v) in wy_.iter_mut().zip(valid) {
                    *wj = if v { w } else { F::zero() };
                }
            }
            Weights::PerClass(w) => {
                for ((wj, &v), &yj) in wy_.iter_mut().zip(valid).zip(y) {
                    *wj = if v { w[yj] } else { F::zero() };
                }
            }
        }
        let s_ = &mut t.s[..np];
        match up {
            Some(Upstream::Uniform(u)) => s_.fill(u),
            Some(Upstream::PerPosition(u)) => s_.copy_from_slice(&u[g.p0..g.p0 + np]),
            None => {}
        }
        let wy = &wy[..np];
        t.b = F::zero();
        t.hc = None;
        let (loss, a, d) = (&mut t.loss[..np], &mut t.a[..np], &mut t.d[..np]);
        if let SoftmaxKind::Focal { .. } = k.kind {
            let mut lp = [F::zero(); LANES];
            let mut md = [F::zero(); LANES];
            let mut gf = [F::zero(); LANES];
            let (lp, md, gf) = (&mut lp[..np], &mut md[..np], &mut gf[..np]);
            for j in 0..np {
                lp[j] = (zy[j] - mx[j]) - lns[j];
            }
            k.focal_lanes(lp, md, gf);
            for j in 0..np {
                loss[j] = -wy[j] * md[j] * lp[j];
                let f = s_[j] * wy[j] * gf[j];
                a[j] = -f / sum[j];
                d[j] = f;
            }
            if want_hess {
                t.hc = Some(Coefs::focal(k, s_, wy, sum, lp, md, gf));
            }
        } else {
            for j in 0..np {
                loss[j] = k.one_m_eps * wy[j] * ((mx[j] - zy[j]) + lns[j]);
                let coef = k.one_m_eps * wy[j] + k.e * k.wsum;
                a[j] = s_[j] * coef / sum[j];
                d[j] = -s_[j] * k.one_m_eps * wy[j];
            }
            if let Some(acc) = smooth {
                for (l, &ac) in loss.iter_mut().zip(acc) {
                    *l = *l + k.e * ac;
                }
                t.b = -k.e;
            }
            if want_hess {
                t.hc = Some(Coefs::cross_entropy(k, s_, wy, sum));
            }
        }
        for j in 0..np {
            if !valid[j] {
                loss[j] = F::zero();
                a[j] = F::zero();
                d[j] = F::zero();
                s_[j] = F::zero();
                if let Some(hc) = t.hc.as_mut() {
                    hc.pc[j] = F::zero();
                    hc.qc[j] = F::zero();
                }
            }
        }
    }

    /// Whether every non-ignored loss is finite (else an overflow, or
    /// `0 * inf` where smoothing's `eps / C` underflows: the scalar kernel
    /// computes it with its limits).
    #[inline(always)]
    pub fn finite(&self, valid: &[bool]) -> bool {
        self.loss
            .iter()
            .zip(valid)
            .fold(true, |ok, (&l, &v)| ok & (!v | (l.abs() < F::infinity())))
    }
}
