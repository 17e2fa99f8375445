//! Class-index targets on K-dim inputs with many classes (`M > 1`,
//! `C >= STRIP_MIN_C`) that wide blocks do not take (`M < WIDE_MIN_M`, or
//! more classes than `f32` indexes exactly), where fewer than `L`
//! positions fit the tile kernel's scratch: blocks of `L` consecutive
//! positions of one item, read in place (each class's values of a block
//! are contiguous) and vectorised across the positions, with the tile
//! kernel's formulas (see `terms`).
//!
//! Passes over a block: the extremes (the finiteness and masking checks),
//! the sum of exponentials, cross-entropy's smoothing term when smoothing,
//! and the gradient (with the Hessian). Nothing is stored between passes:
//! each exponential is recomputed, so any `C` is covered and the working
//! set is `L` values per class. The target entries are corrected after the
//! gradient pass, one per position.

use super::blocks::{for_blocks, Block, OnBlock, L};
use super::terms::{Lanes, Terms};
use super::tile::{extremes_ok, extremes_step};
use super::{Consts, SCRATCH};
use crate::kernel::chunks::Work;
use crate::kernel::float::LossFloat;
use crate::kernel::level::{exp, Fallback};

/// K-dim inputs with at least this many classes use strips (below it, the
/// tile kernel holds `L` positions or more).
pub(super) const STRIP_MIN_C: usize = SCRATCH / L + 1;

/// Every item of the chunk, block by block; returns the loss sum.
#[inline(always)]
pub(super) fn run<F: LossFloat, const FMA: bool>(
    k: &Consts<'_, F>,
    c: usize,
    m: usize,
    w: Work<'_, '_, '_, F>,
) -> Result<f64, Fallback> {
    let n = w.n;
    let mut st = Strip::<F, FMA> {
        k,
        c,
        w,
        acc: [0.0; 4],
    };
    for_blocks(n, c, m, &mut st)?;
    let a = st.acc;
    Ok((a[0] + a[1]) + (a[2] + a[3]))
}

/// A chunk's inputs and outputs, and its four partial sums (position `p`
/// into `acc[p % 4]`).
struct Strip<'a, 'o, 'u, F, const FMA: bool> {
    k: &'a Consts<'a, F>,
    c: usize,
    w: Work<'a, 'o, 'u, F>,
    acc: [f64; 4],
}

impl<F: LossFloat, const FMA: bool> OnBlock for Strip<'_, '_, '_, F, FMA> {
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // one lane per index, as in the kernels
    fn block<const FULL: bool, const ROWS: bool>(
        &mut self,
        blk: Block<FULL, ROWS>,
        p0: usize,
    ) -> Result<(), Fallback> {
        let (k, c, w, acc) = (self.k, self.c, &mut self.w, &mut self.acc);
        let (z, nl) = (w.z, blk.nl);
        let mut keys = [0usize; L];
        w.t.keys(p0, &mut keys[..nl]);
        let (mut y, mut valid) = ([0usize; L], [false; L]);
        for l in 0..nl {
            valid[l] = k.ignore != Some(keys[l]);
            y[l] = if valid[l] { keys[l] } else { 0 };
        }
        let (mut mx, mut mn, mut ck) = ([F::neg_infinity(); L], [F::infinity(); L], [F::zero(); L]);
        for kk in 0..c {
            let zc = blk.load(z, kk);
            for l in 0..L {
                extremes_step(&mut ck[l], &mut mx[l], &mut mn[l], zc[l]);
            }
        }
        for l in 0..nl {
            if !extremes_ok(ck[l], mx[l], mn[l]) {
                return Err(Fallback);
            }
        }
        let mut sum = [F::zero(); L];
        for kk in 0..c {
            let zc = blk.load(z, kk);
            for l in 0..L {
                sum[l] = sum[l] + exp::<F, FMA>(zc[l] - mx[l]);
            }
        }
        let lns = sum.map(|s| s.vln());
        let mut zy = [F::zero(); L];
        for l in 0..nl {
            zy[l] = z[blk.index(y[l], l)];
        }
        // Cross-entropy with smoothing: Σ_c w_c ((mx - z_c) + ln Σ).
        let mut sm = [F::zero(); L];
        // (A plain `if`, as in the tile kernel.)
        let smooth = if k.smoothing() {
            for kk in 0..c {
                let (zc, wc) = (blk.load(z, kk), k.w.at(kk));
                for l in 0..L {
                    sm[l] = sm[l] + wc * ((mx[l] - zc[l]) + lns[l]);
                }
            }
            Some(&sm[..nl])
        } else {
            None
        };
        let lanes = Lanes {
            p0,
            y: &y[..nl],
            valid: &valid[..nl],
            zy: &zy[..nl],
            mx: &mx[..nl],
            sum: &sum[..nl],
            lns: &lns[..nl],
        };
        let up = w.grad.as_ref().map(|(_, u)| *u);
        let mut tm = Terms::zeroed();
        tm.set(k, &lanes, smooth, up, w.hess.is_some());
        if !tm.finite(&valid[..nl]) {
            return Err(Fallback);
        }
        for l in 0..nl {
            acc[(p0 + l) % 4] += tm.loss[l].to_f64_();
        }
        if let Some(p) = w.per_target.as_deref_mut() {
            p[p0..p0 + nl].copy_from_slice(&tm.loss[..nl]);
        }
        let Some((g, _)) = w.grad.as_mut() else {
            return Ok(());
        };
        let mut a = [F::zero(); L];
        let mut s = [F::zero(); L];
        a.copy_from_slice(&tm.a[..L]);
        s.copy_from_slice(&tm.s[..L]);
        for kk in 0..c {
            let zc = blk.load(z, kk);
            let mut e = [F::zero(); L];
            for l in 0..L {
                e[l] = exp::<F, FMA>(zc[l] - mx[l]);
            }
            if let (Some(h), Some(hc)) = (w.hess.as_deref_mut(), tm.hc.as_ref()) {
                blk.store(h, kk, &hc.off_target(&e));
            }
            let bw = tm.b * k.w.at(kk);
            let mut gk = [F::zero(); L];
            for l in 0..L {
                gk[l] = e[l] * a[l] + s[l] * bw;
            }
            blk.store(g, kk, &gk);
        }
        // The targets' entries: `d` added to the gradient (as the tile kernel's
        // select does), the Hessian's target form.
        for l in 0..nl {
            let i = blk.index(y[l], l);
            g[i] = g[i] + tm.d[l];
            if let (Some(h), Some(hc)) = (w.hess.as_deref_mut(), tm.hc.as_ref()) {
                h[i] = hc.on_target(l, exp::<F, FMA>(zy[l] - mx[l]));
            }
        }
        Ok(())
    }
}
