#!/usr/bin/env python3
"""Golden fixtures for the diagonal of the Hessian of every loss with respect
to its logits (DESIGN.md section 7), computed in float64 with PyTorch autograd.

Regenerate (from the crate root; CPU is enough, takes a few seconds):

    /tmp/ref/bin/python scripts/gen_hessian_fixtures.py

It writes tests/fixtures/hessian.json. Generated with torch 2.15.0+cu132
(numpy 2.4.6, mpmath 1.3.0, torchvision 0.29.2 for one cross-check).
Deterministic: every case draws from its own numpy seed; torch does no random
sampling here.

What each case holds
--------------------
For the reduced loss L (reduction 'sum' | 'mean' | 'weighted_mean', DESIGN.md
section 3): "loss" = L, "grad" = dL/dz and "hess" = d^2 L / dz_k^2 for every
logit element z_k (the diagonal of the full Hessian of L; same shape as the
logits, row-major). No value is computed from an analytic derivative formula:

    g = torch.autograd.grad(L, z, create_graph=True)
    hess[k] = torch.autograd.grad(g.flatten()[k], z)[0].flatten()[k]

(double backward, one element at a time; a linear loss such as NLL has a
gradient without grad_fn and a zero Hessian). The loop is cross-checked
against the diagonal of torch.autograd.functional.hessian on every case.

Loss expressions (float64 torch; the same definitions as
scripts/gen_softmax_fixtures.py and scripts/gen_sigmoid_fixtures.py)
--------------------------------------------------------------------
- nll:   F.nll_loss on the stored log-probabilities (hess = 0).
- ce:    l_n = -sum_c a_c lp_c with the per-row target weights
         a_c = (1 - eps) w[y] onehot_c(y) + (eps / C) w_c (index targets,
         0 on ignored positions) or a_c = w_c t'_c, t' = (1 - eps) t + eps / C
         (probability targets). Its loss and gradient are asserted equal to
         F.cross_entropy (weight, ignore_index, label_smoothing, probability
         targets) and torch's own 'mean' is asserted equal to ours where it is
         defined to be; the Hessian of F.cross_entropy's own graph is asserted
         to agree with ours to 1e-14 of the case's largest entry.
- focal: l_n = -alpha[y] (1 - p_y)^gamma lp_y (index targets, no smoothing),
         l_n = -sum_c alpha_c t'_c (1 - p_c)^gamma lp_c otherwise
         (t' = (1 - eps) onehot(y) + eps / C, or (1 - eps) t + eps / C), with
         1 - p = -expm1(lp) at the arg-max class (see below for the others).
- bce:   -w_k [pw_k y log s(x) + (1 - y) log s(-x)] (s = sigmoid); loss and
         gradient asserted equal to F.binary_cross_entropy_with_logits with
         weight / pos_weight reshaped to (C, 1, .., 1) (axis 1; (N) input is one
         class, so the vectors have length 1 there).
- sigmoid_focal: y' = y (1 - eps) + eps / 2,
         log(1 - p_t) = logaddexp(log y' + log s(-x), log(1 - y') + log s(x)),
         alpha_t = a_k y' + (1 - a_k)(1 - y') (1 without alpha),
         B = -[pw_k y' log s(x) + (1 - y') log s(-x)],
         l = alpha_t exp(gamma log(1 - p_t)) B; ignored elements 0. Where
         torchvision.ops.sigmoid_focal_loss covers a case (scalar alpha or
         none, no pos_weight, no smoothing, no mask) its loss and gradient are
         asserted equal.

The log-softmax: a live pivot instead of a detached maximum
-----------------------------------------------------------
gen_softmax_fixtures.py computes lp as (z - m) - log1p(sum_k e_k) with m the
detached maximum and e = expm1(z - m) at the first maximum: that keeps the
VALUE of lp_y precise as p_y -> 1, but its derivative d lp_y / d z_y = 1 - p_y
comes out of autograd as 1 - 1/(1 + s), with an absolute error ~1e-16: for
the near-one rows below (1 - p_y ~ 2e-13) the Hessian entries would carry a
relative error ~1e-3. Here the maximum is a live variable (a pivot):

    lp = (z - z_M) - log1p(sum_{k != M} exp(z_k - z_M)),   M = argmax_c z_c,

the same function (so autograd gives the exact derivatives), whose autograd
graph yields 1 - p_M = S / (1 + S) and every second derivative as sums of
products of p_k (k != M), S and 1/(1 + S) without cancellation. It is asserted
equal to torch.log_softmax to 1e-13. (Its pivot column is a constant 0, not
z_M - z_M: otherwise 1 - p_M would reach z_M as 1 - (1 - S / (1 + S)),
rounded.)

torch's expm1 backward is grad * (result + 1): for lp_c << 0 that rebuilds
p_c = exp(lp_c) from -1 + p_c with an absolute error ~1e-16, i.e. a relative
error ~1e-3 at p_c ~ 1e-13 in the gradient and Hessian of (1 - p_c)^gamma.
So 1 - p_c is -expm1(lp_c) at the arg-max class and 1 - exp(lp_c) at the
others (p_c <= 1/2 there: the same value to rounding, asserted, and exact
autograd).

Likewise log s(x) is computed as -log1p(exp(-x)) for x >= 0 and
x - log1p(exp(x)) for x < 0 (asserted equal to F.logsigmoid), and for hard
smoothed targets (y' = 0 or 1) log(1 - p_t) is the single term log s(x) or
log s(-x): logaddexp with a -inf argument has a finite first derivative but a
NaN second derivative.

Independent checks (asserts; the script fails rather than write bad values)
---------------------------------------------------------------------------
- every loss, grad and hess value is finite;
- ce: hess_k = A_n p_k (1 - p_k) / D to 1e-12 relative per element, with
  A_n = sum_c a_c the row's target weights, D the reduction denominator, and
  p, 1 - p = exp(lp), -expm1(lp) from the detached-maximum log-softmax of
  gen_softmax_fixtures.py (no autograd);
- focal with gamma = 0: loss, grad and hess equal those of ce with
  weight = alpha (a scalar alpha as a constant vector) to 1e-12 relative;
- every non-NLL case: grad and hess agree with mpmath (50 digits) numerical
  first and second derivatives of the loss written directly from the
  definitions above (1 - p as 1 - exp(lp), sigmoid as 1/(1 + exp(-x))), to
  1e-9 relative per element. This confirms the near-one rows are precise.

Fractional gamma and p_y -> 1
-----------------------------
The near-one rows ([0, -30, -30, ..] with target 0, 1 - p_y ~ 2e-13; sigmoid
logits +-30 with matching hard targets, 1 - p_t ~ 9e-14) keep 1 - p > 0 in
float64, so pow(q, 0.5) and its first and second derivatives (q^-0.5,
q^-1.5) are finite; the script asserts 1 - p_c > 0 wherever t'_c > 0 and that
the outputs are finite. Their values are precise thanks to the expressions
above (torch's own CE / BCE graphs get these entries right only to ~1e-16
absolute; they are compared with that tolerance).

Reductions (DESIGN.md section 3)
--------------------------------
    sum           -> 1
    mean          -> number of non-ignored positions (softmax; all positions
                     for probability targets) or elements (sigmoid)
    weighted_mean -> softmax: sum over non-ignored positions of w[y] (alpha[y]
                     for focal; a scalar alpha counts once per position), for
                     probability targets sum_n sum_c w_c t'_c;
                     sigmoid: sum over non-ignored elements of w_k alpha_t
                     (alpha_t with the smoothed target; pos_weight not in it).
No case has a zero denominator.

Inputs
------
Logits are multiples of 1/64 in [-4, 4] (plus the near-one rows at -30 / +-30),
exact in float32; NLL inputs are log-softmax values rounded to 1/64.
Weights, alpha, pos_weight, eps, gamma, soft and probability targets are
dyadic too. Ignored softmax targets use 255 or an in-range class; sigmoid
targets hold -1 at masked elements (as in sigmoid.json: they must not be read).

JSON: one array of cases, one case per line:
{"name", "loss": "nll"|"ce"|"focal"|"bce"|"sigmoid_focal",
 "params": {"weight", "alpha", "alpha_scalar", "pos_weight", "gamma",
            "ignore_index", "label_smoothing", "reduction"},
 "inputs": {"logits", "targets", "probs", "binary", "ignore"},
 "expected": {"loss", "grad", "hess"}}
each array as {"shape": [...], "data": [...]} (row-major), absent ones null.
"""

