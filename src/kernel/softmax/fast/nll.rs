//! NLL needs no exponentials. Block by block (a few KiB of rows, or one
//! item of a K-dim input), the gradient is zeroed (`memset`), one vectorised
//! pass checks every input, then each position writes its one entry while
//! the block is still in L1.

use super::row::finite_or_masked;
use super::Consts;
use crate::kernel::chunks::Work;
use crate::kernel::float::LossFloat;
use crate::kernel::label::{Label, Labels};
use crate::kernel::level::{dispatch_levels, Fallback, Level};
use crate::kernel::softmax::spec::Weights;
use crate::kernel::Upstream;

/// Elements per block of rows (`M = 1`).
const BLOCK: usize = 2048;

dispatch_levels! {
    /// NLL on one chunk at the given level.
    fn run_level<F>(k: &Consts<'_, F>, c: usize, m: usize, w: Work<'_, '_, '_, F>) -> Result<f64, Fallback> {
        generic => run::<F, 0>(k, c, m, w),
        avx2 => run::<F, 1>(k, c, m, w),
        avx512 => run::<F, 2>(k, c, m, w),
    }
}

/// NLL over a sub-batch of `w.n` items with `C` classes and `M` positions.
/// The label type is matched once here: the per-position loop is compiled
/// for each (it reads one target per position and nothing else, so a
/// conversion step would cost as much as the loop).
///
/// `LEVEL` (0, 1, 2: generic, AVX2, AVX-512) only makes each level's
/// closures distinct functions: shared by the three levels, they had three
/// callers, were not inlined, and ran outside the target features (the
/// finiteness check at SSE2 width).
#[inline(always)]
fn run<F: LossFloat, const LEVEL: u8>(
    k: &Consts<'_, F>,
    c: usize,
    m: usize,
    w: Work<'_, '_, '_, F>,
) -> Result<f64, Fallback> {
    match w.t {
        Labels::U8(t) => run_typed::<F, _, LEVEL>(k, c, m, w, t),
        Labels::U16(t) => run_typed::<F, _, LEVEL>(k, c, m, w, t),
        Labels::U32(t) => run_typed::<F, _, LEVEL>(k, c, m, w, t),
        Labels::U64(t) => run_typed::<F, _, LEVEL>(k, c, m, w, t),
        Labels::Usize(t) => run_typed::<F, _, LEVEL>(k, c, m, w, t),
        Labels::I32(t) => run_typed::<F, _, LEVEL>(k, c, m, w, t),
        Labels::I64(t) => run_typed::<F, _, LEVEL>(k, c, m, w, t),
    }
}

#[inline(always)]
fn run_typed<F: LossFloat, L: Label, const LEVEL: u8>(
    k: &Consts<'_, F>,
    c: usize,
    m: usize,
    w: Work<'_, '_, '_, F>,
    t: &[L],
) -> Result<f64, Fallback> {
    let (z, n) = (w.z, w.n);
    let mut pt = w.per_target;
    // Four partial sums (fixed order) instead of one serial chain.
    let mut acc = [0.0f64; 4];
    let ig = k.ignore;
    let one = |_: usize| F::one();
    // The weight and upstream enums are matched once, outside the loops.
    let finite = match (w.grad, k.w) {
        (None, wts) => each_run(n, c, m, |r| {
            positions(z, t, &mut pt, &mut acc, r, ig, |y| wts.at(y), None, one)
        }),
        (Some((g, Upstream::Uniform(u))), Weights::Uniform(wv)) => each_run(n, c, m, |r| {
            positions(z, t, &mut pt, &mut acc, r, ig, |_| wv, Some(&mut *g), |_| u)
        }),
        (Some((g, Upstream::Uniform(u))), Weights::PerClass(wv)) => each_run(n, c, m, |r| {
            positions(
                z,
                t,
                &mut pt,
                &mut acc,
                r,
                ig,
                |y| wv[y],
                Some(&mut *g),
                |_| u,
            )
        }),
        (Some((g, Upstream::PerPosition(u))), wts) => each_run(n, c, m, |r| {
            positions(
                z,
                t,
                &mut pt,
                &mut acc,
                r,
                ig,
                |y| wts.at(y),
                Some(&mut *g),
                |p| u[p],
            )
        }),
    };
    if !finite {
        // NaN / +inf (an error) or -inf (log 0): the scalar kernel reruns
        // the whole sub-batch and handles it.
        return Err(Fallback);
    }
    Ok((acc[0] + acc[1]) + (acc[2] + acc[3]))
}

