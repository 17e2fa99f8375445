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

use super::ln1p::ln_1p_atanh_with;
use super::spec::{Alpha, SigmoidSpec};
use crate::kernel::chunks::Work;
use crate::kernel::float::LossFloat;
use crate::kernel::level::{dispatch_levels, exp, Fallback, Level};
use crate::kernel::vmath::madd;
use crate::kernel::{Geom, Upstream};

/// Elements per block.
pub(crate) const BLOCK: usize = 512;
/// Loss accumulator lanes.
const ACC: usize = 16;

/// How `q^gamma` is evaluated (`P` of [`math`]).
const POW_ZERO: u8 = 0;
const POW_ONE: u8 = 1;
const POW_TWO: u8 = 2;
const POW_GENERAL: u8 = 3;

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

/// Losses and (when `GRAD`) derivatives `dl/dx` of a block; `P` selects
/// the power, `HARD` promises that every `y` is 0 or 1. Branch-free: the
/// hard-label forms are selected per element, so `HARD` changes no value.
/// `FMA` fuses the polynomial steps (the caller enabled the `fma` feature).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn math<F: LossFloat, const P: u8, const HARD: bool, const GRAD: bool, const FMA: bool>(
    gamma: F,
    z: &[F],
    y: &[F],
    w0: &[F],
    w1: &[F],
    pw: &[F],
    loss: &mut [F],
    d: &mut [F],
) {
    let n = z.len();
    let (y, w0, w1, pw) = (&y[..n], &w0[..n], &w1[..n], &pw[..n]);
    let (loss, d) = (&mut loss[..n], &mut d[..n]);
    let (zero, one) = (F::zero(), F::one());
    let two = one + one;
    for i in 0..n {
        let x = z[i];
        let yv = y[i];
        // e = exp(-|x|); σ(|x|) = 1 / (1 + e), σ(-|x|) = e / (1 + e),
        // sp(-|x|) = ln(1 + e), sp(|x|) = |x| + ln(1 + e).
        // One reciprocal serves 1 / (1 + e) and s = e / (2 + e), whence
        // ln(1 + e) = 2 atanh(s).
        let e = exp::<F, FMA>(-x.abs());
        let d1 = one + e;
        let d2 = two + e;
        let rec = one / (d1 * d2);
        let inv = d2 * rec;
        let l1 = ln_1p_atanh_with::<F, FMA>(e * d1 * rec);
        let eb = e * inv;
        let pos = x >= zero;
        let a = if pos { inv } else { eb };
        let b = if pos { eb } else { inv };
        let sp_x = if pos { x } else { zero } + l1;
        let sp_mx = if pos { zero } else { -x } + l1;
        let ym = one - yv;
        let p = pw[i];
        let bce = madd::<F, FMA>(p * yv, sp_mx, ym * sp_x);
        let w = madd::<F, FMA>(w1[i], yv, w0[i] * ym);
        let db = madd::<F, FMA>(-(p * yv), b, ym * a);
        if P == POW_ZERO {
            loss[i] = w * bce;
            if GRAD {
                d[i] = w * db;
            }
            continue;
        }
        let is1 = yv == one;
        let is0 = yv == zero;
        let q = yv * b + ym * a;
        let r = if HARD {
            if is1 {
                a
            } else {
                b
            }
        } else {
            let r = a * b / q;
            if is1 {
                a
            } else if is0 {
                b
            } else {
                r
            }
        };
        let mm = if P == POW_ONE {
            q
        } else if P == POW_TWO {
            q * q
        } else {
            let lnq = if HARD {
                if is1 {
                    -sp_x
                } else {
                    -sp_mx
                }
            } else {
                let lq = q.vln();
                if is1 {
                    -sp_x
                } else if is0 {
                    -sp_mx
                } else {
                    lq
                }
            };
            exp::<F, FMA>(gamma * lnq)
        };
        loss[i] = w * (bce * mm);
        if GRAD {
            // As in the scalar kernel: 0, not 0 * inf, where r underflows.
            let rb = if r == zero { zero } else { r * bce };
            d[i] = w * mm * madd::<F, FMA>(gamma * (ym - yv), rb, db);
        }
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
    let (w0, w1, pw) = (&w0[..l], &w1[..l], &pw[..l]);
    let (loss, d) = (&mut loss[..l], &mut d[..l]);
    macro_rules! go {
        ($p:expr, $h:expr, $g:expr) => {
            math::<F, $p, $h, $g, FMA>(k.gamma, z, y, w0, w1, pw, loss, d)
        };
    }
    match (k.pow, hard, want_grad) {
        (POW_ZERO, _, true) => go!(POW_ZERO, false, true),
        (POW_ZERO, _, false) => go!(POW_ZERO, false, false),
        (POW_ONE, true, true) => go!(POW_ONE, true, true),
        (POW_ONE, true, false) => go!(POW_ONE, true, false),
        (POW_ONE, false, true) => go!(POW_ONE, false, true),
        (POW_ONE, false, false) => go!(POW_ONE, false, false),
        (POW_TWO, true, true) => go!(POW_TWO, true, true),
        (POW_TWO, true, false) => go!(POW_TWO, true, false),
        (POW_TWO, false, true) => go!(POW_TWO, false, true),
        (POW_TWO, false, false) => go!(POW_TWO, false, false),
        (_, true, true) => go!(POW_GENERAL, true, true),
        (_, true, false) => go!(POW_GENERAL, true, false),
        (_, false, true) => go!(POW_GENERAL, false, true),
        (_, false, false) => go!(POW_GENERAL, false, false),
    }
    if let Some(ig) = ig {
        for ((lv, dv), &i) in loss.iter_mut().zip(d.iter_mut()).zip(&ig[..l]) {
            *lv = if i { zero } else { *lv };
            *dv = if i { zero } else { *dv };
        }
    }
    // A loss or derivative that left the range (x near ±MAX with pw > 1):
    // the scalar kernel computes it in log space.
    let ok = loss
        .iter()
        .fold(true, |ok, &v| ok & (v.abs() < F::infinity()))
        && (!want_grad || d.iter().fold(true, |ok, &v| ok & (v.abs() < F::infinity())));
    if !ok {
        return Err(Fallback);
    }
    acc.push(loss);
    if let Some(pt) = pt {
        pt.copy_from_slice(loss);
    }
    match g {
        Some((g, Upstream::Uniform(sc))) => {
            for (gv, &dv) in g.iter_mut().zip(&*d) {
                *gv = sc * dv;
            }
        }
        Some((g, Upstream::PerPosition(u))) => {
            for ((gv, &dv), &uv) in g.iter_mut().zip(&*d).zip(&u[..l]) {
                *gv = uv * dv;
            }
        }
        None => {}
    }
    Ok(())
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
        let ig = self.ig.map(|m| &m[r.clone()]);
        block::<F, FMA>(k, s, &self.z[r.clone()], &self.t[r], ig, pt, g, acc)
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
    };
    let item = k.c * k.m;
    let mut io = Io {
        z,
        t,
        ig,
        per_target,
        grad,
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
