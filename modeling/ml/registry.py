"""How each candidate is fit, scores reports, is calibrated, saved and loaded: one protocol,
and the registry training and inference iterate over.

candidates.py names the candidates (torch-free, for the web pages); this module imports
torch through device.py, so only workers and management commands use it. A new candidate
is a CandidateInfo in candidates.CATALOGUE and a class here in REGISTRY (same order):
training fits, calibrates, scores and saves it, the Models page lists it, and a folder can
serve it, with no other change. A candidate may combine earlier ones (``built_from``), as
the ensemble does; one that ``needs_encoder`` uses the BERT encoder the job fine-tuned
(training.py searches seeds and checks once per job, with its progress) and is skipped by
the fast path, which fine-tunes nothing.

A model folder holds each fitted candidate's files (the encoder's Hugging Face files,
tfidf.joblib) and label_map.json with the settings they load with: ``temperatures`` of the
temperature-scaled ones, ``ensemble_bert_weight``. Folders written before a candidate
existed load as they always did (see ``saved_in`` and the defaults of ``load``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from .calibration import (
    MIN_NETWORK_TEMPERATURE,
    MIN_TEMPERATURE,
    fit_ensemble_weight,
    fit_temperature,
    scaled_softmax,
)
from .candidates import BERT, CATALOGUE, ENSEMBLE, INFO, TFIDF, CandidateInfo, decided_without_bert
from .candidates import ensemble_probabilities as _ensemble_probabilities
from .coverage import unreadable_reports
from .device import CPU, INT8, for_inference, predict_logits, quiet_transformers
from .text import encode_texts
from .tfidf import TFIDF_FILE, TfidfModel

ENCODER_FILE = "config.json"  # written by save_pretrained beside the weights
# Reports per forward pass of the encoder, in training's evaluation and in serving alike:
# an int8 encoder's activation scales are set per batch, so the same reports in the same
# batches give the same figures (device.quantise_int8). On 2 cores 64 is as fast as 16.
BATCH_SIZE = 64


@dataclass
class Batch:
    """Reports scored together, and what the candidates work out from them once: token ids
    and which reports the tokenizer cannot read (``encoded`` may come ready from the job),
    each candidate's logits, and each report's share of the model time (``seconds``)."""

    texts: list[str]
    encoded: list[list[int]] | None = None
    unreadable: np.ndarray | None = None
    batch_size: int = BATCH_SIZE  # reports per forward pass of the encoder
    seconds: np.ndarray = field(init=False)
    _logits: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.seconds = np.zeros(len(self.texts), dtype=np.float64)

    def logits_of(self, candidate: Candidate) -> np.ndarray:
        """The candidate's logits for these reports, computed once."""
        name = candidate.info.name
        if name not in self._logits:
            self._logits[name] = candidate.logits(self)
        return self._logits[name]

    def subset(self, keep: np.ndarray) -> Batch:
        """The reports where ``keep`` is true, with their token ids and readability if
        already worked out; their model time is added back to this batch's reports by
        ``add_subset_time``. Logits are not carried over: an int8 encoder's depend on which
        reports share its batches, and a job must score the subset as a worker will."""
        index = np.flatnonzero(keep)
        return Batch([self.texts[i] for i in index],
                     encoded=None if self.encoded is None else [self.encoded[i] for i in index],
                     unreadable=None if self.unreadable is None else self.unreadable[index],
                     batch_size=self.batch_size)

    def add_subset_time(self, keep: np.ndarray, part: Batch) -> None:
        self.seconds[np.flatnonzero(keep)] += part.seconds

    def add_time(self, began: float) -> None:
        """Share the seconds since ``began`` equally among the reports."""
        self.seconds += (time.perf_counter() - began) / max(len(self.texts), 1)


@dataclass(frozen=True)
class Encoder:
    """The BERT a job fine-tuned (its best validation check), where and how it runs."""

    model: Any  # transformers' AutoModelForSequenceClassification, fp32, as trained
    tokenizer: Any
    max_length: int
    device: Any  # torch.device
    precision: str
    # Serve (and so evaluate) the encoder int8-quantised on the CPU (device.quantise_int8).
    int8: bool = False


@dataclass(frozen=True)
class Fitting:
    """What a candidate is fit on: the training split, and the job's encoder if it has one."""

    labels: list[int]
    train: list[tuple[str, int]]
    encoder: Encoder | None = None  # None on the fast path