/// `len` positions from `p0`; the class-0 input of the `j`-th is at
/// `i0 + j * step`, and classes are `m` apart (`c` of them).
#[derive(Debug, Clone, Copy)]
struct Run {
    p0: usize,
    len: usize,
    i0: usize,
    step: usize,
    m: usize,
    c: usize,
}

/// Calls `f` on each run (blocks of rows for `M = 1`, one item otherwise)
/// until it returns `false`; returns whether every call returned `true`.
///
/// `f` has one call site (it had one per layout), and, through `run`'s
/// `LEVEL`, one instance per level: together they let it be inlined into
/// each level's kernel (only the two were tried together).
#[inline(always)]
fn each_run(n: usize, c: usize, m: usize, mut f: impl FnMut(Run) -> bool) -> bool {
    // Positions per run and runs.
    let per = if m == 1 { (BLOCK / c).max(1) } else { m };
    let runs = if m == 1 { n.div_ceil(per) } else { n };
    for i in 0..runs {
        let p0 = i * per;
        let (len, i0, step) = if m == 1 {
            (per.min(n - p0), p0 * c, c)
        } else {
            (m, i * c * m, 1)
        };
        if !f(Run {
            p0,
            len,
            i0,
            step,
            m,
            c,
        }) {
            return false;
        }
    }
    true
}

/// One run: zeroes its gradient span and checks its inputs (`false` if any
/// is not finite), then each position adds its loss `-w_y z_y` to
/// `acc[j % 4]` (ignored ones add nothing) and, with a gradient, writes its
/// one entry `-u_p w_y`. Four positions per step, so the partial sums stay
/// in registers.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn positions<F: LossFloat, L: Label>(
    z: &[F],
    t: &[L],
    pt: &mut Option<&mut [F]>,
    acc: &mut [f64; 4],
    r: Run,
    ignore: Option<usize>,
    wf: impl Fn(usize) -> F,
    mut g: Option<&mut [F]>,
    uf: impl Fn(usize) -> F,
) -> bool {
    let Run {
        p0,
        len,
        i0,
        step,
        m,
        c,
    } = r;
    if len == 0 {
        return true;
    }
    let span = i0..i0 + (len - 1) * step + (c - 1) * m + 1;
    if let Some(g) = g.as_deref_mut() {
        // `fill` becomes `memset`; fused with the check, the loop stayed
        // scalar and ran 18% slower at (16384, 100).
        g[span.clone()].fill(F::zero());
    }
    if !finite_or_masked(&z[span]) {
        return false;
    }

    // Local reborrows: the loop then keeps them in registers.
    let mut pt = pt.as_deref_mut();
    // One position's loss and entry (a macro, not a closure: called from
    // five places, the closure was not inlined, a call per position).
    macro_rules! one {
        ($j:expr, $y:expr, $a:expr) => {{
            let (j, y): (usize, usize) = ($j, $y);
            let p = p0 + j;
            let l = if ignore == Some(y) {
                F::zero()
            } else {
                let (i, wy) = (i0 + j * step + y * m, wf(y));
                if let Some(g) = g.as_deref_mut() {
                    g[i] = -uf(p) * wy;
                }
                -wy * z[i]
            };
            if let Some(pt) = pt.as_deref_mut() {
                pt[p] = l;
            }
            $a += l.to_f64_();
        }};
    }
    let mut quads = t[p0..p0 + len].chunks_exact(4);
    let [mut a0, mut a1, mut a2, mut a3] = *acc;
    for (q, ys) in (&mut quads).enumerate() {
        let j = 4 * q;
        one!(j, ys[0].key(), a0);
        one!(j + 1, ys[1].key(), a1);
        one!(j + 2, ys[2].key(), a2);
        one!(j + 3, ys[3].key(), a3);
    }
    let done = len - quads.remainder().len();
    let mut part = [a0, a1, a2, a3];
    for (r, &y) in quads.remainder().iter().enumerate() {
        one!(done + r, y.key(), part[r]);
    }
    *acc = part;
    // A masked (-inf) class is fine anywhere but at a target, where its
    // loss (+inf, or NaN with weight 0) makes a sum non-finite: the scalar
    // kernel then reports it.
    part.iter().all(|a| a.is_finite())
}