import json
import math
import os

import mpmath as mp
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "hessian.json")
mp.mp.dps = 50

try:
    from torchvision.ops import sigmoid_focal_loss as tv_sigmoid_focal_loss
except ImportError:  # the cross-check is skipped without torchvision
    tv_sigmoid_focal_loss = None


# ---------------------------------------------------------------- helpers


def grid(x, q):
    """Rounds to multiples of q (a power of two): exact in float32 here."""
    return np.round(np.asarray(x, dtype=np.float64) / q) * q


def f32_exact(a):
    a = np.asarray(a, dtype=np.float64)
    assert np.array_equal(a.astype(np.float32).astype(np.float64), a), "input not float32-exact"


def num(v):
    v = float(v)
    assert math.isfinite(v), "non-finite value"
    return v


def arr(a, kind=float):
    a = np.asarray(a)
    if kind is int:
        data = [int(v) for v in a.ravel()]
    elif kind is bool:
        data = [bool(v) for v in a.ravel()]
    else:
        data = [num(v) for v in a.ravel()]
    return {"shape": list(a.shape), "data": data}


def bshape(v, ndim):
    """A per-class vector shaped to broadcast against (N, C, d1, ..) (or (N))."""
    if ndim == 1:
        return v.reshape(-1)
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def pivot_log_softmax(z):
    """log_softmax along dim 1 around a live pivot (the arg-max); see header."""
    c = z.shape[1]
    idx = z.detach().argmax(dim=1, keepdim=True)
    notmax = ~F.one_hot(idx.squeeze(1), c).movedim(-1, 1).bool()
    # The pivot's own column is a constant 0: z_M - z_M would let 1 - p_M reach z_M as
    # 1 - (1 - S / (1 + S)), rounded; this way it arrives only through S.
    sh = torch.where(notmax, z - z.gather(1, idx), torch.zeros_like(z))
    e = torch.where(notmax, torch.exp(sh), torch.zeros_like(sh))
    return sh - torch.log1p(e.sum(dim=1, keepdim=True))


def one_minus_p(z, lp):
    """1 - p from lp: -expm1(lp) at the pivot, 1 - exp(lp) elsewhere (see header)."""
    is_max = F.one_hot(z.detach().argmax(dim=1), z.shape[1]).movedim(-1, 1).bool()
    omp = torch.where(is_max, -torch.expm1(lp), 1.0 - torch.exp(lp))
    assert torch.allclose(omp, -torch.expm1(lp), rtol=4e-16, atol=0), "1 - p"
    return omp


