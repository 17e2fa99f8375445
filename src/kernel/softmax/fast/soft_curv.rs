//! Focal loss's Hessian diagonal with soft targets, per lane of a block
//! of positions (`soft_kdim`'s curvature terms).

use super::blocks::{Block, L};
use crate::kernel::float::LossFloat;

/// Focal loss's Hessian with soft targets, per lane (see
/// `scalar::soft_hess`): `h_k = s (B_k + Σ_{c != k} B_c ρ_ck² - p_k (1 -
/// p_k) Σ G)`, `B_c = a_c b(lp_c)`, `ρ_ck = p_k / q_c`, with the most
/// probable class `m` apart: `Σ_{c != k} B_c ρ_ck² = p_k² (S - T_k) +
/// [k != m] B_m min(p_k / q_m, 1)²`, `T_c = B_c / q_c²`, `S = Σ_{c != m} T_c`.
pub(super) struct Curv<F> {
    /// The largest `lp` so far, its class `m` (`u32`, so the selects
    /// vectorise with `f32` lanes; the caller declines larger `C`), `B_m`
    /// and `q_m`.
    best: [F; L],
    top: [u32; L],
    bm: [F; L],
    qm: [F; L],
    /// `S`.
    rest: [F; L],
}

impl<F: LossFloat> Curv<F> {
    #[inline(always)]
    pub fn new() -> Self {
        Self {
            best: [F::neg_infinity(); L],
            top: [0; L],
            bm: [F::zero(); L],
            qm: [F::one(); L],
            rest: [F::zero(); L],
        }
    }

    /// Keeps, per lane, the most probable class so far (`kk` if its `lp`
    /// is larger), with its `B` and `q`.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // one lane per index, as in the kernels
    pub fn track(&mut self, kk: usize, lp: &[F; L], bc: &[F; L], q: &[F; L]) {
        for l in 0..L {
            let top = lp[l] > self.best[l];
            self.best[l] = if top { lp[l] } else { self.best[l] };
            self.top[l] = if top { kk as u32 } else { self.top[l] };
            self.bm[l] = if top { bc[l] } else { self.bm[l] };
            self.qm[l] = if top { q[l] } else { self.qm[l] };
        }
    }

    /// `T_c = B_c / q_c²` (0 where `B_c = 0`), from `lp_c`.
    #[inline(always)]
    fn t_of(lp: F, b: F) -> F {
        let q = -lp.vexpm1();
        let t = b / (q * q);
        if b == F::zero() {
            F::zero()
        } else {
            t
        }
    }

    /// `S`, from the `B_c` the block's Hessian holds.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // one lane per index, as in the kernels
    pub fn rest<const FULL: bool, const ROWS: bool>(
        &mut self,
        c: usize,
        blk: Block<FULL, ROWS>,
        z: &[F],
        h: &[F],
        mx: &[F; L],
        lns: &[F; L],
    ) {
        for kk in 0..c {
            let (zc, bc) = (blk.load(z, kk), blk.load(h, kk));
            let kq = kk as u32;
            for l in 0..L {
                let t = Self::t_of((zc[l] - mx[l]) - lns[l], bc[l]);
                let t = if self.top[l] == kq { F::zero() } else { t };
                self.rest[l] = self.rest[l] + t;
            }
        }
    }

    /// `h_k / s` of class `kk` for every lane, from `lp_k`, `p_k`, `B_k`
    /// and `Σ G` (branch-free, so the lanes vectorise).
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // one lane per index, as in the kernels
    pub fn entries(
        &self,
        kk: usize,
        lp: &[F; L],
        p: &[F; L],
        bc: &[F; L],
        gsum: &[F; L],
    ) -> [F; L] {
        let kq = kk as u32;
        let mut out = [F::zero(); L];
        for l in 0..L {
            let (pk, qm, s) = (p[l], self.qm[l], self.rest[l]);
            let rho = pk / qm;
            let rho = if pk >= qm { F::one() } else { rho };
            let rho = if pk == F::zero() { F::zero() } else { rho };
            let pp = pk * pk;
            let off = pp * (s - Self::t_of(lp[l], bc[l])) + self.bm[l] * rho * rho;
            let others = if self.top[l] == kq { pp * s } else { off };
            out[l] = bc[l] + others - pk * (F::one() - pk) * gsum[l];
        }
        out
    }
}
