//! The vectorised sigmoid-family kernel.
//!
//! A chunk of whole batch items is processed in blocks of at most `BLOCK`
//! contiguous elements. Per-element class constants (`W` at `y = 0` and at
//! `y = 1`, `pw`) sit in stack arrays laid out like the block, so every hot
//! loop runs over equal-length slices: filled once per chunk when every
//! class has the same constants or when `BLOCK` holds whole items (the
//! blocks then start at item boundaries), and per block otherwise.
//!
//! The per-element maths is branch-free (selects only) and uses the
//! vectorisable `exp` / `ln` / `ln(1 + t)` of `vmath`; the power `q^gamma`
//! is `1`, `q` or `q · q` for `gamma` = 0, 1, 2 and `exp(gamma ln q)`
//! otherwise, with `ln q` taken in log space (`-sp(±x)`) for hard labels as
//! in the scalar kernel. Blocks whose (smoothed, non-ignored) targets are
//! all 0 or 1 skip the soft-label terms (`ln q`, `a b / q`), which give the
//! same values there anyway. Losses are summed into `f64` lanes indexed by
//! the element's position in the chunk, so the sum does not depend on the
//! block layout. Any non-finite logit returns `Err(Fallback)`.

use super::elem::{math, OUT_GRAD, OUT_HESS, OUT_LOSS, POW_GENERAL, POW_ONE, POW_TWO, POW_ZERO};
use super::spec::{Alpha, SigmoidSpec};
use crate::kernel::chunks::Work;
use crate::kernel::float::LossFloat;
use crate::kernel::level::{dispatch_levels, Fallback, Level};
use crate::kernel::{Geom, Upstream};

/// Elements per block.
pub(crate) const BLOCK: usize = 512;
/// Loss accumulator lanes.
const ACC: usize = 16;

/// Loss constants, in precision `F`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Consts<'a, F> {
    spec: SigmoidSpec<'a, F>,
    c: usize,
    m: usize,
    gamma: F,
    pow: u8,
    /// `1 - eps` and `eps / 2`: `y' = y (1 - eps) + eps / 2`.
    ome: F,
    half_eps: F,
    /// Every class has the same constants.
    uniform: bool,
}

impl<'a, F: LossFloat> Consts<'a, F> {
    /// The constants of `spec` on a `geom`-shaped problem.
    pub fn new(spec: &SigmoidSpec<'a, F>, geom: Geom) -> Self {
        let gamma = spec.gamma;
        let pow = if gamma == F::zero() {
            POW_ZERO
        } else if gamma == F::one() {
            POW_ONE
        } else if gamma == F::from_f64_(2.0) {
            POW_TWO
        } else {
            POW_GENERAL
        };
        let per_class = spec.weight.is_some()
            || spec.pos_weight.is_some()
            || matches!(spec.alpha, Alpha::PerClass(_));
        Self {
            spec: *spec,
            c: geom.c,
            m: geom.m,
            gamma,
            pow,
            ome: F::one() - spec.smoothing,
            half_eps: spec.smoothing * F::from_f64_(0.5),
            uniform: geom.c <= 1 || !per_class,
        }
    }

    /// Writes the constants of elements `[o, o + len)` of an item (`o` is
    /// the offset inside the item) into `w0`, `w1`, `pw`.
    #[inline(always)]
    fn fill(&self, o: usize, w0: &mut [F], w1: &mut [F], pw: &mut [F]) {
        let len = w0.len();
        if self.m == 1 {
            for (j, ((a, b), p)) in w0
                .iter_mut()
                .zip(w1.iter_mut())
                .zip(&mut pw[..len])
                .enumerate()
            {
                (*a, *b, *p) = self.spec.class(o + j).linear();
            }
            return;
        }
        let mut j = 0;
        while j < len {
            let cl = (o + j) / self.m;
            let end = ((cl + 1) * self.m - o).min(len);
            let (a, b, p) = self.spec.class(cl).linear();
            w0[j..end].fill(a);
            w1[j..end].fill(b);
            pw[j..end].fill(p);
            j = end;
        }
    }
}

/// Stack scratch of one block.
struct Scratch<F> {
    w0: [F; BLOCK],
    w1: [F; BLOCK],
    pw: [F; BLOCK],
    y: [F; BLOCK],
    loss: [F; BLOCK],
    d: [F; BLOCK],
    h: [F; BLOCK],
}

/// `f64` loss accumulator: value number `i` of the stream goes to lane
/// `i % ACC`, whatever slices the stream arrives in.
struct Acc {
    lanes: [f64; ACC],
    pos: usize,
}

