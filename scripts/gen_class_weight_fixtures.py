#!/usr/bin/env python3
"""Reference values for `focal_loss::class_weight` (tests/golden_class_weight.rs).

Regenerate (from the crate root) with:

    /tmp/ref/bin/python scripts/gen_class_weight_fixtures.py

which writes tests/fixtures/class_weight.json. Deterministic: every random
input comes from numpy's default_rng with the fixed seeds below.

Sources of truth:
- scikit-learn 1.9.1 `sklearn.utils.class_weight.compute_class_weight` and
  `compute_sample_weight` for every parity case, including the cases where
  scikit-learn raises (the message is recorded and mapped to the `LossError`
  variant the crate must return) and where it returns inf (a class whose
  samples all have sample weight 0; the crate must return an error).
- The zero-frequency policies are derived from scikit-learn too:
  `PseudoCount(k)` equals 'balanced' after appending one sample of every class
  with sample weight k; `Fixed(w)` equals 'balanced' over the classes with a
  positive (weighted) count, and w for the others.
- The schemes beyond scikit-learn (inverse frequency, inverse square root,
  effective number, median frequency, ENet) and multi-label pos_weight are
  computed here with plain numpy from their published formulas.
"""

import json
import math
import os
import warnings

import numpy as np
import sklearn
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight

assert sklearn.__version__ == "1.9.1", sklearn.__version__

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "class_weight.json")
WORDS = ["ant", "bee", "bird", "cat", "cow", "dog", "eel", "fish"]


def num(x):
    """A float for JSON: repr round-trips; non-finite values as strings."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def nums(a):
    return [num(x) for x in np.asarray(a, dtype=np.float64).ravel()]


def plain(v):
    """A label as a JSON scalar (int or str)."""
    if isinstance(v, (np.integer, int)):
        return int(v)
    return str(v)


def rust_debug(v):
    """How Rust's `{:?}` prints the label (i64 or String)."""
    v = plain(v)
    return str(v) if isinstance(v, int) else json.dumps(v)


# sklearn message -> the crate's error kind (a LossError variant).
KINDS = [
    ("classes should include all valid labels", "label_not_in_classes"),
    ("classes should have valid labels that are in y", "class_not_in_labels"),
    ("are not in class_weight", "unknown_class_weight_key"),
    ("Sample weights must contain at least one non-zero number", "zero_total_weight"),
    ("sample_weight.shape ==", "sample_weight_length"),
    ("Input sample_weight contains", "invalid_sample_weight"),
    ("The only valid class_weight for subsampling", "subsample_needs_balanced"),
    ("class_weight should be a list of dicts", "needs_per_output_weights"),
    ("number of elements in class_weight should match", "per_output_count"),
    ("out of bounds", "subsample_index_out_of_range"),
]


def kind_of(exc):
    msg = str(exc)
    for needle, kind in KINDS:
        if needle in msg:
            return kind
    raise RuntimeError(f"unmapped sklearn error: {type(exc).__name__}: {msg}")


