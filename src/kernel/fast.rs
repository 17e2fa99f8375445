//! Vectorised softmax-family kernels for class-index targets (NLL,
//! cross-entropy with any smoothing, focal without smoothing).
//!
//! Two layouts:
//! - **rows** (`M = 1`, `C >= ROW_MIN_C`): each row is contiguous; max,
//!   `exp`, sum and the gradient are vectorised along the row, with the
//!   exponentials stored in the gradient row and rescaled in place;
//! - **tiles** (everything else): up to `LANES` consecutive positions are
//!   gathered class-major into stack scratch (`s[k][j]`), so every step is
//!   vectorised across positions, then the gradient is scattered back.
//!   For K-dim inputs the gather is a plain copy per class.
//!
//! Reductions over classes use per-lane accumulators, so no floating-point
//! reassociation is needed for vectorisation and results are deterministic.
//! Any non-finite input (NaN, `+inf`, or `-inf` masking a class) returns
//! `Err(Fallback)`, and the caller reruns the scalar kernel, which reports
//! or handles it exactly; masked inputs therefore run at scalar speed.

use super::chunks::Work;
use super::softmax::{Outputs, SoftmaxKind, SoftmaxSpec, Weights};
use crate::float::LossFloat;

/// Positions per tile.
pub(crate) const LANES: usize = 64;
/// Elements per scratch buffer (two buffers per tile).
pub(crate) const SCRATCH: usize = 4096;
/// Rows at least this long use the row kernel when `M = 1`.
pub(crate) const ROW_MIN_C: usize = 64;

/// The vectorised kernel declined; rerun the scalar one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fallback;

/// How `(1 - p)^gamma` is evaluated.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pow {
    Zero,
    One,
    Two,
    General,
}

/// Loss-specific constants, in precision `F`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Consts<'a, F> {
    kind: SoftmaxKind<F>,
    w: Weights<'a, F>,
    ignore: Option<usize>,
    /// `1 - eps`, `eps / C`, `Σ_c w_c` (cross-entropy).
    one_m_eps: F,
    e: F,
    wsum: F,
    gamma: F,
    pow: Pow,
}

impl<'a, F: LossFloat> Consts<'a, F> {
    /// `None` when the fast kernels do not cover this configuration.
    pub fn new(spec: &SoftmaxSpec<'a, F>, c: usize) -> Option<Self> {
        let cf = F::from_f64_(c as f64);
        let (eps, gamma) = match spec.kind {
            SoftmaxKind::Nll => (F::zero(), F::zero()),
            SoftmaxKind::CrossEntropy { smoothing } => (smoothing, F::zero()),
            SoftmaxKind::Focal { gamma, smoothing } => {
                if smoothing != F::zero() {
                    return None;
                }
                (F::zero(), gamma)
            }
        };
        let pow = if gamma == F::zero() {
            Pow::Zero
        } else if gamma == F::one() {
            Pow::One
        } else if gamma == F::from_f64_(2.0) {
            Pow::Two
        } else {
            Pow::General
        };
        Some(Self {
            kind: spec.kind,
            w: spec.weight,
            ignore: spec.ignore_index,
            one_m_eps: F::one() - eps,
            e: eps / cf,
            wsum: spec.weight.sum(c),
            gamma,
            pow,
        })
    }

    #[inline(always)]
    fn smoothing(&self) -> bool {
        self.e != F::zero()
    }

    /// `(1-p)^gamma` and `g = (1-p)^gamma (gamma p r - 1)` from `lp = ln p`
    /// (see `softmax::focal_terms`), branch-free.
    #[inline(always)]
    fn focal(&self, lp: F) -> (F, F) {
        let p = lp.vexp();
        let omp = -lp.vexpm1();
        let md = match self.pow {
            Pow::Zero => return (F::one(), -F::one()),
            Pow::One => omp,
            Pow::Two => omp * omp,
            Pow::General => {
                let v = (self.gamma * omp.vln()).vexp();
                if omp > F::zero() {
                    v
                } else {
                    F::zero()
                }
            }
        };
        let r = if lp == F::zero() { -F::one() } else { lp / omp };
        (md, md * (self.gamma * p * r - F::one()))
    }
}

/// Where a tile lies: `P` positions starting at position `p0`, whose class-0
/// logits start at `base` and step by `pstride`; classes step by `cstride`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tile {
    pub p0: usize,
    pub np: usize,
    pub base: usize,
    pub pstride: usize,
    pub cstride: usize,
}

