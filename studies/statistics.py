"""Reader-study statistics: agreement, paired accuracy tests, exact CIs and timing summaries.

Thin wrappers over statsmodels and scikit-learn (no Django, no torch), so they can be
imported anywhere. The agreement coefficients and the accuracy interval live in
annotation.labeling.statistics, which the labeling pages use too; they are re-exported here
so a study has one module of statistics. Every function returns plain
``int``/``float``/``list``/``dict``/``None`` values, so results are JSON-serialisable as
they are.

Conventions shared by the functions below:

* Labels may be any hashable values (ints, strings). Where a ``labels`` argument is given,
  it fixes the category order and any observed label outside it raises ``ValueError``.
* Paired sequences must have equal lengths, otherwise ``ValueError``.
* A statistic that is undefined for the data (no cases, zero denominator) is ``None``
  rather than NaN; the exceptions are documented per function.
* Confidence intervals are exact Clopper-Pearson intervals (statsmodels' ``beta`` method;
  ``[0.0, 1.0]`` when there are no cases).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np
from scipy import stats as _stats
from sklearn.metrics import confusion_matrix as _confusion_matrix
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from annotation.labeling.statistics import (
    accuracy_summary,
    check_known,
    check_paired,
    clopper_pearson,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    label_index,
    percent_agreement,
    ratings_to_table,
)

__all__ = [
    "accuracy_summary",
    "clopper_pearson",
    "cohen_kappa",
    "cohen_kappa_bootstrap",
    "confusion_matrix",
    "fleiss_kappa",
    "fold_difference",
    "gwet_ac1",
    "holm_adjust",
    "mcnemar_exact",
    "percent_agreement",
    "position_trend",
    "ratings_to_table",
    "sensitivity_per_category",
    "time_summary",
]


# --------------------------------------------------------------------------------------------
# Paired comparison and multiplicity
# --------------------------------------------------------------------------------------------


def mcnemar_exact(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> dict:
    """Exact (binomial) two-sided McNemar test for paired correct/incorrect outcomes.

    Returns ``b`` (A right, B wrong), ``c`` (A wrong, B right), ``n_discordant`` (b + c),
    ``statistic`` (min(b, c)) and ``p_value = min(1, 2 * Binom(b + c, 0.5).cdf(min(b, c)))``
    from ``statsmodels.stats.contingency_tables.mcnemar(table, exact=True)``, which is
    ``1.0`` when there are no discordant pairs.
    """
    a, b_ = check_paired(correct_a, correct_b, "outcomes")
    b = sum(1 for x, y in zip(a, b_, strict=True) if bool(x) and not bool(y))
    c = sum(1 for x, y in zip(a, b_, strict=True) if not bool(x) and bool(y))
    n = b + c
    # Only the discordant cells enter the exact test.
    p = 1.0 if n == 0 else min(1.0, float(mcnemar([[0, b], [c, 0]], exact=True).pvalue))
    return {"b": b, "c": c, "n_discordant": n, "statistic": min(b, c), "p_value": p}


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni step-down adjusted p-values, in the original order.

    ``statsmodels.stats.multitest.multipletests(p, method="holm")[1]``. Empty input gives
    ``[]``; values outside [0, 1] or NaN raise ``ValueError``.
    """
    p = np.asarray(list(p_values), dtype=np.float64)
    if p.size == 0:
        return []
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"p-values must lie in [0, 1], got {p.tolist()}")
    return [float(x) for x in multipletests(p, method="holm")[1]]


# --------------------------------------------------------------------------------------------
# Accuracy per category
# --------------------------------------------------------------------------------------------


def confusion_matrix(
    y_true: Sequence[Hashable], y_pred: Sequence[Hashable], labels: Sequence[Hashable]
) -> np.ndarray:
    """Rows are true categories, columns predicted ones, both in ``labels`` order.

    scikit-learn's ``confusion_matrix``; labels outside ``labels`` raise ``ValueError``.
    """
    y_true, y_pred = check_paired(y_true, y_pred, "labels")
    index = label_index(labels)
    check_known(y_true + y_pred, index, labels)
    return _index_confusion(y_true, y_pred, index)