def detached_max_log_softmax(z):
    """gen_softmax_fixtures.py's accurate_log_softmax, used here for values only."""
    m = z.amax(dim=1, keepdim=True)
    sh = z - m
    first_max = F.one_hot(sh.argmax(dim=1), z.shape[1]).movedim(-1, 1).bool()
    terms = torch.where(first_max, torch.expm1(sh), torch.exp(sh))
    return sh - torch.log1p(terms.sum(dim=1, keepdim=True))


def stable_logsigmoid(x):
    pos = x.detach() >= 0
    return torch.where(pos, -torch.log1p(torch.exp(-x)), x - torch.log1p(torch.exp(x)))


def derivatives(fn, z0):
    """L, dL/dz and diag(d^2 L / dz^2) by autograd (double backward per element)."""
    z = torch.tensor(z0, requires_grad=True)
    total = fn(z)
    (g,) = torch.autograd.grad(total, z, create_graph=True)
    h = torch.zeros(z.numel())
    if g.requires_grad:
        gf = g.reshape(-1)
        for k in range(z.numel()):
            (row,) = torch.autograd.grad(gf[k], z, retain_graph=True, allow_unused=True)
            h[k] = 0.0 if row is None else row.reshape(-1)[k]
    h = h.reshape(z.shape)
    # Cross-check the loop against torch's full Hessian.
    full = torch.autograd.functional.hessian(fn, torch.tensor(z0)).reshape(z.numel(), z.numel())
    assert torch.allclose(full.diagonal().reshape(z.shape), h, rtol=1e-14, atol=0), f"hessian() vs loop\n{full.diagonal()}\n{h}"
    out = total.detach().item(), g.detach().numpy().copy(), h.numpy().copy()
    assert math.isfinite(out[0]) and np.isfinite(out[1]).all() and np.isfinite(out[2]).all(), "non-finite"
    return out


def rel_close(a, b, rtol, what, atol=0.0):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    err = np.abs(a - b)
    ok = err <= rtol * np.abs(b) + atol
    assert ok.all(), f"{what}: max rel err {np.max(err / np.maximum(np.abs(b), 1e-300))}\n{a}\n{b}"


CASES = []
SANITY = {"ce_analytic": 0, "ce_torch": 0, "focal_gamma0_vs_ce": 0, "bce_torch": 0, "torchvision": 0,
          "mpmath_cases": 0, "mpmath_elements": 0}
MAX_MP_REL = {"grad": 0.0, "hess": 0.0}


def mp_check(case_name, grad, hess, z0, groups):
    """mpmath numerical derivatives of a per-row (or per-element) loss.

    groups: list of (flat element indices of one row, fn) where fn(list of mpf) gives the
    reduced-loss share of that row as a function of the row's logits; each element's first
    and second derivative is compared with grad and hess.
    """
    g_flat, h_flat = grad.reshape(-1), hess.reshape(-1)
    for flat_idx, fn in groups:
        vals = [mp.mpf(float(z0.reshape(-1)[i])) for i in flat_idx]
        for j, i in enumerate(flat_idx):
            def f(t, j=j):
                v = list(vals)
                v[j] = t
                return fn(v)
            d1 = float(mp.diff(f, vals[j], 1))
            d2 = float(mp.diff(f, vals[j], 2))
            for what, got, want in (("grad", g_flat[i], d1), ("hess", h_flat[i], d2)):
                err = abs(got - want)
                rel = err / abs(want) if want != 0 else (0.0 if got == 0 else math.inf)
                MAX_MP_REL[what] = max(MAX_MP_REL[what], rel)
                assert err <= 1e-9 * abs(want) + 1e-300, f"{case_name}: {what}[{i}] {got} vs mpmath {want}"
            SANITY["mpmath_elements"] += 1
    SANITY["mpmath_cases"] += 1


# ---------------------------------------------------------------- softmax family