/// One tile; returns the sum of its per-position losses in position order.
///
/// Hot loops run over equal-length slices (zip), so the compiler can drop
/// bounds checks and vectorise across positions.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn tile<F: LossFloat>(
    k: &Consts<'_, F>,
    c: usize,
    z: &[F],
    t: &[usize],
    tl: Tile,
    out: &mut Outputs<'_, '_, F>,
    zs: &mut [F; SCRATCH],
    es: &mut [F; SCRATCH],
) -> Result<f64, Fallback> {
    let np = tl.np;
    debug_assert!(np <= LANES && np * c <= SCRATCH);
    let zs = &mut zs[..c * np];
    let es = &mut es[..c * np];
    // Gather class-major: zs[k * np + j].
    if tl.pstride == 1 {
        for (cl, dst) in zs.chunks_exact_mut(np).enumerate() {
            dst.copy_from_slice(&z[tl.base + cl * tl.cstride..][..np]);
        }
    } else {
        let src = &z[tl.base..][..(np - 1) * tl.pstride + c];
        for (j, row) in src.chunks(tl.pstride).enumerate() {
            for (cl, &v) in row[..c].iter().enumerate() {
                zs[cl * np + j] = v;
            }
        }
    }
    let mut y = [0usize; LANES];
    let mut valid = [false; LANES];
    let (y, valid) = (&mut y[..np], &mut valid[..np]);
    for ((yj, vj), &v) in y
        .iter_mut()
        .zip(valid.iter_mut())
        .zip(&t[tl.p0..tl.p0 + np])
    {
        *vj = k.ignore != Some(v);
        *yj = if *vj { v } else { 0 };
    }
    // Row maxima; `chk` turns NaN if any value is NaN or infinite (v * 0).
    let mut mx = [F::neg_infinity(); LANES];
    let mut chk = [F::zero(); LANES];
    let mx = &mut mx[..np];
    let chk = &mut chk[..np];
    for row in zs.chunks_exact(np) {
        for ((m, ck), &v) in mx.iter_mut().zip(chk.iter_mut()).zip(row) {
            *ck = *ck + v * F::zero();
            *m = if v > *m { v } else { *m };
        }
    }
    if chk.iter().any(|v| v.is_nan()) {
        // NaN, +inf, or -inf (masked classes): the scalar kernel handles it.
        return Err(Fallback);
    }
    let mut zy = [F::zero(); LANES];
    let mut wy = [F::zero(); LANES];
    let mut s = [F::zero(); LANES];
    let (zy, wy, s) = (&mut zy[..np], &mut wy[..np], &mut s[..np]);
    for j in 0..np {
        zy[j] = zs[y[j] * np + j];
        wy[j] = if valid[j] { k.w.at(y[j]) } else { F::zero() };
        s[j] = match out.grad {
            Some((_, u)) => u.at(tl.p0 + j),
            None => F::zero(),
        };
    }
    let mut loss = [F::zero(); LANES];
    let loss = &mut loss[..np];
    if let SoftmaxKind::Nll = k.kind {
        for ((l, &w), &v) in loss.iter_mut().zip(&*wy).zip(&*zy) {
            *l = -w * v;
        }
        if out.grad.is_some() {
            es.fill(F::zero());
            for j in 0..np {
                es[y[j] * np + j] = if valid[j] { -s[j] * wy[j] } else { F::zero() };
            }
        }
        return Ok(finish(tl, c, loss, valid, out, es));
    }
    // Exponentials and their sums.
    let mut sum = [F::zero(); LANES];
    let sum = &mut sum[..np];
    for (zr, er) in zs.chunks_exact(np).zip(es.chunks_exact_mut(np)) {
        for (((e, &v), &m), acc) in er.iter_mut().zip(zr).zip(&*mx).zip(sum.iter_mut()) {
            *e = (v - m).vexp();
            *acc = *acc + *e;
        }
    }
    // Per-position coefficients: grad_k = es_k * a + s * b * w_k, plus d at y.
    let mut a = [F::zero(); LANES];
    let mut d = [F::zero(); LANES];
    // ln Σ, kept apart from the max: lp = (z - mx) - lns (see softmax::Lse).
    let mut lns = [F::zero(); LANES];
    let (a, d, lns) = (&mut a[..np], &mut d[..np], &mut lns[..np]);
    for (l, &sm) in lns.iter_mut().zip(&*sum) {
        *l = sm.vln();
    }
    let mut b = F::zero();
    if let SoftmaxKind::Focal { .. } = k.kind {
        for j in 0..np {
            let lp = (zy[j] - mx[j]) - lns[j];
            let (md, g) = k.focal(lp);
            loss[j] = -wy[j] * md * lp;
            let f = s[j] * wy[j] * g;
            a[j] = -f / sum[j];
            d[j] = f;
        }
    } else {
        for j in 0..np {
            loss[j] = k.one_m_eps * wy[j] * ((mx[j] - zy[j]) + lns[j]);
            let coef = k.one_m_eps * wy[j] + k.e * k.wsum;
            a[j] = s[j] * coef / sum[j];
            d[j] = -s[j] * k.one_m_eps * wy[j];
        }
        if k.smoothing() {
            let mut acc = [F::zero(); LANES];
            let acc = &mut acc[..np];
            for (cl, zr) in zs.chunks_exact(np).enumerate() {
                let wc = k.w.at(cl);
                for (((ac, &v), &l), &m) in acc.iter_mut().zip(zr).zip(&*lns).zip(&*mx) {
                    *ac = *ac + wc * ((m - v) + l);
                }
            }
            for (l, &ac) in loss.iter_mut().zip(&*acc) {
                *l = *l + k.e * ac;
            }
            b = -k.e;
        }
    }
    for j in 0..np {
        if !valid[j] {
            loss[j] = F::zero();
            a[j] = F::zero();
            d[j] = F::zero();
            s[j] = F::zero();
        }
    }
    if out.grad.is_some() {
        for (cl, er) in es.chunks_exact_mut(np).enumerate() {
            let bw = b * k.w.at(cl);
            for ((e, &aj), &sj) in er.iter_mut().zip(&*a).zip(&*s) {
                *e = *e * aj + sj * bw;
            }
        }
        for j in 0..np {
            let i = y[j] * np + j;
            es[i] = es[i] + d[j];
        }
    }
    Ok(finish(tl, c, loss, valid, out, es))
}

