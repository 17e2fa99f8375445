//! Fixed chunking of a batch and a fixed-shape reduction tree over the
//! chunks, run in parallel with the `rayon` feature. The tree depends only
//! on the input's shape, never on the number of threads, so the reduced
//! loss is bitwise the same with one thread or many. No heap allocation.

use super::{Geom, Upstream};
use crate::kernel::float::LossFloat;
use crate::kernel::label::Labels;

/// Target number of logits per chunk.
const CHUNK_ELEMS: usize = 32 * 1024;
/// Inputs smaller than this run on the calling thread.
pub(crate) const PAR_MIN_ELEMS: usize = 128 * 1024;

/// The part of a problem covering batch items `[n0, n0 + n)`.
pub(crate) struct Work<'a, 'o, 'u, F> {
    /// Logits of these items, `n * C * M`.
    pub z: &'a [F],
    /// Index targets of these items, `n * M` (empty for other target kinds).
    pub t: Labels<'a>,
    /// Other per-element inputs laid out like `z` (probability or binary
    /// targets), or empty.
    pub aux: &'a [F],
    /// Per-position losses, `n * M`.
    pub per_target: Option<&'o mut [F]>,
    /// Gradient, `n * C * M`, and its upstream factors.
    pub grad: Option<(&'o mut [F], Upstream<'u, F>)>,
    /// Hessian diagonal, `n * C * M` (only with a gradient).
    pub hess: Option<&'o mut [F]>,
    /// Number of batch items.
    pub n: usize,
}

impl<F: LossFloat> Work<'_, '_, '_, F> {
    /// Splits after `mid` batch items.
    fn split(self, mid: usize, c: usize, m: usize) -> (Self, Self) {
        let (cm, pm) = (c * m, mid * m);
        let (z0, z1) = self.z.split_at(mid * cm);
        let (t0, t1) = if self.t.len() == 0 {
            (self.t, self.t)
        } else {
            self.t.split_at(pm)
        };
        let (a0, a1) = if self.aux.is_empty() {
            (self.aux, self.aux)
        } else {
            self.aux.split_at(mid * cm)
        };
        let (p0, p1) = match self.per_target {
            Some(p) => {
                let (a, b) = p.split_at_mut(pm);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        let (g0, g1) = match self.grad {
            Some((g, u)) => {
                let (a, b) = g.split_at_mut(mid * cm);
                let (u0, u1) = match u {
                    Upstream::Uniform(s) => (Upstream::Uniform(s), Upstream::Uniform(s)),
                    Upstream::PerPosition(u) => {
                        let (a, b) = u.split_at(pm);
                        (Upstream::PerPosition(a), Upstream::PerPosition(b))
                    }
                };
                (Some((a, u0)), Some((b, u1)))
            }
            None => (None, None),
        };
        let (h0, h1) = match self.hess {
            Some(h) => {
                let (a, b) = h.split_at_mut(mid * cm);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        (
            Work {
                z: z0,
                t: t0,
                aux: a0,
                per_target: p0,
                grad: g0,
                hess: h0,
                n: mid,
            },
            Work {
                z: z1,
                t: t1,
                aux: a1,
                per_target: p1,
                grad: g1,
                hess: h1,
                n: self.n - mid,
            },
        )
    }
}

/// Runs `f` on every chunk of `work` and sums the results over a fixed
/// binary tree of chunks. `f` sees a sub-problem of `Work::n` items.
pub(crate) fn reduce<F, E, Fun>(geom: Geom, work: Work<'_, '_, '_, F>, f: &Fun) -> Result<f64, E>
where
    F: LossFloat,
    E: Send,
    Fun: Fn(Work<'_, '_, '_, F>) -> Result<f64, E> + Sync,
{
    let per_item = (geom.c * geom.m).max(1);
    let chunk_n = (CHUNK_ELEMS / per_item).max(1);
    let chunks = geom.n.div_ceil(chunk_n).max(1);
    #[cfg(feature = "rayon")]
    let parallel = geom.len() >= PAR_MIN_ELEMS;
    #[cfg(not(feature = "rayon"))]
    let parallel = false;
    tree(geom, work, chunks, chunk_n, parallel, f)
}

fn tree<F, E, Fun>(
    geom: Geom,
    work: Work<'_, '_, '_, F>,
    chunks: usize,
    chunk_n: usize,
    parallel: bool,
    f: &Fun,
) -> Result<f64, E>
where
    F: LossFloat,
    E: Send,
    Fun: Fn(Work<'_, '_, '_, F>) -> Result<f64, E> + Sync,
{
    if chunks <= 1 {
        return f(work);
    }
    let left_chunks = chunks / 2;
    let (l, r) = work.split(left_chunks * chunk_n, geom.c, geom.m);
    let run_l = || tree(geom, l, left_chunks, chunk_n, parallel, f);
    let run_r = || tree(geom, r, chunks - left_chunks, chunk_n, parallel, f);
    let (a, b) = join(parallel, run_l, run_r);
    Ok(a? + b?)
}

/// Runs `a` and `b`, on two threads when `parallel` (with the `rayon`
/// feature; without it, always one after the other).
#[cfg(feature = "rayon")]
pub(crate) fn join<A: Send, B: Send>(
    parallel: bool,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if parallel {
        rayon::join(a, b)
    } else {
        (a(), b())
    }
}

/// Runs `a`, then `b` (no `rayon` feature).
#[cfg(not(feature = "rayon"))]
pub(crate) fn join<A, B>(_: bool, a: impl FnOnce() -> A, b: impl FnOnce() -> B) -> (A, B) {
    (a(), b())
}
