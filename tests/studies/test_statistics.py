import json
import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from studies.statistics import (
    accuracy_summary,
    cohen_kappa,
    cohen_kappa_bootstrap,
    fleiss_kappa,
    fold_difference,
    gwet_ac1,
    holm_adjust,
    mcnemar_exact,
    percent_agreement,
    position_trend,
    ratings_to_table,
    sensitivity_per_category,
    time_summary,
)


def _pairs_from_2x2(table):
    """Expand [[both right, A right/B wrong], [A wrong/B right, both wrong]] to outcomes."""
    (n11, n10), (n01, n00) = table
    a = [True] * n11 + [True] * n10 + [False] * n01 + [False] * n00
    b = [True] * n11 + [False] * n10 + [True] * n01 + [False] * n00
    return a, b


# --- McNemar ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table",
    [[[300, 12], [4, 16]], [[50, 3], [3, 10]], [[20, 0], [7, 3]], [[10, 1], [0, 2]],
     [[40, 0], [0, 5]], [[0, 25], [5, 0]]],
)  # fmt: skip
def test_mcnemar_exact_matches_statsmodels(table):
    a, b = _pairs_from_2x2(table)
    result = mcnemar_exact(a, b)
    expected = mcnemar(np.array(table), exact=True)
    assert result["b"] == table[0][1]
    assert result["c"] == table[1][0]
    assert result["n_discordant"] == table[0][1] + table[1][0]
    assert result["statistic"] == expected.statistic
    assert result["p_value"] == pytest.approx(expected.pvalue, abs=1e-12)
    json.dumps(result)


def test_mcnemar_without_discordant_pairs_has_p_one():
    result = mcnemar_exact([True, False, True], [True, False, True])
    assert result == {"b": 0, "c": 0, "n_discordant": 0, "statistic": 0, "p_value": 1.0}
    assert mcnemar_exact([], [])["p_value"] == 1.0


def test_mcnemar_rejects_unpaired_input():
    with pytest.raises(ValueError, match="length"):
        mcnemar_exact([True], [True, False])


# --- Holm ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "p",
    [[0.01, 0.04, 0.03, 0.005], [0.2, 0.2, 0.01], [0.5], [0.04, 0.01, 0.9, 0.03, 0.02, 0.6],
     [0.3, 0.4, 0.5]],
)  # fmt: skip
def test_holm_matches_statsmodels(p):
    expected = multipletests(p, method="holm")[1]
    assert holm_adjust(p) == pytest.approx(list(expected), abs=1e-12)


def test_holm_is_capped_monotone_and_handles_edges():
    adjusted = holm_adjust([0.4, 0.3, 0.01])
    assert adjusted == pytest.approx([0.6, 0.6, 0.03])
    assert max(holm_adjust([0.9, 0.8])) == 1.0
    assert holm_adjust([]) == []
    with pytest.raises(ValueError):
        holm_adjust([0.1, 1.5])


# --- Agreement ----------------------------------------------------------------------------

RATER_A = [1, 1, 2, 3, 3, 4, 1, 2, 2, 3, 4, 4, 1, 3, 2]
RATER_B = [1, 2, 2, 3, 1, 4, 1, 2, 3, 3, 4, 2, 1, 3, 2]


def test_percent_agreement():
    assert percent_agreement(RATER_A, RATER_B) == pytest.approx(11 / 15)
    assert percent_agreement([], []) is None


def test_cohen_kappa_matches_sklearn():
    assert cohen_kappa(RATER_A, RATER_B) == pytest.approx(cohen_kappa_score(RATER_A, RATER_B))
    a, b = ["x", "y", "x", "x"], ["x", "y", "y", "x"]
    assert cohen_kappa(a, b, labels=["y", "x", "z"]) == pytest.approx(cohen_kappa_score(a, b))


def test_cohen_kappa_degenerate_cases():
    assert cohen_kappa([2, 2, 2], [2, 2, 2]) == 1.0
    assert cohen_kappa([], []) is None
    # One rater constant: pe < 1, kappa is 0 (sklearn agrees).
    assert cohen_kappa([1, 1, 1], [1, 2, 1]) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="not among"):
        cohen_kappa([1, 5], [1, 1], labels=[1, 2])


FLEISS_TABLE = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]  # fmt: skip


def test_fleiss_kappa_matches_statsmodels_and_published_value():
    expected = sm_fleiss_kappa(np.array(FLEISS_TABLE), method="fleiss")
    assert fleiss_kappa(FLEISS_TABLE) == pytest.approx(expected, abs=1e-12)
    assert fleiss_kappa(FLEISS_TABLE) == pytest.approx(0.210, abs=1e-3)  # Wikipedia example