/// Writes per-position losses and the gradient (class-major in `es`) out;
/// returns the loss sum.
#[inline(always)]
fn finish<F: LossFloat>(
    tl: Tile,
    c: usize,
    loss: &[F],
    valid: &[bool],
    out: &mut Outputs<'_, '_, F>,
    es: &[F],
) -> f64 {
    let np = tl.np;
    let mut total = 0.0;
    for (j, (&l, &v)) in loss.iter().zip(valid).enumerate() {
        let l = if v { l } else { F::zero() };
        total += l.to_f64_();
        if let Some(pt) = out.per_target.as_deref_mut() {
            pt[tl.p0 + j] = l;
        }
    }
    if let Some((g, _)) = out.grad.as_mut() {
        if tl.pstride == 1 {
            for (cl, src) in es.chunks_exact(np).enumerate() {
                g[tl.base + cl * tl.cstride..][..np].copy_from_slice(src);
            }
        } else {
            let dst = &mut g[tl.base..][..(np - 1) * tl.pstride + c];
            for (j, row) in dst.chunks_mut(tl.pstride).enumerate() {
                for (cl, v) in row[..c].iter_mut().enumerate() {
                    *v = es[cl * np + j];
                }
            }
        }
    }
    total
}

/// Accumulator width for reductions along a row.
const ACC: usize = 16;

/// Row maximum, and whether every value is finite; vectorised.
#[inline(always)]
fn row_max<F: LossFloat>(zr: &[F]) -> (F, bool) {
    let mut mx = [F::neg_infinity(); ACC];
    // Turns NaN if any value is NaN or infinite (v * 0).
    let mut chk = [F::zero(); ACC];
    let mut chunks = zr.chunks_exact(ACC);
    for ch in &mut chunks {
        for i in 0..ACC {
            let v = ch[i];
            chk[i] = chk[i] + v * F::zero();
            mx[i] = if v > mx[i] { v } else { mx[i] };
        }
    }
    for (i, &v) in chunks.remainder().iter().enumerate() {
        chk[i] = chk[i] + v * F::zero();
        mx[i] = if v > mx[i] { v } else { mx[i] };
    }
    let mut m = mx[0];
    for &v in &mx[1..] {
        m = if v > m { v } else { m };
    }
    (m, !sum_acc(&chk).is_nan())
}

