//! Blocks of `L` consecutive positions, the unit of the kernels that
//! vectorise across positions with nothing stored between passes
//! (`soft_kdim`, `strip`): of one K-dim item, each class's values
//! contiguous, or of rows with few classes, gathered with stride `C`.

use crate::kernel::float::LossFloat;
use crate::kernel::level::Fallback;

/// Positions per block.
pub(super) const L: usize = 16;

/// One block: `nl <= L` positions from offset `at` (class 0 of its first
/// position) with stride `m` between classes and `ps` between positions.
/// K-dim (`ROWS = false`, `ps = 1`): each class's values are contiguous,
/// copied with a constant length when `FULL` (`nl = L`; vector moves, not
/// calls to memcpy). Rows with few classes (`ROWS`, `m = 1`, `ps = C`): a
/// gather / scatter with stride `C`.
#[derive(Clone, Copy)]
pub(super) struct Block<const FULL: bool, const ROWS: bool> {
    pub at: usize,
    pub m: usize,
    pub ps: usize,
    pub nl: usize,
}

impl<const FULL: bool, const ROWS: bool> Block<FULL, ROWS> {
    /// The block's values of class `k` (0 past `nl`).
    #[inline(always)]
    pub fn load<F: LossFloat>(&self, v: &[F], k: usize) -> [F; L] {
        let mut out = [F::zero(); L];
        let o = self.at + k * self.m;
        let n = if FULL { L } else { self.nl };
        if ROWS {
            for (l, x) in out[..n].iter_mut().enumerate() {
                *x = v[o + l * self.ps];
            }
        } else if FULL {
            out.copy_from_slice(&v[o..o + L]);
        } else {
            out[..n].copy_from_slice(&v[o..o + n]);
        }
        out
    }

    /// The flat index of class `k` at lane `l`.
    #[inline(always)]
    pub fn index(&self, k: usize, l: usize) -> usize {
        self.at + k * self.m + l * self.ps
    }

    #[inline(always)]
    pub fn store<F: LossFloat>(&self, v: &mut [F], k: usize, x: &[F; L]) {
        let o = self.at + k * self.m;
        let n = if FULL { L } else { self.nl };
        if ROWS {
            for (l, &xl) in x[..n].iter().enumerate() {
                v[o + l * self.ps] = xl;
            }
        } else if FULL {
            v[o..o + L].copy_from_slice(x);
        } else {
            v[o..o + n].copy_from_slice(&x[..n]);
        }
    }
}

/// A kernel's work on one block, whose first position is `p0`.
pub(super) trait OnBlock {
    fn block<const FULL: bool, const ROWS: bool>(
        &mut self,
        blk: Block<FULL, ROWS>,
        p0: usize,
    ) -> Result<(), Fallback>;
}

/// Runs `f` on every block of a chunk of `n` items with `C` classes and
/// `M` positions each: blocks of one item when `M > 1`, of rows when
/// `M = 1`; full blocks first, then a shorter last one.
#[inline(always)]
pub(super) fn for_blocks(
    n: usize,
    c: usize,
    m: usize,
    f: &mut impl OnBlock,
) -> Result<(), Fallback> {
    if m == 1 {
        // Rows: the chunk's `n` positions, `C` apart, classes adjacent.
        let full = n / L * L;
        for j0 in (0..full).step_by(L) {
            let blk = Block::<true, true> {
                at: j0 * c,
                m: 1,
                ps: c,
                nl: L,
            };
            f.block(blk, j0)?;
        }
        if full < n {
            let blk = Block::<false, true> {
                at: full * c,
                m: 1,
                ps: c,
                nl: n - full,
            };
            f.block(blk, full)?;
        }
    } else {
        let full = m / L * L;
        for b in 0..n {
            let at = b * c * m;
            for j0 in (0..full).step_by(L) {
                let blk = Block::<true, false> {
                    at: at + j0,
                    m,
                    ps: 1,
                    nl: L,
                };
                f.block(blk, b * m + j0)?;
            }
            if full < m {
                let blk = Block::<false, false> {
                    at: at + full,
                    m,
                    ps: 1,
                    nl: m - full,
                };
                f.block(blk, b * m + full)?;
            }
        }
    }
    Ok(())
}