def _index_confusion(y_true, y_pred, index: dict, extra: int = 0) -> np.ndarray:
    # Labels are passed to scikit-learn as their positions, so mixed types never matter;
    # `extra` adds columns for predictions outside the labels.
    size = len(index) + extra
    if not y_true:
        return np.zeros((size, size), dtype=np.int64)
    return _confusion_matrix(
        [index[t] for t in y_true], [index.get(p, len(index)) for p in y_pred],
        labels=list(range(size)),
    )


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
    truth, predicted = check_paired(truth, predicted, "labels")
    index = label_index(labels)
    check_known(truth, index, labels)
    keys = [str(label) for label in labels]
    if len(set(keys)) != len(keys):
        raise ValueError(f"labels collide when converted to strings: {keys}")
    matrix = _index_confusion(truth, predicted, index, extra=1)
    result: dict[str, dict] = {}
    for i, key in enumerate(keys):
        n, k = int(matrix[i].sum()), int(matrix[i, i])
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



# --------------------------------------------------------------------------------------------
# Reading behaviour
# --------------------------------------------------------------------------------------------


def cohen_kappa_bootstrap(a: Sequence[Hashable], b: Sequence[Hashable],
                          labels: Sequence[Hashable], *, n_boot: int = 2000,
                          alpha: float = 0.05, seed: int = 0) -> dict:
    """Cohen's kappa with a percentile bootstrap CI over cases (resampling the pairs).

    ``kappa`` as ``cohen_kappa``; ``ci`` ``[lo, hi]`` from ``n_boot`` resamples with a fixed
    ``seed`` (so a page shows the same interval on every load), ``None`` with fewer than two
    pairs. Resamples in which both raters used one and the same category count as 1.0, as
    ``cohen_kappa`` does.
    """
    a, b = check_paired(a, b, "ratings")
    kappa = cohen_kappa(a, b, labels)
    n = len(a)
    if n < 2:
        return {"kappa": kappa, "ci": None, "n": n}
    index = label_index(labels)
    check_known(a + b, index, labels)
    size = len(index)
    pairs = np.array([index[x] * size + index[y] for x, y in zip(a, b, strict=True)])
    rng = np.random.default_rng(seed)
    picks = pairs[rng.integers(0, n, size=(n_boot, n))]
    # One confusion matrix per resample, from a single bincount over offset codes.
    offsets = (np.arange(n_boot) * size * size)[:, None]
    tables = np.bincount((picks + offsets).ravel(), minlength=n_boot * size * size)
    tables = tables.reshape(n_boot, size, size) / n
    observed = np.trace(tables, axis1=1, axis2=2)
    expected = (tables.sum(axis=2) * tables.sum(axis=1)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappas = np.where(expected < 1, (observed - expected) / (1 - expected), 1.0)
    lo, hi = np.percentile(kappas, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return {"kappa": kappa, "ci": [float(lo), float(hi)], "n": n}


def position_trend(positions: Sequence[float], seconds: Sequence[float],
                   alpha: float = 0.05) -> dict:
    """Spearman's rank correlation of reading time with the case's position in the order.

    Positive: slower later (fatigue); negative: faster later (learning). ``rho``, its
    two-sided ``p`` (scipy's ``spearmanr``) and a ``ci`` by Fisher's z with the
    Bonett-Wright standard error ``sqrt((1 + rho^2 / 2) / (n - 3))``; all ``None`` with
    fewer than four cases or constant times.
    """
    x, y = check_paired(positions, seconds, "values")
    n = len(x)
    empty = {"n": n, "rho": None, "p": None, "ci": None}
    if n < 4 or len(set(y)) < 2 or len(set(x)) < 2:
        return empty
    result = _stats.spearmanr(x, y)
    rho = float(result.statistic)
    if not math.isfinite(rho):
        return empty
    if abs(rho) >= 1:
        return {"n": n, "rho": rho, "p": float(result.pvalue), "ci": [rho, rho]}
    half = _stats.norm.ppf(1 - alpha / 2) * math.sqrt((1 + rho**2 / 2) / (n - 3))
    z = math.atanh(rho)
    return {"n": n, "rho": rho, "p": float(result.pvalue),
            "ci": [math.tanh(z - half), math.tanh(z + half)]}
