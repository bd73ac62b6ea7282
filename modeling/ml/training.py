"""Training the candidates of a job: every one in registry.REGISTRY (today fine-tuned
BERT, TF-IDF and their ensemble), calibrated and scored alike.

A full job fine-tunes the BERT encoder first (seeds, validation checks, early stopping,
with progress), then fits each registered candidate, the ones that need the encoder using
it; the fast path fits only those that do not. Plain Python (no Django): a Celery task or
management command calls ``train_model`` or ``train_fast`` and turns its progress
callbacks into database updates. Imports torch and transformers.
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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import PreTrainedTokenizerBase, get_linear_schedule_with_warmup  # noqa: E402

from .augment import augment  # noqa: E402
from .calibration import expected_calibration_error  # noqa: E402
from .candidates import BASELINE, select_served  # noqa: E402
from .coverage import tokenizer_coverage  # noqa: E402
from .device import (  # noqa: E402
    INT8,
    autocast,
    for_inference,
    pad_batch,
    pick_device,
    predict_logits,
    quiet_transformers,
    resolve_precision,
)
from .inference import LABEL_MAP_FILE  # noqa: E402
from .metrics import classification_metrics  # noqa: E402
from .recipe import (  # noqa: E402
    DEFAULT_EPOCHS,
    DEFAULT_MAX_LENGTH,
    DEFAULT_MAX_STEPS,
    DEFAULT_MIN_STEPS,
    DEFAULT_SEEDS,
)
from .registry import REGISTRY, Batch, Candidate, Encoder, Fitting, folder_settings  # noqa: E402
from .text import encode_texts  # noqa: E402

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
    # A job on a CPU without native bf16 serves its encoder int8-quantised
    # (device.quantise_int8), with the same accuracy on the demo and the independent English
    # set (docs/benchmarks.md, issue 20). Its validation and test figures are the quantised
    # encoder's. A GPU job keeps its precision (the quantised kernels are CPU-only), and so
    # does a CPU with native bf16, where bf16 is about twice as fast as int8. The training
    # host decides: its folder loads in bf16 only where the inference host has bf16 too
    # (fp32 elsewhere), so train where the model will be served.
    int8: bool = True
    seed: int = 42  # seed i of a job is seed + i
    min_steps: int = DEFAULT_MIN_STEPS
    max_steps: int = DEFAULT_MAX_STEPS
    # Validation checks per seed (at least this many, evenly spaced) and how many checks
    # without improvement end a seed early.
    checks: int = 3
    patience: int = 2
    # Share of training reports rewritten in another writing style each time they are drawn.
    augment: float = 0.5

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
        if not 0 <= self.augment <= 1:
            raise ValueError("augment must be in [0, 1]")
        if self.min_steps > self.max_steps or self.max_steps < 1:
            raise ValueError("need 0 <= min_steps <= max_steps and max_steps >= 1")
        if self.checks < 1 or self.patience < 1:
            raise ValueError("checks and patience must be >= 1")

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
    # Sticky for the whole job (the message changes every few steps): e.g. poor coverage.
    warning: str = ""


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

    def __init__(self, config, steps_per_seed, checks, on_progress, should_stop, n_val, n_test):
        self.config = config
        self.steps_per_seed = steps_per_seed
        self.total_steps = steps_per_seed * config.seeds
        self.checks = checks
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.step = 0
        self.seed_index = 0
        self.epoch = 0  # the validation check being worked towards (1..checks)
        self.train_s = 0.0
        self.eval_s = 0.0
        self.evals_done = 0
        self.n_val = max(n_val, 1)
        self.n_test = n_test
        self.loss: float | None = None
        self.val_accuracy: float | None = None
        self.warning = ""

    def check_stop(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise TrainingCancelled("training was cancelled")

    def skip_rest_of_seed(self, seed_index: int) -> None:
        # An early-stopped seed does not run its remaining steps; count them as done so
        # the bar and the ETA stay honest.
        self.step = (seed_index + 1) * self.steps_per_seed

    def eta(self) -> float | None:
        if self.step == 0:
            return None
        per_step = self.train_s / self.step
        evals_total = self.config.seeds * self.checks
        per_eval = self.eval_s / self.evals_done if self.evals_done else per_step * 2
        test_eval = per_eval * self.n_test / self.n_val
        remaining = (
            (self.total_steps - self.step) * per_step
            + max(evals_total - self.evals_done, 0) * per_eval
            + test_eval
            + 10.0  # TF-IDF candidate, calibration and saving
        )
        return max(remaining, 0.0)

    def emit(self, phase: str, message: str) -> None:
        if self.on_progress is None:
            return
        self.on_progress(
            Progress(
                phase=phase, seed_index=self.seed_index, seeds=self.config.seeds,
                epoch=self.epoch, epochs=self.checks, step=self.step,
                total_steps=self.total_steps, loss=self.loss, val_accuracy=self.val_accuracy,
                eta_seconds=self.eta(), message=message, warning=self.warning,
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


def _logits(model, encoded, data) -> np.ndarray:
    """Logits of the model as it is served (bf16 copy where bf16 is the precision)."""
    served = for_inference(model, data.precision, copy=True)
    logits, _ = predict_logits(served, encoded, pad_id=data.pad_id, device=data.device,
                               precision=data.precision, batch_size=64)
    del served
    return logits


def _score(logits: np.ndarray, codes, labels) -> dict:
    index = {code: i for i, code in enumerate(labels)}
    predicted = [labels[i] for i in logits.argmax(axis=1)] if len(codes) else []
    loss = None
    if len(codes):
        target = torch.tensor([index[c] for c in codes])
        loss = float(torch.nn.functional.cross_entropy(torch.from_numpy(logits), target))
    return {"metrics": classification_metrics(codes, predicted, labels), "loss": loss}


def steps_per_seed(n_train: int, config: TrainConfig) -> int:
    """Optimiser steps of one seed: ``epochs`` passes, held between min_steps and max_steps."""
    nominal = math.ceil(n_train / config.batch_size) * config.epochs
    return max(config.min_steps, min(config.max_steps, nominal)) or 1


def _temp_sibling(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.tmp-{secrets.token_hex(6)}"


def _checked_start(train, validation, test, labels, out_dir) -> tuple[list[int], Path]:
    """What every job checks before it trains: the data, and a model folder not yet taken."""
    labels = [int(c) for c in labels]
    check_training_data(train, validation, test, labels)
    out_dir = Path(out_dir)
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} already exists")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return labels, out_dir


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
    """Train every candidate, pick the one to serve on validation, test them all, save.

    BERT runs ``config.seeds`` times and keeps its best validation check; then every
    registered candidate is fit (the ones that need the encoder use that BERT), each
    calibrated on validation. The model directory appears at ``out_dir`` only when
    everything succeeded; on any error (cancellation included) nothing is left behind.
    Returns the metrics dict that is also written to ``out_dir/metrics.json``.
    """
    began = time.perf_counter()
    labels, out_dir = _checked_start(train, validation, test, labels, out_dir)

    previous_threads = torch.get_num_threads()
    device = pick_device()
    if device.type == "cpu":
        torch.set_num_threads(_cpu_threads())
    try:
        data = _encode(base_model, train, validation, test, labels, config, device)
        tracker = _Tracker(config, steps_per_seed(len(train), config), config.checks,
                           on_progress, should_stop, len(validation), len(test))
        timings = {"train_s": 0.0, "eval_s": 0.0, "load_s": time.perf_counter() - began}
        tracker.warning = data.coverage["warning"]
        tracker.emit("loading", _coverage_message(data.coverage))
        bert = _fine_tune(base_model, data, config, tracker)
        timings["eval_s"] = tracker.eval_s
        tracker.emit("test", f"Testing the best run (seed {bert['seed']}, check {bert['epoch']})")
        encoder = Encoder(model=bert["model"], tokenizer=data.tokenizer,
                          max_length=config.max_length, device=data.device,
                          precision=data.precision, int8=_serves_int8(config, data))
        splits = {"validation": Batch([t for t, _ in validation], encoded=data.enc_val),
                  "test": Batch([t for t, _ in test], encoded=data.enc_test)}
        fitted, scores = _fit_candidates(Fitting(labels, train, encoder), splits,
                                         _codes(validation, test), tracker, timings)
        result = _result(bert, scores, data, config, tracker, timings)
        label_map = {"labels": labels, "max_length": config.max_length,
                     "precision": data.precision, "text_encoding": TEXT_ENCODING,
                     "served": result["served"], **folder_settings(fitted)}
        tracker.check_stop()
        tracker.emit("saving", "Saving the model")
        _save(fitted.values(), label_map, result, out_dir, began)
        return result
    finally:
        torch.set_num_threads(previous_threads)


class _OneStep:
    """The progress of a job with no fine-tuning: phases only, nothing to count or cancel."""

    def __init__(self, on_progress: Callable[[Progress], None] | None):
        self.on_progress = on_progress

    def check_stop(self) -> None:
        pass

    def emit(self, phase: str, message: str) -> None:
        if self.on_progress:
            self.on_progress(Progress(phase, 0, 1, 1, 1, 0, 0, None, None, None, message))


def train_fast(
    *,
    train: list[tuple[str, int]],
    validation: list[tuple[str, int]],
    test: list[tuple[str, int]],
    labels: list[int],
    out_dir: str | Path,
    on_progress: Callable[[Progress], None] | None = None,
) -> dict:
    """The fast path: the candidates that need no encoder (TF-IDF), seconds on 2 cores, so
    that a project has suggestions from its first labels and between full retrains.
    Calibrated and scored on validation like every candidate, saved as a model folder that
    serves one of them (no encoder is loaded or written), and promoted through the same
    gate as a full job."""
    began = time.perf_counter()
    labels, out_dir = _checked_start(train, validation, test, labels, out_dir)
    progress = _OneStep(on_progress)
    splits = {"validation": Batch([t for t, _ in validation]),
              "test": Batch([t for t, _ in test])}
    timings: dict[str, float] = {}
    fitted, scores = _fit_candidates(Fitting(labels, train), splits, _codes(validation, test),
                                     progress, timings)
    served = select_served({name: c["validation"]["accuracy"] for name, c in scores.items()})
    result = {
        "served": served, "fast": True,
        "validation": scores[served]["validation"], "test": scores[served]["test"],
        "candidates": scores, "baseline": _baseline(scores),
        "history": [], "counts": {"train": len(train), "validation": len(validation),
                                  "test": len(test)},
        "device": "cpu", "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    label_map = {"labels": labels, "max_length": DEFAULT_MAX_LENGTH, "precision": "fp32",
                 "text_encoding": TEXT_ENCODING, "served": served, **folder_settings(fitted)}
    progress.emit("saving", "Saving the model")
    _save(fitted.values(), label_map, result, out_dir, began)
    return result


def _coverage_message(coverage: dict) -> str:
    if coverage["poor"]:
        return "Warning: " + coverage["warning"]
    return (f"Tokenizer coverage: {coverage['unk_rate']:.1%} unknown tokens, "
            f"{coverage['chars_per_token']:.1f} characters per token")


@dataclass(frozen=True)
class _Data:
    """Everything the fine-tuning phases share: token ids, targets, the tokenizer and where
    it runs."""

    tokenizer: PreTrainedTokenizerBase
    pad_id: int
    labels: list[int]
    device: torch.device
    precision: str  # "fp32" or "bf16", resolved for the device
    train: list[Example]
    validation: list[Example]
    test: list[Example]
    train_texts: list[str]
    enc_train: list[list[int]]
    lengths: list[int]  # of enc_train, for length-grouped batches
    enc_val: list[list[int]]
    enc_test: list[list[int]]
    y_train: torch.Tensor  # label indices of the training reports
    val_codes: list[int]
    test_codes: list[int]
    coverage: dict  # coverage.tokenizer_coverage of the training reports


def _encode(base_model, train, validation, test, labels, config, device) -> _Data:
    from transformers import AutoTokenizer

    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(base_model)
    train_texts = [t for t, _ in train]
    index = {code: i for i, code in enumerate(labels)}
    enc_train = encode_texts(train_texts, tokenizer, config.max_length)
    return _Data(
        tokenizer=tokenizer, pad_id=tokenizer.pad_token_id or 0, labels=labels,
        device=device, precision=resolve_precision(config.precision, device),
        train=train, validation=validation, test=test, train_texts=train_texts,
        enc_train=enc_train, lengths=[len(ids) for ids in enc_train],
        enc_val=encode_texts([t for t, _ in validation], tokenizer, config.max_length),
        enc_test=encode_texts([t for t, _ in test], tokenizer, config.max_length),
        y_train=torch.tensor([index[c] for _, c in train]),
        val_codes=[c for _, c in validation], test_codes=[c for _, c in test],
        coverage=tokenizer_coverage(tokenizer, train_texts),
    )


def _fine_tune(base_model, data: _Data, config: TrainConfig, tracker: _Tracker) -> dict:
    """Every seed; returns the model at the best validation check of all of them."""
    history: list[dict] = []
    best: dict | None = None
    model = None
    for seed_index in range(config.seeds):
        tracker.seed_index, tracker.epoch = seed_index, 0
        tracker.check_stop()
        tracker.emit("loading", f"Loading base model (run {seed_index + 1}/{config.seeds})")
        model = None  # free the previous run's weights before loading the next
        model = _load_model(base_model, data.labels, config.seed + seed_index,
                            config.freeze_embeddings).to(data.device)
        best = _one_seed(model, seed_index, data, config, tracker, history, best)
    tracker.check_stop()
    model.load_state_dict(best.pop("state"))
    best.update(model=model, history=history)
    return best


def _batches(data: _Data, config: TrainConfig, rng: np.random.Generator):
    """Length-grouped batches, pass after pass, for as long as the caller draws."""
    while True:
        yield from _length_grouped_batches(data.lengths, config.batch_size, rng)


def _batch_ids(batch, data: _Data, config: TrainConfig, text_rng: random.Random):
    """Token ids of one batch; a share of the reports rewritten in another writing style."""
    if config.augment <= 0:
        return [data.enc_train[i] for i in batch]
    ids = [None] * len(batch)
    rewrite = [j for j in range(len(batch)) if text_rng.random() < config.augment]
    if rewrite:
        texts = [augment(data.train_texts[batch[j]], text_rng) for j in rewrite]
        for j, encoded in zip(rewrite, encode_texts(texts, data.tokenizer, config.max_length),
                              strict=True):
            ids[j] = encoded
    return [ids[j] if ids[j] is not None else data.enc_train[i] for j, i in enumerate(batch)]


def _one_seed(model, seed_index, data, config, tracker, history, best) -> dict:
    seed = config.seed + seed_index
    steps = tracker.steps_per_seed
    check_at = {round(steps * k / tracker.checks) for k in range(1, tracker.checks + 1)}
    optimizer = _optimizer(model, config)
    scheduler = get_linear_schedule_with_warmup(optimizer, round(config.warmup_ratio * steps),
                                                steps)
    weights = (_class_weights([c for _, c in data.train], data.labels).to(data.device)
               if config.class_weighting else None)
    batches = _batches(data, config, np.random.default_rng(seed))
    text_rng = random.Random(seed)
    losses: list[float] = []
    seed_best, stale = None, 0
    for step in range(1, steps + 1):
        if step == 1 or step - 1 in check_at:
            tracker.epoch += 1
            model.train()
        tracker.check_stop()
        t0 = time.perf_counter()
        losses.append(_train_step(model, next(batches), data, config, optimizer, scheduler,
                                  weights, text_rng))
        tracker.step += 1
        tracker.loss = float(np.mean(losses[-PROGRESS_EVERY_STEPS:]))
        tracker.train_s += time.perf_counter() - t0
        if tracker.step % PROGRESS_EVERY_STEPS == 0:
            tracker.emit("training", f"Fine-tuning BERT, run {seed_index + 1} of {config.seeds}")
        if step not in check_at:
            continue
        row = _check(model, seed, step, losses, data, tracker)
        history.append(row)
        key = (row["val_accuracy"], -row["val_loss"])
        if best is None or key > best["key"]:
            best = {"key": key, "seed": seed, "epoch": tracker.epoch, "step": step,
                    # A copy in memory: the best check's weights, whatever comes later.
                    "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}
        stale = 0 if seed_best is None or key > seed_best else stale + 1
        seed_best = key if seed_best is None or key > seed_best else seed_best
        losses = []
        if stale >= config.patience and step < steps:
            tracker.emit("evaluating", f"Run {seed_index + 1}: no better on validation for "
                         f"{stale} checks; stopping this run early")
            break
    tracker.skip_rest_of_seed(seed_index)
    return best


def _train_step(model, batch, data, config, optimizer, scheduler, weights, text_rng) -> float:
    ids, mask = pad_batch(_batch_ids(batch, data, config, text_rng), data.pad_id, data.device)
    with autocast(data.device, data.precision):
        logits = model(input_ids=ids, attention_mask=mask).logits
    loss = torch.nn.functional.cross_entropy(logits.float(), data.y_train[batch].to(data.device),
                                             weight=weights)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


def _check(model, seed, step, losses, data, tracker) -> dict:
    tracker.check_stop()
    tracker.emit("evaluating", f"Validation check {tracker.epoch} of run {tracker.seed_index + 1}")
    t0 = time.perf_counter()
    val = _score(_logits(model, data.enc_val, data), data.val_codes, data.labels)
    tracker.eval_s += time.perf_counter() - t0
    tracker.evals_done += 1
    accuracy = val["metrics"]["accuracy"]
    tracker.val_accuracy = accuracy
    tracker.emit("evaluating", f"Validation check {tracker.epoch} of run "
                 f"{tracker.seed_index + 1}: accuracy {accuracy:.3f}")
    model.train()
    return {"seed": seed, "epoch": tracker.epoch, "step": step,
            "train_loss": float(np.mean(losses)) if losses else None,
            "val_accuracy": accuracy, "val_loss": val["loss"]}


def _codes(validation: Sequence[Example], test: Sequence[Example]) -> dict[str, list[int]]:
    return {"validation": [c for _, c in validation], "test": [c for _, c in test]}


def _fit_candidates(job: Fitting, splits: dict[str, Batch], codes: dict[str, list[int]],
                    progress, timings: dict[str, float]):
    """Fit every registered candidate the job can (those that need the encoder only when it
    has one), in registry order so a combination comes after its members; calibrate each on
    validation and score it on validation and test. Time on candidates that need the encoder
    counts as evaluating it (eval_s), the rest as the baseline's (baseline_s)."""
    index = {code: i for i, code in enumerate(job.labels)}
    targets = np.asarray([index[c] for c in codes["validation"]], dtype=np.int64)
    fitted: dict[str, Candidate] = {}
    scores: dict[str, dict] = {}
    for kind in REGISTRY:
        info = kind.info
        if info.needs_encoder and job.encoder is None:
            continue
        progress.check_stop()
        if not info.needs_encoder:
            progress.emit("baseline", f"Training the {info.label} candidate")
        began = time.perf_counter()
        candidate = fitted[info.name] = kind.fit(job, fitted)
        candidate.calibrate(splits["validation"], targets)
        scores[info.name] = _candidate_scores(candidate, splits, codes, job.labels)
        timing = "eval_s" if info.needs_encoder else "baseline_s"
        timings[timing] = timings.get(timing, 0.0) + time.perf_counter() - began
    return fitted, scores


