# Reference values for focal_loss::metrics, computed with scikit-learn.
#
# Regenerate (from the repository root) with:
#
#     /tmp/ref/bin/python scripts/gen_metrics_fixtures.py
#
# (scikit-learn 1.9.1, numpy 2.4). Writes tests/fixtures/metrics.json, read by
# tests/golden_metrics.rs. Deterministic: fixed numpy seed, fixed case list.
#
# Every score uses labels=range(C) and the default zero_division="warn"
# (a 0/0 ratio scores 0; the warnings are silenced here).
# balanced_accuracy_score has no `labels` argument: it is called as is.
import json
import pathlib
import warnings

import numpy as np
import sklearn
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
)

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "metrics.json"


def arr(a):
    a = np.asarray(a)
    return {"shape": list(a.shape), "data": [x.item() for x in a.reshape(-1)]}


def case(name, y_true, y_pred, n_classes):
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    labels = list(range(n_classes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, r, f, s = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, zero_division="warn"
        )
        out = {
            "name": name,
            "n_classes": n_classes,
            "y_true": arr(y_true),
            "y_pred": arr(y_pred),
            "confusion": arr(confusion_matrix(y_true, y_pred, labels=labels)),
            "precision": [float(x) for x in p],
            "recall": [float(x) for x in r],
            "f1": [float(x) for x in f],
            "support": [int(x) for x in s],
            "accuracy": float(accuracy_score(y_true, y_pred)),
            "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
            "macro_precision": float(
                precision_score(y_true, y_pred, labels=labels, average="macro")
            ),
            "macro_recall": float(
                recall_score(y_true, y_pred, labels=labels, average="macro")
            ),
            "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro")),
            "weighted_f1": float(
                f1_score(y_true, y_pred, labels=labels, average="weighted")
            ),
        }
    return out


def main():
    rng = np.random.default_rng(20240607)
    cases = []

    # Imbalanced 6-class problem shaped like the wine data (3..8 -> 0..5):
    # a noisy classifier that mostly predicts the majority classes.
    freq = np.array([10, 53, 681, 638, 199, 18], dtype=float)
    y_true = rng.choice(6, size=300, p=freq / freq.sum())
    noise = rng.integers(-1, 2, size=300)
    y_pred = np.clip(y_true + noise * (rng.random(300) < 0.4), 0, 5)
    cases.append(case("wine_like_6_classes", y_true, y_pred, 6))

    # Uniform random labels and predictions.
    cases.append(
        case("random_5_classes", rng.integers(0, 5, 97), rng.integers(0, 5, 97), 5)
    )

    # Class 2 is in y_true but never predicted: precision 0/0 -> 0.
    y_true = [0, 1, 2, 2, 1, 0, 2, 1, 0, 0]
    y_pred = [0, 1, 1, 0, 1, 0, 1, 1, 1, 0]
    cases.append(case("class_never_predicted", y_true, y_pred, 3))

    # Class 3 is predicted but absent from y_true: recall 0/0 -> 0, and
    # balanced accuracy leaves it out.
    y_true = [0, 1, 2, 0, 1, 2, 0, 1]
    y_pred = [0, 3, 2, 3, 1, 2, 0, 0]
    cases.append(case("class_absent_from_y_true", y_true, y_pred, 4))

    # Classes 3 and 4 occur nowhere (labels given explicitly): F1 0/0 -> 0,
    # and they still count in the macro average.
    y_true = [0, 1, 2, 2, 1, 0, 1]
    y_pred = [0, 1, 2, 1, 1, 2, 0]
    cases.append(case("labels_beyond_data", y_true, y_pred, 5))

    # Everything predicted as the majority class.
    y_true = [1, 1, 1, 1, 1, 1, 0, 2, 2, 1]
    cases.append(case("all_majority", y_true, [1] * len(y_true), 3))

    # Perfect prediction.
    y = rng.integers(0, 4, 25)
    cases.append(case("perfect", y, y, 4))

    # Binary, and a single sample.
    cases.append(
        case("binary", [0, 0, 0, 0, 0, 0, 1, 1, 1, 0], [0, 0, 1, 0, 0, 0, 1, 0, 1, 1], 2)
    )
    cases.append(case("single_sample", [2], [0], 3))

    doc = {
        "generator": "scripts/gen_metrics_fixtures.py",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
