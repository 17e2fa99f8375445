#!/usr/bin/env python3
"""Golden fixtures for the softmax-family losses (NllLoss, CrossEntropyLoss,
FocalLoss), computed in float64 with PyTorch.

Regenerate (from the crate root):

    /tmp/ref/bin/python scripts/gen_softmax_fixtures.py

It writes tests/fixtures/softmax.json, read by tests/golden_softmax.rs.
Deterministic: every case draws from its own numpy seed; torch does no
random sampling here.

References
----------
- nll:   torch.nn.functional.nll_loss on the stored log-probabilities.
- ce:    torch.nn.functional.cross_entropy (weight, ignore_index,
         label_smoothing, probability targets).
- focal: a plain float64 torch expression of DESIGN.md section 4:
         l_n = -sum_c alpha_c t'_c (1 - p_c)^gamma lp_c, with
         1 - p = -expm1(lp) (never 1 - exp(lp)); one-hot t' without
         smoothing, t' = (1 - eps) onehot + eps / C with smoothing,
         t' = (1 - eps) t + eps / C for probability targets.
Gradients are torch.autograd gradients of the expressions.

The log-softmax of the focal reference
--------------------------------------
torch.log_softmax rounds sum_k exp(z_k - max) = 1 + delta to float64, so for
p_y close to 1 (delta < ~1e-3, common with logits up to +-50) lp_y keeps only
~1e-16 / delta of relative precision, and lp_y is exactly 0 once delta
< 1.1e-16. -expm1(lp_y) then inherits that error, so 1 - p_y (and
(1 - p_y)^gamma for 0 < gamma < 1, whose gradient has relative sensitivity
gamma) would be wrong in the reference itself. The focal reference therefore
computes the same log-softmax as

    lp = (z - m) - log1p(sum_k e_k),   m = max_k z_k (a constant),
    e_k = expm1(z_k - m) for the first maximum (value 0, derivative 1),
          exp(z_k - m)   otherwise,

which equals z - logsumexp(z) as a function (so autograd gives the exact
gradient) but keeps lp_y to full relative precision. The script asserts it
agrees with torch.log_softmax to rounding.

Fractional gamma (0 < gamma < 1) and autograd
---------------------------------------------
Autograd of pow at base 0 with 0 < gamma < 1 gives inf/NaN. With the
log-softmax above, 1 - p_c = -expm1(lp_c) underflows to exactly 0 only when
the logit gap exceeds ~745; every fixture input has gaps <= 100, so it never
does: the script *picks inputs where it does not happen* and asserts
1 - p_c > 0 wherever t'_c > 0 and that every gradient is finite. No
gradient is computed analytically.

Reductions
----------
Every reduced value is computed here from the per-target losses (reduction
'none') and the DESIGN.md section 3 denominator:
    sum           -> 1
    mean          -> number of non-ignored positions (all positions for
                     probability targets)
    weighted_mean -> sum over non-ignored positions of w[y] (alpha[y] for
                     focal; a scalar alpha a counts a per position); for
                     probability targets sum_n sum_c w_c t'_c.
The script asserts that torch's own 'mean'/'sum' agree where they are
defined to (NLL/CE 'mean' with indices == weighted_mean, CE 'mean' with
probabilities == mean), and that focal with gamma = 0 equals
F.cross_entropy(weight=alpha) (loss and gradient).

Inputs are exactly representable in float32 (dyadic grids), so the float32
test feeds the same numbers. Parameters (weights, alpha, eps, gamma) are
dyadic too. Ignored targets use 255 (or an in-range class when the case
says so).
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "softmax.json")


# ---------------------------------------------------------------- helpers


def grid(x, q):
    """Rounds to multiples of q (a power of two): exact in float32 here."""
    return np.round(np.asarray(x, dtype=np.float64) / q) * q


def f32_exact(a):
    a = np.asarray(a, dtype=np.float64)
    assert np.array_equal(a.astype(np.float32).astype(np.float64), a), "input not float32-exact"


def num(v):
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def arr(a, as_int=False):
    a = np.asarray(a)
    data = [int(v) for v in a.ravel()] if as_int else [num(v) for v in a.ravel()]
    return {"shape": list(a.shape), "data": data}


def accurate_log_softmax(z):
    """log_softmax along dim 1 that keeps lp relatively precise near p = 1 (see header)."""
    m = z.detach().amax(dim=1, keepdim=True)
    sh = z - m
    first_max = F.one_hot(sh.detach().argmax(dim=1), z.shape[1]).movedim(-1, 1).bool()
    terms = torch.where(first_max, torch.expm1(sh), torch.exp(sh))
    return sh - torch.log1p(terms.sum(dim=1, keepdim=True))


def bshape(v, ndim):
    """A per-class vector shaped to broadcast against (N, C, d1, ..)."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def focal_per_target(z, gamma, alpha, y=None, valid=None, eps=0.0, probs=None):
    """Per-position focal loss (DESIGN.md section 4). alpha: None, float, or (C,) tensor."""
    c = z.shape[1]
    lp = accurate_log_softmax(z)
    assert torch.allclose(lp, torch.log_softmax(z, dim=1), rtol=0, atol=1e-13), "log-softmax sanity"
    omp = -torch.expm1(lp)
    if alpha is None:
        a = torch.ones(c)
    elif isinstance(alpha, float):
        a = torch.full((c,), alpha)
    else:
        a = alpha
    a = bshape(a, z.dim())
    if probs is None and eps == 0.0:
        yc = torch.where(valid, y, torch.zeros_like(y)).unsqueeze(1)
        lpy = lp.gather(1, yc)
        ompy = omp.gather(1, yc)
        assert bool((ompy > 0).all()), "1 - p_y underflowed to 0"
        ay = a.expand_as(lp).gather(1, yc)
        per = (-ay * ompy**gamma * lpy).squeeze(1)
        return per * valid
    if probs is None:
        yc = torch.where(valid, y, torch.zeros_like(y))
        tp = (1.0 - eps) * F.one_hot(yc, c).movedim(-1, 1).double() + eps / c
    else:
        tp = (1.0 - eps) * probs + eps / c
    assert bool((omp[tp > 0] > 0).all()), "1 - p_c underflowed to 0 where t'_c > 0"
    per = -(a * tp * omp**gamma * lp).sum(dim=1)
    return per * valid if probs is None else per