def run(f):
    """(result, None) or (None, {"kind", "message"})."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # divide-by-zero -> inf
            return f(), None
    except (ValueError, IndexError) as e:
        return None, {"kind": kind_of(e), "message": f"{type(e).__name__}: {e}"}


# ---------------------------------------------------------------- compute_class_weight

def ccw_case(name, mode, classes, y, custom=None, sample_weight=None, deviation=None):
    """One compute_class_weight case. `deviation`: the error kind the crate
    returns where scikit-learn (documented as a deliberate difference)
    returns a value; the value is kept in the message."""
    classes = list(classes)
    y = list(y)
    label_type = "str" if any(isinstance(v, str) for v in classes + y) else "int"
    cw = {"balanced": "balanced", "uniform": None}.get(mode)
    if mode == "custom":
        cw = dict(custom)
    res, err = run(
        lambda: compute_class_weight(
            cw, classes=np.array(classes), y=np.array(y), sample_weight=sample_weight
        )
    )
    case = {
        "name": name,
        "label_type": label_type,
        "mode": mode,
        "custom": [[plain(k), num(v)] for k, v in (custom or [])],
        "classes": [plain(c) for c in classes],
        "y": [plain(v) for v in y],
        "sample_weight": None if sample_weight is None else nums(sample_weight),
        "expected": None,
        "error": err,
    }
    if err is None and deviation is not None:
        case["error"] = {"kind": deviation, "message": f"sklearn returned {nums(res)}"}
    elif err is None:
        if np.all(np.isfinite(res)):
            case["expected"] = nums(res)
        else:
            # scikit-learn returns inf for a class whose samples all weigh 0:
            # the crate returns LossError::ZeroClassWeight for the first one.
            bad = int(np.flatnonzero(~np.isfinite(res))[0])
            case["error"] = {
                "kind": "zero_class_weight",
                "message": f"sklearn returned {nums(res)}",
            }
            case["error"]["class"] = rust_debug(classes[bad])
            case["error"]["index"] = bad
    else:
        add_detail(case["error"], classes, y, custom)
    return case


def add_detail(err, classes, y, custom):
    """The numbers the crate's variant must carry (first offender)."""
    cls = [plain(c) for c in classes]
    if err["kind"] == "label_not_in_classes":
        pos = next(i for i, v in enumerate(y) if plain(v) not in cls)
        err["label"] = rust_debug(y[pos])
        err["position"] = pos
    elif err["kind"] == "class_not_in_labels":
        ys = {plain(v) for v in y}
        idx = next(i for i, c in enumerate(cls) if c not in ys)
        err["class"] = rust_debug(classes[idx])
        err["index"] = idx
    elif err["kind"] == "unknown_class_weight_key" and custom is not None:
        keys = sorted(plain(k) for k, _ in custom)
        err["key"] = rust_debug(next(k for k in keys if k not in cls))
        err["unlisted"] = [rust_debug(c) for c in classes if plain(c) not in dict(custom)]


