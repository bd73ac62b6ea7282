import json
import random

import pytest

from modeling.ml.inference import Classifier
from modeling.ml.text import encode_texts, fit_to_length, prepare_text
from modeling.ml.training import (
    Progress,
    TrainConfig,
    TrainingCancelled,
    TrainingDataError,
    train_model,
)
from tests.tiny_models import make_tiny_base_model

LABELS = [1, 2, 3, 4]
_PHRASES = {
    1: ["drainage of {} abscess, 10 Fr pigtail", "aspiration of {} collection, pus sent"],
    2: ["core biopsy of {} liver lesion", "biopsy of {} adrenal mass, 18G"],
    3: ["biopsy of {} upper lobe lung nodule", "lung mass core biopsy, {} lower lobe"],
    4: ["biopsy of {} iliac bone lesion, bone needle", "vertebral body {} lytic lesion biopsy"],
}


def _reports(n_per_category, seed):
    rng = random.Random(seed)
    rows = []
    for code, phrases in _PHRASES.items():
        for _ in range(n_per_category):
            side = rng.choice(["right", "left"])
            text = f"CT-guided procedure\n{rng.choice(phrases).format(side)}. No complication."
            rows.append((text, code))
    rng.shuffle(rows)
    return rows


def _config(**overrides):
    # One check per seed and no step floor: the tiny runs keep their epoch arithmetic.
    values = dict(epochs=1, seeds=2, max_length=64, batch_size=8, learning_rate=1e-3,
                  min_steps=1, checks=1)
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    return make_tiny_base_model(tmp_path_factory.mktemp("tiny") / "base")


@pytest.fixture(scope="module")
def trained(tiny_base, tmp_path_factory):
    parent = tmp_path_factory.mktemp("models")
    progress = []
    result = _train_small(tiny_base, parent / "v1", test=_reports(3, 3),
                          on_progress=progress.append)
    return result, parent, progress


def test_it_writes_the_model_folder(trained):
    _, parent, _ = trained
    out_dir = parent / "v1"
    for name in ("model.safetensors", "config.json", "tokenizer.json", "label_map.json"):
        assert (out_dir / name).is_file(), name
    assert json.loads((out_dir / "label_map.json").read_text())["labels"] == LABELS
    assert json.loads((out_dir / "label_map.json").read_text())["max_length"] == 64
    assert [p.name for p in parent.iterdir()] == ["v1"]  # no temporary folder left


def test_it_returns_json_serialisable_metrics(trained):
    result, parent, _ = trained
    assert json.loads(json.dumps(result)) == result
    assert json.loads((parent / "v1" / "metrics.json").read_text()) == result
    assert result["validation"]["n"] == 8
    assert result["test"]["n"] == 12
    assert set(result["test"]["per_category"]) == {"1", "2", "3", "4"}
    assert len(result["test"]["confusion"]) == 4
    assert result["baseline"]["validation"]["n"] == 8
    assert result["baseline"]["test"]["n"] == 12
    assert result["config"] == _config().to_dict()
    assert result["best_seed"] in (42, 43)
    assert result["best_epoch"] == 1
    assert {"load_s", "train_s", "eval_s", "baseline_s", "total_s"} <= set(result["timings"])


def test_it_records_one_history_row_per_seed_and_epoch(trained):
    result, _, _ = trained
    assert [(row["seed"], row["epoch"]) for row in result["history"]] == [(42, 1), (43, 1)]
    for row in result["history"]:
        assert 0.0 <= row["val_accuracy"] <= 1.0
        assert row["train_loss"] > 0 and row["val_loss"] > 0


def test_it_reports_progress_through_every_phase(trained):
    _, _, progress = trained
    assert all(isinstance(p, Progress) for p in progress)
    phases = [p.phase for p in progress]
    for phase in ("loading", "training", "evaluating", "test", "baseline", "saving"):
        assert phase in phases
    # 40 reports / batch 8 = 5 steps per epoch, 2 seeds.
    assert {p.total_steps for p in progress} == {10}
    steps = [p.step for p in progress]
    assert steps == sorted(steps) and steps[-1] == 10
    assert progress[-1].eta_seconds is not None


