"""Candidate selection, calibration, tokenizer coverage and style augmentation: plain functions."""

import random

import numpy as np
import pytest

from modeling.ml.augment import augment
from modeling.ml.calibration import (
    MIN_MEMBER_WEIGHT,
    MIN_TEMPERATURE,
    expected_calibration_error,
    fit_ensemble_weight,
    fit_temperature,
    softmax,
)
from modeling.ml.candidates import (
    BERT,
    ENSEMBLE,
    TFIDF,
    candidate_probabilities,
    decided_without_bert,
    ensemble_probabilities,
    select_served,
)
from modeling.ml.coverage import tokenizer_coverage
from tests.tiny_models import minilm_path

JAPANESE = [
    "CTガイド下右肺下葉結節に対し18G針で生検を施行した。気胸なし。",
    "肝膿瘍に対しCTガイド下ドレナージを施行、8Frピッグテールカテーテルを留置した。",
    "第2腰椎椎体の溶骨性病変に対し骨生検針で生検を行った。",
]
ENGLISH = [
    "CT-guided core biopsy of a right lower lobe nodule, 18G coaxial, 3 cores.",
    "Drainage of a hepatic abscess, 10 Fr pigtail left in situ, 40 mL pus.",
]


def test_it_serves_the_most_accurate_candidate():
    assert select_served({BERT: 0.99, TFIDF: 0.95, ENSEMBLE: 0.97}) == BERT
    assert select_served({BERT: 0.90, TFIDF: 0.98, ENSEMBLE: 0.97}) == TFIDF


def test_a_tie_goes_to_the_ensemble_then_tfidf():
    assert select_served({BERT: 1.0, TFIDF: 1.0, ENSEMBLE: 1.0}) == ENSEMBLE
    assert select_served({BERT: 0.98, TFIDF: 0.98, ENSEMBLE: 0.96}) == TFIDF


def test_it_never_serves_a_candidate_worse_than_another():
    rng = random.Random(3)
    for _ in range(500):
        scores = {name: rng.choice([0.9, 0.95, 0.97, 1.0]) for name in (BERT, TFIDF, ENSEMBLE)}
        for poor in (False, True):
            served = select_served(scores, poor_coverage=poor)
            assert scores[served] == max(scores.values()), (scores, poor)


def test_poor_coverage_prefers_tfidf_unless_bert_is_strictly_better():
    assert select_served({BERT: 1.0, TFIDF: 1.0, ENSEMBLE: 1.0}, poor_coverage=True) == TFIDF
    assert select_served({BERT: 0.8, TFIDF: 0.9, ENSEMBLE: 0.95}, poor_coverage=True) == ENSEMBLE


def test_it_refuses_to_select_without_scores():
    with pytest.raises(ValueError, match="no candidate"):
        select_served({BERT: None})


def test_the_ensemble_averages_calibrated_probabilities():
    logits = {BERT: np.array([[4.0, 0.0]]), TFIDF: np.array([[0.0, 2.0]])}
    temperatures = {BERT: 2.0, TFIDF: 1.0}
    expected = (softmax(np.array([[2.0, 0.0]])) + softmax(np.array([[0.0, 2.0]]))) / 2
    got = candidate_probabilities(ENSEMBLE, logits, temperatures)
    assert np.allclose(got, expected) and np.allclose(got.sum(axis=1), 1.0)


def test_the_ensemble_weighs_its_members_but_leaves_unreadable_reports_to_tfidf():
    bert = np.array([[0.9, 0.1], [0.9, 0.1]])
    tfidf = np.array([[0.2, 0.8], [0.2, 0.8]])
    got = candidate_probabilities(ENSEMBLE, {BERT: np.log(bert), TFIDF: np.log(tfidf)}, {},
                                  np.array([False, True]), bert_weight=0.25)
    assert np.allclose(got[0], 0.25 * bert[0] + 0.75 * tfidf[0])  # 0.375 / 0.625: TF-IDF's
    assert np.allclose(got[1], tfidf[1])