class Candidate(Protocol):
    """One model a training job fits and a model folder serves."""

    info: ClassVar[CandidateInfo]  # name, display name, needs_encoder, built_from
    # label_map.json's entries for a folder whose job did not fit this candidate.
    unfitted_settings: ClassVar[dict[str, Any]]
    temperature: float | None  # None: not temperature-scaled

    @classmethod
    def fit(cls, job: Fitting, fitted: Mapping[str, Candidate]) -> Candidate:
        """Fit on ``job``; ``fitted`` holds the candidates before it in REGISTRY."""
        ...

    def logits(self, batch: Batch) -> np.ndarray:
        """(reports, labels) scores in label order, before calibration; softmax of them is
        this candidate's uncalibrated probabilities. Adds its model time to the batch."""
        ...

    def calibrate(self, validation: Batch, targets: np.ndarray) -> None:
        """Fit the calibration (a temperature, a weight) on the validation split."""
        ...

    def probabilities(self, batch: Batch) -> np.ndarray:
        """Calibrated probabilities, (reports, labels): what is served and scored."""
        ...

    def summary(self) -> dict[str, Any]:
        """Entries for the job's metrics beside the scores (e.g. the ensemble's weight)."""
        ...

    def settings(self) -> dict[str, Any]:
        """Entries for label_map.json that ``load`` reads back (beyond its temperature)."""
        ...

    def save(self, folder: Path) -> None:
        """Write this candidate's own files into a model folder."""
        ...

    @classmethod
    def saved_in(cls, folder: Path) -> bool:
        """Whether ``folder`` holds what this candidate loads from."""
        ...

    @classmethod
    def load(cls, folder: Path, label_map: dict, *, device: Any, precision: str,
             members: Mapping[str, Candidate]) -> Candidate:
        """The candidate as saved in ``folder``; ``members`` holds its ``built_from``."""
        ...


def _temperature(label_map: dict, name: str) -> float:
    return (label_map.get("temperatures") or {}).get(name, 1.0)


class _TemperatureScaled:
    """A candidate calibrated by one temperature on its logits (Guo et al., 2017)."""

    info: ClassVar[CandidateInfo]
    unfitted_settings: ClassVar[dict[str, Any]] = {}
    temperature_floor: ClassVar[float] = MIN_TEMPERATURE
    temperature: float | None

    def logits(self, batch: Batch) -> np.ndarray:
        raise NotImplementedError

    def calibrate(self, validation: Batch, targets: np.ndarray) -> None:
        self.temperature = fit_temperature(validation.logits_of(self), targets,
                                           minimum=self.temperature_floor)

    def probabilities(self, batch: Batch) -> np.ndarray:
        return scaled_softmax(batch.logits_of(self), self.temperature)

    def summary(self) -> dict[str, Any]:
        return {}

    def settings(self) -> dict[str, Any]:
        return {}