# ---------------------------------------------------------------- cases

CASES = []
SANITY = {"torch_mean": 0, "focal_gamma0_vs_ce": 0}


def close(a, b, tol=1e-13):
    return abs(a - b) <= tol * max(1.0, abs(b))


def make_case(
    name,
    loss,
    shape,
    seed,
    reduction,
    scale=3.0,
    uniform=False,
    weight=None,
    alpha=None,
    gamma=None,
    ignore_index=None,
    ignore_frac=0.0,
    eps=0.0,
    probs=False,
    prob_mass=1.0,
    sparse=False,
    argmax_frac=0.0,
    check_gamma0=False,
    logits=None,
    targets=None,
):
    rng = np.random.default_rng(seed)
    n, c = shape[0], shape[1]
    pshape = (shape[0],) + tuple(shape[2:])
    ndim = len(shape)

    # Logits on a 1/256 grid (|z| <= 50 -> at most 14 significant bits).
    raw = rng.uniform(-scale, scale, shape) if uniform else rng.normal(0.0, scale / 3.0, shape)
    if logits is None:
        logits = grid(np.clip(raw, -scale, scale), 1 / 256)
    assert logits.shape == tuple(shape)

    # Index targets; a share of them set to the arg-max (p_y -> 1 for large logits).
    drawn = rng.integers(0, c, pshape)
    targets = drawn if targets is None else targets
    if argmax_frac > 0:
        am = logits.argmax(axis=1)
        pick = rng.random(pshape) < argmax_frac
        targets = np.where(pick, am, targets)
    valid = np.ones(pshape, dtype=bool)
    if ignore_index is not None and ignore_frac > 0:
        ign = rng.random(pshape) < ignore_frac
        ign.flat[0] = True
        ign.flat[-1] = False  # keep the denominators non-zero
        targets = np.where(ign, ignore_index, targets)
    if ignore_index is not None:
        valid = targets != ignore_index
    assert valid.any()

    if loss == "nll":
        # Input of NLL: log-probabilities (of random logits), on a 1/4096 grid.
        lsm = torch.log_softmax(torch.tensor(logits), dim=1).numpy()
        logits = grid(lsm, 1 / 4096)

    pt = None
    if probs:
        pt = rng.dirichlet(np.ones(c) * (0.3 if sparse else 1.0), pshape)  # (..., C)
        pt = np.moveaxis(pt, -1, 1) * prob_mass
        if sparse:
            pt = np.where(pt < 0.05, 0.0, pt)
        pt = grid(pt, 1 / 1024)

    upstream = grid(rng.uniform(-2.0, 2.0, pshape), 1 / 64)
    for a in (logits, upstream) + ((pt,) if probs else ()):
        f32_exact(a)
    for p in (weight, alpha, eps, gamma):
        if p is not None:
            f32_exact(p)

    z = torch.tensor(logits, requires_grad=True)
    y = torch.tensor(targets, dtype=torch.long)
    vt = torch.tensor(valid)
    tt = torch.tensor(pt) if probs else None
    w = torch.tensor(weight) if weight is not None else None

    # Per-target losses (reduction 'none') and the class weight per target.
    if loss == "nll":
        kw = dict(weight=w, ignore_index=ignore_index if ignore_index is not None else -100)
        per = F.nll_loss(z, y, reduction="none", **kw)
        cls_w = w
    elif loss == "ce":
        # torch rejects ignore_index with probability targets; the crate documents
        # that it applies to class indices only, so for probabilities the
        # reference is the loss without it.
        kw = dict(weight=w, label_smoothing=eps)
        if not probs:
            kw["ignore_index"] = ignore_index if ignore_index is not None else -100
        if probs:
            per = F.cross_entropy(z, tt, reduction="none", **kw)
        else:
            per = F.cross_entropy(z, y, reduction="none", **kw)
        cls_w = w
    else:
        al = torch.tensor(alpha) if isinstance(alpha, list) else alpha
        per = focal_per_target(z, gamma, al, y=y, valid=vt, eps=eps, probs=tt)
        cls_w = al if isinstance(alpha, list) else (torch.full((c,), alpha) if alpha is not None else None)

    # Denominator (DESIGN.md section 3).
    wvec = cls_w if cls_w is not None else torch.ones(c)
    if reduction == "sum":
        denom = 1.0
    elif reduction == "mean":
        denom = float(vt.sum()) if not probs else float(np.prod(pshape))
    else:
        if probs:
            tprime = (1.0 - eps) * tt + eps / c
            denom = float((bshape(wvec, ndim) * tprime).sum())
        else:
            yc = torch.where(vt, y, torch.zeros_like(y))
            denom = float((wvec[yc] * vt).sum())
    assert denom > 0

    total = per.sum() / denom
    (grad,) = torch.autograd.grad(total, z, retain_graph=True)
    u = torch.tensor(upstream)
    (ptb,) = torch.autograd.grad((u * per).sum(), z, retain_graph=True)
    for t in (per, total, grad, ptb):
        assert bool(torch.isfinite(t).all()), f"{name}: non-finite reference"

    # Cross-checks against torch's own reductions where they are defined to agree.
    if loss in ("nll", "ce"):
        fn = F.nll_loss if loss == "nll" else F.cross_entropy
        tgt = tt if probs else y
        assert close(fn(z, tgt, reduction="sum", **kw).item(), per.sum().item()), name
        mine = per.sum().item() / (float(np.prod(pshape)) if probs else float(
            (wvec[torch.where(vt, y, torch.zeros_like(y))] * vt).sum()))
        assert close(fn(z, tgt, reduction="mean", **kw).item(), mine), name
        SANITY["torch_mean"] += 1
    if check_gamma0:
        assert loss == "focal" and gamma == 0.0
        kw = dict(weight=torch.tensor(alpha) if isinstance(alpha, list) else None, label_smoothing=eps)
        if not probs and ignore_index is not None:
            kw["ignore_index"] = ignore_index
        ce = F.cross_entropy(z, tt if probs else y, reduction="none", **kw)
        (gce,) = torch.autograd.grad((u * ce).sum(), z, retain_graph=True)
        assert torch.allclose(ce, per, rtol=1e-13, atol=1e-14), name
        assert torch.allclose(gce, ptb, rtol=1e-13, atol=1e-14), name
        SANITY["focal_gamma0_vs_ce"] += 1

    params = {
        "weight": weight,
        "alpha": alpha,
        "gamma": gamma,
        "ignore_index": ignore_index,
        "label_smoothing": eps,
        "reduction": reduction,
    }
    CASES.append(
        {
            "name": name,
            "loss": loss,
            "params": params,
            "inputs": {
                "logits": arr(logits),
                "targets": None if probs else arr(targets, as_int=True),
                "probs": arr(pt) if probs else None,
                "upstream": arr(upstream),
            },
            "expected": {
                "loss": num(total.item()),
                "grad": arr(grad.numpy()),
                "per_target": arr(per.detach().numpy()),
                "per_target_backward": arr(ptb.numpy()),
            },
        }
    )


