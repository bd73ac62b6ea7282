import json
import subprocess
import sys

import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support
from statsmodels.stats.proportion import proportion_confint

from modeling.ml.metrics import classification_metrics, clopper_pearson


@pytest.mark.parametrize(("k", "n"), [(325, 332), (1, 10), (9, 10), (50, 100), (130, 131), (3, 7)])
def test_it_matches_statsmodels_beta_interval(k, n):
    expected = proportion_confint(k, n, alpha=0.05, method="beta")
    assert clopper_pearson(k, n) == pytest.approx(expected, abs=1e-10)


def test_it_matches_statsmodels_at_other_alpha():
    expected = proportion_confint(325, 332, alpha=0.01, method="beta")
    assert clopper_pearson(325, 332, alpha=0.01) == pytest.approx(expected, abs=1e-10)


def test_it_knows_the_published_test_accuracy_interval():
    lo, hi = clopper_pearson(325, 332)
    assert lo == pytest.approx(0.9571, abs=1e-4)
    assert hi == pytest.approx(0.9915, abs=1e-4)


def test_it_handles_all_wrong_and_all_right():
    assert clopper_pearson(0, 20) == (0.0, pytest.approx(1 - 0.025 ** (1 / 20)))
    assert clopper_pearson(20, 20) == (pytest.approx(0.025 ** (1 / 20)), 1.0)


def test_it_returns_the_vacuous_interval_without_cases():
    assert clopper_pearson(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(("k", "n"), [(-1, 5), (6, 5), (1, -1)])
def test_it_rejects_impossible_counts(k, n):
    with pytest.raises(ValueError):
        clopper_pearson(k, n)


def _hand_made():
    # rows = true, cols = predicted, labels [1, 2, 3, 4]; category 4 is never predicted.
    confusion = [[8, 1, 1, 0], [2, 15, 0, 0], [0, 1, 9, 0], [1, 1, 1, 0]]
    y_true, y_pred = [], []
    for i, row in enumerate(confusion):
        for j, count in enumerate(row):
            y_true += [i + 1] * count
            y_pred += [j + 1] * count
    return confusion, y_true, y_pred


def test_it_computes_per_category_metrics_like_sklearn():
    confusion, y_true, y_pred = _hand_made()
    labels = [1, 2, 3, 4]
    result = classification_metrics(y_true, y_pred, labels)

    assert result["confusion"] == confusion
    assert result["confusion"] == confusion_matrix(y_true, y_pred, labels=labels).tolist()
    assert result["n"] == 40
    assert result["correct"] == 32
    assert result["accuracy"] == pytest.approx(0.8)
    assert result["accuracy_ci"] == pytest.approx(list(clopper_pearson(32, 40)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    for i, code in enumerate(labels):
        category = result["per_category"][str(code)]
        assert category["precision"] == pytest.approx(precision[i])
        assert category["recall"] == pytest.approx(recall[i])
        assert category["f1"] == pytest.approx(f1[i])
        assert category["support"] == support[i]
    assert result["per_category"]["1"]["precision"] == pytest.approx(8 / 11)
    assert result["per_category"]["4"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 3,
    }
    assert result["macro_f1"] == pytest.approx(
        f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    )
    assert result["labels"] == labels


def test_it_orders_the_confusion_by_the_given_labels():
    result = classification_metrics([4, 1, 1], [4, 4, 1], [4, 1])
    assert result["confusion"] == [[1, 0], [1, 1]]
    assert list(result["per_category"]) == ["4", "1"]


def test_it_is_json_serialisable():
    _, y_true, y_pred = _hand_made()
    result = classification_metrics(y_true, y_pred, [1, 2, 3, 4])
    assert json.loads(json.dumps(result)) == result


def test_it_handles_an_empty_set():
    result = classification_metrics([], [], [1, 2])
    assert result["n"] == 0
    assert result["accuracy"] is None
    assert result["macro_f1"] is None
    assert result["accuracy_ci"] == [0.0, 1.0]
    assert result["confusion"] == [[0, 0], [0, 0]]


def test_it_rejects_unknown_codes_and_length_mismatch():
    with pytest.raises(ValueError, match="5"):
        classification_metrics([1, 5], [1, 1], [1, 2])
    with pytest.raises(ValueError):
        classification_metrics([1, 2], [1], [1, 2])


def test_importing_metrics_does_not_import_torch():
    code = (
        "import sys, modeling.ml, modeling.ml.metrics; "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