def softmax_case(name, loss, shape, seed, reduction, weight=None, alpha=None, alpha_scalar=None, gamma=None,
                 ignore_index=None, ignore_frac=0.0, eps=0.0, probs=False, sparse=False, argmax_frac=0.0,
                 logits=None, targets=None, check_gamma0=False):
    rng = np.random.default_rng(seed)
    n, c = shape[0], shape[1]
    pshape = (n,) + tuple(shape[2:])
    ndim = len(shape)

    raw = grid(np.clip(rng.normal(0.0, 1.5, shape), -4.0, 4.0), 1 / 64)
    logits = raw if logits is None else np.asarray(logits, dtype=np.float64)
    assert logits.shape == tuple(shape)
    drawn = rng.integers(0, c, pshape)
    targets = drawn if targets is None else np.asarray(targets)
    if argmax_frac > 0:
        pick = rng.random(pshape) < argmax_frac
        targets = np.where(pick, logits.argmax(axis=1), targets)
    if ignore_index is not None and ignore_frac > 0:
        ign = rng.random(pshape) < ignore_frac
        ign.flat[0] = True
        ign.flat[-1] = False
        targets = np.where(ign, ignore_index, targets)
    valid = np.ones(pshape, dtype=bool) if ignore_index is None else targets != ignore_index
    assert valid.any()
    if loss == "nll":
        logits = grid(torch.log_softmax(torch.tensor(logits), dim=1).numpy(), 1 / 64)
    pt = None
    if probs:
        pt = rng.dirichlet(np.ones(c) * (0.3 if sparse else 1.0), pshape)
        pt = np.moveaxis(pt, -1, 1)
        if sparse:
            pt = np.where(pt < 0.05, 0.0, pt)
        pt = grid(pt, 1 / 1024)
    for a in (logits,) + ((pt,) if probs else ()):
        f32_exact(a)
    for p in (weight, alpha, alpha_scalar, eps, gamma):
        if p is not None:
            f32_exact(p)

    y = torch.tensor(targets, dtype=torch.long)
    vt = torch.tensor(valid)
    yc = torch.where(vt, y, torch.zeros_like(y))
    tt = torch.tensor(pt) if probs else None

    # Class vector that scales the targets (w for nll/ce, alpha for focal).
    if loss == "focal":
        cls = alpha if alpha is not None else ([alpha_scalar] * c if alpha_scalar is not None else None)
    else:
        cls = weight
    wv = torch.tensor(cls) if cls is not None else torch.ones(c)
    wb = bshape(wv, ndim)

    # t' (per class, zero at ignored positions) and the per-row target weights a_c = w_c t'_c.
    if probs:
        tprime = (1.0 - eps) * tt + eps / c
    else:
        tprime = ((1.0 - eps) * F.one_hot(yc, c).movedim(-1, 1).double() + eps / c) * vt.unsqueeze(1)
    a_rows = wb * tprime  # ce only (for focal smoothing the loss uses alpha_c t'_c the same way)

    # Denominator (DESIGN.md section 3).
    if reduction == "sum":
        denom = 1.0
    elif reduction == "mean":
        denom = float(np.prod(pshape)) if probs else float(vt.sum())
    else:
        denom = float(a_rows.sum()) if probs else float((wv[yc] * vt).sum())
    assert denom > 0, name

    def per_target(z):
        if loss == "nll":
            return F.nll_loss(z, y, weight=torch.tensor(weight) if weight is not None else None,
                              ignore_index=ignore_index if ignore_index is not None else -100, reduction="none")
        lp = pivot_log_softmax(z)
        if loss == "ce":
            return -(a_rows * lp).sum(dim=1)
        omp = one_minus_p(z, lp)
        if not probs and eps == 0.0:
            lpy = lp.gather(1, yc.unsqueeze(1)).squeeze(1)
            ompy = omp.gather(1, yc.unsqueeze(1)).squeeze(1)
            assert bool((ompy > 0).all()), "1 - p_y underflowed"
            return -wv[yc] * ompy**gamma * lpy * vt
        assert bool((omp[tprime > 0] > 0).all()), "1 - p_c underflowed where t'_c > 0"
        return -(wb * tprime * omp**gamma * lp).sum(dim=1)

    def total(z):
        return per_target(z).sum() / denom

    L, grad, hess = derivatives(total, logits)
    z = torch.tensor(logits)
    lp_piv = pivot_log_softmax(z)
    assert torch.allclose(lp_piv, torch.log_softmax(z, dim=1), rtol=0, atol=1e-13), "pivot log-softmax"
    if loss == "nll":
        assert np.all(hess == 0.0)

    if loss == "ce":
        # Loss and gradient vs F.cross_entropy; torch's own mean; torch's own Hessian.
        kw = dict(weight=torch.tensor(weight) if weight is not None else None, label_smoothing=eps)
        if not probs:
            kw["ignore_index"] = ignore_index if ignore_index is not None else -100
        tgt = tt if probs else y
        assert math.isclose(F.cross_entropy(z, tgt, reduction="sum", **kw).item() / denom, L, rel_tol=1e-13), name
        if reduction == ("mean" if probs else "weighted_mean"):
            assert math.isclose(F.cross_entropy(z, tgt, reduction="mean", **kw).item(), L, rel_tol=1e-13), name
        Lt, gt, ht = derivatives(lambda zz: F.cross_entropy(zz, tgt, reduction="sum", **kw) / denom, logits)
        rel_close(gt, grad, 0.0, f"{name} grad vs F.cross_entropy", atol=1e-14 * np.abs(grad).max())
        rel_close(ht, hess, 0.0, f"{name} hess vs F.cross_entropy", atol=1e-14 * np.abs(hess).max())
        SANITY["ce_torch"] += 1
        # Independent: hess = A p (1 - p) / D.
        lpd = detached_max_log_softmax(z)
        A = a_rows.sum(dim=1, keepdim=True)
        want = (A * torch.exp(lpd) * -torch.expm1(lpd) / denom).numpy()
        rel_close(hess, want, 1e-12, f"{name} hess vs A p (1 - p)")
        SANITY["ce_analytic"] += 1

    if check_gamma0:
        assert loss == "focal" and gamma == 0.0
        ce_rows = wb * tprime

        def ce_total(zz):
            return -(ce_rows * pivot_log_softmax(zz)).sum() / denom

        Lc, gc, hc = derivatives(ce_total, logits)
        kw = dict(weight=wv if cls is not None else None, label_smoothing=eps)
        if not probs and ignore_index is not None:
            kw["ignore_index"] = ignore_index
        assert math.isclose(F.cross_entropy(z, tt if probs else y, reduction="sum", **kw).item() / denom, L,
                            rel_tol=1e-13), name
        assert math.isclose(Lc, L, rel_tol=1e-12), name
        rel_close(grad, gc, 1e-12, f"{name} grad vs ce", atol=1e-300)
        rel_close(hess, hc, 1e-12, f"{name} hess vs ce", atol=1e-300)
        lpd = detached_max_log_softmax(z)
        want = (ce_rows.sum(dim=1, keepdim=True) * torch.exp(lpd) * -torch.expm1(lpd) / denom).numpy()
        rel_close(hess, want, 1e-12, f"{name} hess vs A p (1 - p)")
        SANITY["focal_gamma0_vs_ce"] += 1

    if loss != "nll":
        # mpmath: every position (n, :, h, w) is a row of C logits.
        groups = []
        flat_index = np.arange(int(np.prod(shape))).reshape(shape)
        tp_np = tprime.numpy()
        w_np = wv.numpy()
        for pos in np.ndindex(*pshape):
            sl = (pos[0], slice(None)) + tuple(pos[1:])
            idx = [int(i) for i in flat_index[sl]]
            tpr = [mp.mpf(float(v)) for v in tp_np[sl]]
            wcl = [mp.mpf(float(v)) for v in w_np]
            yv, ok = int(targets[pos]), bool(valid[pos])

            def fn(v, tpr=tpr, wcl=wcl, yv=yv, ok=ok):
                lse = mp.log(mp.fsum(mp.exp(t) for t in v))
                lp = [t - lse for t in v]
                if loss == "ce":
                    return -mp.fsum(wcl[k] * tpr[k] * lp[k] for k in range(c)) / denom
                g = mp.mpf(gamma)
                if not probs and eps == 0.0:
                    if not ok:
                        return mp.mpf(0)
                    return -wcl[yv] * (1 - mp.exp(lp[yv])) ** g * lp[yv] / denom
                return -mp.fsum(wcl[k] * tpr[k] * (1 - mp.exp(lp[k])) ** g * lp[k] for k in range(c)) / denom

            groups.append((idx, fn))
        mp_check(name, grad, hess, logits, groups)

    params = {
        "weight": weight,
        "alpha": alpha,
        "alpha_scalar": alpha_scalar,
        "pos_weight": None,
        "gamma": gamma,
        "ignore_index": ignore_index,
        "label_smoothing": eps,
        "reduction": reduction,
    }
    CASES.append({
        "name": name,
        "loss": loss,
        "params": params,
        "inputs": {
            "logits": arr(logits),
            "targets": None if probs else arr(targets, int),
            "probs": arr(pt) if probs else None,
            "binary": None,
            "ignore": None,
        },
        "expected": {"loss": num(L), "grad": arr(grad), "hess": arr(hess)},
    })