def wts(seed, c, zero=None):
    v = grid(np.random.default_rng(seed).uniform(0.25, 4.0, c), 1 / 16)
    if zero is not None:
        v[zero] = 0.0
    return [float(x) for x in v]


# ---- NLL
make_case("nll_plain_wmean", "nll", (8, 5), 1, "weighted_mean")
make_case("nll_weight_wmean", "nll", (8, 5), 2, "weighted_mean", weight=wts(2, 5))
make_case("nll_weight_mean", "nll", (8, 5), 3, "mean", weight=wts(3, 5))
make_case("nll_weight_sum", "nll", (8, 5), 4, "sum", weight=wts(4, 5, zero=2))
make_case("nll_ignore255_weight_wmean", "nll", (12, 6), 5, "weighted_mean", weight=wts(5, 6),
          ignore_index=255, ignore_frac=0.3)
make_case("nll_ignore_inrange_mean", "nll", (12, 4), 6, "mean", ignore_index=1, ignore_frac=0.2)
make_case("nll_c2_sum", "nll", (10, 2), 7, "sum", weight=wts(7, 2))
make_case("nll_kdim3_weight_wmean", "nll", (3, 4, 5), 8, "weighted_mean", weight=wts(8, 4),
          ignore_index=255, ignore_frac=0.2)