def test_the_classifier_predicts_in_input_order(trained):
    _, parent, _ = trained
    classifier = Classifier.load(parent / "v1")
    texts = [t for t, _ in _reports(2, 9)]
    texts[3] = texts[3] + " " + "Long additional free text about the planning scan. " * 8
    batch = classifier.predict(texts, batch_size=3)
    assert len(batch) == len(texts)
    for text, prediction in zip(texts, batch, strict=True):
        assert prediction["category"] in LABELS
        assert set(prediction["probabilities"]) == {"1", "2", "3", "4"}
        assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        top = sorted(prediction["probabilities"].values(), reverse=True)
        assert prediction["margin"] == pytest.approx(top[0] - top[1])
        assert prediction["ms"] >= 0
        alone = classifier.predict([text])[0]
        assert alone["category"] == prediction["category"]
        for code, p in alone["probabilities"].items():
            assert prediction["probabilities"][code] == pytest.approx(p, abs=2e-2)


def _train_small(tiny_base, out_dir, *, train=None, validation=None, test=None, config=None,
                 **kwargs):
    """One tiny run, by default on 10 training and 2 validation reports per category and no
    test split."""
    return train_model(
        base_model=tiny_base, train=_reports(10, 1) if train is None else train,
        validation=_reports(2, 2) if validation is None else validation,
        test=[] if test is None else test, labels=LABELS,
        config=_config() if config is None else config, out_dir=out_dir, **kwargs,
    )


def _train_one_seed(tiny_base, out_dir, **kwargs):
    """The smallest run: one seed on 5 training and 1 validation report per category."""
    return _train_small(tiny_base, out_dir, train=_reports(5, 1), validation=_reports(1, 2),
                        config=_config(seeds=1), **kwargs)


def test_it_leaves_nothing_behind_when_cancelled(tiny_base, tmp_path):
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(TrainingCancelled):
        _train_small(tiny_base, tmp_path / "v2", should_stop=should_stop)
    assert list(tmp_path.iterdir()) == []