@pytest.mark.parametrize("bert_weight", [0.1, 0.25, 0.4, 0.5, 0.7])
def test_a_report_decided_without_bert_gets_the_full_ensembles_category(bert_weight):
    # Against every BERT vote a report can get, the worst ones included (all of BERT's
    # probability on one category), the weighted mean's top category is TF-IDF's wherever
    # decided_without_bert says so; and where it does not, some BERT vote ties or overturns
    # it, so BERT really had to be asked.
    rng = np.random.default_rng(7)
    tfidf = rng.dirichlet(np.full(4, 0.3), size=3000)
    decided = decided_without_bert(tfidf, bert_weight)
    if bert_weight >= 0.5:
        assert not decided.any()  # BERT's share can always overturn: it is always asked
    else:
        assert 0 < decided.sum() < len(tfidf)
    top = tfidf.argmax(axis=1)
    for bert in [rng.dirichlet(np.ones(4), size=len(tfidf))] + [
            np.eye(4)[np.full(len(tfidf), k)] for k in range(4)]:
        mixed = ensemble_probabilities(bert, tfidf, bert_weight=bert_weight)
        assert (mixed.argmax(axis=1)[decided] == top[decided]).all()
    runner_up = np.argsort(tfidf, axis=1)[:, -2]
    worst = ensemble_probabilities(np.eye(4)[runner_up], tfidf, bert_weight=bert_weight)
    rows = np.flatnonzero(~decided)
    assert (worst[rows, runner_up[rows]] >= worst[rows, top[rows]] - 1e-9).all()


def test_the_decided_rule_worked_by_hand():
    # BERT 25%: TF-IDF must lead by more than 0.25 / 0.75 = 1/3.
    tfidf = np.array([[0.60, 0.30, 0.05, 0.05],    # lead 0.30: BERT could overturn
                      [0.70, 0.20, 0.05, 0.05],    # lead 0.50: decided
                      [0.50, 0.50, 0.00, 0.00]])   # a tie: never decided
    assert decided_without_bert(tfidf, 0.25).tolist() == [False, True, False]
    # 0.25 * 1 + 0.75 * 0.30 = 0.475 for category 2 against 0.75 * 0.60 = 0.45: overturned.
    mixed = ensemble_probabilities(np.eye(4)[[1, 1, 1]], tfidf, bert_weight=0.25)
    assert mixed[0].argmax() == 1 and mixed[1].argmax() == 0


def _member_probs(right_bert, right_tfidf):
    """Two-class probabilities where the target is class 0 and each member gives it p."""
    as_rows = lambda ps: np.array([[p, 1 - p] for p in ps])  # noqa: E731
    return as_rows(right_bert), as_rows(right_tfidf), [0] * len(right_bert)


def test_the_ensemble_weight_follows_the_member_right_on_validation_within_bounds():
    # BERT confidently wrong on part of validation: its share falls, but only to the floor.
    bert, tfidf, targets = _member_probs([0.99] * 8 + [0.02] * 2, [0.9] * 10)
    assert fit_ensemble_weight(bert, tfidf, targets) == pytest.approx(MIN_MEMBER_WEIGHT,
                                                                      abs=1e-3)
    # The reverse: TF-IDF wrong where BERT is right; BERT's share rises, to the ceiling.
    assert fit_ensemble_weight(tfidf, bert, targets) == pytest.approx(1 - MIN_MEMBER_WEIGHT,
                                                                      abs=1e-3)
    # Each right where the other is unsure, symmetrically: equal shares.
    bert, tfidf, targets = _member_probs([0.95, 0.4] * 5, [0.4, 0.95] * 5)
    assert fit_ensemble_weight(bert, tfidf, targets) == pytest.approx(0.5, abs=1e-3)
    # No validation reports BERT can read: equal shares, nothing fitted.
    assert fit_ensemble_weight(np.zeros((0, 2)), np.zeros((0, 2)), []) == 0.5