impl Acc {
    #[inline(always)]
    fn push<F: LossFloat>(&mut self, v: &[F]) {
        let head = ((ACC - self.pos % ACC) % ACC).min(v.len());
        for (i, &x) in v[..head].iter().enumerate() {
            self.lanes[(self.pos + i) % ACC] += x.to_f64_();
        }
        let mut ch = v[head..].chunks_exact(ACC);
        for c in &mut ch {
            for (l, &x) in self.lanes.iter_mut().zip(c) {
                *l += x.to_f64_();
            }
        }
        for (i, &x) in ch.remainder().iter().enumerate() {
            self.lanes[i] += x.to_f64_();
        }
        self.pos += v.len();
    }

    /// Pairwise, fixed order.
    #[inline(always)]
    fn sum(&self) -> f64 {
        let mut v = self.lanes;
        let mut w = ACC;
        while w > 1 {
            w /= 2;
            for i in 0..w {
                v[i] += v[i + w];
            }
        }
        v[0]
    }
}

/// One block of elements: the slices are cut to the block; the first
/// `z.len()` entries of `s.w0`, `s.w1`, `s.pw` hold its class constants.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block<F: LossFloat, const FMA: bool>(
    k: &Consts<'_, F>,
    s: &mut Scratch<F>,
    z: &[F],
    t: &[F],
    ig: Option<&[bool]>,
    pt: Option<&mut [F]>,
    g: Option<(&mut [F], Upstream<'_, F>)>,
    hs: Option<&mut [F]>,
    acc: &mut Acc,
) -> Result<(), Fallback> {
    let l = z.len();
    let finite = z.iter().fold(true, |ok, &x| ok & (x.abs() < F::infinity()));
    if !finite {
        // NaN, ±inf: the scalar kernel reports or handles it exactly.
        return Err(Fallback);
    }
    let Scratch {
        w0,
        w1,
        pw,
        y,
        loss,
        d,
        h,
    } = s;
    let y = &mut y[..l];
    for (yv, &tv) in y.iter_mut().zip(&t[..l]) {
        *yv = tv * k.ome + k.half_eps;
    }
    if let Some(ig) = ig {
        // Ignored targets may be any placeholder; their results are dropped.
        for (yv, &i) in y.iter_mut().zip(&ig[..l]) {
            *yv = if i { F::zero() } else { *yv };
        }
    }
    let (zero, one) = (F::zero(), F::one());
    let hard = k.pow != POW_ZERO && y.iter().fold(true, |h, &v| h & ((v == zero) | (v == one)));
    let want_grad = g.is_some();
    let want_hess = want_grad && hs.is_some();
    let (w0, w1, pw) = (&w0[..l], &w1[..l], &pw[..l]);
    let (loss, d, h) = (&mut loss[..l], &mut d[..l], &mut h[..l]);
    macro_rules! go {
        ($p:expr, $h:expr, $o:expr) => {
            math::<F, $p, $h, $o, FMA>(k.gamma, z, y, w0, w1, pw, loss, d, h)
        };
    }
    macro_rules! by_out {
        ($p:expr, $h:expr) => {
            match (want_grad, want_hess) {
                (true, true) => go!($p, $h, OUT_HESS),
                (true, false) => go!($p, $h, OUT_GRAD),
                _ => go!($p, $h, OUT_LOSS),
            }
        };
    }
    match (k.pow, hard) {
        (POW_ZERO, _) => by_out!(POW_ZERO, false),
        (POW_ONE, true) => by_out!(POW_ONE, true),
        (POW_ONE, false) => by_out!(POW_ONE, false),
        (POW_TWO, true) => by_out!(POW_TWO, true),
        (POW_TWO, false) => by_out!(POW_TWO, false),
        (_, true) => by_out!(POW_GENERAL, true),
        (_, false) => by_out!(POW_GENERAL, false),
    }
    if let Some(ig) = ig {
        let outs = loss.iter_mut().zip(d.iter_mut()).zip(h.iter_mut());
        for (((lv, dv), hv), &i) in outs.zip(&ig[..l]) {
            *lv = if i { zero } else { *lv };
            *dv = if i { zero } else { *dv };
            *hv = if i { zero } else { *hv };
        }
    }
    // A loss or derivative that left the range (x near ±MAX with pw > 1):
    // the scalar kernel computes it in log space.
    let finite = |v: &[F]| v.iter().fold(true, |ok, &x| ok & (x.abs() < F::infinity()));
    let ok = finite(loss) && (!want_grad || finite(d)) && (!want_hess || finite(h));
    if !ok {
        return Err(Fallback);
    }
    acc.push(loss);
    if let Some(pt) = pt {
        pt.copy_from_slice(loss);
    }
    let Some((g, up)) = g else {
        return Ok(());
    };
    scaled(g, d, up);
    if let Some(hs) = hs.filter(|_| want_hess) {
        scaled(hs, h, up);
    }
    Ok(())
}

