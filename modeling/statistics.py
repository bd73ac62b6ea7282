"""Reader-study statistics: agreement, paired accuracy tests, exact CIs and timing summaries.

Pure numpy/scipy (no Django, no torch) so it can be imported anywhere. Every function returns
plain Python ``int``/``float``/``list``/``dict``/``None`` values, so results are
JSON-serialisable as they are.

Conventions shared by the functions below:

* Labels may be any hashable values (ints, strings). Where a ``labels`` argument is given,
  it fixes the category order and any observed label outside it raises ``ValueError``.
* Paired sequences must have equal lengths, otherwise ``ValueError``.
* A statistic that is undefined for the data (no cases, zero denominator) is ``None``
  rather than NaN; the exceptions are documented per function.
* Confidence intervals are exact Clopper-Pearson intervals from
  :func:`modeling.ml.metrics.clopper_pearson` (``[0.0, 1.0]`` when there are no cases).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np
from scipy.stats import binom

from modeling.ml.metrics import clopper_pearson

__all__ = [
    "accuracy_summary",
    "cohen_kappa",
    "fleiss_kappa",
    "fold_difference",
    "gwet_ac1",
    "holm_adjust",
    "mcnemar_exact",
    "percent_agreement",
    "ratings_to_table",
    "sensitivity_per_category",
    "time_summary",
]


def _check_paired(a: Sequence, b: Sequence, what: str = "sequences") -> tuple[list, list]:
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise ValueError(f"paired {what} differ in length: {len(a)} vs {len(b)}")
    return a, b


def _label_index(labels: Sequence[Hashable]) -> dict:
    labels = list(labels)
    index = {label: i for i, label in enumerate(labels)}
    if len(index) != len(labels):
        raise ValueError(f"labels contain duplicates: {labels}")
    return index


def _check_known(values, index: dict, labels: Sequence) -> None:
    unknown = {v for v in values if v not in index}
    if unknown:
        shown = sorted(unknown, key=repr)
        raise ValueError(f"labels {shown} are not among the labels {list(labels)}")


# --------------------------------------------------------------------------------------------
# Agreement
# --------------------------------------------------------------------------------------------


def percent_agreement(a: Sequence, b: Sequence) -> float | None:
    """Proportion (0..1, not percent) of positions where ``a[i] == b[i]``.

    ``None`` when there are no pairs.
    """
    a, b = _check_paired(a, b, "ratings")
    if not a:
        return None
    return float(sum(x == y for x, y in zip(a, b, strict=True)) / len(a))


def cohen_kappa(a: Sequence, b: Sequence, labels: Sequence | None = None) -> float | None:
    """Unweighted Cohen's kappa for two raters, ``(po - pe) / (1 - pe)``.

    ``labels`` defaults to the observed labels (their order does not affect the value).
    Degenerate cases:

    * no pairs: ``None``;
    * both raters always choose the same single category (so ``pe == 1`` and ``po == 1``):
      ``1.0`` -- perfect agreement, by convention (sklearn would give NaN here).
    """
    a, b = _check_paired(a, b, "ratings")
    if labels is None:
        labels = list(dict.fromkeys(a + b))
    index = _label_index(labels)
    _check_known(a + b, index, labels)
    n = len(a)
    if n == 0:
        return None
    q = len(index)
    matrix = np.zeros((q, q), dtype=np.float64)
    for x, y in zip(a, b, strict=True):
        matrix[index[x], index[y]] += 1
    matrix /= n
    po = float(np.trace(matrix))
    pe = float(matrix.sum(axis=1) @ matrix.sum(axis=0))
    if math.isclose(pe, 1.0, rel_tol=0.0, abs_tol=1e-12):
        # pe == 1 only if both raters used one and the same category for every item.
        return 1.0 if math.isclose(po, 1.0, rel_tol=0.0, abs_tol=1e-12) else None
    return float((po - pe) / (1.0 - pe))


def ratings_to_table(
    ratings: Sequence[Sequence[Hashable]], labels: Sequence[Hashable]
) -> list[list[int]]:
    """Turn per-item rating lists into an item-by-category count table.

    ``ratings[i]`` holds the labels the raters gave item ``i`` (rater identity is not
    needed). ``None`` entries are treated as missing ratings and skipped. Items left with
    fewer than 2 ratings are dropped, so row ``i`` of the result need not be item ``i`` of
    the input. Rows may have differing totals; :func:`fleiss_kappa` rejects those.
    Unknown labels raise ``ValueError``.
    """
    index = _label_index(labels)
    table: list[list[int]] = []
    for item in ratings:
        given = [r for r in item if r is not None]
        _check_known(given, index, labels)
        if len(given) < 2:
            continue
        row = [0] * len(index)
        for r in given:
            row[index[r]] += 1
        table.append(row)
    return table


def _as_count_table(table: Sequence[Sequence[int]]) -> np.ndarray:
    arr = np.asarray(table, dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, arr.shape[1] if arr.ndim == 2 else 0)
    if arr.ndim != 2:
        raise ValueError("table must be a list of equal-length rows of counts")
    if np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError("table must contain non-negative integer counts")
    return arr


def fleiss_kappa(table: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa; ``table[i][j]`` = number of raters who put item ``i`` in category ``j``.

    Every item must have the same number of raters, at least 2 (``ValueError`` otherwise;
    use :func:`gwet_ac1` for unequal numbers of raters). Matches
    ``statsmodels.stats.inter_rater.fleiss_kappa(table, method="fleiss")``.

    Degenerate cases: no items gives ``None``; all ratings in one single category
    (``pe == 1``, hence perfect agreement) gives ``1.0``, as for :func:`cohen_kappa`.
    """
    arr = _as_count_table(table)
    if arr.shape[0] == 0:
        return None
    per_item = arr.sum(axis=1)
    m = per_item[0]
    if np.any(per_item != m):
        counts = sorted({int(x) for x in per_item})
        raise ValueError(
            f"Fleiss' kappa needs the same number of raters for every item, got {counts}; "
            "use gwet_ac1 for items rated by differing numbers of raters"
        )
    if m < 2:
        raise ValueError(f"Fleiss' kappa needs at least 2 raters per item, got {int(m)}")
    n_items = arr.shape[0]
    p_j = arr.sum(axis=0) / (n_items * m)
    p_i = ((arr * (arr - 1)).sum(axis=1)) / (m * (m - 1))
    pa = float(p_i.mean())
    pe = float((p_j**2).sum())
    if math.isclose(pe, 1.0, rel_tol=0.0, abs_tol=1e-12):
        return 1.0
    return float((pa - pe) / (1.0 - pe))