def _overconfident(n=4000, seed=0):
    """Logits whose true temperature is 3: the model is three times too sure of itself."""
    rng = np.random.default_rng(seed)
    true_logits = rng.normal(0, 1.5, size=(n, 4))
    targets = np.array([rng.choice(4, p=p) for p in softmax(true_logits)])
    return true_logits * 3.0, targets


def test_temperature_scaling_recovers_an_overconfident_model():
    logits, targets = _overconfident()
    temperature = fit_temperature(logits, targets)
    assert temperature == pytest.approx(3.0, rel=0.1)
    before = expected_calibration_error(softmax(logits), targets)
    after = expected_calibration_error(softmax(logits / temperature), targets)
    assert after < before / 3 and after < 0.03


def test_a_perfect_validation_split_does_not_drive_the_temperature_to_zero():
    logits = np.array([[3.0, 0.0], [0.0, 3.0]] * 20)
    assert fit_temperature(logits, [0, 1] * 20) == pytest.approx(MIN_TEMPERATURE, rel=1e-3)
    # A fine-tuned network is never sharpened, only softened.
    assert fit_temperature(logits, [0, 1] * 20, minimum=1.0) == pytest.approx(1.0, rel=1e-3)
    overconfident, targets = _overconfident()
    assert fit_temperature(overconfident, targets, minimum=1.0) == pytest.approx(3.0, rel=0.1)


def test_ece_of_a_hand_worked_example():
    # Two bins: confidence 0.9 right once of twice (gap 0.4), confidence 0.6 right (gap 0.4).
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4]])
    assert expected_calibration_error(probs, [0, 1, 0]) == pytest.approx(0.4)
    assert expected_calibration_error(np.zeros((0, 2)), []) is None


@pytest.fixture(scope="module")
def minilm_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_path())


def test_the_english_tokenizer_reads_english_reports(minilm_tokenizer):
    coverage = tokenizer_coverage(minilm_tokenizer, ENGLISH)
    assert coverage["unk_rate"] < 0.01 and not coverage["poor"] and coverage["warning"] == ""
    assert coverage["chars_per_token"] > 2


def test_it_warns_when_the_tokenizer_cannot_read_japanese(minilm_tokenizer):
    coverage = tokenizer_coverage(minilm_tokenizer, JAPANESE)
    assert coverage["poor"] and coverage["unk_rate"] > 0.1
    assert "[UNK]" in coverage["warning"] and "CTIR_BASE_MODEL" in coverage["warning"]


def test_a_japanese_tokenizer_reads_japanese(tmp_path):
    from transformers import AutoTokenizer

    from tests.tiny_models import make_tiny_japanese_base_model

    folder = make_tiny_japanese_base_model(tmp_path / "ja", JAPANESE)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert type(tokenizer).__name__ == "BertJapaneseTokenizer"
    assert "生検" in tokenizer.tokenize(JAPANESE[0])  # MeCab words, not single characters
    assert not tokenizer_coverage(tokenizer, JAPANESE)["poor"]


def test_augmentation_is_seeded_and_keeps_the_procedure_line_first():
    text = ("Procedure: CT RUL bx, 18G.\nHistory: smoker.\n"
            "Technique: coaxial needle, three cores.\nComplications: none.")
    rewrites = [augment(text, random.Random(i)) for i in range(200)]
    assert rewrites == [augment(text, random.Random(i)) for i in range(200)]
    assert len(set(rewrites)) > 100  # real variety, not one rewrite
    assert text in rewrites  # some reports stay as they are
    # Short words escape typos, so the procedure line is recognisable after any rewrite.
    assert all("rul" in r.split("\n")[0].lower() for r in rewrites)
    assert any(r.isupper() for r in rewrites) and any("Procedure:" not in r for r in rewrites)
