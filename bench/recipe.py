"""What two knobs of the recipe buy: the seed count (best of k on validation) and max length.

    .venv/bin/python bench/recipe.py [--parts seeds,max_length] [--runs 5] [--n-train 150]

- seeds: ``--runs`` single-seed BERT runs on ``--n-train`` demo training reports (a small
  site, where runs differ most), each scored on the demo test split and on unseen-style
  reports. Best-of-k is then the expected test accuracy of the run that validation picks
  among k runs (over every k-subset), as a job with ``seeds=k`` would keep it.
- max_length: BERT at 128 and 256 tokens (priority truncation) on the full demo train
  split, one seed each, test and unseen-style accuracy, training seconds and pre-labeling
  reports per second of the BERT candidate, side by side in one run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import tempfile
import time
from pathlib import Path

from _models import train_rows  # sets sys.path and offline mode first

from bench.heldout.unseen import generate_unseen_reports
from ctir_demo.cohort import generate_cohort
from modeling.ml.inference import Classifier
from modeling.ml.training import TrainConfig


def _run(train, validation, test, unseen, config, out_dir) -> dict:
    result, seconds = train_rows(train, validation, test, config, out_dir)
    bert = Classifier.load(out_dir, candidate="bert")
    t0 = time.perf_counter()
    predicted = bert.predict([r.text for r in unseen])
    rate = len(unseen) / (time.perf_counter() - t0)
    unseen_acc = sum(p["category"] == r.label for p, r in zip(predicted, unseen, strict=True))
    best = result["candidates"]["bert"]
    row = next(h for h in result["history"] if h["seed"] == result["best_seed"]
               and h["epoch"] == result["best_epoch"])
    return {"seed": config.seed, "max_length": config.max_length,
            "val": best["validation"]["accuracy"], "val_loss": row["val_loss"],
            "test": best["test"]["accuracy"], "unseen": unseen_acc / len(unseen),
            "train_s": round(seconds, 1), "bert_reports_per_s": round(rate, 1)}


def _best_of(runs: list[dict], k: int, key: str) -> float:
    picks = [max(subset, key=lambda r: (r["val"], -r["val_loss"]))[key]
             for subset in itertools.combinations(runs, k)]
    return sum(picks) / len(picks)


def seeds(rows, unseen, args, tmp: Path) -> None:
    train = [r for r in rows if r.split == "train"]
    sample = random.Random(1).sample(train, args.n_train)
    validation = [r for r in rows if r.split == "validation"]
    test = [r for r in rows if r.split == "test"]
    runs = []
    for i in range(args.runs):
        config = TrainConfig(seeds=1, seed=42 + i)
        runs.append(_run(sample, validation, test, unseen, config, tmp / f"seed-{i}"))
        print(json.dumps({"part": "seeds", "n_train": args.n_train, **runs[-1]}), flush=True)
    print("\n| seeds (best of k on validation) | test | unseen styles |\n|---|---|---|")
    for k in range(1, args.runs + 1):
        print(f"| {k} | {_best_of(runs, k, 'test'):.3f} | {_best_of(runs, k, 'unseen'):.3f} |")


def max_length(rows, unseen, tmp: Path) -> None:
    split = {s: [r for r in rows if r.split == s] for s in ("train", "validation", "test")}
    print("\n| max length | test | unseen styles | training s | BERT reports/s |\n"
          "|---|---|---|---|---|")
    for length in (128, 256):
        row = _run(split["train"], split["validation"], split["test"], unseen,
                   TrainConfig(seeds=1, max_length=length), tmp / f"len-{length}")
        print(json.dumps({"part": "max_length", **row}), flush=True)
        print(f"| {length} | {row['test']:.3f} | {row['unseen']:.3f} | {row['train_s']} | "
              f"{row['bert_reports_per_s']} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", default="seeds,max_length")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--n-train", type=int, default=150)
    args = parser.parse_args()
    rows = generate_cohort()
    unseen = generate_unseen_reports(300, 11)
    with tempfile.TemporaryDirectory() as tmp:
        if "seeds" in args.parts:
            seeds(rows, unseen, args, Path(tmp))
        if "max_length" in args.parts:
            max_length(rows, unseen, Path(tmp))


if __name__ == "__main__":
    main()