class FineTunedBert(_TemperatureScaled):
    """The job's fine-tuned BERT, scored as it is served (bf16 weights where bf16 is the
    precision, int8 Linear layers on the CPU where the job chose int8), and only ever
    softened by its temperature.

    An int8 encoder is saved in fp32 with ``encoder_precision: "int8"`` in label_map.json
    and quantised again on loading: quantising is deterministic, so the folder serves the
    very model whose validation and test figures the job stored. Folders without the key
    load as before.
    """

    info = INFO[BERT]
    temperature_floor = MIN_NETWORK_TEMPERATURE

    def __init__(self, *, model, tokenizer, max_length: int, device, precision: str,
                 temperature: float = 1.0, served=None):
        self.model = model  # saved as it is
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.device = device
        self.precision = precision
        self.temperature = temperature
        self._served = served if served is not None else for_inference(model, precision,
                                                                       copy=True)

    @classmethod
    def fit(cls, job: Fitting, fitted: Mapping[str, Candidate]) -> FineTunedBert:
        if job.encoder is None:
            raise ValueError("the BERT candidate needs the job's fine-tuned encoder")
        encoder = job.encoder
        if encoder.int8:
            return cls(model=encoder.model, tokenizer=encoder.tokenizer,
                       max_length=encoder.max_length, device=CPU, precision=INT8)
        return cls(model=encoder.model, tokenizer=encoder.tokenizer,
                   max_length=encoder.max_length, device=encoder.device,
                   precision=encoder.precision)

    def settings(self) -> dict[str, Any]:
        return {"encoder_precision": INT8} if self.precision == INT8 else {}

    def encode(self, batch: Batch) -> list[list[int]]:
        """The batch's token ids; tokenising counts as model time."""
        if batch.encoded is None:
            began = time.perf_counter()
            batch.encoded = encode_texts(batch.texts, self.tokenizer, self.max_length)
            batch.unreadable = unreadable_reports(batch.encoded, self.tokenizer.unk_token_id)
            batch.add_time(began)
        return batch.encoded

    def unreadable(self, batch: Batch) -> np.ndarray:
        """Per report, whether the tokenizer reads it as mostly [UNK]."""
        if batch.unreadable is None:
            batch.unreadable = unreadable_reports(self.encode(batch), self.tokenizer.unk_token_id)
        return batch.unreadable

    def logits(self, batch: Batch) -> np.ndarray:
        logits, seconds = predict_logits(
            self._served, self.encode(batch), pad_id=self.tokenizer.pad_token_id or 0,
            device=self.device, precision=self.precision, batch_size=batch.batch_size,
        )
        batch.seconds += seconds
        return logits

    def save(self, folder: Path) -> None:
        with quiet_transformers():
            self.model.save_pretrained(folder)
            self.tokenizer.save_pretrained(folder)

    @classmethod
    def saved_in(cls, folder: Path) -> bool:
        return (folder / ENCODER_FILE).is_file()

    @classmethod
    def load(cls, folder: Path, label_map: dict, *, device: Any, precision: str,
             members: Mapping[str, Candidate]) -> FineTunedBert:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(folder)
            model = AutoModelForSequenceClassification.from_pretrained(folder)
        if label_map.get("encoder_precision") == INT8:
            # As the job evaluated it, whatever this worker's device or precision.
            device, precision = CPU, INT8
        model = for_inference(model.to(device), precision, copy=False).eval()
        n_labels = len(label_map["labels"])
        if model.config.num_labels != n_labels:
            raise ValueError(
                f"{folder}: model has {model.config.num_labels} outputs "
                f"but label_map.json lists {n_labels} categories"
            )
        return cls(model=model, tokenizer=tokenizer, max_length=label_map["max_length"],
                   device=device, precision=precision,
                   temperature=_temperature(label_map, BERT), served=model)


class TfidfCandidate(_TemperatureScaled):
    """TF-IDF over n-grams and concepts with logistic regression (tfidf.py): reads any
    script, needs no encoder, fits in seconds."""

    info = INFO[TFIDF]

    def __init__(self, model: TfidfModel, temperature: float = 1.0):
        self.model = model
        self.temperature = temperature

    @classmethod
    def fit(cls, job: Fitting, fitted: Mapping[str, Candidate]) -> TfidfCandidate:
        return cls(TfidfModel.fit([t for t, _ in job.train], [c for _, c in job.train],
                                  job.labels))

    def logits(self, batch: Batch) -> np.ndarray:
        began = time.perf_counter()
        logits = self.model.logits(batch.texts)
        batch.add_time(began)
        return logits

    def save(self, folder: Path) -> None:
        self.model.save(folder)

    @classmethod
    def saved_in(cls, folder: Path) -> bool:
        return (folder / TFIDF_FILE).exists()

    @classmethod
    def load(cls, folder: Path, label_map: dict, *, device: Any, precision: str,
             members: Mapping[str, Candidate]) -> TfidfCandidate:
        return cls(TfidfModel.load(folder), _temperature(label_map, TFIDF))