def test_fleiss_kappa_from_ratings_matches_statsmodels():
    ratings = [["a", "a", "b"], ["b", "b", "b"], ["a", "c", "c"], ["c", "c", "c"], ["a", "b", "c"]]
    table = ratings_to_table(ratings, ["a", "b", "c"])
    assert table == [[2, 1, 0], [0, 3, 0], [1, 0, 2], [0, 0, 3], [1, 1, 1]]
    expected = sm_fleiss_kappa(np.array(table), method="fleiss")
    assert fleiss_kappa(table) == pytest.approx(expected, abs=1e-12)


def test_fleiss_kappa_degenerate_and_invalid():
    assert fleiss_kappa([]) is None
    assert fleiss_kappa([[3, 0], [3, 0]]) == 1.0
    with pytest.raises(ValueError, match="same number of raters"):
        fleiss_kappa([[2, 1], [1, 1]])
    with pytest.raises(ValueError, match="at least 2 raters"):
        fleiss_kappa([[1, 0], [0, 1]])


def test_ratings_to_table_drops_items_with_fewer_than_two_ratings():
    table = ratings_to_table([[1, 2], [1], [2, None], [1, 1, 2]], [1, 2])
    assert table == [[1, 1], [2, 1]]
    with pytest.raises(ValueError, match="not among"):
        ratings_to_table([[1, 3]], [1, 2])


def test_gwet_ac1_two_raters_by_hand():
    # 2x2 table: a = both "pos", b = A pos/B neg, c = A neg/B pos, d = both "neg".
    a, b, c, d = 40, 9, 6, 45
    n = a + b + c + d
    ratings = [["pos", "pos"]] * a + [["pos", "neg"]] * b + [["neg", "pos"]] * c
    ratings += [["neg", "neg"]] * d
    pa = (a + d) / n
    pi1 = ((a + b) + (a + c)) / (2 * n)
    pe = 2 * pi1 * (1 - pi1)
    assert gwet_ac1(ratings, ["pos", "neg"]) == pytest.approx((pa - pe) / (1 - pe), abs=1e-12)


def test_gwet_ac1_high_prevalence_paradox():
    # 118 agree "yes", 5 + 2 disagree, 0 agree "no": kappa collapses, AC1 stays high.
    ratings = [["y", "y"]] * 118 + [["y", "n"]] * 5 + [["n", "y"]] * 2
    pa = 118 / 125
    pi_y = (123 + 120) / 250
    pe = 2 * pi_y * (1 - pi_y)
    ac1 = gwet_ac1(ratings, ["y", "n"])
    assert ac1 == pytest.approx((pa - pe) / (1 - pe), abs=1e-12)
    kappa = cohen_kappa([r[0] for r in ratings], [r[1] for r in ratings])
    assert ac1 > 0.9 and kappa < 0.05


def test_gwet_ac1_multiple_raters_with_differing_counts():
    ratings = [[1, 1, 1], [1, 2], [2, 2, 2, 2], [3], [1, 3, 3]]
    # Items used: [3,0,0]/3, [1,1,0]/2, [0,4,0]/4, [1,0,2]/3 (the single rating is dropped).
    pa = (1 + 0 + 1 + (0 + 2 / 6)) / 4
    pi = [(1 + 0.5 + 0 + 1 / 3) / 4, (0 + 0.5 + 1 + 0) / 4, (0 + 0 + 0 + 2 / 3) / 4]
    pe = sum(p * (1 - p) for p in pi) / 2
    assert gwet_ac1(ratings, [1, 2, 3]) == pytest.approx((pa - pe) / (1 - pe), abs=1e-12)


def test_gwet_ac1_degenerate_cases():
    assert gwet_ac1([], [1, 2]) is None
    assert gwet_ac1([[1], [2]], [1, 2]) is None
    assert gwet_ac1([[1, 1], [1, 1]], [1]) is None
    # Everyone picks one category: pe = 0 so AC1 = pa = 1.
    assert gwet_ac1([[1, 1, 1], [1, 1]], [1, 2]) == 1.0


# --- Accuracy and sensitivity -------------------------------------------------------------


def test_accuracy_summary_uses_clopper_pearson():
    correct = [True] * 325 + [False] * 7
    summary = accuracy_summary(correct)
    assert summary["n"] == 332 and summary["correct"] == 325
    assert summary["accuracy"] == pytest.approx(325 / 332)
    expected = proportion_confint(325, 332, alpha=0.05, method="beta")
    assert summary["ci"] == pytest.approx(list(expected), abs=1e-10)
    json.dumps(summary)


def test_accuracy_summary_without_cases():
    assert accuracy_summary([]) == {"n": 0, "correct": 0, "accuracy": None, "ci": [0.0, 1.0]}