# ---------------------------------------------------------------- sigmoid family


def sigmoid_case(name, loss, shape, seed, reduction, weight=None, alpha=None, alpha_scalar=None,
                 pos_weight=None, gamma=None, eps=0.0, soft=False, ignore_frac=0.0, logits=None, binary=None):
    rng = np.random.default_rng(seed)
    raw = grid(np.clip(rng.normal(0.0, 1.5, shape), -4.0, 4.0), 1 / 64)
    x0 = raw if logits is None else np.asarray(logits, dtype=np.float64)
    assert x0.shape == tuple(shape)
    if binary is None:
        yb = grid(rng.uniform(0.0, 1.0, shape), 1 / 64) if soft else rng.integers(0, 2, shape).astype(np.float64)
    else:
        yb = np.asarray(binary, dtype=np.float64)
    mask = None
    if ignore_frac > 0:
        mask = rng.random(shape) < ignore_frac
        mask.flat[0] = True
        mask.flat[-1] = False
        yb = np.where(mask, -1.0, yb)  # garbage at ignored elements: must not be read
    for a in (x0, yb):
        f32_exact(a)
    for p in (weight, alpha, alpha_scalar, pos_weight, eps, gamma):
        if p is not None:
            f32_exact(p)
    ndim = len(shape)
    nc = 1 if ndim == 1 else shape[1]
    for v in (weight, alpha, pos_weight):
        assert v is None or len(v) == nc
    assert loss == "sigmoid_focal" or (alpha is None and alpha_scalar is None and gamma is None and eps == 0.0)
    assert loss == "bce" or weight is None

    keep = torch.ones(shape) if mask is None else torch.tensor(~mask).double()
    y = torch.tensor(np.where(mask, 0.0, yb) if mask is not None else yb)
    yp = y * (1 - eps) + eps / 2
    ones = torch.ones(shape)
    w = bshape(torch.tensor(weight), ndim) * ones if weight is not None else ones
    pw = bshape(torch.tensor(pos_weight), ndim) * ones if pos_weight is not None else ones
    if alpha is not None:
        a = bshape(torch.tensor(alpha), ndim) * ones
    elif alpha_scalar is not None:
        a = torch.full(shape, alpha_scalar)
    else:
        a = None
    alpha_t = ones if a is None else a * yp + (1 - a) * (1 - yp)
    scale = w * alpha_t  # bce: w (alpha_t = 1); focal: alpha_t (w = 1)

    if reduction == "sum":
        denom = 1.0
    elif reduction == "mean":
        denom = float(keep.sum())
    else:
        denom = float((scale * keep).sum())
    assert denom > 0, name

    def per_elem(x):
        ls_pos, ls_neg = stable_logsigmoid(x), stable_logsigmoid(-x)
        bce = -(pw * yp * ls_pos + (1 - yp) * ls_neg)
        if loss == "bce" or gamma == 0.0:
            mod = ones
        else:
            # Hard targets take their single term directly: a -inf inside logaddexp gives a
            # finite gradient but a NaN second derivative.
            ys = torch.where((yp > 0) & (yp < 1), yp, torch.full_like(yp, 0.5))
            mixed = torch.logaddexp(torch.log(ys) + ls_neg, torch.log1p(-ys) + ls_pos)
            logq = torch.where(yp == 1, ls_neg, torch.where(yp == 0, ls_pos, mixed))
            assert bool(torch.isfinite(logq).all()), "1 - p_t underflowed"
            mod = torch.exp(gamma * logq)
        return torch.where(keep > 0, scale * mod * bce, torch.zeros_like(x))

    def total(x):
        return per_elem(x).sum() / denom

    L, grad, hess = derivatives(total, x0)
    xt = torch.tensor(x0)
    assert torch.allclose(stable_logsigmoid(xt), F.logsigmoid(xt), rtol=1e-15, atol=0)
    assert torch.allclose(stable_logsigmoid(-xt), F.logsigmoid(-xt), rtol=1e-15, atol=0)

    if loss == "bce":
        def torch_total(x):
            wt = bshape(torch.tensor(weight), ndim) if weight is not None else None
            pwt = bshape(torch.tensor(pos_weight), ndim) if pos_weight is not None else None
            el = F.binary_cross_entropy_with_logits(x, y, weight=wt, pos_weight=pwt, reduction="none")
            return (el * keep).sum() / denom

        Lt, gt, ht = derivatives(torch_total, x0)
        assert math.isclose(Lt, L, rel_tol=1e-13), name
        # torch's own graph loses 1 - s(x) to rounding near |x| = 30: absolute comparison.
        rel_close(gt, grad, 1e-12, f"{name} grad vs torch bce", atol=1e-14 * np.abs(grad).max())
        rel_close(ht, hess, 1e-12, f"{name} hess vs torch bce", atol=1e-14 * np.abs(hess).max())
        SANITY["bce_torch"] += 1
    elif (tv_sigmoid_focal_loss is not None and alpha is None and pos_weight is None and eps == 0.0
          and mask is None):
        tv_alpha = -1 if alpha_scalar is None else alpha_scalar
        xg = xt.clone().requires_grad_(True)
        tl = tv_sigmoid_focal_loss(xg, y, alpha=tv_alpha, gamma=gamma, reduction="sum") / denom
        (tg,) = torch.autograd.grad(tl, xg)
        assert math.isclose(tl.item(), L, rel_tol=1e-13), name
        if torch.isfinite(tg).all():  # torchvision's gradient is NaN as p_t -> 1 for gamma < 1
            rel_close(tg.numpy(), grad, 1e-11, f"{name} grad vs torchvision", atol=1e-15 * np.abs(grad).max())
        SANITY["torchvision"] += 1

    # mpmath: each element is its own function of one logit.
    groups = []
    sc, pwn, ypn, kp = scale.numpy(), pw.numpy(), yp.numpy(), keep.numpy()
    for i in range(x0.size):
        s_i, pw_i, y_i, k_i = (mp.mpf(float(v.reshape(-1)[i])) for v in (sc, pwn, ypn, kp))

        def fn(v, s_i=s_i, pw_i=pw_i, y_i=y_i, k_i=k_i):
            t = v[0]
            sp, sn = 1 / (1 + mp.exp(-t)), 1 / (1 + mp.exp(t))
            b = -(pw_i * y_i * mp.log(sp) + (1 - y_i) * mp.log(sn))
            mod = 1 if (loss == "bce" or gamma == 0.0) else (y_i * sn + (1 - y_i) * sp) ** mp.mpf(gamma)
            return k_i * s_i * mod * b / denom

        groups.append(([i], fn))
    mp_check(name, grad, hess, x0, groups)

    params = {
        "weight": weight,
        "alpha": alpha,
        "alpha_scalar": alpha_scalar,
        "pos_weight": pos_weight,
        "gamma": gamma,
        "ignore_index": None,
        "label_smoothing": eps,
        "reduction": reduction,
    }
    CASES.append({
        "name": name,
        "loss": loss,
        "params": params,
        "inputs": {
            "logits": arr(x0),
            "targets": None,
            "probs": None,
            "binary": arr(yb),
            "ignore": arr(mask, bool) if mask is not None else None,
        },
        "expected": {"loss": num(L), "grad": arr(grad), "hess": arr(hess)},
    })