/// `out_i = u_i v_i` (`u` the upstream factors).
#[inline(always)]
fn scaled<F: LossFloat>(out: &mut [F], v: &[F], up: Upstream<'_, F>) {
    match up {
        Upstream::Uniform(sc) => {
            for (o, &x) in out.iter_mut().zip(v) {
                *o = sc * x;
            }
        }
        Upstream::PerPosition(u) => {
            for ((o, &x), &uv) in out.iter_mut().zip(v).zip(&u[..v.len()]) {
                *o = uv * x;
            }
        }
    }
}

dispatch_levels! {
    /// Runs the vectorised kernel on one chunk at the given level; `ig` is
    /// the chunk's part of the ignore mask.
    fn run_level<F>(k: &Consts<'_, F>, w: Work<'_, '_, '_, F>, ig: Option<&[bool]>) -> Result<f64, Fallback> {
        generic => run_work::<F, false>(k, w, ig),
        avx2 => run_work::<F, true>(k, w, ig),
        avx512 => run_work::<F, true>(k, w, ig),
    }
}

/// A chunk's inputs and outputs.
struct Io<'a, 'o, 'u, F> {
    z: &'a [F],
    t: &'a [F],
    ig: Option<&'a [bool]>,
    per_target: Option<&'o mut [F]>,
    grad: Option<(&'o mut [F], Upstream<'u, F>)>,
    hess: Option<&'o mut [F]>,
}

impl<F: LossFloat> Io<'_, '_, '_, F> {
    /// Runs [`block`] on elements `[start, start + l)` of the chunk.
    #[inline(always)]
    fn block<const FMA: bool>(
        &mut self,
        k: &Consts<'_, F>,
        s: &mut Scratch<F>,
        acc: &mut Acc,
        start: usize,
        l: usize,
    ) -> Result<(), Fallback> {
        let r = start..start + l;
        let pt = self.per_target.as_deref_mut().map(|p| &mut p[r.clone()]);
        let g = self.grad.as_mut().map(|(g, u)| {
            let u = match *u {
                Upstream::Uniform(v) => Upstream::Uniform(v),
                Upstream::PerPosition(u) => Upstream::PerPosition(&u[r.clone()]),
            };
            (&mut g[r.clone()], u)
        });
        let hs = self.hess.as_deref_mut().map(|h| &mut h[r.clone()]);
        let ig = self.ig.map(|m| &m[r.clone()]);
        block::<F, FMA>(k, s, &self.z[r.clone()], &self.t[r], ig, pt, g, hs, acc)
    }
}

/// The kernel over a chunk of `w.n` whole items.
#[inline(always)]
fn run_work<F: LossFloat, const FMA: bool>(
    k: &Consts<'_, F>,
    w: Work<'_, '_, '_, F>,
    ig: Option<&[bool]>,
) -> Result<f64, Fallback> {
    let Work {
        z,
        aux: t,
        per_target,
        grad,
        hess,
        ..
    } = w;
    let len = z.len();
    let mut acc = Acc {
        lanes: [0.0; ACC],
        pos: 0,
    };
    if len == 0 {
        return Ok(0.0);
    }
    let zero = F::zero();
    let mut s = Scratch {
        w0: [zero; BLOCK],
        w1: [zero; BLOCK],
        pw: [zero; BLOCK],
        y: [zero; BLOCK],
        loss: [zero; BLOCK],
        d: [zero; BLOCK],
        h: [zero; BLOCK],
    };
    let item = k.c * k.m;
    let mut io = Io {
        z,
        t,
        ig,
        per_target,
        grad,
        hess,
    };
    if k.uniform || item <= BLOCK {
        // Constants fixed for the whole chunk: blocks of `step` elements.
        let step = if k.uniform {
            let (a, b, p) = k.spec.class(0).linear();
            s.w0.fill(a);
            s.w1.fill(b);
            s.pw.fill(p);
            BLOCK
        } else {
            let items = BLOCK / item;
            for r in 0..items {
                let sl = r * item..(r + 1) * item;
                k.fill(
                    0,
                    &mut s.w0[sl.clone()],
                    &mut s.w1[sl.clone()],
                    &mut s.pw[sl],
                );
            }
            items * item
        };
        let mut start = 0;
        while start < len {
            let l = step.min(len - start);
            io.block::<FMA>(k, &mut s, &mut acc, start, l)?;
            start += l;
        }
    } else {
        for it in 0..len / item {
            let mut o = 0;
            while o < item {
                let l = BLOCK.min(item - o);
                k.fill(o, &mut s.w0[..l], &mut s.w1[..l], &mut s.pw[..l]);
                io.block::<FMA>(k, &mut s, &mut acc, it * item + o, l)?;
                o += l;
            }
        }
    }
    Ok(acc.sum())
}