def test_sensitivity_per_category():
    truth = [1, 1, 1, 2, 2, 3, 3, 3, 3]
    predicted = [1, 2, 1, 2, 2, 3, 1, "unsure", 3]
    result = sensitivity_per_category(truth, predicted, [1, 2, 3, 4])
    assert list(result) == ["1", "2", "3", "4"]
    assert result["1"]["n"] == 3 and result["1"]["correct"] == 2
    assert result["1"]["sensitivity"] == pytest.approx(2 / 3)
    expected = proportion_confint(2, 3, alpha=0.05, method="beta")
    assert result["1"]["ci"] == pytest.approx(list(expected), abs=1e-10)
    assert result["3"]["correct"] == 2 and result["3"]["n"] == 4
    assert result["4"] == {"n": 0, "correct": 0, "sensitivity": None, "ci": [0.0, 1.0]}
    json.dumps(result)
    with pytest.raises(ValueError, match="not among"):
        sensitivity_per_category([5], [5], [1, 2])


# --- Timing -------------------------------------------------------------------------------


def test_time_summary_matches_numpy():
    seconds = [12.5, 30.0, 7.25, 61.0, 18.0, 22.5, 9.0]
    x = np.array(seconds)
    summary = time_summary(seconds)
    assert summary["n"] == 7
    assert summary["total"] == pytest.approx(x.sum())
    assert summary["mean"] == pytest.approx(x.mean())
    assert summary["sd"] == pytest.approx(x.std(ddof=1))
    assert summary["median"] == pytest.approx(np.median(x))
    assert summary["q1"] == pytest.approx(np.percentile(x, 25))
    assert summary["q3"] == pytest.approx(np.percentile(x, 75))
    assert (summary["min"], summary["max"]) == (7.25, 61.0)
    json.dumps(summary)


def test_time_summary_degenerate():
    empty = time_summary([])
    assert empty["n"] == 0 and empty["total"] == 0.0
    assert all(empty[k] is None for k in ("mean", "sd", "median", "q1", "q3", "min", "max"))
    one = time_summary([4.0])
    assert one["sd"] is None and one["mean"] == one["median"] == one["q1"] == 4.0
    with pytest.raises(ValueError):
        time_summary([1.0, float("nan")])


def test_fold_difference():
    assert fold_difference(3600.0, 12.0) == pytest.approx(300.0)
    assert fold_difference(10.0, 0.0) is None
    assert fold_difference(10.0, -1.0) is None
    assert fold_difference(float("nan"), 1.0) is None


def test_module_imports_neither_django_nor_torch():
    import ast

    import studies.statistics as module

    with open(module.__file__, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert not roots & {"django", "torch"}



# --- Reading behaviour -----------------------------------------------------------------------


def test_kappa_bootstrap_interval_brackets_kappa_and_narrows_with_more_cases():
    rng = np.random.default_rng(0)
    truth = rng.integers(1, 5, 400)
    a = np.where(rng.random(400) < 0.85, truth, rng.integers(1, 5, 400)).tolist()
    b = np.where(rng.random(400) < 0.85, truth, rng.integers(1, 5, 400)).tolist()
    full = cohen_kappa_bootstrap(a, b, [1, 2, 3, 4])
    part = cohen_kappa_bootstrap(a[:50], b[:50], [1, 2, 3, 4])
    assert full["kappa"] == pytest.approx(cohen_kappa_score(a, b))
    assert full["ci"][0] < full["kappa"] < full["ci"][1]
    assert full["ci"][1] - full["ci"][0] < part["ci"][1] - part["ci"][0]
    # Close to Cohen's (1960) large-sample interval, kappa +- 1.96 sqrt(po (1 - po) / n) /
    # (1 - pe).
    po = np.mean(np.array(a) == np.array(b))
    pe = sum(np.mean(np.array(a) == c) * np.mean(np.array(b) == c) for c in range(1, 5))
    se = math.sqrt(po * (1 - po) / 400) / (1 - pe)
    assert full["ci"][1] - full["ci"][0] == pytest.approx(2 * 1.96 * se, rel=0.2)
    assert cohen_kappa_bootstrap(a, b, [1, 2, 3, 4]) == full  # seeded: the same every time
    assert cohen_kappa_bootstrap([1, 2, 3], [1, 2, 3], [1, 2, 3])["ci"] == [1.0, 1.0]
    assert cohen_kappa_bootstrap([1], [2], [1, 2])["ci"] is None


def test_position_trend_finds_fatigue_and_learning():
    positions = list(range(1, 31))
    slower = position_trend(positions, [10 + p + (p % 3) for p in positions])
    faster = position_trend(positions, [60 - p + (p % 4) for p in positions])
    assert slower["rho"] > 0.9 and slower["p"] < 0.001
    assert faster["rho"] < -0.9 and faster["ci"][0] < faster["rho"] < faster["ci"][1]
    from scipy.stats import spearmanr

    noisy = [(p * 7919) % 31 for p in positions]
    assert position_trend(positions, noisy)["rho"] == pytest.approx(
        spearmanr(positions, noisy).statistic)
    assert position_trend([1, 2, 3], [3, 2, 1])["rho"] is None
    assert position_trend(positions, [5.0] * 30)["rho"] is None
