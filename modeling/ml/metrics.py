"""Evaluation statistics for the classifier: exact binomial CIs and per-category metrics.

scikit-learn's metrics and the labeling statistics (the exact interval), so the web process
can import this without torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, precision_recall_fscore_support
from sklearn.metrics import confusion_matrix as _confusion_matrix

# One exact interval for the whole product (statsmodels' beta method, n == 0 -> (0, 1)).
from annotation.labeling.statistics import clopper_pearson


def confusion_matrix(
    y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[int]
) -> np.ndarray:
    """Rows are true categories, columns predicted ones, both in ``labels`` order.

    scikit-learn's, except that a code outside ``labels`` raises ``ValueError`` instead of
    being left out, and no cases give a matrix of zeros.
    """
    known = set(labels)
    unknown = sorted({c for c in list(y_true) + list(y_pred) if c not in known})
    if unknown:
        raise ValueError(f"codes {unknown} are not among the labels {list(labels)}")
    if not len(y_true):
        return np.zeros((len(labels), len(labels)), dtype=np.int64)
    return _confusion_matrix(y_true, y_pred, labels=list(labels)).astype(np.int64)


def classification_metrics(
    y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[int], alpha: float = 0.05
) -> dict:
    """Accuracy with an exact CI, macro F1, per-category precision/recall/F1 and confusion.

    Everything in the result is a plain int/float/list/dict (JSON-serialisable). With no
    cases, accuracy and macro F1 are None and the CI is (0, 1). An undefined precision or
    recall (no predictions of, or no cases in, a category) counts as 0 (scikit-learn's
    ``zero_division=0``).
    """
    labels = [int(c) for c in labels]
    y_true = [int(c) for c in y_true]
    y_pred = [int(c) for c in y_pred]
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    matrix = confusion_matrix(y_true, y_pred, labels)
    n = len(y_true)
    correct = int(np.trace(matrix))
    lo, hi = clopper_pearson(correct, n, alpha)
    if n:
        precision, recall, f1, support = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, zero_division=0)
    else:
        precision = recall = f1 = np.zeros(len(labels))
        support = np.zeros(len(labels), dtype=np.int64)
    per_category = {
        str(code): {"precision": float(precision[i]), "recall": float(recall[i]),
                    "f1": float(f1[i]), "support": int(support[i])}
        for i, code in enumerate(labels)
    }
    return {
        "n": n,
        "correct": correct,
        "accuracy": float(accuracy_score(y_true, y_pred)) if n else None,
        "accuracy_ci": [lo, hi],
        "macro_f1": float(math.fsum(f1) / len(f1)) if n and len(f1) else None,
        "per_category": per_category,
        "confusion": matrix.tolist(),
        "labels": labels,
    }
