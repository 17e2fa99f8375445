//! The Hessian diagonal in the vectorised kernels, next to the gradient.
//!
//! For class-index targets both losses share one form (see
//! `scalar::index_row`): with `p_k` the softmax, `q = 1 - p_y`,
//!
//! `h_k = P p_k (1 - p_k) + Q ρ_k²`, `ρ_y = 1`, `ρ_k = min(p_k / q, 1)` (`k != y`),
//!
//! - cross-entropy: `P = s A` (`A = (1 - eps) w_y + eps/C Σ_c w_c`), `Q = 0`;
//! - focal: `P = -s w_y g`, `Q = s w_y B`, with `g` the gradient's focal
//!   factor and `B = gamma p q^(gamma+1) (r + 2 - gamma p r)` its curvature
//!   (`scalar::focal_curvature`; finite for every `gamma >= 0`).
//!
//! `p_k` is the stored exponential times `1 / Σ`. The coefficients are
//! computed once per position, vectorised across positions; the per-class
//! loops are branch-free (selects only).

use super::{Consts, Pow, LANES};
use crate::kernel::float::LossFloat;
use crate::kernel::softmax::spec::Weights;

/// Per-position Hessian coefficients of up to `LANES` positions.
pub(super) struct Coefs<F> {
    /// `P`.
    pub pc: [F; LANES],
    /// `Q`.
    pub qc: [F; LANES],
    /// `q = 1 - p_y` (1 for cross-entropy).
    pub q: [F; LANES],
    /// `1 / q` (infinite at `q = 0`, where every `ρ_k` is 1).
    pub invq: [F; LANES],
    /// `1 / Σ`, to turn a stored exponential into `p_k`.
    pub inv: [F; LANES],
}

impl<F: LossFloat> Coefs<F> {
    /// Cross-entropy's coefficients: `s` the positions' factors (0 where
    /// ignored), `wy` their target weights, `sum` their sums.
    #[inline(always)]
    pub fn cross_entropy(k: &Consts<'_, F>, s: &[F], wy: &[F], sum: &[F]) -> Self {
        let mut c = Self::blank(sum);
        for ((pc, &sj), &wj) in c.pc.iter_mut().zip(s).zip(wy) {
            *pc = sj * (k.one_m_eps * wj + k.e * k.wsum);
        }
        c
    }

    /// Focal loss's coefficients, from `lp = ln p_y`, `md = q^gamma` and
    /// `gf = g` of each position (see `Consts::focal_lanes`).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn focal(
        k: &Consts<'_, F>,
        s: &[F],
        wy: &[F],
        sum: &[F],
        lp: &[F],
        md: &[F],
        gf: &[F],
    ) -> Self {
        let mut c = Self::blank(sum);
        let n = sum.len();
        let zero_gamma = k.pow == Pow::Zero;
        let mut b = [F::zero(); LANES];
        k.curvature_lanes(lp, md, &mut b[..n], &mut c.q[..n]);
        for j in 0..n {
            let su = s[j] * wy[j];
            c.pc[j] = -su * gf[j];
            c.qc[j] = if zero_gamma { F::zero() } else { su * b[j] };
            let q = c.q[j];
            c.invq[j] = F::one() / q;
        }
        c
    }

    /// `P = Q = 0`, `q = 1`, and `1 / Σ` of each position.
    #[inline(always)]
    fn blank(sum: &[F]) -> Self {
        let mut inv = [F::one(); LANES];
        for (i, &sm) in inv.iter_mut().zip(sum) {
            *i = F::one() / sm;
        }
        Self {
            pc: [F::zero(); LANES],
            qc: [F::zero(); LANES],
            q: [F::one(); LANES],
            invq: [F::one(); LANES],
            inv,
        }
    }

    /// `h_y` of position `j`, from the stored `e_y`.
    #[inline(always)]
    pub fn on_target(&self, j: usize, e: F) -> F {
        entry(e * self.inv[j], self.pc[j], self.qc[j], F::one())
    }

    /// One contiguous row (position `j`, target `y`): its Hessian into
    /// `h` and its gradient `g_k = e_k a + b w_k` in place of the
    /// exponentials `e_k` that `g` holds, in one pass (the target's
    /// corrections are the caller's).
    #[inline(always)]
    pub fn row_with_grad(&self, j: usize, g: &mut [F], h: &mut [F], a: F, b: F, w: Weights<'_, F>) {
        let (inv, q, invq, pc, qc) = (self.inv[j], self.q[j], self.invq[j], self.pc[j], self.qc[j]);
        let hk = |e: F| {
            let p = e * inv;
            entry(p, pc, qc, if p >= q { F::one() } else { p * invq })
        };
        let n = g.len();
        let h = &mut h[..n];
        match w {
            Weights::Uniform(w) => {
                let bw = b * w;
                for (gv, hv) in g.iter_mut().zip(h.iter_mut()) {
                    let e = *gv;
                    *hv = hk(e);
                    *gv = e * a + bw;
                }
            }
            Weights::PerClass(w) => {
                for ((gv, hv), &wc) in g.iter_mut().zip(h.iter_mut()).zip(&w[..n]) {
                    let e = *gv;
                    *hv = hk(e);
                    *gv = e * a + b * wc;
                }
            }
        }
    }

    /// Class `cl`'s row of a tile (`np` positions, targets `yf` as floats)
    /// from the class's exponentials `e`, into `h`.
    #[inline(always)]
    pub fn tile_row(&self, cl: usize, yf: &[F], e: &[F], h: &mut [F]) {
        let clf = F::from_f64_(cl as f64);
        let np = e.len();
        let (h, yf) = (&mut h[..np], &yf[..np]);
        let (inv, q, invq) = (&self.inv[..np], &self.q[..np], &self.invq[..np]);
        let (pc, qc) = (&self.pc[..np], &self.qc[..np]);
        for j in 0..np {
            let p = e[j] * inv[j];
            let rho = if yf[j] == clf || p >= q[j] {
                F::one()
            } else {
                p * invq[j]
            };
            h[j] = entry(p, pc[j], qc[j], rho);
        }
    }
}

impl<F: LossFloat> Coefs<F> {
    /// One class's entries of the first `L` positions from their
    /// exponentials `e`, as for classes other than the target (the caller
    /// rewrites the targets' entries with [`Coefs::on_target`]).
    #[inline(always)]
    pub fn off_target<const L: usize>(&self, e: &[F; L]) -> [F; L] {
        let mut h = [F::zero(); L];
        for j in 0..L {
            let p = e[j] * self.inv[j];
            let rho = if p >= self.q[j] {
                F::one()
            } else {
                p * self.invq[j]
            };
            h[j] = entry(p, self.pc[j], self.qc[j], rho);
        }
        h
    }
}

/// One entry, `h_k = P p_k (1 - p_k) + Q ρ_k²`.
#[inline(always)]
fn entry<F: LossFloat>(p: F, pc: F, qc: F, rho: F) -> F {
    pc * p * (F::one() - p) + qc * rho * rho
}
