"""Reference values for the sigmoid-family losses (SigmoidFocalLoss, BceWithLogitsLoss).

Regenerate (deterministic; needs torch 2.x and torchvision, CPU is enough):

    /tmp/ref/bin/python scripts/gen_sigmoid_fixtures.py

writes tests/fixtures/sigmoid.json, read by tests/golden_sigmoid.rs.

Sources of truth, per case ("source"):
- "torchvision": torchvision.ops.sigmoid_focal_loss (scalar alpha or alpha=-1);
- "torch_bce": torch.nn.functional.binary_cross_entropy_with_logits (weight,
  pos_weight, reshaped to (C, 1, .., 1) so they apply along the class axis 1);
- "formula": a plain float64 torch expression of the documented formula, in
  stable log space (logsigmoid, logaddexp), so it stays right at large |x|:
      y' = y (1 - eps) + eps / 2
      B  = -(pw y' logsigmoid(x) + (1 - y') logsigmoid(-x))
      log(1 - p_t) = logaddexp(log y' + logsigmoid(-x), log(1 - y') + logsigmoid(x))
      l  = w alpha_t exp(gamma log(1 - p_t)) B,  alpha_t = a y' + (1 - a)(1 - y')
  with ignored elements set to 0. Gradients always come from torch autograd.
The formula expression is also checked here against torchvision and
PyTorch BCE on every case those cover.

Reductions: "sum"; "mean" = sum / number of non-ignored elements;
"weighted_mean" = sum / sum over non-ignored elements of w alpha_t.
All inputs and parameters of cases with "f32": true are exactly
representable in float32, so the Rust f32 test uses the same inputs.
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss

torch.set_default_dtype(torch.float64)
RNG = np.random.default_rng(20240604)
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "sigmoid.json")


def f32(a):
    """Rounds to float32 and back, so the value is exact in both precisions."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def enc(v):
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def arr(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [enc(v) for v in a.reshape(-1)]}


def logits(shape, scale=2.5, clip=6.0):
    return f32(np.clip(RNG.normal(0.0, scale, shape), -clip, clip))


def hard(shape):
    return RNG.integers(0, 2, shape).astype(np.float64)


def soft(shape):
    return np.round(RNG.uniform(0.0, 1.0, shape) * 64.0) / 64.0


def per_class(v, ndim):
    """A per-class vector as a tensor broadcasting along axis 1 (or over (N))."""
    if v is None:
        return None
    t = torch.tensor(v)
    if ndim >= 2:
        t = t.reshape([len(v)] + [1] * (ndim - 2))
    return t


def class_weights(x, weight, alpha, y):
    """w * alpha_t as a tensor of x's shape (no grad)."""
    ones = torch.ones_like(x)
    w = per_class(weight, x.dim())
    w = ones if w is None else w * ones
    if alpha is None:
        return w
    a = torch.tensor(float(alpha)) if np.isscalar(alpha) else per_class(alpha, x.dim())
    return w * (a * y + (1 - a) * (1 - y))


def formula(x, y, c):
    """Per-element losses of the documented formula (ignored elements 0)."""
    eps = c["label_smoothing"]
    mask = c["mask"]
    if mask is not None:
        y = torch.where(mask, torch.zeros_like(y), y)
    yp = y * (1 - eps) + eps / 2
    pw = per_class(c["pos_weight"], x.dim())
    pw = 1.0 if pw is None else pw
    ls_pos, ls_neg = F.logsigmoid(x), F.logsigmoid(-x)
    bce = -(pw * yp * ls_pos + (1 - yp) * ls_neg)
    if c["gamma"] == 0:
        mod = torch.ones_like(x)
    else:
        logq = torch.logaddexp(torch.log(yp) + ls_neg, torch.log1p(-yp) + ls_pos)
        mod = torch.exp(c["gamma"] * logq)
    loss = class_weights(x, c["weight"], c["alpha"], yp) * mod * bce
    if mask is not None:
        loss = torch.where(mask, torch.zeros_like(loss), loss)
    return loss


def denominators(x, y, c):
    mask = c["mask"]
    keep = torch.ones_like(x) if mask is None else (~mask).to(x.dtype)
    yc = y if mask is None else torch.where(mask, torch.zeros_like(y), y)
    eps = c["label_smoothing"]
    w = class_weights(x, c["weight"], c["alpha"], yc * (1 - eps) + eps / 2)
    return keep.sum(), (w * keep).sum()


def library(x, y, c, reduction):
    """The library's own value, for the cases a library covers."""
    if c["source"] == "torchvision":
        alpha = -1 if c["alpha"] is None else c["alpha"]
        return sigmoid_focal_loss(x, y, alpha=alpha, gamma=c["gamma"], reduction=reduction)
    if c["source"] == "torch_bce":
        return F.binary_cross_entropy_with_logits(
            x,
            y,
            weight=per_class(c["weight"], x.dim()),
            pos_weight=per_class(c["pos_weight"], x.dim()),
            reduction=reduction,
        )
    raise ValueError(c["source"])


