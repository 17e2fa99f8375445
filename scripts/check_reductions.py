#!/usr/bin/env python3
"""What does each reference library's 'mean' reduction divide by?

Run (from the crate root) with:

    /tmp/ref/bin/python scripts/check_reductions.py

Checked with torch 2.15.0, torchvision 0.29.2 (PyPI wheels, run on CPU),
kornia 0.9.0, keras 3.15.1 (KERAS_BACKEND=torch, set below), numpy 2.4.6; the
versions in use are printed at run time. mmdet is not run (it needs mmcv).

For every case the inputs have class weights / alpha that are not all equal
and, where the API can ignore targets, some ignored targets. The library's
'mean' (and 'sum') is computed, then the hand-made candidates of the crate's
`Reduction` are computed from the library's own 'none' (per-element) losses:

    Sum          = sum of l_n                       (denominator 1)
    Mean         = Sum / number of non-ignored targets (elements, for the
                   elementwise sigmoid losses)
    WeightedMean = Sum / sum over non-ignored targets of the weight that
                   scaled each (class weight w[y_n], or alpha_t)

plus, where relevant, other denominators the library might use. The table
says which candidate the library's 'mean' equals to 1e-6 relative, and the
actual denominator Sum / mean in every case. Everything is float64 and
deterministic (fixed seed). Prints a Markdown table.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision.ops import sigmoid_focal_loss
import kornia
from kornia.losses import binary_focal_loss_with_logits, focal_loss
import keras

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
keras.config.set_floatx("float64")
RTOL = 1e-6
IGN = -100


def f(x):
    """A scalar tensor (torch or keras) as a Python float."""
    return float(keras.ops.convert_to_numpy(x)) if not isinstance(x, torch.Tensor) else float(x)


def knp(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


ROWS = []


def check(num, library, call, mean, lib_sum, hand_sum, candidates, note=""):
    """candidates: list of (description, crate Reduction label, denominator)."""
    assert abs(lib_sum - hand_sum) <= RTOL * abs(hand_sum), (call, lib_sum, hand_sum)
    actual = hand_sum / mean
    hits = [(d, lab, den) for d, lab, den in candidates if abs(hand_sum / den - mean) <= RTOL * abs(mean)]
    if hits:
        divides = "; ".join(f"{d} = {den:g}" for d, _, den in hits)
        crate = " / ".join(lab for _, lab, _ in hits)
    else:
        divides = f"none of the candidates; actual {actual:.6g}"
        crate = "none"
    others = ", ".join(f"{lab}={den:g}" for d, lab, den in candidates if (d, lab, den) not in hits)
    ROWS.append((num, library, call, f"{mean:.6g}", divides, crate, f"{actual:.6g}", others, note))


# Shared softmax case: N=6 targets, C=3 classes, one ignored target.
N, C = 6, 3
logits = torch.randn(N, C)
y = torch.tensor([0, 1, 2, 1, IGN, 2])
w = torch.tensor([0.2, 1.0, 3.0])
valid = y != IGN
y_valid = y[valid]
n_valid = int(valid.sum())
w_valid_sum = float(w[y_valid].sum())

# 1. cross_entropy, class-index targets, weight + ignore_index.
none = F.cross_entropy(logits, y, weight=w, ignore_index=IGN, reduction="none")
check(
    1, "torch", "F.cross_entropy(weight=w, ignore_index) class idx",
    f(F.cross_entropy(logits, y, weight=w, ignore_index=IGN, reduction="mean")),
    f(F.cross_entropy(logits, y, weight=w, ignore_index=IGN, reduction="sum")),
    f(none.sum()),
    [("1", "Sum", 1.0),
     ("non-ignored targets", "Mean", n_valid),
     ("sum w[y_n], non-ignored", "WeightedMean", w_valid_sum),
     ("all N targets", "other", N)],
)

# 2. cross_entropy, probability targets, weight (no ignore_index possible).
probs = torch.softmax(torch.randn(N, C), dim=1)
none = F.cross_entropy(logits, probs, weight=w, reduction="none")
check(
    2, "torch", "F.cross_entropy(weight=w) prob targets",
    f(F.cross_entropy(logits, probs, weight=w, reduction="mean")),
    f(F.cross_entropy(logits, probs, weight=w, reduction="sum")),
    f(none.sum()),
    [("1", "Sum", 1.0),
     ("N targets", "Mean", N),
     ("sum_n sum_c w_c t_nc", "WeightedMean", float((probs * w).sum()))],
    note="ignore_index is rejected with probability targets",
)

# 3. nll_loss, weight + ignore_index.
logp = F.log_softmax(logits, dim=1)
none = F.nll_loss(logp, y, weight=w, ignore_index=IGN, reduction="none")
check(
    3, "torch", "F.nll_loss(weight=w, ignore_index)",
    f(F.nll_loss(logp, y, weight=w, ignore_index=IGN, reduction="mean")),
    f(F.nll_loss(logp, y, weight=w, ignore_index=IGN, reduction="sum")),
    f(none.sum()),
    [("1", "Sum", 1.0),
     ("non-ignored targets", "Mean", n_valid),
     ("sum w[y_n], non-ignored", "WeightedMean", w_valid_sum),
     ("all N targets", "other", N)],
)

# Shared sigmoid case: N=5 samples, C=4 channels of 0/1 targets.
NB, CB = 5, 4
xb = torch.randn(NB, CB)
tb = (torch.rand(NB, CB) > 0.5).to(torch.float64)
wb = torch.tensor([0.5, 1.0, 2.0, 4.0])   # per-channel weight=
pw = torch.tensor([3.0, 1.0, 0.5, 2.0])   # pos_weight=

# 4. binary_cross_entropy_with_logits, weight + pos_weight (no ignoring).
none = F.binary_cross_entropy_with_logits(xb, tb, weight=wb, pos_weight=pw, reduction="none")
check(
    4, "torch", "F.binary_cross_entropy_with_logits(weight, pos_weight)",
    f(F.binary_cross_entropy_with_logits(xb, tb, weight=wb, pos_weight=pw, reduction="mean")),
    f(F.binary_cross_entropy_with_logits(xb, tb, weight=wb, pos_weight=pw, reduction="sum")),
    f(none.sum()),
    [("1", "Sum", 1.0),
     ("N*C elements", "Mean", NB * CB),
     ("sum of weight over elements", "WeightedMean", float(wb.expand(NB, CB).sum())),
     ("sum weight*(pos_weight if t=1 else 1)", "WeightedMean'", float((wb * (tb * pw + 1 - tb)).sum()))],
    note="no ignore_index",
)

# 5. torchvision sigmoid_focal_loss, alpha = 0.25 (alpha_t = 0.25 / 0.75).
alpha = 0.25
alpha_t = alpha * tb + (1 - alpha) * (1 - tb)
none = sigmoid_focal_loss(xb, tb, alpha=alpha, gamma=2.0, reduction="none")
check(
    5, "torchvision", "ops.sigmoid_focal_loss(alpha=0.25)",
    f(sigmoid_focal_loss(xb, tb, alpha=alpha, gamma=2.0, reduction="mean")),
    f(sigmoid_focal_loss(xb, tb, alpha=alpha, gamma=2.0, reduction="sum")),
    f(none.sum()),
    [("1", "Sum", 1.0),
     ("N*C elements", "Mean", NB * CB),
     ("sum alpha_t over elements", "WeightedMean", float(alpha_t.sum()))],
    note="no ignore_index",
)

# 6. kornia focal_loss (softmax). alpha=0.25 gives class 0 weight 0.75 and the
#    other classes 0.25; ignore_index defaults to -100.
kalpha = torch.tensor([1 - alpha] + [alpha] * (C - 1))
pred_sp = torch.randn(2, C, 3, 4)             # (N, C, H, W)
tgt_sp = torch.randint(0, C, (2, 3, 4))
tgt_sp[0, 0, :3] = IGN                         # three ignored pixels
for label, pred, tgt, kw in [
    ("(N,C)", logits, y, {}),
    ("(N,C,H,W)", pred_sp, tgt_sp, {}),
    ("(N,C,H,W) +weight=w", pred_sp, tgt_sp, {"weight": w}),
]:
    v = tgt != IGN
    positions = tgt.numel()  # N * H * W (ignored ones included)
    scale = kalpha * (kw["weight"] if "weight" in kw else 1.0)
    none = focal_loss(pred, tgt, alpha=alpha, gamma=2.0, reduction="none", ignore_index=IGN, **kw)
    check(
        6, "kornia", f"losses.focal_loss(alpha=0.25, ignore_index) {label}",
        f(focal_loss(pred, tgt, alpha=alpha, gamma=2.0, reduction="mean", ignore_index=IGN, **kw)),
        f(focal_loss(pred, tgt, alpha=alpha, gamma=2.0, reduction="sum", ignore_index=IGN, **kw)),
        f(none.sum()),
        [("1", "Sum", 1.0),
         ("non-ignored positions", "Mean", int(v.sum())),
         ("sum alpha_t[y](*w[y]), non-ignored", "WeightedMean", float(scale[tgt[v]].sum())),
         ("all positions incl. ignored", "other", positions),
         ("C * all positions incl. ignored (numel of 'none' map)", "none (C*N*H*W)", C * positions)],
        note=f"{int((~v).sum())} ignored: 0 loss but counted in denominator",
    )

# 7. kornia binary_focal_loss_with_logits, alpha=0.25, ignore_index=-100.
tbi = tb.clone()
tbi[0, 0] = tbi[1, 2] = tbi[3, 1] = IGN
vb = tbi != IGN
tb0 = torch.where(vb, tbi, 0.0)
alpha_tb = alpha * tb0 + (1 - alpha) * (1 - tb0)
kwb = dict(alpha=alpha, gamma=2.0, ignore_index=IGN)
none = binary_focal_loss_with_logits(xb, tbi, reduction="none", **kwb)
check(
    7, "kornia", "losses.binary_focal_loss_with_logits(alpha=0.25, ignore_index)",
    f(binary_focal_loss_with_logits(xb, tbi, reduction="mean", **kwb)),
    f(binary_focal_loss_with_logits(xb, tbi, reduction="sum", **kwb)),
    f(none.sum()),
    [("1", "Sum", 1.0),
     ("non-ignored elements", "Mean", int(vb.sum())),
     ("sum alpha_t, non-ignored", "WeightedMean", float(alpha_tb[vb].sum())),
     ("all N*C elements incl. ignored", "none (N*C incl. ignored)", NB * CB)],
    note=f"{int((~vb).sum())} ignored elements: 0 loss but counted in denominator",
)

# 8. Keras categorical losses with per-sample sample_weight (Keras has no class
#    weight on the loss; alpha of the focal loss is one scalar for all classes).
yk = np.eye(C)[[0, 1, 2, 1, 0, 2]]
pk = torch.softmax(logits, dim=1).numpy()
sw = np.array([0.5, 1.0, 2.0, 3.0, 0.25, 1.5])
for name, cls, kw in [
    ("CategoricalFocalCrossentropy(alpha=0.25)", keras.losses.CategoricalFocalCrossentropy, {"alpha": alpha}),
    ("CategoricalCrossentropy", keras.losses.CategoricalCrossentropy, {}),
]:
    per = knp(cls(reduction="none", **kw)(yk, pk))  # per-sample, not weighted by sw
    for red in ["sum_over_batch_size", "mean_with_sample_weight"]:
        check(
            8, "keras", f"{name} reduction='{red}', sample_weight",
            f(cls(reduction=red, **kw)(yk, pk, sample_weight=sw)),
            f(cls(reduction="sum", **kw)(yk, pk, sample_weight=sw)),
            float((per * sw).sum()),
            [("1", "Sum", 1.0),
             ("N samples", "Mean", N),
             ("sum sample_weight", "WeightedMean (sw)", float(sw.sum()))]
            + ([("sum sample_weight*alpha", "WeightedMean (sw*alpha)", float((sw * alpha).sum()))]
               if "alpha" in kw else []),
            note="default reduction" if red == "sum_over_batch_size" else "non-default reduction",
        )

# 8b. Keras SparseCategoricalCrossentropy(ignore_class) - Keras's only ignore.
ys = np.array([0, 1, 2, 1, IGN, 2])
scce = keras.losses.SparseCategoricalCrossentropy
per = knp(scce(ignore_class=IGN, reduction="none")(ys, pk))
check(
    8, "keras", "SparseCategoricalCrossentropy(ignore_class) default reduction, sample_weight",
    f(scce(ignore_class=IGN)(ys, pk, sample_weight=sw)),
    f(scce(ignore_class=IGN, reduction="sum")(ys, pk, sample_weight=sw)),
    float((per * sw).sum()),
    [("1", "Sum", 1.0),
     ("non-ignored samples", "Mean", int((ys != IGN).sum())),
     ("sum sample_weight, non-ignored", "WeightedMean (sw)", float(sw[ys != IGN].sum())),
     ("all N samples", "other", N)],
)

# 9. Keras BinaryFocalCrossentropy, default reduction. Its 'none' is already a
#    per-sample mean over the last axis; the elementwise losses are obtained by
#    giving each element its own trailing axis of size 1.
pb = torch.sigmoid(xb).numpy()
tbn = tb.numpy()
alpha_tbn = alpha_t.numpy()
for name, kw in [
    ("BinaryFocalCrossentropy()", {}),
    ("BinaryFocalCrossentropy(apply_class_balancing, alpha=0.25)", {"apply_class_balancing": True, "alpha": alpha}),
]:
    bfc = keras.losses.BinaryFocalCrossentropy
    elem = knp(bfc(reduction="none", **kw)(tbn[..., None], pb[..., None]))
    assert elem.shape == (NB, CB)
    check(
        9, "keras", f"{name} default reduction",
        f(bfc(**kw)(tbn, pb)),
        float(elem.sum()),  # (its 'sum' is a sum of per-sample means, hence the elementwise sum)
        float(elem.sum()),
        [("1", "Sum", 1.0), ("N*C elements", "Mean", NB * CB)]
        + ([("sum alpha_t over elements", "WeightedMean", float(alpha_tbn.sum()))] if kw else [])
        + [("N samples", "other", NB)],
        note="no ignore; 'sum' = sum of per-sample means = elementwise Sum / C",
    )

print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, kornia {kornia.__version__}, "
      f"keras {keras.__version__} (backend {keras.backend.backend()}), numpy {np.__version__}\n")
print("| # | library | call | 'mean' value | 'mean' divides by | crate Reduction | Sum/'mean' | other candidates (denominator) | note |")
print("|---|---|---|---|---|---|---|---|---|")
for row in ROWS:
    print("| " + " | ".join(str(c) for c in row) + " |")