def _candidate_scores(candidate: Candidate, splits: dict[str, Batch],
                      codes: dict[str, list[int]], labels: list[int]) -> dict:
    index = {code: i for i, code in enumerate(labels)}
    out = {"temperature": candidate.temperature}
    for split in ("validation", "test"):
        if not codes[split]:
            out[split], out[f"ece_{split}"] = None, None
            continue
        probs = candidate.probabilities(splits[split])
        predicted = [labels[i] for i in probs.argmax(axis=1)]
        out[split] = classification_metrics(codes[split], predicted, labels)
        out[f"ece_{split}"] = expected_calibration_error(probs, [index[c] for c in codes[split]])
    out.update(candidate.summary())
    return out


def _baseline(scores: dict[str, dict]) -> dict:
    # The TF-IDF candidate under its historical name, for pages and scripts that read it.
    return {split: scores[BASELINE][split] for split in ("validation", "test")}


def _result(bert, scores, data, config, tracker, timings) -> dict:
    served = select_served({n: c["validation"]["accuracy"] for n, c in scores.items()},
                           poor_coverage=data.coverage["poor"])
    timings = {k: round(v, 3) for k, v in timings.items()}
    timings["train_s"] = round(tracker.train_s, 3)
    return {
        "served": served,
        "validation": scores[served]["validation"],
        "test": scores[served]["test"],
        "candidates": scores,
        "baseline": _baseline(scores),
        "coverage": data.coverage,
        "history": bert["history"],
        "best_seed": bert["seed"],
        "best_epoch": bert["epoch"],
        "best_step": bert["step"],
        "steps_per_seed": tracker.steps_per_seed,
        "config": config.to_dict(),
        "counts": {"train": len(data.train), "validation": len(data.validation),
                   "test": len(data.test)},
        "device": data.device.type,
        "precision": data.precision,
        # What the stored BERT and ensemble figures were computed with: the served encoder.
        "encoder_precision": INT8 if _serves_int8(config, data) else data.precision,
        "timings": timings,
    }


def _serves_int8(config: TrainConfig, data: _Data) -> bool:
    # Not where the CPU runs bf16 natively (AVX-512 bf16, AMX): there the bf16 encoder
    # pre-labels about twice as fast as the int8 one (docs/benchmarks.md, issue 20).
    return config.int8 and data.device.type == "cpu" and data.precision != "bf16"


def _save(candidates: Iterable[Candidate], label_map: dict, result: dict, out_dir: Path,
          began: float) -> None:
    """Write into a hidden sibling folder, then rename it into place in one step."""
    tmp = _temp_sibling(out_dir)
    try:
        t0 = time.perf_counter()
        tmp.mkdir()
        for candidate in candidates:
            candidate.save(tmp)
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
