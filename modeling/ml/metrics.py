"""Evaluation statistics for the classifier: exact binomial CIs and per-category metrics.

numpy and the labeling statistics only, so the web process can import this without torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# One exact interval for the whole product (statsmodels' beta method, n == 0 -> (0, 1)).
from annotation.labeling.statistics import clopper_pearson


def _safe_ratio(num: float, den: float) -> float:
    # sklearn's zero_division=0 convention: an undefined precision/recall counts as 0.
    return float(num / den) if den else 0.0


def confusion_matrix(
    y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[int]
) -> np.ndarray:
    """Rows are true categories, columns predicted ones, both in ``labels`` order."""
    index = {code: i for i, code in enumerate(labels)}
    unknown = sorted({c for c in list(y_true) + list(y_pred) if c not in index})
    if unknown:
        raise ValueError(f"codes {unknown} are not among the labels {list(labels)}")
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(y_true, y_pred, strict=True):
        matrix[index[t], index[p]] += 1
    return matrix


def classification_metrics(
    y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[int], alpha: float = 0.05
) -> dict:
    """Accuracy with an exact CI, macro F1, per-category precision/recall/F1 and confusion.

    Everything in the result is a plain int/float/list/dict (JSON-serialisable). With no
    cases, accuracy and macro F1 are None and the CI is (0, 1).
    """
    labels = [int(c) for c in labels]
    y_true = [int(c) for c in y_true]
    y_pred = [int(c) for c in y_pred]
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    matrix = confusion_matrix(y_true, y_pred, labels)
    n = int(matrix.sum())
    correct = int(np.trace(matrix))
    lo, hi = clopper_pearson(correct, n, alpha)

    per_category: dict[str, dict] = {}
    f1s = []
    for i, code in enumerate(labels):
        tp = int(matrix[i, i])
        predicted = int(matrix[:, i].sum())
        support = int(matrix[i, :].sum())
        precision = _safe_ratio(tp, predicted)
        recall = _safe_ratio(tp, support)
        f1 = _safe_ratio(2 * precision * recall, precision + recall)
        f1s.append(f1)
        per_category[str(code)] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support,
        }
    return {
        "n": n,
        "correct": correct,
        "accuracy": correct / n if n else None,
        "accuracy_ci": [lo, hi],
        "macro_f1": float(math.fsum(f1s) / len(f1s)) if n and f1s else None,
        "per_category": per_category,
        "confusion": matrix.tolist(),
        "labels": labels,
    }