make_case("nll_kdim4_sum", "nll", (2, 3, 3, 4), 9, "sum", ignore_index=255, ignore_frac=0.2)
make_case("nll_scale50_weight_wmean", "nll", (8, 6), 10, "weighted_mean", scale=50.0, uniform=True,
          weight=wts(10, 6))

# ---- cross-entropy
make_case("ce_plain_wmean", "ce", (16, 10), 20, "weighted_mean")
make_case("ce_weight_sum", "ce", (8, 5), 21, "sum", weight=wts(21, 5))
make_case("ce_weight_mean", "ce", (8, 5), 22, "mean", weight=wts(22, 5))
make_case("ce_weight_wmean", "ce", (8, 5), 23, "weighted_mean", weight=wts(23, 5, zero=0))
make_case("ce_ignore255_weight_wmean", "ce", (12, 6), 24, "weighted_mean", weight=wts(24, 6),
          ignore_index=255, ignore_frac=0.3)
make_case("ce_ignore_inrange_mean", "ce", (12, 4), 25, "mean", ignore_index=0, ignore_frac=0.2)
make_case("ce_smooth_wmean", "ce", (8, 7), 26, "weighted_mean", eps=0.125)
make_case("ce_smooth_weight_ignore_wmean", "ce", (10, 5), 27, "weighted_mean", weight=wts(27, 5),
          eps=0.25, ignore_index=255, ignore_frac=0.3)
make_case("ce_smooth_weight_sum", "ce", (8, 5), 28, "sum", weight=wts(28, 5), eps=0.0625)
make_case("ce_smooth_weight_mean", "ce", (8, 5), 29, "mean", weight=wts(29, 5), eps=0.125)
make_case("ce_smooth_full_mean", "ce", (6, 4), 30, "mean", weight=wts(30, 4), eps=1.0)
make_case("ce_probs_mean", "ce", (8, 5), 31, "mean", probs=True)
make_case("ce_probs_weight_sum", "ce", (8, 5), 32, "sum", weight=wts(32, 5), probs=True, sparse=True)
make_case("ce_probs_weight_mean", "ce", (8, 5), 33, "mean", weight=wts(33, 5), probs=True)
make_case("ce_probs_weight_wmean", "ce", (8, 5), 34, "weighted_mean", weight=wts(34, 5), probs=True)
make_case("ce_probs_smooth_weight_wmean", "ce", (8, 6), 35, "weighted_mean", weight=wts(35, 6),
          probs=True, eps=0.125, sparse=True)
make_case("ce_probs_unnormalised_sum", "ce", (6, 4), 36, "sum", probs=True, prob_mass=2.5)
make_case("ce_kdim3_weight_ignore_wmean", "ce", (3, 5, 4), 37, "weighted_mean", weight=wts(37, 5),
          ignore_index=255, ignore_frac=0.25)