def wts(seed, c, zero=None):
    v = grid(np.random.default_rng(seed).uniform(0.25, 4.0, c), 1 / 16)
    if zero is not None:
        v[zero] = 0.0
    return [float(x) for x in v]


def unit(seed, c):
    """Per-class alpha in [0, 1] (sigmoid), multiples of 1/8."""
    return [float(x) for x in grid(np.random.default_rng(seed).uniform(0.0, 1.0, c), 1 / 8)]


# Near-one rows: 1 - p_y ~ 2e-13 (gap 30), 1 - p_y ~ 7e-4 (gap 8), and moderate rows.
NEAR = np.array([
    [0.0, -30.0, -30.0],
    [-30.0, 0.0, -30.0],
    [4.0, -4.0, -4.0],
    [0.0, -8.0, -8.0],
    [1.5, -0.5, 0.25],
    [-1.25, 0.75, 2.0],
])
NEAR_Y = np.array([0, 1, 0, 0, 0, 2])

# ---- NLL
softmax_case("nll_weight_ignore_wmean", "nll", (6, 5), 1, "weighted_mean", weight=wts(1, 5),
             ignore_index=255, ignore_frac=0.3)
softmax_case("nll_kdim4_weight_sum", "nll", (2, 3, 2, 3), 2, "sum", weight=wts(2, 3))

# ---- cross-entropy
softmax_case("ce_plain_mean", "ce", (6, 5), 10, "mean")
softmax_case("ce_weight_sum", "ce", (6, 5), 11, "sum", weight=wts(11, 5))
softmax_case("ce_weight_ignore255_wmean", "ce", (6, 5), 12, "weighted_mean", weight=wts(12, 5, zero=3),
             ignore_index=255, ignore_frac=0.3)