def class_weight_cases():
    cases = []
    # scikit-learn's docstring example and simple shapes.
    cases.append(ccw_case("docstring", "balanced", [0, 1], [1, 1, 1, 1, 0, 0]))
    cases.append(ccw_case("contiguous_4", "balanced", [0, 1, 2, 3],
                          [3, 0, 0, 1, 3, 3, 2, 0, 3, 3, 3, 1, 0]))
    cases.append(ccw_case("contiguous_7", "balanced", list(range(7)),
                          [6, 5, 5, 4, 4, 4, 3, 3, 3, 3, 2, 1, 0, 6, 6, 6, 6, 6, 6]))
    cases.append(ccw_case("unsorted_classes", "balanced", [2, 0, 1], [0, 1, 1, 2, 2, 2]))
    cases.append(ccw_case("negative_int_labels", "balanced", [-3, 5, 17], [5, -3, 5, 17, 5, 5, -3]))
    cases.append(ccw_case("single_class", "balanced", [4], [4, 4, 4]))
    cases.append(ccw_case("strings", "balanced", ["cat", "dog"], ["dog", "cat", "dog", "dog"]))
    cases.append(ccw_case("strings_unsorted", "balanced", ["dog", "ant", "cat"],
                          ["cat", "ant", "dog", "dog", "cat", "dog"]))
    cases.append(ccw_case("sample_weight", "balanced", [0, 1, 2], [0, 1, 1, 2, 2, 2],
                          sample_weight=[0.5, 2.0, 1.0, 0.25, 3.0, 1.5]))
    cases.append(ccw_case("sample_weight_strings", "balanced", ["a", "b"], ["a", "b", "b"],
                          sample_weight=[2.0, 1.0, 1.0]))
    cases.append(ccw_case("sample_weight_some_zero", "balanced", [0, 1], [0, 0, 1, 1],
                          sample_weight=[0.0, 1.0, 2.0, 0.0]))
    cases.append(ccw_case("uniform", "uniform", [0, 1, 2], [0, 1, 2, 2]))
    cases.append(ccw_case("uniform_class_absent", "uniform", [0, 1, 2], [2, 2, 0]))
    cases.append(ccw_case("uniform_empty", "uniform", [], []))
    cases.append(ccw_case("uniform_classes_no_y", "uniform", [0, 1], []))
    cases.append(ccw_case("custom_partial", "custom", [0, 1, 2], [0, 1, 1], custom=[(0, 2.0)]))
    cases.append(ccw_case("custom_full", "custom", [0, 1], [0, 1, 1], custom=[(0, 2.5), (1, 0.5)]))
    cases.append(ccw_case("custom_extra_key_all_listed", "custom", [0, 1], [0, 1, 1],
                          custom=[(0, 2.0), (1, 3.0), (5, 1.0)]))
    cases.append(ccw_case("custom_strings", "custom", ["ham", "spam"], ["ham", "spam", "ham"],
                          custom=[("spam", 5.0)]))
    cases.append(ccw_case("custom_empty_map", "custom", [0, 1], [0, 1, 1], custom=[]))
    cases.append(ccw_case("custom_zero_weight", "custom", [0, 1], [0, 1], custom=[(1, 0.0)]))
    cases.append(ccw_case("custom_ignores_sample_weight", "custom", [0, 1], [0, 1, 1],
                          custom=[(0, 2.0)], sample_weight=[1.0, 3.0]))
    # every scikit-learn error
    cases.append(ccw_case("err_label_not_in_classes", "balanced", [0, 1], [0, 1, 3, 1]))
    cases.append(ccw_case("err_label_not_in_classes_uniform", "uniform", [0, 1], [0, 2]))
    cases.append(ccw_case("err_label_not_in_classes_custom", "custom", [0, 1], [0, 7],
                          custom=[(0, 2.0)]))
    cases.append(ccw_case("err_label_not_in_classes_empty_classes", "uniform", [], [1]))
    cases.append(ccw_case("err_label_not_in_classes_str", "balanced", ["a", "b"], ["a", "c"]))
    cases.append(ccw_case("err_class_not_in_labels", "balanced", [0, 1, 2], [0, 2, 2]))
    cases.append(ccw_case("err_class_not_in_labels_str", "balanced", ["x", "y", "z"], ["z", "x"]))
    cases.append(ccw_case("err_class_not_in_labels_empty_y", "balanced", [0, 1], []))
    cases.append(ccw_case("err_empty_balanced", "balanced", [], []))
    cases.append(ccw_case("err_sample_weight_all_zero", "balanced", [0, 1], [0, 1, 1],
                          sample_weight=[0.0, 0.0, 0.0]))
    cases.append(ccw_case("err_sample_weight_length", "balanced", [0, 1], [0, 1, 1],
                          sample_weight=[1.0, 3.0]))
    cases.append(ccw_case("err_sample_weight_nan", "balanced", [0, 1], [0, 1, 1],
                          sample_weight=[float("nan"), 1.0, 3.0]))
    cases.append(ccw_case("err_sample_weight_inf", "balanced", [0, 1], [0, 1, 1],
                          sample_weight=[1.0, float("inf"), 3.0]))
    cases.append(ccw_case("err_zero_class_weight", "balanced", [0, 1], [0, 1, 1],
                          sample_weight=[0.0, 1.0, 1.0]))
    cases.append(ccw_case("err_zero_class_weight_str", "balanced", ["a", "b", "c"],
                          ["a", "b", "c", "c"], sample_weight=[1.0, 0.0, 2.0, 1.0]))
    cases.append(ccw_case("err_unknown_key", "custom", [0, 1], [0, 1, 1],
                          custom=[(0, 2.0), (5, 1.0)]))
    cases.append(ccw_case("err_unknown_key_str", "custom", ["a", "b", "c"], ["a", "b"],
                          custom=[("a", 2.0), ("zz", 1.0)]))
    # where the crate deliberately differs: scikit-learn returns a value
    cases.append(ccw_case("dev_negative_sample_weight", "balanced", [0, 1], [0, 1, 1],
                          sample_weight=[-1.0, 1.0, 3.0], deviation="invalid_sample_weight"))
    cases.append(ccw_case("dev_duplicate_classes", "balanced", [0, 0, 1], [0, 1, 1],
                          deviation="duplicate_class"))
    cases.append(ccw_case("dev_custom_negative", "custom", [0, 1], [0, 1, 1],
                          custom=[(0, -2.0)], deviation="invalid_class_weight"))
    cases.append(ccw_case("dev_custom_nan", "custom", [0, 1], [0, 1, 1],
                          custom=[(1, float("nan"))], deviation="invalid_class_weight"))
    # random cases
    rng = np.random.default_rng(20240603)
    for i in range(12):
        k = int(rng.integers(2, 8))
        n = int(rng.integers(k, 80))
        strings = i % 3 == 2
        pool = WORDS if strings else list(range(-10, 40))
        classes = list(rng.choice(pool, size=k, replace=False))
        classes = [str(c) for c in classes] if strings else [int(c) for c in classes]
        y = [classes[j] for j in rng.integers(0, k, size=n)]
        for j, c in enumerate(classes):  # every class present
            y[j] = c
        rng.shuffle(y)
        sw = None
        if i % 2 == 1:
            sw = list(np.round(rng.uniform(0.0, 3.0, size=n), 3))
        cases.append(ccw_case(f"random_{i}", "balanced", classes, y, sample_weight=sw))
        if i % 4 == 0:
            custom = [(classes[j], float(np.round(rng.uniform(0.1, 5.0), 2))) for j in range(k - 1)]
            cases.append(ccw_case(f"random_custom_{i}", "custom", classes, y, custom=custom))
    return cases