def test_it_leaves_nothing_behind_when_saving_fails(tiny_base, tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("modeling.ml.training.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        _train_one_seed(tiny_base, tmp_path / "v3")
    assert list(tmp_path.iterdir()) == []


def test_it_stops_when_a_progress_callback_raises(tiny_base, tmp_path):
    def on_progress(progress):
        if progress.phase == "saving":
            raise RuntimeError("database is gone")

    with pytest.raises(RuntimeError):
        _train_one_seed(tiny_base, tmp_path / "v4", on_progress=on_progress)
    assert list(tmp_path.iterdir()) == []


def test_it_has_no_test_metrics_without_a_test_split(tiny_base, tmp_path):
    result = _train_one_seed(tiny_base, tmp_path / "v5")
    assert result["test"] is None
    assert result["baseline"]["test"] is None
    assert len(result["history"]) == 1


def test_it_names_a_category_missing_from_training(tiny_base, tmp_path):
    train = [row for row in _reports(10, 1) if row[1] != 4]
    with pytest.raises(TrainingDataError, match="category 4: 0"):
        _train_small(tiny_base, tmp_path / "v6", train=train)
    assert list(tmp_path.iterdir()) == []


def test_it_names_a_category_missing_from_validation(tiny_base, tmp_path):
    validation = [row for row in _reports(2, 2) if row[1] != 3]
    with pytest.raises(TrainingDataError, match="validation.*category 3: 0"):
        _train_small(tiny_base, tmp_path / "v7", validation=validation)


def test_it_rejects_codes_outside_the_project(tiny_base, tmp_path):
    with pytest.raises(TrainingDataError, match=r"\[7\]"):
        _train_small(tiny_base, tmp_path / "v8", train=_reports(10, 1) + [("odd", 7)])


def test_it_refuses_to_overwrite_a_model(tiny_base, tmp_path):
    (tmp_path / "v9").mkdir()
    with pytest.raises(FileExistsError):
        _train_small(tiny_base, tmp_path / "v9")


def test_the_config_round_trips():
    config = TrainConfig(epochs=2, learning_rate=3e-5)
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert json.loads(json.dumps(config.to_dict())) == config.to_dict()


def test_prepare_text_normalises_whitespace():
    assert prepare_text("  CT\u00a0guided\t\tdrainage \r\n\r\n\n IMPRESSION:  ok ") == (
        "CT guided drainage\nIMPRESSION: ok"
    )


def test_long_reports_keep_title_and_impression(tiny_base):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    text = (
        "CT-guided drainage of pelvic abscess\n"
        "History: prior lung biopsy for a nodule, bone metastases suspected.\n"
        "Technique: " + "The needle was advanced carefully under guidance. " * 30 + "\n"
        "Impression: successful drainage, 10 Fr pigtail left in the collection."
    )
    ids = fit_to_length(text, tokenizer, 64)
    assert len(ids) <= 64
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    decoded = tokenizer.decode(ids)
    assert "pelvic abscess" in decoded
    assert "pigtail" in decoded
    assert "lung biopsy" not in decoded  # history goes first when space is short
    assert encode_texts([text, "short"], tokenizer, 64)[0] == ids


def test_short_reports_are_kept_whole(tiny_base):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    text = "History: lung cancer.\nCT-guided biopsy of L2. Impression: done."
    ids = fit_to_length(text, tokenizer, 128)
    assert ids == tokenizer(prepare_text(text))["input_ids"]


def test_the_same_seed_gives_the_same_model(tiny_base, tmp_path):
    def run(name):
        return _train_small(tiny_base, tmp_path / name, train=_reports(5, 1),
                            test=_reports(2, 3), config=_config(seeds=1, epochs=2))

    first, second = run("a"), run("b")
    assert first["history"] == second["history"]
    assert first["test"] == second["test"]


def test_fp32_and_bf16_classifiers_agree(tiny_base, tmp_path):
    # int8 off: an int8 folder runs its encoder in int8 whatever precision is asked for.
    _train_small(tiny_base, tmp_path / "v1", config=_config(seeds=1, int8=False))
    texts = [t for t, _ in _reports(2, 11)]
    fp32 = Classifier.load(tmp_path / "v1", precision="fp32").predict(texts)
    bf16 = Classifier.load(tmp_path / "v1", precision="bf16").predict(texts)
    for a, b in zip(fp32, bf16, strict=True):
        for code, p in a["probabilities"].items():
            assert b["probabilities"][code] == pytest.approx(p, abs=3e-2)


_JA = {
    1: "CTガイド下{}膿瘍ドレナージ、ピッグテール留置。",
    2: "CTガイド下{}副腎腫瘤の針生検。",
    3: "CTガイド下{}肺結節の生検、気胸なし。",
    4: "{}腸骨の溶骨性病変に骨生検針で生検。",
}


def _japanese(n_per_category, seed):
    rng = random.Random(seed)
    rows = [(_JA[code].format(rng.choice(["右", "左"])), code) for code in _JA
            for _ in range(n_per_category)]
    rng.shuffle(rows)
    return rows


def test_a_local_japanese_bert_trains_and_serves(tmp_path):
    """The CTIR_BASE_MODEL path for a Japanese BERT folder (BertJapaneseTokenizer, MeCab)."""
    from tests.tiny_models import make_tiny_japanese_base_model

    train = _japanese(8, 1)
    base = make_tiny_japanese_base_model(tmp_path / "ja-base", [t for t, _ in train])
    result = train_model(base_model=base, train=train, validation=_japanese(2, 2),
                         test=_japanese(2, 3), labels=LABELS, config=_config(seeds=1),
                         out_dir=tmp_path / "v1")
    assert not result["coverage"]["poor"] and result["coverage"]["unk_rate"] < 0.02
    classifier = Classifier.load(tmp_path / "v1", candidate="bert")
    assert type(classifier.tokenizer).__name__ == "BertJapaneseTokenizer"
    predictions = classifier.predict([t for t, _ in _japanese(1, 4)])
    assert len(predictions) == 4 and all(p["category"] in LABELS for p in predictions)
    served = Classifier.load(tmp_path / "v1").predict(["CTガイド下右肺結節の生検。"])
    assert served[0]["category"] in LABELS


def test_the_served_folder_scores_test_as_the_job_did_with_its_fitted_weight(trained):
    # The thing evaluated is the thing served: every candidate loaded from the folder gets
    # the job's test accuracy, the ensemble with the BERT share fitted on validation.
    result, parent, _ = trained
    label_map = json.loads((parent / "v1" / "label_map.json").read_text())
    weight = label_map["ensemble_bert_weight"]
    assert 0.25 <= weight <= 0.75
    assert result["candidates"]["ensemble"]["bert_weight"] == pytest.approx(weight, abs=1e-4)
    test = _reports(3, 3)
    for name in ("bert", "tfidf", "ensemble"):
        classifier = Classifier.load(parent / "v1", candidate=name)
        predicted = [p["category"] for p in classifier.predict([t for t, _ in test])]
        accuracy = sum(p == c for p, (_, c) in zip(predicted, test, strict=True)) / len(test)
        assert accuracy == pytest.approx(result["candidates"][name]["test"]["accuracy"]), name
    assert Classifier.load(parent / "v1", candidate="ensemble").bert_weight == weight


def test_the_served_ensemble_leaves_an_unreadable_report_to_tfidf(trained):
    # The tiny tokenizer's vocabulary is English: a Japanese report is mostly [UNK].
    _, parent, _ = trained
    japanese = "右肺上葉結節に対するCTガイド下生検。"
    english = "CT-guided procedure\nbiopsy of left upper lobe lung nodule. No complication."
    classifier = Classifier.load(parent / "v1", candidate="ensemble")
    # BERT asked about every report, so that only the unreadable rule leaves one to TF-IDF
    # (a clear report is TF-IDF's anyway: the next test).
    classifier.served.skip_decided = False
    ensemble = classifier.predict([japanese, english])
    tfidf = Classifier.load(parent / "v1", candidate="tfidf").predict([japanese, english])
    assert ensemble[0]["probabilities"] == pytest.approx(tfidf[0]["probabilities"])
    assert ensemble[1]["probabilities"] != pytest.approx(tfidf[1]["probabilities"])


# --- int8 encoder: served = evaluated (issue 20) ------------------------------------------


def _quantised_linears(classifier) -> int:
    import torch

    return sum(isinstance(m, torch.ao.nn.quantized.dynamic.Linear)
               for m in classifier.model.modules())


def _validation_figures(classifier, rows):
    """Accuracy and ECE of the classifier on ``rows``, computed as the job computes them."""
    import numpy as np

    from modeling.ml.calibration import expected_calibration_error

    predictions = classifier.predict([t for t, _ in rows])
    probs = np.array([[p["probabilities"][str(c)] for c in LABELS] for p in predictions])
    accuracy = sum(p["category"] == c for p, (_, c) in zip(predictions, rows, strict=True))
    return accuracy / len(rows), expected_calibration_error(
        probs, [LABELS.index(c) for _, c in rows])


def test_a_quantised_folder_serves_the_encoder_its_figures_were_computed_with(
        tiny_base, tmp_path):
    import shutil

    # fp32 named: where "auto" finds native bf16 (AMX), the job serves bf16 instead.
    result = _train_small(tiny_base, tmp_path / "v1", test=_reports(3, 3),
                          config=_config(precision="fp32"))
    label_map = json.loads((tmp_path / "v1" / "label_map.json").read_text())
    assert label_map["encoder_precision"] == "int8" == result["encoder_precision"]
    validation = _reports(2, 2)  # what _train_small validated on
    for name in ("bert", "ensemble"):
        classifier = Classifier.load(tmp_path / "v1", candidate=name)
        assert classifier.encoder_precision == "int8"
        assert classifier.members["bert"].device.type == "cpu"
        assert _quantised_linears(classifier) > 0
        accuracy, ece = _validation_figures(classifier, validation)
        stored = result["candidates"][name]
        assert accuracy == pytest.approx(stored["validation"]["accuracy"]), name
        assert ece == pytest.approx(stored["ece_validation"], abs=1e-9), name

    # The same fp32 weights unquantised give other probabilities, so the ECE above tells
    # the int8 encoder from the fp32 one (served = evaluated could fail).
    shutil.copytree(tmp_path / "v1", tmp_path / "as-fp32")
    del label_map["encoder_precision"]
    (tmp_path / "as-fp32" / "label_map.json").write_text(json.dumps(label_map))
    fp32 = Classifier.load(tmp_path / "as-fp32", candidate="bert", precision="fp32")
    _, fp32_ece = _validation_figures(fp32, validation)
    assert fp32_ece != pytest.approx(result["candidates"]["bert"]["ece_validation"], abs=1e-9)


def test_a_folder_without_the_int8_key_loads_its_encoder_in_fp32(tiny_base, tmp_path):
    # Folders written before int8 (and jobs with int8 off) have no encoder_precision key.
    result = _train_small(tiny_base, tmp_path / "v1",
                          config=_config(seeds=1, int8=False, precision="fp32"))
    label_map = json.loads((tmp_path / "v1" / "label_map.json").read_text())
    assert "encoder_precision" not in label_map and result["encoder_precision"] == "fp32"
    classifier = Classifier.load(tmp_path / "v1", candidate="bert", precision="fp32")
    assert classifier.encoder_precision == "fp32" and _quantised_linears(classifier) == 0
    # Loaded as a worker loads it ("auto"): fp32, or bf16 where the CPU has it natively.
    import torch

    from modeling.ml.device import resolve_precision

    assert Classifier.load(tmp_path / "v1").encoder_precision == resolve_precision(
        "auto", torch.device("cpu"))


def test_a_job_in_bf16_on_the_cpu_serves_bf16_not_int8(tiny_base, tmp_path):
    # Where the CPU runs bf16 natively ("auto" picks it there), bf16 pre-labels about twice
    # as fast as int8, so the job keeps it; its figures are the bf16 encoder's.
    result = _train_small(tiny_base, tmp_path / "v1",
                          config=_config(seeds=1, precision="bf16"))
    label_map = json.loads((tmp_path / "v1" / "label_map.json").read_text())
    assert "encoder_precision" not in label_map
    assert result["encoder_precision"] == "bf16" == result["precision"]
    assert _quantised_linears(Classifier.load(tmp_path / "v1", candidate="bert")) == 0


def test_the_ensemble_asks_bert_only_where_its_share_could_change_the_category(
        tiny_base, tmp_path):
    import numpy as np

    from modeling.ml.candidates import decided_without_bert
    from modeling.ml.registry import Batch, Ensemble, FineTunedBert

    _train_small(tiny_base, tmp_path / "v1", config=_config(seeds=1, precision="fp32"))
    label_map = json.loads((tmp_path / "v1" / "label_map.json").read_text())
    assert label_map["ensemble_skips_decided"] is True  # what a job writes now
    loaded = Classifier.load(tmp_path / "v1", candidate="ensemble", precision="fp32")
    assert loaded.served.skip_decided

    asked_texts = []

    class Recorded(FineTunedBert):
        def logits(self, batch):
            asked_texts.extend(batch.texts)
            return super().logits(batch)

    bert = loaded.members["bert"]
    recorded = Recorded(model=bert.model, tokenizer=bert.tokenizer, max_length=bert.max_length,
                        device=bert.device, precision=bert.precision,
                        temperature=bert.temperature, served=bert.model)
    tfidf = loaded.members["tfidf"]
    # BERT at 25%, as on the demo: clear reports need no BERT, unclear ones do.
    rows = _reports(4, 9) + [("CT-guided procedure. Biopsy and drainage.", 1),
                             ("CT-guided procedure.", 2)]
    texts = [t for t, _ in rows]
    skipping = Ensemble(recorded, tfidf, bert_weight=0.25, skip_decided=True)
    full = Ensemble(bert, tfidf, bert_weight=0.25, skip_decided=False)
    got = skipping.probabilities(Batch(texts))
    want = full.probabilities(Batch(texts))
    tfidf_probs = tfidf.probabilities(Batch(texts))
    decided = decided_without_bert(tfidf_probs, 0.25)
    assert 0 < decided.sum() < len(texts)  # both kinds are in the batch
    assert asked_texts == [t for t, d in zip(texts, decided, strict=True) if not d]
    assert np.allclose(got[decided], tfidf_probs[decided])
    assert np.allclose(got[~decided], want[~decided], atol=1e-5)
    assert (got.argmax(axis=1) == want.argmax(axis=1)).all()  # the full ensemble's categories

    # A folder from before the rule asks BERT about every report, as it was evaluated.
    del label_map["ensemble_skips_decided"]
    (tmp_path / "v1" / "label_map.json").write_text(json.dumps(label_map))
    assert not Classifier.load(tmp_path / "v1", candidate="ensemble").served.skip_decided