softmax_case("ce_ignore_inrange_mean", "ce", (6, 4), 13, "mean", ignore_index=1, ignore_frac=0.3)
softmax_case("ce_smooth_weight_ignore_wmean", "ce", (6, 5), 14, "weighted_mean", weight=wts(14, 5), eps=0.125,
             ignore_index=255, ignore_frac=0.3)
softmax_case("ce_smooth_sum", "ce", (5, 4), 15, "sum", eps=0.25)
softmax_case("ce_probs_mean", "ce", (5, 4), 16, "mean", probs=True)
softmax_case("ce_probs_smooth_weight_wmean", "ce", (5, 5), 17, "weighted_mean", weight=wts(17, 5), eps=0.125,
             probs=True)
softmax_case("ce_probs_sparse_weight_sum", "ce", (6, 4), 18, "sum", weight=wts(18, 4), probs=True, sparse=True)
softmax_case("ce_kdim4_weight_ignore_wmean", "ce", (2, 4, 3, 3), 19, "weighted_mean", weight=wts(19, 4),
             ignore_index=255, ignore_frac=0.25)
softmax_case("ce_kdim4_probs_smooth_mean", "ce", (2, 3, 2, 3), 20, "mean", probs=True, eps=0.125)
softmax_case("ce_nearone_weight_sum", "ce", (6, 3), 21, "sum", weight=wts(21, 3), logits=NEAR, targets=NEAR_Y)
softmax_case("ce_nearone_smooth_mean", "ce", (6, 3), 22, "mean", eps=0.0625, logits=NEAR, targets=NEAR_Y)

# ---- focal (softmax)
for i, g in enumerate([0.0, 0.5, 1.0, 2.0, 2.5]):
    softmax_case(f"focal_g{g:g}_plain_mean", "focal", (6, 5), 30 + i, "mean", gamma=g, argmax_frac=0.4)
softmax_case("focal_g0_alpha_ignore_wmean_vs_ce", "focal", (6, 5), 40, "weighted_mean", gamma=0.0,
             alpha=wts(40, 5), ignore_index=255, ignore_frac=0.3, check_gamma0=True)
softmax_case("focal_g0_smooth_alpha_sum_vs_ce", "focal", (6, 5), 41, "sum", gamma=0.0, alpha=wts(41, 5),
             eps=0.125, check_gamma0=True)
softmax_case("focal_g0_probs_alpha_mean_vs_ce", "focal", (5, 4), 42, "mean", gamma=0.0, alpha=wts(42, 4),
             probs=True, check_gamma0=True)
softmax_case("focal_g0_alphascalar_wmean_vs_ce", "focal", (6, 4), 43, "weighted_mean", gamma=0.0,
             alpha_scalar=0.25, check_gamma0=True)
softmax_case("focal_g0_nearone_sum_vs_ce", "focal", (6, 3), 44, "sum", gamma=0.0, alpha=wts(44, 3),
             logits=NEAR, targets=NEAR_Y, check_gamma0=True)
softmax_case("focal_g2_alpha_sum", "focal", (6, 5), 45, "sum", gamma=2.0, alpha=wts(45, 5, zero=1))
softmax_case("focal_g2_alpha_ignore255_wmean", "focal", (6, 5), 46, "weighted_mean", gamma=2.0,
             alpha=wts(46, 5), ignore_index=255, ignore_frac=0.3)
softmax_case("focal_g2.5_alphascalar_wmean", "focal", (6, 4), 47, "weighted_mean", gamma=2.5, alpha_scalar=0.75)
softmax_case("focal_g1_alphascalar_sum", "focal", (6, 4), 48, "sum", gamma=1.0, alpha_scalar=0.25)
softmax_case("focal_g0.5_ignore_inrange_mean", "focal", (6, 4), 49, "mean", gamma=0.5, ignore_index=2,
             ignore_frac=0.3)
softmax_case("focal_g2_smooth_alpha_mean", "focal", (6, 5), 50, "mean", gamma=2.0, alpha=wts(50, 5), eps=0.125)
softmax_case("focal_g0.5_smooth_alpha_ignore_wmean", "focal", (6, 5), 51, "weighted_mean", gamma=0.5,
             alpha=wts(51, 5), eps=0.25, ignore_index=255, ignore_frac=0.3)
softmax_case("focal_g2_probs_alpha_wmean", "focal", (5, 5), 52, "weighted_mean", gamma=2.0, alpha=wts(52, 5),
             probs=True)
softmax_case("focal_g0.5_probs_sparse_sum", "focal", (6, 4), 53, "sum", gamma=0.5, probs=True, sparse=True)
softmax_case("focal_kdim4_g2_alpha_ignore_wmean", "focal", (2, 4, 3, 3), 54, "weighted_mean", gamma=2.0,
             alpha=wts(54, 4), ignore_index=255, ignore_frac=0.25)
softmax_case("focal_kdim4_g0.5_smooth_mean", "focal", (2, 3, 3, 3), 55, "mean", gamma=0.5, eps=0.125,
             argmax_frac=0.5)
softmax_case("focal_kdim4_g2.5_probs_alphascalar_sum", "focal", (2, 3, 2, 3), 56, "sum", gamma=2.5,
             alpha_scalar=0.5, probs=True)
softmax_case("focal_nearone_g0.5_alpha_sum", "focal", (6, 3), 57, "sum", gamma=0.5, alpha=wts(57, 3),
             logits=NEAR, targets=NEAR_Y)
