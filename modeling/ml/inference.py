"""Loading a trained model directory and classifying reports with its served candidate.

Imports torch and transformers: only Celery workers and management commands use this.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from .candidates import BERT, CANDIDATES, ENSEMBLE  # noqa: E402
from .device import pick_device, resolve_precision  # noqa: E402
from .registry import BATCH_SIZE, Batch, Candidate, members_of, servable  # noqa: E402

LABEL_MAP_FILE = "label_map.json"
log = logging.getLogger(__name__)


def served_candidate(model_dir: str | Path) -> str:
    """The candidate a model folder serves, without loading it (old folders serve BERT)."""
    label_map = json.loads((Path(model_dir) / LABEL_MAP_FILE).read_text())
    return label_map.get("served", BERT)


class Classifier:
    """A model folder written by ``training.train_model`` (or ``train_fast``), serving one
    of its candidates.

    By default the candidate the job chose (``served`` in label_map.json); a folder from
    before candidates existed serves its BERT. Only what the candidate is built from is
    loaded (registry.members_of): a TF-IDF-served version never loads the encoder.
    """

    def __init__(self, *, served: Candidate, members: Mapping[str, Candidate], labels,
                 max_length, device, precision):
        self.served = served
        self.members = dict(members)
        self.candidate = served.info.name
        self.labels = [int(c) for c in labels]
        self.max_length = int(max_length)
        self.device = device
        self.precision = precision

    @property
    def model(self):
        """The fine-tuned encoder, when the served candidate needs it (else None)."""
        return getattr(self.members.get(BERT), "model", None)

    @property
    def encoder_precision(self) -> str | None:
        """How the encoder runs ("fp32", "bf16", or "int8" where the folder says so), or None
        when the served candidate needs no encoder."""
        return getattr(self.members.get(BERT), "precision", None)

    @property
    def tokenizer(self):
        return getattr(self.members.get(BERT), "tokenizer", None)

    @property
    def bert_weight(self) -> float | None:
        """BERT's share of the ensemble, when the ensemble is loaded."""
        return getattr(self.members.get(ENSEMBLE), "bert_weight", None)

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        *,
        device: str | torch.device | None = None,
        precision: str = "auto",
        candidate: str | None = None,
    ) -> Classifier:
        model_dir = Path(model_dir)
        label_map = json.loads((model_dir / LABEL_MAP_FILE).read_text())
        candidate = candidate or served_candidate(model_dir)
        if candidate not in CANDIDATES:
            raise ValueError(f"unknown candidate {candidate!r}; one of {CANDIDATES}")
        needed = members_of(candidate)
        missing = [member.info for member in needed if not member.saved_in(model_dir)]
        if missing:
            can = ", ".join(repr(name) for name in servable(model_dir))
            raise ValueError(f"{model_dir} has no {missing[0].short_label} model; "
                             f"it can only serve {can}")
        device = torch.device(device) if device is not None else pick_device()
        precision = resolve_precision(precision, device)
        members: dict[str, Candidate] = {}
        for member in needed:
            members[member.info.name] = member.load(model_dir, label_map, device=device,
                                                    precision=precision, members=members)
        return cls(served=members[candidate], members=members, labels=label_map["labels"],
                   max_length=label_map["max_length"], device=device, precision=precision)

    def predict(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> list[dict]:
        """One dict per report, in input order.

        category: the predicted code; probabilities: {str(code): p}, calibrated on
        validation; margin: top-1 minus top-2 probability (small = uncertain); ms: this
        report's share of the model time (tokenising included).
        """
        batch = Batch(list(texts), batch_size=batch_size)
        probs = self.served.probabilities(batch)
        results = []
        for row, sec in zip(probs, batch.seconds, strict=True):
            top = np.argsort(row)[::-1]
            margin = float(row[top[0]] - row[top[1]]) if len(row) > 1 else 1.0
            results.append(
                {
                    "category": self.labels[int(top[0])],
                    "probabilities": {
                        str(code): float(p) for code, p in zip(self.labels, row, strict=True)
                    },
                    "margin": margin,
                    "ms": float(sec * 1000.0),
                }
            )
        return results


# How many loaded models a worker process keeps: the active version and the one it
# replaced (a promotion while calls are in flight), without holding every old BERT in memory.
CACHED_MODELS = 2
_cache: OrderedDict[tuple[str, int], Classifier] = OrderedDict()
_cache_lock = threading.Lock()


def cached_classifier(model_dir: str | Path) -> Classifier:
    """The model folder loaded once per worker process, for the classify endpoint: loading
    takes seconds (BERT), scoring one report milliseconds. Keyed by the folder and its
    label_map.json's modification time, so a folder written again is loaded again."""
    folder = Path(model_dir).resolve()
    key = (str(folder), (folder / LABEL_MAP_FILE).stat().st_mtime_ns)
    # One lock around the load too: two threads asking at once load the model once.
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        began = time.perf_counter()
        classifier = Classifier.load(folder)
        log.info("loaded model folder %s (%s) in %.2f s", folder, classifier.candidate,
                 time.perf_counter() - began)
        _cache[key] = classifier
        while len(_cache) > CACHED_MODELS:
            _cache.popitem(last=False)
        return classifier
