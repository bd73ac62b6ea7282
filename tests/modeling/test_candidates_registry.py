"""The candidate registry (modeling.ml.registry) and the scikit-learn metrics: every candidate
fits, scores, saves and loads through one protocol; the metrics match a hand computation."""

import json
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from modeling.ml.candidates import CANDIDATES, CATALOGUE, LABELS, PREFERENCE
from modeling.ml.metrics import classification_metrics, clopper_pearson

LABEL_CODES = [1, 2, 3, 4]
_PHRASES = {
    1: "CT-guided drainage of {} abscess, 10 Fr pigtail left in situ.",
    2: "CT-guided core biopsy of {} liver lesion, 18G, three cores.",
    3: "CT-guided biopsy of {} upper lobe lung nodule, no pneumothorax.",
    4: "CT-guided biopsy of {} iliac bone lesion with a bone needle.",
}


def _rows(n_per_category, sides=("right", "left", "posterior")):
    return [(_PHRASES[code].format(sides[i % len(sides)]), code)
            for i in range(n_per_category) for code in LABEL_CODES]


# --- metrics -----------------------------------------------------------------------------


def test_the_metrics_match_a_hand_computed_four_category_example():
    # Rows are the truth, columns the prediction, categories 1..4. Category 4 is never
    # predicted, so its precision is undefined and counts as 0.
    confusion = [[5, 1, 0, 0],
                 [2, 6, 1, 0],
                 [0, 0, 4, 0],
                 [1, 0, 2, 0]]
    y_true, y_pred = [], []
    for t, row in enumerate(confusion):
        for p, count in enumerate(row):
            y_true += [t + 1] * count
            y_pred += [p + 1] * count

    result = classification_metrics(y_true, y_pred, LABEL_CODES)

    # By hand: tp = the diagonal, predicted = column sums, support = row sums.
    tp, predicted, support = [5, 6, 4, 0], [8, 7, 7, 0], [6, 9, 4, 3]
    precision = [Fraction(5, 8), Fraction(6, 7), Fraction(4, 7), Fraction(0)]
    recall = [Fraction(5, 6), Fraction(6, 9), Fraction(4, 4), Fraction(0, 3)]
    f1 = [2 * p * r / (p + r) if p + r else Fraction(0)
          for p, r in zip(precision, recall, strict=True)]
    assert f1[:3] == [Fraction(10, 14), Fraction(12, 16), Fraction(8, 11)]  # 2tp/(pred+support)
    assert [sum(row[i] for row in confusion) for i in range(4)] == predicted
    assert [sum(row) for row in confusion] == support
    assert result["confusion"] == confusion
    assert result["n"] == 22 and result["correct"] == sum(tp) == 15
    assert result["accuracy"] == pytest.approx(15 / 22)
    assert result["accuracy_ci"] == pytest.approx(list(clopper_pearson(15, 22)))
    for i, code in enumerate(LABEL_CODES):
        category = result["per_category"][str(code)]
        assert category["precision"] == pytest.approx(float(precision[i]), abs=1e-15)
        assert category["recall"] == pytest.approx(float(recall[i]), abs=1e-15)
        assert category["f1"] == pytest.approx(float(f1[i]), abs=1e-15)
        assert category["support"] == support[i] and type(category["support"]) is int
    assert result["macro_f1"] == pytest.approx(float(sum(f1) / 4), abs=1e-15)
    assert result["labels"] == LABEL_CODES
    assert json.loads(json.dumps(result)) == result


def test_a_category_with_no_cases_scores_zero_and_keeps_its_row():
    result = classification_metrics([1, 1, 2], [1, 2, 2], [1, 2, 3])
    assert result["per_category"]["3"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                           "support": 0}
    assert result["confusion"] == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]
    assert result["per_category"]["2"]["precision"] == pytest.approx(0.5)


# --- the catalogue (no torch) ------------------------------------------------------------


def test_the_catalogue_names_every_candidate_once_and_members_come_first():
    names = [info.name for info in CATALOGUE]
    assert names == list(CANDIDATES) == ["bert", "tfidf", "ensemble"]
    assert set(LABELS) == set(names) and sorted(PREFERENCE) == sorted(names)
    for i, info in enumerate(CATALOGUE):
        assert set(info.built_from) <= set(names[:i]), info.name
    assert PREFERENCE == ("ensemble", "tfidf", "bert")