def gwet_ac1(ratings: Sequence[Sequence[Hashable]], labels: Sequence[Hashable]) -> float | None:
    """Gwet's AC1 (Gwet 2008) for any number of raters, which may differ between items.

    ``ratings[i]`` holds the labels given to item ``i``; ``None`` entries are missing
    ratings. Only items with at least 2 ratings are used (for both pa and pi_k). With
    ``r_ik`` the number of ratings of item ``i`` in category ``k``, ``r_i`` its number of
    ratings and ``q = len(labels)``::

        pa   = mean_i sum_k r_ik (r_ik - 1) / (r_i (r_i - 1))
        pi_k = mean_i r_ik / r_i
        pe   = 1 / (q - 1) * sum_k pi_k (1 - pi_k)
        AC1  = (pa - pe) / (1 - pe)

    For two raters this is the two-rater AC1. ``q`` counts all categories in ``labels``,
    used or not, so the label set matters. ``pe <= 1/q < 1``, so AC1 is always defined
    when there is data; ``None`` when no item has 2 ratings or ``labels`` has fewer than
    two categories.
    """
    q = len(_label_index(labels))
    table = ratings_to_table(ratings, labels)
    if not table or q < 2:
        return None
    arr = np.asarray(table, dtype=np.float64)
    r_i = arr.sum(axis=1, keepdims=True)
    pa = float(((arr * (arr - 1)) / (r_i * (r_i - 1))).sum(axis=1).mean())
    pi_k = (arr / r_i).mean(axis=0)
    pe = float((pi_k * (1 - pi_k)).sum() / (q - 1))
    return float((pa - pe) / (1.0 - pe))


# --------------------------------------------------------------------------------------------
# Paired comparison and multiplicity
# --------------------------------------------------------------------------------------------