class Ensemble:
    """The weighted mean of BERT's and TF-IDF's calibrated probabilities, BERT's share
    fitted on validation (calibration.fit_ensemble_weight); TF-IDF's alone for a report the
    tokenizer cannot read (candidates.ensemble_probabilities).

    With ``skip_decided`` (what a job fits since issue 20), BERT is asked only about the
    reports whose category its share could change (candidates.decided_without_bert); the
    others keep TF-IDF's probabilities, as unreadable reports do. Every figure a job stores
    is computed through this same method, so what is served is what was evaluated, and
    the categories are the full ensemble's. Folders written before load without it."""

    info = INFO[ENSEMBLE]
    # A folder without an ensemble records a share of 0.0, as fast folders always have.
    unfitted_settings: ClassVar[dict[str, Any]] = {"ensemble_bert_weight": 0.0}
    temperature = None  # its members are calibrated; the mean needs no temperature

    def __init__(self, bert: FineTunedBert, tfidf: TfidfCandidate, bert_weight: float = 0.5,
                 skip_decided: bool = False):
        self.bert = bert
        self.tfidf = tfidf
        self.bert_weight = float(bert_weight)
        self.skip_decided = bool(skip_decided)

    @classmethod
    def fit(cls, job: Fitting, fitted: Mapping[str, Candidate]) -> Ensemble:
        return cls(fitted[BERT], fitted[TFIDF], skip_decided=True)

    def logits(self, batch: Batch) -> np.ndarray:
        # Log-probabilities: their softmax is the ensemble's (already calibrated) mean.
        return np.log(np.maximum(self.probabilities(batch), np.finfo(np.float64).tiny))

    def calibrate(self, validation: Batch, targets: np.ndarray) -> None:
        # Only the reports BERT can read: on the others the ensemble is TF-IDF alone.
        readable = ~self.bert.unreadable(validation)
        self.bert_weight = fit_ensemble_weight(
            self.bert.probabilities(validation)[readable],
            self.tfidf.probabilities(validation)[readable],
            np.asarray(targets, dtype=np.int64)[readable])

    def probabilities(self, batch: Batch) -> np.ndarray:
        tfidf = self.tfidf.probabilities(batch)
        if not self.skip_decided:
            return _ensemble_probabilities(self.bert.probabilities(batch), tfidf,
                                           self.bert.unreadable(batch), self.bert_weight)
        asked = ~decided_without_bert(tfidf, self.bert_weight)
        probs = np.array(tfidf, dtype=np.float64)
        if asked.any():
            part = batch.subset(asked)
            probs[asked] = _ensemble_probabilities(
                self.bert.probabilities(part), tfidf[asked], self.bert.unreadable(part),
                self.bert_weight)
            batch.add_subset_time(asked, part)
        return probs

    def summary(self) -> dict[str, Any]:
        return {"bert_weight": round(self.bert_weight, 4), "skip_decided": self.skip_decided}

    def settings(self) -> dict[str, Any]:
        return {"ensemble_bert_weight": self.bert_weight,
                "ensemble_skips_decided": self.skip_decided}

    def save(self, folder: Path) -> None:
        pass  # nothing of its own: its share is a setting in label_map.json

    @classmethod
    def saved_in(cls, folder: Path) -> bool:
        return True

    @classmethod
    def load(cls, folder: Path, label_map: dict, *, device: Any, precision: str,
             members: Mapping[str, Candidate]) -> Ensemble:
        # Folders from before the fitted weight averaged the members equally.
        return cls(members[BERT], members[TFIDF], label_map.get("ensemble_bert_weight", 0.5),
                   skip_decided=label_map.get("ensemble_skips_decided", False))


REGISTRY: tuple[type[Candidate], ...] = (FineTunedBert, TfidfCandidate, Ensemble)
if tuple(candidate.info for candidate in REGISTRY) != CATALOGUE:
    raise ImportError("registry.REGISTRY must list one class per candidates.CATALOGUE entry, "
                      "in the same order")
BY_NAME: dict[str, type[Candidate]] = {candidate.info.name: candidate for candidate in REGISTRY}


def members_of(name: str) -> list[type[Candidate]]:
    """What serving ``name`` loads: the candidates it is built from, then itself."""
    needed = {name}
    for candidate in reversed(REGISTRY):  # a candidate is built only from earlier ones
        if candidate.info.name in needed:
            needed.update(candidate.info.built_from)
    return [candidate for candidate in REGISTRY if candidate.info.name in needed]


def servable(folder: Path) -> list[str]:
    """The candidates a model folder holds everything for."""
    return [candidate.info.name for candidate in REGISTRY
            if all(member.saved_in(folder) for member in members_of(candidate.info.name))]


def folder_settings(fitted: Mapping[str, Candidate]) -> dict[str, Any]:
    """label_map.json's entries for a job's fitted candidates: each temperature, and what
    else each one loads with."""
    settings: dict[str, Any] = {"temperatures": {
        name: candidate.temperature for name, candidate in fitted.items()
        if candidate.temperature is not None}}
    for candidate in REGISTRY:
        name = candidate.info.name
        settings.update(fitted[name].settings() if name in fitted
                        else candidate.unfitted_settings)
    return settings