# ---------------------------------------------------------------- compute_sample_weight

def spec_to_sklearn(spec):
    kind = spec["kind"]
    if kind == "balanced":
        return "balanced"
    if kind == "uniform":
        return None
    if kind == "custom":
        return {k: v for k, v in spec["map"]}
    return [spec_to_sklearn(s) for s in spec["list"]]


def csw_case(name, spec, y, indices=None):
    y_arr = np.array(y)
    res, err = run(
        lambda: compute_sample_weight(
            spec_to_sklearn(spec), y_arr, indices=None if indices is None else np.array(indices, dtype=np.intp)
        )
    )
    flat = [plain(v) for v in np.asarray(y_arr).ravel()]
    label_type = "str" if any(isinstance(v, str) for v in flat) else "int"
    outputs = 1 if y_arr.ndim == 1 else y_arr.shape[1]
    if err is None and spec["kind"] == "per_output" and outputs == 1:
        raise RuntimeError("expected sklearn to reject a list for single-output y")
    if err is not None and spec["kind"] == "per_output" and outputs == 1:
        # scikit-learn treats the list as a dict here and fails on its keys;
        # the crate's typed equivalent is PerOutputCount.
        err["kind"] = "per_output_count"
    case = {
        "name": name,
        "label_type": label_type,
        "spec": spec,
        "y": [[plain(v) for v in row] for row in y_arr] if y_arr.ndim == 2 else [plain(v) for v in y_arr],
        "multi": y_arr.ndim == 2,
        "indices": indices,
        "expected": None if err is not None else nums(np.broadcast_to(res, (y_arr.shape[0],))),
        "error": err,
    }
    return case