/// `dst[k] = exp(zr[k] - mx)`; returns `Σ_k dst[k]`.
#[inline(always)]
fn exp_store_sum<F: LossFloat>(zr: &[F], mx: F, dst: &mut [F]) -> F {
    let mut acc = [F::zero(); ACC];
    let mut zc = zr.chunks_exact(ACC);
    let mut dc = dst.chunks_exact_mut(ACC);
    for (zch, dch) in (&mut zc).zip(&mut dc) {
        for i in 0..ACC {
            let e = (zch[i] - mx).vexp();
            dch[i] = e;
            acc[i] = acc[i] + e;
        }
    }
    for (i, (&zv, dv)) in zc.remainder().iter().zip(dc.into_remainder()).enumerate() {
        let e = (zv - mx).vexp();
        *dv = e;
        acc[i] = acc[i] + e;
    }
    sum_acc(&acc)
}

#[inline(always)]
fn sum_acc<F: LossFloat>(acc: &[F; ACC]) -> F {
    // Pairwise, fixed order.
    let mut v = *acc;
    let mut w = ACC;
    while w > 1 {
        w /= 2;
        for i in 0..w {
            v[i] = v[i] + v[i + w];
        }
    }
    v[0]
}

/// One contiguous row of `C >= ROW_MIN_C` classes with target `y` (not
/// ignored). `g` is the gradient row, or `None` for the loss alone.
#[inline(always)]
pub(crate) fn row<F: LossFloat>(
    k: &Consts<'_, F>,
    zr: &[F],
    y: usize,
    g: Option<(&mut [F], F)>,
    scratch: &mut [F; SCRATCH],
) -> Result<F, Fallback> {
    let (mx, finite) = row_max(zr);
    if !finite {
        // NaN, +inf, or -inf (masked classes): the scalar kernel handles it.
        return Err(Fallback);
    }
    let wy = k.w.at(y);
    if let SoftmaxKind::Nll = k.kind {
        if let Some((g, s)) = g {
            g.fill(F::zero());
            g[y] = -s * wy;
        }
        return Ok(-wy * zr[y]);
    }
    let mut g = g;
    let sum = match g.as_mut() {
        Some((g, _)) => exp_store_sum(zr, mx, g),
        None => {
            let mut sum = F::zero();
            for ch in zr.chunks(SCRATCH) {
                sum = sum + exp_store_sum(ch, mx, &mut scratch[..ch.len()]);
            }
            sum
        }
    };
    let lns = sum.vln();
    let zy = zr[y];
    let (loss, a, b, d) = if let SoftmaxKind::Focal { .. } = k.kind {
        let lp = (zy - mx) - lns;
        let (md, gf) = k.focal(lp);
        let f = wy * gf;
        (-wy * md * lp, -f / sum, F::zero(), f)
    } else {
        let mut loss = k.one_m_eps * wy * ((mx - zy) + lns);
        if k.smoothing() {
            let mut acc = [F::zero(); ACC];
            let mut zc = zr.chunks_exact(ACC);
            let mut cl = 0;
            for ch in &mut zc {
                for i in 0..ACC {
                    acc[i] = acc[i] + k.w.at(cl + i) * ((mx - ch[i]) + lns);
                }
                cl += ACC;
            }
            for (i, &v) in zc.remainder().iter().enumerate() {
                acc[i] = acc[i] + k.w.at(cl + i) * ((mx - v) + lns);
            }
            loss = loss + k.e * sum_acc(&acc);
        }
        let coef = k.one_m_eps * wy + k.e * k.wsum;
        (loss, coef / sum, -k.e, -k.one_m_eps * wy)
    };
    if let Some((g, s)) = g {
        let (a, b, d) = (s * a, s * b, s * d);
        match k.w {
            Weights::Uniform(w) => {
                let bw = b * w;
                for gv in g.iter_mut() {
                    *gv = *gv * a + bw;
                }
            }
            Weights::PerClass(w) => {
                for (gv, &wc) in g.iter_mut().zip(w) {
                    *gv = *gv * a + b * wc;
                }
            }
        }
        g[y] = g[y] + d;
    }
    Ok(loss)
}

/// Instruction-set level of the vectorised kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// Baseline target features (SSE2 on x86-64).
    Generic,
    /// AVX2 + FMA.
    Avx2,
    /// AVX-512F (only when built with a compiler that supports it).
    Avx512,
}