make_case("ce_kdim4_smooth_weight_mean", "ce", (2, 4, 3, 3), 38, "mean", weight=wts(38, 4), eps=0.125)
make_case("ce_kdim3_probs_weight_wmean", "ce", (2, 3, 5), 39, "weighted_mean", weight=wts(39, 3),
          probs=True)
make_case("ce_kdim4_probs_smooth_sum", "ce", (2, 3, 2, 3), 40, "sum", probs=True, eps=0.25)
make_case("ce_c2_wmean", "ce", (12, 2), 41, "weighted_mean", weight=wts(41, 2))
make_case("ce_scale50_weight_sum", "ce", (12, 6), 42, "sum", scale=50.0, uniform=True,
          weight=wts(42, 6), argmax_frac=0.5)
make_case("ce_scale50_smooth_mean", "ce", (12, 6), 43, "mean", scale=50.0, uniform=True, eps=0.125,
          argmax_frac=0.5)
make_case("ce_scale50_probs_wmean", "ce", (8, 4), 44, "weighted_mean", scale=50.0, uniform=True,
          weight=wts(44, 4), probs=True)

# ---- focal
for i, g in enumerate([0.0, 0.5, 1.0, 2.0, 5.0]):
    make_case(f"focal_g{g:g}_plain_mean", "focal", (10, 5), 60 + i, "mean", gamma=g, scale=4.0,
              argmax_frac=0.4)
make_case("focal_g0_alpha_wmean_vs_ce", "focal", (8, 5), 66, "weighted_mean", gamma=0.0,
          alpha=wts(66, 5), ignore_index=255, ignore_frac=0.25, check_gamma0=True)
make_case("focal_g0_smooth_alpha_sum_vs_ce", "focal", (8, 5), 67, "sum", gamma=0.0, alpha=wts(67, 5),
          eps=0.125, check_gamma0=True)
make_case("focal_g0_probs_alpha_mean_vs_ce", "focal", (8, 5), 68, "mean", gamma=0.0, alpha=wts(68, 5),
          probs=True, check_gamma0=True)
make_case("focal_g2_alpha_sum", "focal", (8, 6), 70, "sum", gamma=2.0, alpha=wts(70, 6))
make_case("focal_g2_alpha_mean", "focal", (8, 6), 71, "mean", gamma=2.0, alpha=wts(71, 6, zero=1))
make_case("focal_g2_alpha_wmean", "focal", (8, 6), 72, "weighted_mean", gamma=2.0, alpha=wts(72, 6))
make_case("focal_g2_alphascalar_mean", "focal", (8, 4), 73, "mean", gamma=2.0, alpha=0.25)
make_case("focal_g1_alphascalar_wmean", "focal", (8, 4), 74, "weighted_mean", gamma=1.0, alpha=0.25)
make_case("focal_g2_alphascalar_sum", "focal", (8, 4), 75, "sum", gamma=2.0, alpha=0.75)
make_case("focal_g2_ignore255_alpha_wmean", "focal", (12, 5), 76, "weighted_mean", gamma=2.0,
          alpha=wts(76, 5), ignore_index=255, ignore_frac=0.3)
make_case("focal_g0.5_ignore_inrange_mean", "focal", (12, 4), 77, "mean", gamma=0.5, ignore_index=2,
          ignore_frac=0.25)
make_case("focal_g2_smooth_alpha_mean", "focal", (8, 5), 78, "mean", gamma=2.0, alpha=wts(78, 5),
          eps=0.125)
make_case("focal_g0.5_smooth_ignore_wmean", "focal", (10, 5), 79, "weighted_mean", gamma=0.5,
          alpha=wts(79, 5), eps=0.25, ignore_index=255, ignore_frac=0.3)
make_case("focal_g5_smooth_sum", "focal", (8, 3), 80, "sum", gamma=5.0, eps=0.0625)
make_case("focal_g2_probs_alpha_sum", "focal", (8, 5), 81, "sum", gamma=2.0, alpha=wts(81, 5),
          probs=True, sparse=True)
make_case("focal_g2_probs_alpha_wmean", "focal", (8, 5), 82, "weighted_mean", gamma=2.0,
          alpha=wts(82, 5), probs=True)
make_case("focal_g0.5_probs_mean", "focal", (8, 5), 83, "mean", gamma=0.5, probs=True)
make_case("focal_g1_probs_smooth_alphascalar_wmean", "focal", (8, 4), 84, "weighted_mean", gamma=1.0,
          alpha=0.5, probs=True, eps=0.125)