def test_the_web_pages_can_read_the_catalogue_without_torch():
    code = ("import sys, modeling.ml.candidates, modeling.ml.metrics; "
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the registry ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def encoder(tiny_base_model):
    """The tiny BERT with a fresh classification head, as a job's fine-tuned encoder."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from modeling.ml.registry import Encoder

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        tiny_base_model, num_labels=len(LABEL_CODES))
    return Encoder(model=model, tokenizer=AutoTokenizer.from_pretrained(tiny_base_model),
                   max_length=64, device=torch.device("cpu"), precision="fp32")


@pytest.fixture(scope="module")
def fitted(encoder):
    from modeling.ml.registry import REGISTRY, Batch, Fitting

    job = Fitting(LABEL_CODES, _rows(4), encoder)
    validation = Batch([t for t, _ in _rows(2, ("right", "left"))])
    targets = np.array([LABEL_CODES.index(c) for _, c in _rows(2, ("right", "left"))])
    candidates = {}
    for kind in REGISTRY:
        candidates[kind.info.name] = kind.fit(job, candidates)
        candidates[kind.info.name].calibrate(validation, targets)
    return candidates


def test_the_registry_follows_the_catalogue():
    from modeling.ml.registry import REGISTRY, members_of

    assert tuple(kind.info for kind in REGISTRY) == CATALOGUE
    assert [m.info.name for m in members_of("ensemble")] == ["bert", "tfidf", "ensemble"]
    assert [m.info.name for m in members_of("tfidf")] == ["tfidf"]


def test_every_candidate_round_trips_save_and_load_with_logits_of_the_right_shape(
        fitted, tmp_path):
    import torch

    from modeling.ml.registry import REGISTRY, Batch, folder_settings, servable

    for candidate in fitted.values():
        candidate.save(tmp_path)
    label_map = {"labels": LABEL_CODES, "max_length": 64, **folder_settings(fitted)}
    label_map = json.loads(json.dumps(label_map))  # as read back from label_map.json
    assert set(label_map["temperatures"]) == {"bert", "tfidf"}
    assert label_map["ensemble_bert_weight"] == fitted["ensemble"].bert_weight
    assert servable(tmp_path) == list(CANDIDATES)

    texts = ["CT-guided biopsy of a right lower lobe nodule.", "Pigtail drain, pelvic abscess.",
             "右肺上葉結節に対するCTガイド下生検。"]
    loaded = {}
    for kind in REGISTRY:
        name = kind.info.name
        assert kind.saved_in(tmp_path), name
        loaded[name] = kind.load(tmp_path, label_map, device=torch.device("cpu"),
                                 precision="fp32", members=loaded)
        before, after = Batch(list(texts)), Batch(list(texts))
        logits = before.logits_of(fitted[name])
        assert logits.shape == (len(texts), len(LABEL_CODES)), name
        assert after.logits_of(loaded[name]) == pytest.approx(logits, abs=1e-5), name
        probs = loaded[name].probabilities(after)
        assert probs.shape == (len(texts), len(LABEL_CODES)), name
        assert probs.sum(axis=1) == pytest.approx(np.ones(len(texts)))
        assert probs == pytest.approx(fitted[name].probabilities(before), abs=1e-6), name
        assert loaded[name].temperature == fitted[name].temperature, name
        assert (before.seconds >= 0).all() and before.seconds.shape == (len(texts),)


def test_a_folder_from_before_the_candidates_serves_its_bert(fitted, tmp_path):
    from modeling.ml.inference import Classifier

    fitted["bert"].save(tmp_path)
    (tmp_path / "label_map.json").write_text(json.dumps({"labels": LABEL_CODES,
                                                         "max_length": 64}))
    classifier = Classifier.load(tmp_path, device="cpu")
    assert classifier.candidate == "bert" and classifier.model is not None
    predictions = classifier.predict(["CT-guided drainage of a liver abscess."])
    assert predictions[0]["category"] in LABEL_CODES
    with pytest.raises(ValueError, match="has no TF-IDF model; it can only serve 'bert'"):
        Classifier.load(tmp_path, device="cpu", candidate="ensemble")


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_length_sorted_batches_give_each_report_its_own_scores_in_input_order(encoder,
                                                                              precision):
    # The encoder runs reports longest first, padded per batch; the scores must come back
    # in input order and equal each report scored alone (no padding at all). int8 only up
    # to its noise: dynamic quantisation sets each activation's scale over the whole batch,
    # so a report's int8 logits move by ~1e-4 with its batch-mates; the same reports in the
    # same batches (training's evaluation and Classifier.predict use one batch size) give
    # the same logits.
    import torch

    from modeling.ml.device import for_inference, predict_logits
    from modeling.ml.text import encode_texts

    model = for_inference(encoder.model, precision, copy=True)
    texts = [t + " Further detail of the planning scan." * (i % 4 * 3)
             for i, (t, _) in enumerate(_rows(3))]
    encoded = encode_texts(texts, encoder.tokenizer, 64)
    lengths = [len(ids) for ids in encoded]
    assert lengths != sorted(lengths, reverse=True) and len(set(lengths)) > 3
    cpu = torch.device("cpu")
    batched, _ = predict_logits(model, encoded, pad_id=0, device=cpu, precision=precision,
                                batch_size=5)
    for i, ids in enumerate(encoded):
        alone, _ = predict_logits(model, [ids], pad_id=0, device=cpu, precision=precision,
                                  batch_size=1)
        assert batched[i] == pytest.approx(alone[0], abs=2e-5 if precision == "fp32" else 2e-3), i
    assert not np.allclose(batched[0], batched[1:], atol=1e-4)  # the reports differ