impl Level {
    /// The best level this CPU supports (detection is cached by std).
    pub fn best() -> Level {
        #[cfg(all(target_arch = "x86_64", focal_avx512))]
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Level::Avx512;
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Level::Avx2;
        }
        Level::Generic
    }

    /// Every level this CPU supports (for tests that compare them).
    #[cfg(test)]
    pub fn available() -> Vec<Level> {
        let best = Level::best();
        [Level::Generic, Level::Avx2, Level::Avx512]
            .into_iter()
            .filter(|&l| match l {
                Level::Generic => true,
                Level::Avx2 => best != Level::Generic,
                Level::Avx512 => best == Level::Avx512,
            })
            .collect()
    }
}

/// Whether the vectorised kernels handle `C` classes with `M` positions per item.
pub(crate) fn covers(c: usize, m: usize) -> bool {
    c <= SCRATCH || (m == 1 && c >= ROW_MIN_C)
}

/// Runs the vectorised kernel on one chunk at the given level.
pub(crate) fn run_level<F: LossFloat>(
    level: Level,
    k: &Consts<'_, F>,
    c: usize,
    m: usize,
    w: Work<'_, '_, '_, F>,
) -> Result<f64, Fallback> {
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Level::Avx2` is only chosen when AVX2 and FMA were detected.
        Level::Avx2 => unsafe { run_avx2(k, c, m, w) },
        #[cfg(all(target_arch = "x86_64", focal_avx512))]
        // SAFETY: `Level::Avx512` is only chosen when AVX-512F was detected.
        Level::Avx512 => unsafe { run_avx512(k, c, m, w) },
        _ => run_work(k, c, m, w),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<F: LossFloat>(
    k: &Consts<'_, F>,
    c: usize,
    m: usize,
    w: Work<'_, '_, '_, F>,
) -> Result<f64, Fallback> {
    run_work(k, c, m, w)
}

#[cfg(all(target_arch = "x86_64", focal_avx512))]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn run_avx512<F: LossFloat>(
    k: &Consts<'_, F>,
    c: usize,
    m: usize,
    w: Work<'_, '_, '_, F>,
) -> Result<f64, Fallback> {
    run_work(k, c, m, w)
}

/// The vectorised kernel over a sub-batch of `w.n` items.
#[inline(always)]
fn run_work<F: LossFloat>(
    k: &Consts<'_, F>,
    c: usize,
    m: usize,
    w: Work<'_, '_, '_, F>,
) -> Result<f64, Fallback> {
    let mut zs = [F::zero(); SCRATCH];
    let mut es = [F::zero(); SCRATCH];
    let n = w.n;
    let (z, t) = (w.z, w.t);
    let mut out = Outputs {
        per_target: w.per_target,
        grad: w.grad,
    };
    let mut total = 0.0;
    if m == 1 && c >= ROW_MIN_C {
        for r in 0..n {
            let zr = &z[r * c..(r + 1) * c];
            let y = t[r];
            let l = if k.ignore == Some(y) {
                if !row_max(zr).1 {
                    return Err(Fallback);
                }
                if let Some((g, _)) = out.grad.as_mut() {
                    g[r * c..(r + 1) * c].fill(F::zero());
                }
                F::zero()
            } else {
                let g = out
                    .grad
                    .as_mut()
                    .map(|(g, u)| (&mut g[r * c..(r + 1) * c], u.at(r)));
                row(k, zr, y, g, &mut zs)?
            };
            if let Some(pt) = out.per_target.as_deref_mut() {
                pt[r] = l;
            }
            total += l.to_f64_();
        }
        return Ok(total);
    }
    let lanes = LANES.min(SCRATCH / c);
    if m == 1 {
        let mut p0 = 0;
        while p0 < n {
            let np = lanes.min(n - p0);
            let tl = Tile {
                p0,
                np,
                base: p0 * c,
                pstride: c,
                cstride: 1,
            };
            total += tile(k, c, z, t, tl, &mut out, &mut zs, &mut es)?;
            p0 += np;
        }
    } else {
        for b in 0..n {
            let mut j0 = 0;
            while j0 < m {
                let np = lanes.min(m - j0);
                let tl = Tile {
                    p0: b * m + j0,
                    np,
                    base: b * c * m + j0,
                    pstride: 1,
                    cstride: m,
                };
                total += tile(k, c, z, t, tl, &mut out, &mut zs, &mut es)?;
                j0 += np;
            }
        }
    }
    Ok(total)
}