def sample_weight_cases():
    B = {"kind": "balanced"}
    U = {"kind": "uniform"}

    def C(pairs):
        return {"kind": "custom", "map": [[plain(k), v] for k, v in pairs]}

    def L(*specs):
        return {"kind": "per_output", "list": list(specs)}

    cases = [
        csw_case("docstring", B, [1, 1, 1, 1, 0, 0]),
        csw_case("uniform", U, [0, 1, 1]),
        csw_case("custom", C([(0, 2.0), (2, 0.5)]), [0, 1, 1, 2]),
        csw_case("custom_extra_key_all_listed", C([(0, 2.0), (1, 3.0), (9, 1.0)]), [0, 1, 1]),
        csw_case("strings", B, ["x", "y", "y"]),
        csw_case("strings_custom", C([("y", 4.0)]), ["x", "y", "y", "z"]),
        csw_case("subsample", B, [0, 1, 1, 2, 2, 2], indices=[1, 1, 3, 4]),
        csw_case("subsample_all", B, [0, 1, 1, 2, 2, 2], indices=[0, 1, 2, 3, 4, 5]),
        csw_case("subsample_bootstrap", B, [2, 0, 1, 1, 2, 0, 0], indices=[0, 0, 0, 3, 6, 6]),
        csw_case("subsample_strings", B, ["b", "a", "c", "a", "b"], indices=[1, 3, 2]),
        csw_case("multi_balanced", B, [[0, 1], [1, 1], [1, 0], [2, 0]]),
        csw_case("multi_per_output", L(C([(0, 2.0)]), C([(1, 3.0)])), [[0, 1], [1, 1], [1, 0]]),
        csw_case("multi_per_output_mixed", L(B, U), [[0, 1], [1, 1], [1, 0]]),
        csw_case("multi_three_outputs", L(B, C([(5, 2.0)]), B),
                 [[0, 5, 1], [1, 5, 1], [1, 6, 0], [0, 6, 1], [0, 5, 0]]),
        csw_case("multi_strings", B, [["a", "x"], ["b", "x"], ["b", "y"]]),
        csw_case("multi_subsample", B, [[0, 1], [1, 1], [1, 0], [2, 0]], indices=[0, 1, 1]),
        csw_case("single_column_2d", B, [[0], [1], [1]]),
        csw_case("single_column_2d_custom", C([(1, 2.0)]), [[0], [1], [1]]),
        csw_case("uniform_empty", U, np.array([], dtype=np.int64)),
        # every scikit-learn error
        csw_case("err_subsample_custom", C([(0, 1.0)]), [0, 1, 1], indices=[1]),
        csw_case("err_subsample_uniform", U, [0, 1, 1], indices=[1]),
        csw_case("err_subsample_per_output", L(B, B), [[0, 1], [1, 1]], indices=[1]),
        csw_case("err_multi_uniform", U, [[0, 1], [1, 1]]),
        csw_case("err_multi_custom", C([(0, 1.0)]), [[0, 1], [1, 1]]),
        csw_case("err_per_output_short", L(C([(0, 1.0)])), [[0, 1], [1, 1]]),
        csw_case("err_per_output_long", L(B, B, B), [[0, 1], [1, 1]]),
        csw_case("err_per_output_single_output", L(C([(0, 1.0)])), [0, 1, 1]),
        csw_case("err_per_output_single_column", L(C([(0, 1.0)])), [[0], [1], [1]]),
        csw_case("err_index_out_of_range", B, [0, 1, 1], indices=[0, 5]),
        csw_case("err_empty_subsample", B, [0, 1, 1], indices=[]),
        csw_case("err_empty_y", B, np.array([], dtype=np.int64)),
        csw_case("err_unknown_key", C([(0, 2.0), (7, 1.0)]), [0, 1, 1]),
        csw_case("err_per_output_unknown_key", L(B, C([(0, 1.0), (9, 2.0)])), [[0, 1], [1, 1], [1, 0]]),
    ]
    rng = np.random.default_rng(77)
    for i in range(6):
        n = int(rng.integers(4, 40))
        outputs = 1 + i % 3
        y = rng.integers(0, 4, size=(n, outputs))
        y = y[:, 0] if outputs == 1 else y
        indices = None
        if i >= 3:
            indices = [int(j) for j in rng.integers(0, n, size=int(rng.integers(1, n + 1)))]
        cases.append(csw_case(f"random_{i}", B, y.tolist(), indices=indices))
    return cases


# ---------------------------------------------------------------- zero-frequency policies (via sklearn)

def balanced_pseudo(classes, y, k, sw):
    """'balanced' after appending one sample of every class with weight k."""
    sw = np.ones(len(y)) if sw is None else np.asarray(sw, float)
    y_aug = np.concatenate([np.asarray(y, dtype=np.int64), np.asarray(classes, dtype=np.int64)])
    sw_aug = np.concatenate([sw, np.full(len(classes), float(k))])
    return compute_class_weight("balanced", classes=np.asarray(classes), y=y_aug, sample_weight=sw_aug)