make_case("focal_kdim3_g2_alpha_ignore_wmean", "focal", (3, 4, 5), 85, "weighted_mean", gamma=2.0,
          alpha=wts(85, 4), ignore_index=255, ignore_frac=0.25)
make_case("focal_kdim4_g0.5_smooth_mean", "focal", (2, 3, 3, 3), 86, "mean", gamma=0.5, eps=0.125)
make_case("focal_kdim3_probs_g1_alpha_sum", "focal", (2, 4, 4), 87, "sum", gamma=1.0, alpha=wts(87, 4),
          probs=True)
make_case("focal_kdim4_g5_alphascalar_mean", "focal", (2, 3, 2, 4), 88, "mean", gamma=5.0, alpha=0.25,
          argmax_frac=0.5)
make_case("focal_c2_g2_alpha_mean", "focal", (12, 2), 89, "mean", gamma=2.0, alpha=[0.25, 0.75])
make_case("focal_c10_g2_mean", "focal", (16, 10), 90, "mean", gamma=2.0, argmax_frac=0.3)
for i, g in enumerate([0.5, 1.0, 2.0, 5.0]):
    make_case(f"focal_scale50_g{g:g}_alpha_sum", "focal", (12, 5), 91 + i, "sum", gamma=g,
              alpha=wts(91 + i, 5), scale=50.0, uniform=True, argmax_frac=0.6)
make_case("focal_scale50_g0.5_mean", "focal", (16, 4), 95, "mean", gamma=0.5, scale=50.0,
          uniform=True, argmax_frac=0.6)
make_case("focal_scale50_g0.5_smooth_wmean", "focal", (8, 4), 96, "weighted_mean", gamma=0.5,
          alpha=wts(96, 4), scale=50.0, uniform=True, eps=0.125, argmax_frac=0.6)
make_case("focal_scale50_g2_probs_mean", "focal", (8, 4), 97, "mean", gamma=2.0, scale=50.0,
          uniform=True, probs=True, sparse=True)
# Target = arg-max with margins 0 .. 100 between the two largest logits (p_y from
# 1/2 to 1 - 4e-44), the largest logit at 0 or at 50.
MARGINS = np.array([0.0, 0.5, 1, 2, 3, 5, 7, 9, 12, 15, 18, 22, 27, 33, 40, 50])


def margin_rows(top, step):
    """(16, 3) logits: [top, top - m, top - m - step] for each margin m (clipped to >= -50)."""
    m = MARGINS if top == 0 else MARGINS * 2
    rows = np.stack([np.full_like(m, top), top - m, np.maximum(top - m - step, -50.0)], axis=1)
    return grid(rows, 1 / 256)


for top in (0.0, 50.0):
    t0 = np.zeros(16, dtype=np.int64)
    make_case(f"ce_margins_top{top:g}_sum", "ce", (16, 3), 100, "sum", logits=margin_rows(top, 1.5),
              targets=t0)
    make_case(f"focal_margins_top{top:g}_g0_sum", "focal", (16, 3), 101, "sum", gamma=0.0,
              logits=margin_rows(top, 0.75), targets=t0)
    make_case(f"focal_margins_top{top:g}_g0.5_sum", "focal", (16, 3), 102, "sum", gamma=0.5,
              logits=margin_rows(top, 2.25), targets=t0)
    make_case(f"focal_margins_top{top:g}_g0.5_smooth_sum", "focal", (16, 3), 103, "sum", gamma=0.5,
              eps=0.0625, logits=margin_rows(top, 3.0), targets=t0)
make_case("ce_probs_ignore_index_unused_mean", "ce", (6, 4), 104, "mean", probs=True, ignore_index=1)

# Moderate margins (p_y in roughly 1 - 1e-2 .. 1 - 1e-12), where 0 < gamma < 1 is most sensitive.
make_case("focal_scale15_g0.5_alpha_sum", "focal", (12, 4), 98, "sum", gamma=0.5, alpha=wts(98, 4),
          scale=15.0, uniform=True, argmax_frac=0.8)

assert SANITY["focal_gamma0_vs_ce"] >= 3

text = "[\n" + ",\n".join(json.dumps(c, separators=(",", ":")) for c in CASES) + "\n]\n"
with open(OUT, "w") as f:
    f.write(text)
print(f"wrote {len(CASES)} cases, {len(text)} bytes to {os.path.normpath(OUT)}; sanity {SANITY}")
