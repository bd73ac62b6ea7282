"""Agreement between raters and exact accuracy intervals, on statsmodels and scikit-learn.

Used by the labeling agreement page and, through studies.statistics, by reader studies;
it lives here, at the bottom of the app order, so both can use it. No Django, no torch.
Every function returns plain ``int``/``float``/``list``/``dict``/``None`` values, so results
are JSON-serialisable as they are. The conventions are listed in studies.statistics.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as _fleiss_kappa
from statsmodels.stats.proportion import proportion_confint

__all__ = [
    "accuracy_summary",
    "clopper_pearson",
    "cohen_kappa",
    "fleiss_kappa",
    "gwet_ac1",
    "percent_agreement",
    "ratings_to_table",
]


def check_paired(a: Sequence, b: Sequence, what: str = "sequences") -> tuple[list, list]:
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise ValueError(f"paired {what} differ in length: {len(a)} vs {len(b)}")
    return a, b


def label_index(labels: Sequence[Hashable]) -> dict:
    labels = list(labels)
    index = {label: i for i, label in enumerate(labels)}
    if len(index) != len(labels):
        raise ValueError(f"labels contain duplicates: {labels}")
    return index


def check_known(values, index: dict, labels: Sequence) -> None:
    unknown = {v for v in values if v not in index}
    if unknown:
        shown = sorted(unknown, key=repr)
        raise ValueError(f"labels {shown} are not among the labels {list(labels)}")


def clopper_pearson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact two-sided ``1 - alpha`` interval for ``k / n``; ``(0.0, 1.0)`` when ``n == 0``.

    ``k == 0`` gives a lower bound of exactly 0.0 and ``k == n`` an upper bound of 1.0.
    """
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if n == 0:
        return 0.0, 1.0
    lower, upper = proportion_confint(k, n, alpha=alpha, method="beta")
    return float(lower), float(upper)


def accuracy_summary(correct: Sequence[bool], alpha: float = 0.05) -> dict:
    """``n``, ``correct``, ``accuracy`` (``None`` if n == 0) and exact ``ci`` ``[lo, hi]``."""
    flags = [bool(x) for x in correct]
    n, k = len(flags), sum(flags)
    lo, hi = clopper_pearson(k, n, alpha)
    return {"n": n, "correct": k, "accuracy": (k / n) if n else None, "ci": [lo, hi]}


def percent_agreement(a: Sequence, b: Sequence) -> float | None:
    """Proportion (0..1, not percent) of positions where ``a[i] == b[i]``.

    ``None`` when there are no pairs.
    """
    a, b = check_paired(a, b, "ratings")
    if not a:
        return None
    return float(sum(x == y for x, y in zip(a, b, strict=True)) / len(a))


def cohen_kappa(a: Sequence, b: Sequence, labels: Sequence | None = None) -> float | None:
    """Unweighted Cohen's kappa for two raters (scikit-learn's ``cohen_kappa_score``).

    ``labels`` defaults to the observed labels (their order does not affect the value).
    Degenerate cases:

    * no pairs: ``None``;
    * both raters always choose the same single category (so ``pe == 1`` and ``po == 1``):
      ``1.0`` -- perfect agreement, by convention (scikit-learn gives NaN here).
    """
    a, b = check_paired(a, b, "ratings")
    if labels is None:
        labels = list(dict.fromkeys(a + b))
    index = label_index(labels)
    check_known(a + b, index, labels)
    if not a:
        return None
    if len(set(a) | set(b)) == 1:
        # pe == 1 only if both raters used one and the same category for every item.
        return 1.0
    return float(cohen_kappa_score(a, b, labels=list(labels)))


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
    index = label_index(labels)
    table: list[list[int]] = []
    for item in ratings:
        given = [r for r in item if r is not None]
        check_known(given, index, labels)
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

    statsmodels' ``fleiss_kappa(table, method="fleiss")``, with checks: every item must
    have the same number of raters, at least 2 (``ValueError`` otherwise; use
    :func:`gwet_ac1` for unequal numbers of raters).

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
    if np.count_nonzero(arr.sum(axis=0)) == 1:
        return 1.0  # pe == 1: statsmodels would divide by zero
    return float(_fleiss_kappa(arr, method="fleiss"))


def gwet_ac1(ratings: Sequence[Sequence[Hashable]], labels: Sequence[Hashable]) -> float | None:
    """Gwet's AC1 (Gwet 2008) for any number of raters, which may differ between items.

    Neither statsmodels nor scikit-learn has it. ``ratings[i]`` holds the labels given to
    item ``i``; ``None`` entries are missing ratings. Only items with at least 2 ratings
    are used (for both pa and pi_k). With ``r_ik`` the number of ratings of item ``i`` in
    category ``k``, ``r_i`` its number of ratings and ``q = len(labels)``::

        pa   = mean_i sum_k r_ik (r_ik - 1) / (r_i (r_i - 1))
        pi_k = mean_i r_ik / r_i
        pe   = 1 / (q - 1) * sum_k pi_k (1 - pi_k)
        AC1  = (pa - pe) / (1 - pe)

    For two raters this is the two-rater AC1. ``q`` counts all categories in ``labels``,
    used or not, so the label set matters. ``pe <= 1/q < 1``, so AC1 is always defined
    when there is data; ``None`` when no item has 2 ratings or ``labels`` has fewer than
    two categories.
    """
    q = len(label_index(labels))
    table = ratings_to_table(ratings, labels)
    if not table or q < 2:
        return None
    arr = np.asarray(table, dtype=np.float64)
    r_i = arr.sum(axis=1, keepdims=True)
    pa = float(((arr * (arr - 1)) / (r_i * (r_i - 1))).sum(axis=1).mean())
    pi_k = (arr / r_i).mean(axis=0)
    pe = float((pi_k * (1 - pi_k)).sum() / (q - 1))
    return float((pa - pe) / (1.0 - pe))