def balanced_fixed(classes, y, w, sw):
    """'balanced' over the classes with positive weighted count; w elsewhere."""
    sw = np.ones(len(y)) if sw is None else np.asarray(sw, float)
    y = np.asarray(y, dtype=np.int64)
    totals = np.array([sw[y == c].sum() for c in classes])
    present = [c for c, t in zip(classes, totals) if t > 0]
    keep = np.isin(y, present)
    out = np.full(len(classes), float(w))
    if present:
        res = compute_class_weight("balanced", classes=np.asarray(present), y=y[keep], sample_weight=sw[keep])
        out[[classes.index(c) for c in present]] = res
    return out


def zero_frequency_cases():
    cases = []
    rng = np.random.default_rng(4242)
    layouts = [
        ("absent_class", 4, [0, 0, 0, 1, 3, 3], None),
        ("two_absent", 5, [1, 1, 2], None),
        ("zero_weight_class", 3, [0, 1, 1, 2], [1.0, 0.0, 0.0, 2.0]),
        ("all_present", 3, [0, 1, 1, 2, 2, 2], None),
        ("no_labels", 3, [], None),
    ]
    for i in range(4):
        k = int(rng.integers(3, 9))
        n = int(rng.integers(1, 30))
        y = [int(v) for v in rng.integers(0, k - 1, size=n)]  # class k-1 absent
        sw = None if i % 2 == 0 else [float(v) for v in np.round(rng.uniform(0.0, 2.0, size=n), 2)]
        layouts.append((f"random_{i}", k, y, sw))
    for name, k, y, sw in layouts:
        classes = list(range(k))
        for pc in [1.0, 0.5]:
            cases.append({"name": f"{name}_pseudo_{pc}", "n_classes": k, "y": y,
                          "sample_weight": sw, "policy": ["pseudo_count", pc],
                          "expected": nums(balanced_pseudo(classes, y, pc, sw))})
        for fw in [0.0, 1.0, 2.5]:
            cases.append({"name": f"{name}_fixed_{fw}", "n_classes": k, "y": y,
                          "sample_weight": sw, "policy": ["fixed", fw],
                          "expected": nums(balanced_fixed(classes, y, fw, sw))})
    return cases


# ---------------------------------------------------------------- schemes beyond sklearn (numpy)

def scheme_ref(scheme, param, counts, policy, norm):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # np.median of an empty list (no class present)
        return _scheme_ref(scheme, param, counts, policy, norm)


def _scheme_ref(scheme, param, counts, policy, norm):
    c = np.asarray(counts, dtype=np.float64)
    if policy[0] == "pseudo_count":
        c = c + policy[1]
    present = c > 0
    cp = c[present]
    n = c.sum()
    kp = present.sum()
    if scheme == "balanced":
        w = n / (kp * cp)
    elif scheme == "inverse_frequency":
        w = 1.0 / (cp / n)
    elif scheme == "inverse_sqrt_frequency":
        w = 1.0 / np.sqrt(cp / n)
    elif scheme == "effective_number":
        w = (1.0 - param) / (1.0 - np.power(param, cp))
    elif scheme == "median_frequency":
        p = cp / n
        w = np.median(p) / p
    elif scheme == "enet":
        w = 1.0 / np.log(param + cp / n)
    else:
        raise ValueError(scheme)
    if len(w):
        if norm == "sum_to_k":
            w = w / w.sum() * kp
        elif norm == "mean_one":
            w = w * n / (cp * w).sum()
    out = np.full(len(c), policy[1] if policy[0] == "fixed" else np.nan)
    out[present] = w
    return out