def grad_of(fn, x0):
    x = x0.clone().requires_grad_(True)
    out = fn(x)
    (g,) = torch.autograd.grad(out, x)
    return out.detach(), g


def evaluate(c, impl):
    """per_target, the three reductions and their gradients, and a VJP."""
    x0, y = c["x"], c["y"]
    count, wsum = denominators(x0, y, c)
    res = {}
    res["per_target"] = impl(x0, "none").detach()
    res["loss"], res["grad"] = {}, {}
    for name, fn in [
        ("sum", lambda x: impl(x, "sum")),
        ("mean", lambda x: impl(x, "mean")),
        ("weighted_mean", lambda x: impl(x, "sum") / wsum),
    ]:
        res["loss"][name], res["grad"][name] = grad_of(fn, x0)
    _, res["vjp"] = grad_of(lambda x: (impl(x, "none") * c["upstream"]).sum(), x0)
    assert count > 0
    return res


def formula_impl(c):
    count, _ = denominators(c["x"], c["y"], c)

    def impl(x, reduction):
        per = formula(x, c["y"], c)
        if reduction == "none":
            return per
        return per.sum() if reduction == "sum" else per.sum() / count

    return impl


def library_impl(c):
    def impl(x, reduction):
        return library(x, c["y"], c, reduction)

    return impl


def assert_close(a, b, what, rtol=1e-12, atol=1e-14):
    a, b = torch.as_tensor(a), torch.as_tensor(b)
    ok = torch.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False)
    assert ok, f"{what}: {a} vs {b}"


def case(name, source, loss, shape_x, y, gamma=0.0, alpha=None, pos_weight=None,
         weight=None, eps=0.0, mask=None, x=None, is_f32=True, record_torchvision=False):
    x = logits(shape_x) if x is None else np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        y = np.where(mask, -1.0, y)  # garbage at ignored elements: must not be read
    c = {
        "name": name, "source": source, "loss_type": loss, "gamma": gamma,
        "alpha": alpha, "pos_weight": pos_weight, "weight": weight,
        "label_smoothing": eps, "f32": is_f32,
        "x": torch.tensor(x), "y": torch.tensor(y),
        "mask": None if mask is None else torch.tensor(mask),
        "upstream": torch.tensor(f32(RNG.normal(0.0, 1.0, x.shape))),
    }
    ref = evaluate(c, formula_impl(c))
    if source != "formula":
        lib = evaluate(c, library_impl(c))
        for key in ["per_target", "vjp"]:
            assert_close(ref[key], lib[key], f"{name} {key}")
        for red in ref["loss"]:
            assert_close(ref["loss"][red], lib["loss"][red], f"{name} loss {red}")
            assert_close(ref["grad"][red], lib["grad"][red], f"{name} grad {red}")
        ref = lib
    for red in ref["loss"]:
        assert torch.isfinite(ref["grad"][red]).all(), f"{name}: reference grad not finite"
    out = {
        "name": name, "source": source, "loss_type": loss, "gamma": gamma,
        "alpha": alpha, "pos_weight": pos_weight, "weight": weight,
        "label_smoothing": eps, "f32": is_f32,
        "logits": arr(x), "targets": arr(y),
        "ignore": None if mask is None else arr(mask.astype(np.float64)),
        "upstream": arr(c["upstream"].numpy()),
        "per_target": arr(ref["per_target"].numpy()),
        "loss": {k: enc(v) for k, v in ref["loss"].items()},
        "grad": {k: arr(v.numpy()) for k, v in ref["grad"].items()},
        "vjp": arr(ref["vjp"].numpy()),
    }
    if record_torchvision:
        # What torchvision itself returns here (documents its NaN as p_t -> 1).
        tv = library_impl(dict(c, source="torchvision"))
        tl, tg = grad_of(lambda xx: tv(xx, "sum"), c["x"])
        out["torchvision_sum"] = {"loss": enc(tl), "grad": arr(tg.numpy())}
    return out