def mcnemar_exact(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> dict:
    """Exact (binomial) two-sided McNemar test for paired correct/incorrect outcomes.

    Returns ``b`` (A right, B wrong), ``c`` (A wrong, B right), ``n_discordant`` (b + c),
    ``statistic`` (min(b, c)) and ``p_value = min(1, 2 * Binom(b + c, 0.5).cdf(min(b, c)))``,
    which is ``1.0`` when there are no discordant pairs. Matches
    ``statsmodels.stats.contingency_tables.mcnemar(table, exact=True)``.
    """
    a, b_ = _check_paired(correct_a, correct_b, "outcomes")
    b = sum(1 for x, y in zip(a, b_, strict=True) if bool(x) and not bool(y))
    c = sum(1 for x, y in zip(a, b_, strict=True) if not bool(x) and bool(y))
    n = b + c
    k = min(b, c)
    p = 1.0 if n == 0 else min(1.0, 2.0 * float(binom.cdf(k, n, 0.5)))
    return {"b": b, "c": c, "n_discordant": n, "statistic": k, "p_value": p}


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni step-down adjusted p-values, in the original order.

    Sorted ascending, the i-th (0-based) of m p-values becomes ``(m - i) * p``, made
    monotone with a running maximum and capped at 1. Matches
    ``statsmodels.stats.multitest.multipletests(p, method="holm")[1]``. Empty input gives
    ``[]``; values outside [0, 1] or NaN raise ``ValueError``.
    """
    p = np.asarray(list(p_values), dtype=np.float64)
    if p.size == 0:
        return []
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"p-values must lie in [0, 1], got {p.tolist()}")
    m = p.size
    order = np.argsort(p, kind="mergesort")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return [float(x) for x in adjusted]


# --------------------------------------------------------------------------------------------
# Accuracy summaries
# --------------------------------------------------------------------------------------------


def accuracy_summary(correct: Sequence[bool], alpha: float = 0.05) -> dict:
    """``n``, ``correct``, ``accuracy`` (``None`` if n == 0) and exact ``ci`` ``[lo, hi]``."""
    flags = [bool(x) for x in correct]
    n, k = len(flags), sum(flags)
    lo, hi = clopper_pearson(k, n, alpha)
    return {"n": n, "correct": k, "accuracy": (k / n) if n else None, "ci": [lo, hi]}


def sensitivity_per_category(
    truth: Sequence[Hashable],
    predicted: Sequence[Hashable],
    labels: Sequence[Hashable],
    alpha: float = 0.05,
) -> dict[str, dict]:
    """Per-category sensitivity (recall) with exact CIs, keyed by ``str(label)``.

    For each label: ``n`` (cases whose truth is that label), ``correct`` (of those,
    predicted as that label), ``sensitivity`` (``None`` when n == 0) and ``ci`` ``[lo, hi]``
    (``[0.0, 1.0]`` when n == 0). Truth values must be in ``labels``; predictions outside
    ``labels`` (e.g. "unsure") are allowed and count as wrong.
    """
    truth, predicted = _check_paired(truth, predicted, "labels")
    index = _label_index(labels)
    _check_known(truth, index, labels)
    keys = [str(label) for label in labels]
    if len(set(keys)) != len(keys):
        raise ValueError(f"labels collide when converted to strings: {keys}")
    result: dict[str, dict] = {}
    for label, key in zip(labels, keys, strict=True):
        n = sum(1 for t in truth if t == label)
        k = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label and p == label)
        lo, hi = clopper_pearson(k, n, alpha)
        result[key] = {"n": n, "correct": k, "sensitivity": (k / n) if n else None, "ci": [lo, hi]}
    return result


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def time_summary(seconds: Sequence[float]) -> dict:
    """Descriptive statistics of durations in seconds.

    Keys: ``n``, ``total``, ``mean``, ``sd`` (sample SD, ddof=1), ``median``, ``q1``, ``q3``
    (numpy's default linear-interpolation percentiles), ``min``, ``max``. With n == 0,
    ``total`` is 0.0 and everything else but ``n`` is ``None``; ``sd`` is ``None`` for
    n < 2. Non-finite values raise ``ValueError``.
    """
    x = np.asarray(list(seconds), dtype=np.float64)
    n = int(x.size)
    if n and not np.all(np.isfinite(x)):
        raise ValueError("durations must be finite numbers")
    if n == 0:
        return {
            "n": 0, "total": 0.0, "mean": None, "sd": None, "median": None,
            "q1": None, "q3": None, "min": None, "max": None,
        }  # fmt: skip
    q1, median, q3 = (float(v) for v in np.percentile(x, [25, 50, 75]))
    return {
        "n": n,
        "total": float(x.sum()),
        "mean": float(x.mean()),
        "sd": float(x.std(ddof=1)) if n >= 2 else None,
        "median": median,
        "q1": q1,
        "q3": q3,
        "min": float(x.min()),
        "max": float(x.max()),
    }


def fold_difference(reader_total: float, model_total: float) -> float | None:
    """How many times longer the readers took than the model: ``reader_total / model_total``.

    ``None`` when ``model_total`` is not a positive finite number (or ``reader_total`` is
    not finite), since the ratio is then undefined or meaningless.
    """
    reader_total, model_total = float(reader_total), float(model_total)
    if not (math.isfinite(reader_total) and math.isfinite(model_total)) or model_total <= 0:
        return None
    return reader_total / model_total