def scheme_cases():
    schemes = [("balanced", None), ("inverse_frequency", None), ("inverse_sqrt_frequency", None),
               ("effective_number", 0.0), ("effective_number", 0.9), ("effective_number", 0.999),
               ("effective_number", 0.9999), ("median_frequency", None), ("enet", 1.02), ("enet", 1.5)]
    count_sets = [
        [1000.0, 10.0],
        [60.0, 30.0, 10.0],
        [5.0, 17.0, 2.0, 40.0],
        [3.0, 0.0, 12.0, 1.0, 0.0],
        [0.25, 1.5, 7.75],  # weighted counts
        [0.0, 0.0, 0.0],
        [12345.0, 678.0, 9.0, 1.0, 250.0, 31.0],
    ]
    cases = []
    for counts in count_sets:
        has_zero = any(x == 0 for x in counts)
        policies = [["fixed", 0.5], ["pseudo_count", 1.0]] + ([] if has_zero else [["error", None]])
        for scheme, param in schemes:
            for policy in policies:
                for norm in ["none", "sum_to_k", "mean_one"]:
                    cases.append({"scheme": scheme, "param": param, "counts": counts,
                                  "policy": policy, "normalization": norm,
                                  "expected": nums(scheme_ref(scheme, param, counts, policy, norm))})
    return cases


def effective_number_label_cases():
    """`effective_number(labels, K, beta)`: Cui et al. weights normalised to sum to K."""
    rng = np.random.default_rng(99)
    cases = []
    for beta in [0.0, 0.5, 0.9, 0.99, 0.999, 0.9999]:
        k = int(rng.integers(2, 7))
        probs = rng.dirichlet(np.ones(k) * 0.5)
        y = rng.choice(k, size=300, p=probs)
        y[:k] = np.arange(k)
        counts = np.bincount(y, minlength=k).astype(np.float64)
        w = (1.0 - beta) / (1.0 - np.power(beta, counts))
        w = w / w.sum() * k
        cases.append({"beta": beta, "n_classes": k, "labels": [int(v) for v in y], "expected": nums(w)})
    return cases


# ---------------------------------------------------------------- multi-label pos_weight (numpy)

def pos_weight_cases():
    rng = np.random.default_rng(5)
    cases = []
    mats = [
        rng.integers(0, 2, size=(20, 4)),
        (rng.uniform(size=(50, 6)) < np.array([0.02, 0.1, 0.3, 0.5, 0.8, 0.95])).astype(int),
        np.array([[1, 0, 1], [1, 0, 0], [1, 0, 1]]),  # column 0 all positive, column 1 all negative
        np.zeros((0, 2), dtype=int),
    ]
    for i, y in enumerate(mats):
        n = y.shape[0]
        n_pos = y.sum(axis=0).astype(np.float64)
        n_neg = n - n_pos
        degenerate = (n_pos == 0) | (n_neg == 0)
        base = {"name": f"matrix_{i}", "y": {"shape": list(y.shape), "data": nums(y)}}
        if not degenerate.any():
            cases.append(dict(base, policy=["error", None], expected=nums(n_neg / n_pos), error=None))
        else:
            col = int(np.flatnonzero(degenerate)[0])
            cases.append(dict(base, policy=["error", None], expected=None,
                              error={"kind": "degenerate_column", "column": col,
                                     "positives": int(n_pos[col]), "samples": n}))
        for w in [0.0, 1.0, 3.0]:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(degenerate, w, n_neg / np.where(n_pos == 0, 1, n_pos))
            cases.append(dict(base, policy=["fixed", w], expected=nums(ratio), error=None))
        for k in [1.0, 0.5]:
            cases.append(dict(base, policy=["pseudo_count", k], expected=nums((n_neg + k) / (n_pos + k)),
                              error=None))
    return cases


def main():
    fixture = {
        "generator": "scripts/gen_class_weight_fixtures.py",
        "command": "/tmp/ref/bin/python scripts/gen_class_weight_fixtures.py",
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "compute_class_weight": class_weight_cases(),
        "compute_sample_weight": sample_weight_cases(),
        "zero_frequency": zero_frequency_cases(),
        "schemes": scheme_cases(),
        "effective_number": effective_number_label_cases(),
        "pos_weight": pos_weight_cases(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"wrote {os.path.normpath(OUT)}: "
          + ", ".join(f"{k}={len(v)}" for k, v in fixture.items() if isinstance(v, list)))


if __name__ == "__main__":
    main()