def main():
    cases = []
    # torchvision.ops.sigmoid_focal_loss
    cases.append(case("tv_2d_gamma2_alpha025", "torchvision", "focal", (6, 4), hard((6, 4)),
                      gamma=2.0, alpha=0.25))
    cases.append(case("tv_4d_gamma15_noalpha_soft", "torchvision", "focal", (2, 3, 3, 4),
                      soft((2, 3, 3, 4)), gamma=1.5))
    cases.append(case("tv_1d_gamma05_alpha075", "torchvision", "focal", (10,), hard((10,)),
                      gamma=0.5, alpha=0.75))
    cases.append(case("tv_gamma0_alpha05_soft", "torchvision", "focal", (5, 3), soft((5, 3)),
                      gamma=0.0, alpha=0.5))
    # F.binary_cross_entropy_with_logits
    cases.append(case("bce_2d_plain", "torch_bce", "bce", (6, 4), hard((6, 4))))
    cases.append(case("bce_2d_weight_pos_weight_soft", "torch_bce", "bce", (6, 3),
                      soft((6, 3)), weight=[1.5, 0.25, 2.0], pos_weight=[2.0, 0.5, 3.25]))
    cases.append(case("bce_3d_pos_weight", "torch_bce", "bce", (3, 3, 5), hard((3, 3, 5)),
                      pos_weight=[4.0, 1.0, 0.25]))
    cases.append(case("bce_1d_weight_pos_weight", "torch_bce", "bce", (12,), hard((12,)),
                      weight=[0.5], pos_weight=[3.0]))
    # The documented formula, in stable float64 torch.
    cases.append(case("focal_alpha_per_class", "formula", "focal", (5, 4, 3), hard((5, 4, 3)),
                      gamma=2.0, alpha=[0.25, 0.5, 0.875, 0.125]))
    cases.append(case("focal_pos_weight_soft", "formula", "focal", (6, 3), soft((6, 3)),
                      gamma=1.5, alpha=0.25, pos_weight=[2.0, 0.5, 3.25]))
    cases.append(case("focal_label_smoothing", "formula", "focal", (6, 3), hard((6, 3)),
                      gamma=2.0, alpha=[0.25, 0.5, 0.75], eps=0.125))
    cases.append(case("focal_ignore_mask", "formula", "focal", (4, 3, 5), hard((4, 3, 5)),
                      gamma=0.5, alpha=0.25, pos_weight=[2.0, 1.0, 0.5],
                      mask=RNG.uniform(size=(4, 3, 5)) < 0.3))
    cases.append(case("focal_all_options", "formula", "focal", (3, 4, 2, 3),
                      soft((3, 4, 2, 3)), gamma=0.25, alpha=[0.25, 0.5, 0.875, 0.125],
                      pos_weight=[2.0, 0.5, 3.25, 1.0], eps=0.125,
                      mask=RNG.uniform(size=(3, 4, 2, 3)) < 0.25))
    cases.append(case("bce_ignore_mask", "formula", "bce", (5, 3), soft((5, 3)),
                      weight=[1.5, 0.25, 2.0], pos_weight=[2.0, 0.5, 3.25],
                      mask=RNG.uniform(size=(5, 3)) < 0.3))
    # p_t -> 1 with 0 < gamma < 1: torchvision's gradient is NaN here.
    big = np.array([[20.0, -20.0, 30.0, -30.0, 40.0, -40.0],
                    [50.0, -50.0, 100.0, -100.0, 700.0, -700.0]])
    big_y = np.array([[1.0, 0.0, 1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0, 1.0, 0.0]])
    cases.append(case("focal_large_logits_gamma05", "formula", "focal", None, big_y,
                      gamma=0.5, alpha=0.25, x=big, record_torchvision=True))
    cases.append(case("focal_large_logits_gamma025_soft", "formula", "focal", None,
                      np.array([[0.5, 0.25, 1.0, 0.0, 0.75, 0.125]]), gamma=0.25,
                      x=np.array([[40.0, -40.0, 100.0, -100.0, 700.0, -700.0]]),
                      record_torchvision=True))
    # Extreme logits, in both precisions (±1e4) and in f64 only (±1e300).
    ext_y = np.array([[1.0, 0.0, 0.5], [1.0, 0.0, 0.25], [0.0, 1.0, 0.75], [0.0, 1.0, 1.0]])
    for gamma in [0.5, 2.0]:
        cases.append(case(f"focal_extreme_1e4_gamma{gamma}", "formula", "focal", None, ext_y,
                          gamma=gamma, alpha=[0.25, 0.5, 0.75], pos_weight=[2.0, 0.5, 1.0],
                          x=np.array([[1e4, -1e4, 1e4], [-1e4, 1e4, -1e4],
                                      [1e4, -1e4, 1e4], [-1e4, 1e4, -1e4]])))
        cases.append(case(f"focal_extreme_1e300_gamma{gamma}", "formula", "focal", None,
                          ext_y, gamma=gamma, alpha=[0.25, 0.5, 0.75],
                          pos_weight=[2.0, 0.5, 1.0], is_f32=False,
                          x=np.array([[1e300, -1e300, 1e300], [-1e300, 1e300, -1e300],
                                      [1e300, -1e300, 1e300], [-1e300, 1e300, -1e300]])))
    cases.append(case("bce_extreme_1e300", "formula", "bce", None, ext_y, is_f32=False,
                      weight=[1.5, 0.25, 2.0], pos_weight=[2.0, 0.5, 1.0],
                      x=np.array([[1e300, -1e300, 1e300], [-1e300, 1e300, -1e300],
                                  [1e300, -1e300, 1e300], [-1e300, 1e300, -1e300]])))
    doc = {
        "generator": "/tmp/ref/bin/python scripts/gen_sigmoid_fixtures.py",
        "torch": torch.__version__,
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
