"""Train the default recipe on the demo cohort with the real MiniLM weights, and time it.

    .venv/bin/python bench/train_demo.py [--out DIR] [--epochs N --seeds N ...]

Prints progress lines, then one JSON line with the served candidate's test accuracy
(+ exact 95% CI) and macro F1, every candidate's validation and test accuracy and ECE,
the timings, and pre-labelling throughput of the served candidate (Classifier.predict over
all 1605 reports, model loading timed apart).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from ctir_demo.cohort import generate_cohort  # noqa: E402
from modeling.ml.inference import Classifier  # noqa: E402
from modeling.ml.training import Progress, TrainConfig, train_model  # noqa: E402
from tests.tiny_models import minilm_path  # noqa: E402


def _print_progress(p: Progress) -> None:
    eta = f"{p.eta_seconds:.0f}s" if p.eta_seconds is not None else "?"
    loss = f"{p.loss:.3f}" if p.loss is not None else "-"
    print(
        f"[{p.phase:10}] seed {p.seed_index + 1}/{p.seeds} epoch {p.epoch}/{p.epochs} "
        f"step {p.step}/{p.total_steps} loss {loss} eta {eta} | {p.message}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="model folder (default: a temporary one)")
    types = {"int": int, "float": float, "str": str}
    for field in dataclasses.fields(TrainConfig):
        flag = f"--{field.name.replace('_', '-')}"
        if field.type == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction)
        else:
            parser.add_argument(flag, type=types[field.type])
    args = parser.parse_args()
    overrides = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainConfig)
        if getattr(args, f.name, None) is not None
    }
    config = TrainConfig(**overrides)

    rows = generate_cohort()
    splits = {
        name: [(r.text, r.label) for r in rows if r.split == name]
        for name in ("train", "validation", "test")
    }
    print({name: len(split) for name, split in splits.items()}, config.to_dict(), flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.out or Path(tmp) / "model"
        result = train_model(
            base_model=minilm_path(),
            train=splits["train"],
            validation=splits["validation"],
            test=splits["test"],
            labels=[1, 2, 3, 4],
            config=config,
            out_dir=out_dir,
            on_progress=_print_progress,
        )
        for row in result["history"]:
            print("history", row, flush=True)

        t0 = time.perf_counter()
        classifier = Classifier.load(out_dir)
        load_s = time.perf_counter() - t0
        texts = [r.text for r in rows]
        t0 = time.perf_counter()
        predictions = classifier.predict(texts)
        predict_s = time.perf_counter() - t0
        # A second pass shows how much of the first was warm-up or a busy CPU.
        t0 = time.perf_counter()
        classifier.predict(texts)
        repeat_s = time.perf_counter() - t0

    test = result["test"]
    by_accession = {r.accession: p["category"] for r, p in zip(rows, predictions, strict=True)}
    test_again = sum(by_accession[r.accession] == r.label for r in rows if r.split == "test")
    summary = {
        "test_accuracy": test["accuracy"],
        "test_accuracy_ci": test["accuracy_ci"],
        "test_correct": f"{test['correct']}/{test['n']}",
        "test_macro_f1": test["macro_f1"],
        "validation_accuracy": result["validation"]["accuracy"],
        "served": result["served"],
        "candidates": {
            name: {"validation": c["validation"]["accuracy"], "test": c["test"]["accuracy"],
                   "ece_test": c["ece_test"], "temperature": c["temperature"]}
            for name, c in result["candidates"].items()
        },
        "coverage": result["coverage"],
        "best_seed": result["best_seed"],
        "best_check": result["best_epoch"],
        "best_step": result["best_step"],
        "steps_per_seed": result["steps_per_seed"],
        "total_s": result["timings"]["total_s"],
        "timings": result["timings"],
        "precision": result["precision"],
        "prelabel_reports": len(texts),
        "prelabel_model_load_s": round(load_s, 3),
        "prelabel_s": round(predict_s, 3),
        "prelabel_reports_per_s": round(len(texts) / predict_s, 1),
        "prelabel_reports_per_s_second_pass": round(len(texts) / repeat_s, 1),
        "cpu_load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "prelabel_test_correct": f"{test_again}/{test['n']}",
        "test_confusion": test["confusion"],
        "config": result["config"],
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
