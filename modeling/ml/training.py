"""Fine-tuning a BERT classifier on labelled reports, plus a TF-IDF baseline.

Plain Python (no Django): a Celery task or management command calls ``train_model`` and
turns its progress callbacks into database updates. Imports torch and transformers.
"""

from __future__ import annotations

import json
import math
import os
import random
import secrets
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from .inference import (  # noqa: E402
    LABEL_MAP_FILE,
    autocast,
    for_inference,
    pad_batch,
    pick_device,
    predict_logits,
    quiet_transformers,
    resolve_precision,
)
from .metrics import classification_metrics  # noqa: E402
from .recipe import DEFAULT_EPOCHS, DEFAULT_MAX_LENGTH, DEFAULT_SEEDS
from .text import encode_texts, prepare_text  # noqa: E402

METRICS_FILE = "metrics.json"
TEXT_ENCODING = "sections-priority-v1"  # bump if text.encode_texts changes behaviour
MIN_TRAIN_PER_CATEGORY = 2
MIN_VALIDATION_PER_CATEGORY = 1
PROGRESS_EVERY_STEPS = 5

Example = tuple[str, int]


@dataclass
class TrainConfig:
    """The fine-tuning recipe. Defaults are the measured default (see bench/train_demo.py)."""

    epochs: int = DEFAULT_EPOCHS
    seeds: int = DEFAULT_SEEDS
    max_length: int = DEFAULT_MAX_LENGTH
    batch_size: int = 16
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    class_weighting: bool = True
    # Embeddings stay as pre-trained: faster steps (no dense 30k x 384 gradient) and
    # words seen only at other hospitals keep their general meaning.
    freeze_embeddings: bool = True
    # "auto": bf16 autocast where the hardware has native bf16, else fp32.
    precision: str = "auto"
    seed: int = 42  # seed i of a job is seed + i

    def __post_init__(self) -> None:
        for name in ("epochs", "seeds", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if not 16 <= self.max_length <= 512:
            raise ValueError("max_length must be between 16 and 512")
        if self.learning_rate <= 0:
            raise ValueError("learning_rate must be > 0")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError("warmup_ratio must be in [0, 1)")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class Progress:
    phase: str  # "loading" | "training" | "evaluating" | "baseline" | "test" | "saving"
    seed_index: int
    seeds: int
    epoch: int
    epochs: int
    step: int  # optimisation steps done over the whole job (all seeds)
    total_steps: int
    loss: float | None
    val_accuracy: float | None
    eta_seconds: float | None
    message: str


class TrainingDataError(ValueError):
    """The labelled data cannot train or select a model (too few, or a category missing)."""


class TrainingCancelled(Exception):
    """``should_stop`` asked the job to stop."""


def check_training_data(
    train: Sequence[Example],
    validation: Sequence[Example],
    test: Sequence[Example],
    labels: Sequence[int],
) -> None:
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise TrainingDataError(f"need at least two distinct category codes, got {list(labels)}")
    known = set(labels)
    for split_name, split in (("training", train), ("validation", validation), ("test", test)):
        unknown = sorted({code for _, code in split if code not in known})
        if unknown:
            raise TrainingDataError(
                f"the {split_name} split has reports labelled with categories {unknown}, "
                f"which are not among the project's categories {list(labels)}"
            )
    for split_name, split, minimum in (
        ("training", train, MIN_TRAIN_PER_CATEGORY),
        ("validation", validation, MIN_VALIDATION_PER_CATEGORY),
    ):
        counts = Counter(code for _, code in split)
        short = [code for code in labels if counts[code] < minimum]
        if short:
            detail = ", ".join(f"category {code}: {counts[code]}" for code in short)
            all_counts = ", ".join(f"{code}: {counts[code]}" for code in labels)
            raise TrainingDataError(
                f"too few labelled reports in the {split_name} split ({detail}; "
                f"need at least {minimum} per category). Counts: {all_counts}"
            )


def _cpu_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _length_grouped_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator
) -> list[list[int]]:
    """Shuffled batches of similar-length reports, so dynamic padding wastes little.

    Sorting only inside random chunks of 16 batches keeps batches varied between epochs.
    """
    order = rng.permutation(len(lengths))
    chunk = batch_size * 16
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk].tolist(), key=lambda i: -lengths[i])
        batches += [part[j : j + batch_size] for j in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _class_weights(train_codes: Sequence[int], labels: Sequence[int]) -> torch.Tensor:
    """Inverse-frequency weights, normalised so a balanced set gets all ones."""
    counts = Counter(train_codes)
    n, k = len(train_codes), len(labels)
    return torch.tensor([n / (k * counts[code]) for code in labels], dtype=torch.float32)


class _Tracker:
    """Step counting, ETA and the calls to on_progress / should_stop."""

    def __init__(self, config, total_steps, on_progress, should_stop, n_val, n_test):
        self.config = config
        self.total_steps = total_steps
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.step = 0
        self.seed_index = 0
        self.epoch = 0
        self.train_s = 0.0
        self.eval_s = 0.0
        self.evals_done = 0
        self.n_val = max(n_val, 1)
        self.n_test = n_test
        self.loss: float | None = None
        self.val_accuracy: float | None = None

    def check_stop(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise TrainingCancelled("training was cancelled")

    def eta(self) -> float | None:
        if self.step == 0:
            return None
        per_step = self.train_s / self.step
        evals_total = self.config.seeds * self.config.epochs
        per_eval = self.eval_s / self.evals_done if self.evals_done else per_step * 2
        test_eval = per_eval * self.n_test / self.n_val
        remaining = (
            (self.total_steps - self.step) * per_step
            + (evals_total - self.evals_done) * per_eval
            + test_eval
            + 10.0  # baseline and saving
        )
        return max(remaining, 0.0)

    def emit(self, phase: str, message: str) -> None:
        if self.on_progress is None:
            return
        self.on_progress(
            Progress(
                phase=phase,
                seed_index=self.seed_index,
                seeds=self.config.seeds,
                epoch=self.epoch,
                epochs=self.config.epochs,
                step=self.step,
                total_steps=self.total_steps,
                loss=self.loss,
                val_accuracy=self.val_accuracy,
                eta_seconds=self.eta(),
                message=message,
            )
        )


def _load_model(base_model, labels, seed: int, freeze_embeddings: bool):
    from transformers import AutoModelForSequenceClassification

    # The classification head is initialised from the seeded RNG.
    _seed_everything(seed)
    with quiet_transformers():
        model = AutoModelForSequenceClassification.from_pretrained(
            base_model,
            num_labels=len(labels),
            id2label={i: str(code) for i, code in enumerate(labels)},
            label2id={str(code): i for i, code in enumerate(labels)},
        )
    if freeze_embeddings:
        embeddings = getattr(model.base_model, "embeddings", None)
        if embeddings is None:
            embeddings = model.get_input_embeddings()
        for param in embeddings.parameters():
            param.requires_grad_(False)
    return model


def _optimizer(model, config: TrainConfig) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for param in model.parameters():
        if not param.requires_grad:
            continue
        # Biases and LayerNorm weights are conventionally not decayed.
        (no_decay if param.ndim < 2 else decay).append(param)
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=config.learning_rate,
    )


def _evaluate(model, encoded, codes, labels, *, pad_id, device, precision) -> dict:
    served = for_inference(model, precision, copy=True)
    logits, _ = predict_logits(
        served, encoded, pad_id=pad_id, device=device, precision=precision, batch_size=64
    )
    del served
    index = {code: i for i, code in enumerate(labels)}
    predicted = [labels[i] for i in logits.argmax(axis=1)] if len(encoded) else []
    if len(encoded):
        target = torch.tensor([index[c] for c in codes])
        loss = float(torch.nn.functional.cross_entropy(torch.from_numpy(logits), target))
    else:
        loss = None
    return {
        "metrics": classification_metrics(codes, predicted, labels),
        "loss": loss,
    }


def train_baseline(
    train: Sequence[Example], evaluate_on: dict[str, Sequence[Example]], labels: Sequence[int]
) -> dict:
    """TF-IDF (word 1-2 grams + char 2-5 grams) + balanced logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    pipeline = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
        ),
        LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000),
    )
    pipeline.fit([prepare_text(t) for t, _ in train], [c for _, c in train])
    results = {}
    for name, split in evaluate_on.items():
        if not split:
            results[name] = None
            continue
        predicted = pipeline.predict([prepare_text(t) for t, _ in split])
        results[name] = classification_metrics(
            [c for _, c in split], [int(p) for p in predicted], labels
        )
    return results


def _temp_sibling(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.tmp-{secrets.token_hex(6)}"


def train_model(
    *,
    base_model: str | Path,
    train: list[tuple[str, int]],
    validation: list[tuple[str, int]],
    test: list[tuple[str, int]],
    labels: list[int],
    config: TrainConfig,
    out_dir: str | Path,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """Fine-tune ``config.seeds`` runs, keep the best validation epoch, test it, save it.

    The model directory appears at ``out_dir`` only when everything succeeded; on any
    error (cancellation included) nothing is left behind. Returns the metrics dict that is
    also written to ``out_dir/metrics.json``.
    """
    began = time.perf_counter()
    labels = [int(c) for c in labels]
    check_training_data(train, validation, test, labels)
    out_dir = Path(out_dir)
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} already exists")
    out_dir.parent.mkdir(parents=True, exist_ok=True)

    previous_threads = torch.get_num_threads()
    device = pick_device()
    if device.type == "cpu":
        torch.set_num_threads(_cpu_threads())
    try:
        return _train(
            base_model=base_model,
            train=train,
            validation=validation,
            test=test,
            labels=labels,
            config=config,
            out_dir=out_dir,
            on_progress=on_progress,
            should_stop=should_stop,
            device=device,
            began=began,
        )
    finally:
        torch.set_num_threads(previous_threads)


def _train(
    *,
    base_model,
    train,
    validation,
    test,
    labels,
    config,
    out_dir,
    on_progress,
    should_stop,
    device,
    began,
) -> dict:
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    precision = resolve_precision(config.precision, device)
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs * config.seeds
    tracker = _Tracker(config, total_steps, on_progress, should_stop, len(validation), len(test))
    tracker.emit("loading", "Tokenising reports")

    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(base_model)
    pad_id = tokenizer.pad_token_id or 0
    enc_train = encode_texts([t for t, _ in train], tokenizer, config.max_length)
    enc_val = encode_texts([t for t, _ in validation], tokenizer, config.max_length)
    enc_test = encode_texts([t for t, _ in test], tokenizer, config.max_length)
    index = {code: i for i, code in enumerate(labels)}
    y_train = torch.tensor([index[c] for _, c in train])
    val_codes = [c for _, c in validation]
    test_codes = [c for _, c in test]
    lengths = [len(ids) for ids in enc_train]
    weights = _class_weights([c for _, c in train], labels) if config.class_weighting else None
    if weights is not None:
        weights = weights.to(device)
    load_s = time.perf_counter() - began

    history: list[dict] = []
    best: dict | None = None
    model = None
    for seed_index in range(config.seeds):
        seed = config.seed + seed_index
        tracker.seed_index, tracker.epoch = seed_index, 0
        tracker.check_stop()
        tracker.emit("loading", f"Loading base model (run {seed_index + 1}/{config.seeds})")
        t0 = time.perf_counter()
        model = None  # free the previous run's weights before loading the next
        model = _load_model(base_model, labels, seed, config.freeze_embeddings).to(device)
        optimizer = _optimizer(model, config)
        run_steps = steps_per_epoch * config.epochs
        scheduler = get_linear_schedule_with_warmup(
            optimizer, round(config.warmup_ratio * run_steps), run_steps
        )
        rng = np.random.default_rng(seed)
        load_s += time.perf_counter() - t0

        for epoch in range(1, config.epochs + 1):
            tracker.epoch = epoch
            tracker.emit("training", f"Run {seed_index + 1}/{config.seeds}, epoch {epoch}")
            model.train()
            t0 = time.perf_counter()
            losses = []
            for batch in _length_grouped_batches(lengths, config.batch_size, rng):
                tracker.check_stop()
                ids, mask = pad_batch([enc_train[i] for i in batch], pad_id, device)
                with autocast(device, precision):
                    logits = model(input_ids=ids, attention_mask=mask).logits
                loss = torch.nn.functional.cross_entropy(
                    logits.float(), y_train[batch].to(device), weight=weights
                )
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(float(loss.detach()))
                tracker.step += 1
                tracker.loss = float(np.mean(losses[-PROGRESS_EVERY_STEPS:]))
                tracker.train_s = tracker.train_s + time.perf_counter() - t0
                t0 = time.perf_counter()
                if tracker.step % PROGRESS_EVERY_STEPS == 0:
                    tracker.emit("training", f"Run {seed_index + 1}/{config.seeds}, epoch {epoch}")
            tracker.check_stop()
            tracker.emit("evaluating", f"Run {seed_index + 1}/{config.seeds}, epoch {epoch}")
            t0 = time.perf_counter()
            val = _evaluate(
                model,
                enc_val,
                val_codes,
                labels,
                pad_id=pad_id,
                device=device,
                precision=precision,
            )
            tracker.eval_s += time.perf_counter() - t0
            tracker.evals_done += 1
            accuracy = val["metrics"]["accuracy"]
            tracker.val_accuracy = accuracy
            history.append(
                {
                    "seed": seed,
                    "epoch": epoch,
                    "train_loss": float(np.mean(losses)),
                    "val_accuracy": accuracy,
                    "val_loss": val["loss"],
                }
            )
            key = (accuracy, -val["loss"])
            if best is None or key > best["key"]:
                best = {
                    "key": key,
                    "seed": seed,
                    "epoch": epoch,
                    "validation": val["metrics"],
                    # A copy in memory: the best epoch's weights, whatever comes later.
                    "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
                }
            tracker.emit(
                "evaluating",
                f"Run {seed_index + 1}/{config.seeds}, epoch {epoch}: "
                f"validation accuracy {accuracy:.3f}",
            )

    tracker.check_stop()
    model.load_state_dict(best.pop("state"))
    tracker.emit("test", f"Testing the best run (seed {best['seed']}, epoch {best['epoch']})")
    t0 = time.perf_counter()
    test_metrics = (
        _evaluate(
            model,
            enc_test,
            test_codes,
            labels,
            pad_id=pad_id,
            device=device,
            precision=precision,
        )["metrics"]
        if test
        else None
    )
    test_s = time.perf_counter() - t0

    tracker.check_stop()
    tracker.emit("baseline", "Training the TF-IDF + logistic regression baseline")
    t0 = time.perf_counter()
    baseline = train_baseline(train, {"validation": validation, "test": test}, labels)
    baseline_s = time.perf_counter() - t0

    tracker.check_stop()
    tracker.emit("saving", "Saving the model")
    result = {
        "validation": best["validation"],
        "test": test_metrics,
        "baseline": baseline,
        "history": history,
        "best_seed": best["seed"],
        "best_epoch": best["epoch"],
        "config": config.to_dict(),
        "counts": {"train": len(train), "validation": len(validation), "test": len(test)},
        "device": device.type,
        "precision": precision,
        "timings": {
            "load_s": round(load_s, 3),
            "train_s": round(tracker.train_s, 3),
            "eval_s": round(tracker.eval_s + test_s, 3),
            "baseline_s": round(baseline_s, 3),
        },
    }
    label_map = {
        "labels": labels,
        "max_length": config.max_length,
        "precision": precision,
        "text_encoding": TEXT_ENCODING,
    }
    _save(model, tokenizer, label_map, result, out_dir, began)
    return result


def _save(model, tokenizer, label_map: dict, result: dict, out_dir: Path, began: float) -> None:
    """Write into a hidden sibling folder, then rename it into place in one step."""
    tmp = _temp_sibling(out_dir)
    try:
        t0 = time.perf_counter()
        tmp.mkdir()
        with quiet_transformers():
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
        (tmp / LABEL_MAP_FILE).write_text(json.dumps(label_map, indent=2))
        result["timings"]["save_s"] = round(time.perf_counter() - t0, 3)
        result["timings"]["total_s"] = round(time.perf_counter() - began, 3)
        (tmp / METRICS_FILE).write_text(json.dumps(result, indent=2))
        if out_dir.exists():
            raise FileExistsError(f"{out_dir} appeared while training")
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