softmax_case("focal_nearone_g0.5_mean", "focal", (6, 3), 58, "mean", gamma=0.5, logits=NEAR, targets=NEAR_Y)
softmax_case("focal_nearone_g0.5_smooth_alpha_wmean", "focal", (6, 3), 59, "weighted_mean", gamma=0.5,
             alpha=wts(59, 3), eps=0.0625, logits=NEAR, targets=NEAR_Y)
softmax_case("focal_nearone_g0.5_probs_sum", "focal", (6, 3), 60, "sum", gamma=0.5, probs=True, logits=NEAR)
softmax_case("focal_nearone_g2.5_alphascalar_wmean", "focal", (6, 3), 61, "weighted_mean", gamma=2.5,
             alpha_scalar=0.25, logits=NEAR, targets=NEAR_Y)

# ---- BCE with logits
SNEAR = np.array([[30.0, -30.0, 4.0], [-30.0, 30.0, -4.0], [0.5, -1.25, 2.0], [8.0, -8.0, 0.0]])
SNEAR_Y = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 1.0]])
sigmoid_case("bce_plain_mean", "bce", (6, 4), 70, "mean")
sigmoid_case("bce_weight_pos_weight_soft_sum", "bce", (6, 3), 71, "sum", weight=wts(71, 3),
             pos_weight=wts(171, 3), soft=True)
sigmoid_case("bce_weight_wmean", "bce", (5, 3), 72, "weighted_mean", weight=wts(72, 3, zero=1))
sigmoid_case("bce_kdim4_pos_weight_mean", "bce", (2, 3, 2, 3), 73, "mean", pos_weight=wts(73, 3))
sigmoid_case("bce_1d_weight_pos_weight_wmean", "bce", (8,), 74, "weighted_mean", weight=[0.75],
             pos_weight=[2.5])
sigmoid_case("bce_ignore_weight_pos_weight_soft_wmean", "bce", (5, 3), 75, "weighted_mean", weight=wts(75, 3),
             pos_weight=wts(175, 3), soft=True, ignore_frac=0.3)
sigmoid_case("bce_nearone_pos_weight_sum", "bce", (4, 3), 76, "sum", pos_weight=wts(76, 3), logits=SNEAR,
             binary=SNEAR_Y)

# ---- sigmoid focal
sigmoid_case("sf_g2_alphascalar_mean", "sigmoid_focal", (6, 4), 80, "mean", gamma=2.0, alpha_scalar=0.25)
sigmoid_case("sf_g0_soft_sum", "sigmoid_focal", (5, 3), 81, "sum", gamma=0.0, soft=True)
sigmoid_case("sf_g0.5_alpha_pos_weight_wmean", "sigmoid_focal", (5, 4), 82, "weighted_mean", gamma=0.5,
             alpha=unit(82, 4), pos_weight=wts(82, 4))
sigmoid_case("sf_g1_smooth_alpha_mean", "sigmoid_focal", (6, 3), 83, "mean", gamma=1.0, alpha=unit(83, 3),
             eps=0.125)
sigmoid_case("sf_kdim4_g2.5_alpha_ignore_wmean", "sigmoid_focal", (2, 3, 3, 3), 84, "weighted_mean", gamma=2.5,
             alpha=unit(84, 3), ignore_frac=0.25)
sigmoid_case("sf_kdim4_g2_all_options_sum", "sigmoid_focal", (2, 4, 2, 3), 85, "sum", gamma=2.0,
             alpha=unit(85, 4), pos_weight=wts(85, 4), eps=0.125, soft=True, ignore_frac=0.25)
sigmoid_case("sf_1d_g0.5_alphascalar_mean", "sigmoid_focal", (8,), 86, "mean", gamma=0.5, alpha_scalar=0.75)
sigmoid_case("sf_1d_g2_alpha_pos_weight_soft_wmean", "sigmoid_focal", (8,), 87, "weighted_mean", gamma=2.0,
             alpha=[0.375], pos_weight=[3.0], soft=True)
sigmoid_case("sf_g0.5_ignore_alphascalar_soft_sum", "sigmoid_focal", (5, 3), 88, "sum", gamma=0.5,
             alpha_scalar=0.25, soft=True, ignore_frac=0.3)
sigmoid_case("sf_nearone_g0.5_alphascalar_sum", "sigmoid_focal", (4, 3), 89, "sum", gamma=0.5,
             alpha_scalar=0.25, logits=SNEAR, binary=SNEAR_Y)
sigmoid_case("sf_nearone_g0.5_smooth_mean", "sigmoid_focal", (4, 3), 90, "mean", gamma=0.5, eps=0.0625,
             logits=SNEAR, binary=SNEAR_Y)
sigmoid_case("sf_nearone_g2.5_alpha_pos_weight_wmean", "sigmoid_focal", (4, 3), 91, "weighted_mean",
             gamma=2.5, alpha=unit(91, 3), pos_weight=wts(91, 3), logits=SNEAR, binary=SNEAR_Y)

assert SANITY["focal_gamma0_vs_ce"] >= 4 and SANITY["ce_analytic"] >= 10
names = [c["name"] for c in CASES]
assert len(names) == len(set(names)), "duplicate case names"

text = "[\n" + ",\n".join(json.dumps(c, separators=(",", ":")) for c in CASES) + "\n]\n"
with open(OUT, "w") as f:
    f.write(text)
counts = {}
for c in CASES:
    counts[c["loss"]] = counts.get(c["loss"], 0) + 1
print(f"torch {torch.__version__}: wrote {len(CASES)} cases {counts}, {len(text)} bytes to "
      f"{os.path.normpath(OUT)}")
print(f"sanity {SANITY}; max relative deviation from mpmath {MAX_MP_REL}")
