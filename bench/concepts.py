"""What the concept features buy the TF-IDF candidate, across languages, styles and small data.

    .venv/bin/python bench/concepts.py [--weights 0,0.5,1] [--samples 3]

TF-IDF only (seconds per fit, no torch), the same pipeline as every training job with
the concept block's weight set to each of ``--weights`` (0 = no concepts). Proxies:
- cross-language: English demo train split -> the Japanese demo's test split, and the
  Japanese demo's train split -> the English demo's test split;
- small data: 20, 40 and 80 English demo reports (stratified, ``--samples`` draws,
  median) -> 600 reports in the unseen styles, clean and with typos in 15% of words,
  and -> the Japanese demo test split;
- leave-one-style-out on the demo generator (train on the other styles' train and
  validation reports, test on every report of the held-out one): lowest and mean.
Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.heldout.unseen import generate_unseen_reports  # noqa: E402
from ctir_demo.cohort import STYLES, generate_cohort  # noqa: E402
from ctir_demo.japanese import generate_japanese_cohort  # noqa: E402
from modeling.ml import tfidf  # noqa: E402
from modeling.ml.augment import _typo  # noqa: E402

LABELS = [1, 2, 3, 4]
_WORD = re.compile(r"[A-Za-z]{4,}")


def _accuracy(model, rows) -> float:
    predicted = np.array(LABELS)[model.logits([r.text for r in rows]).argmax(axis=1)]
    return float(np.mean(predicted == np.array([r.label for r in rows])))


def _fit(rows):
    return tfidf.TfidfModel.fit([r.text for r in rows], [r.label for r in rows], LABELS)


def _stratified(rows, n: int, seed: int):
    rng = random.Random(seed)
    by_label: dict[int, list] = {}
    for r in rows:
        by_label.setdefault(r.label, []).append(r)
    return [r for code, group in sorted(by_label.items())
            for r in rng.sample(group, max(2, round(n * len(group) / len(rows))))]


def _with_typos(rows, seed: int):
    rng = random.Random(seed)
    return [dataclasses.replace(r, text=_WORD.sub(
        lambda m: _typo(rng, m.group()) if rng.random() < 0.15 else m.group(), r.text))
        for r in rows]


def measure(weight: float, samples: int) -> dict:
    tfidf.CONCEPT_WEIGHT = weight
    en, ja = generate_cohort(), generate_japanese_cohort()
    en_train = [r for r in en if r.split == "train"]
    en_test = [r for r in en if r.split == "test"]
    ja_train = [r for r in ja if r.split == "train"]
    ja_test = [r for r in ja if r.split == "test"]
    unseen = generate_unseen_reports(600, 7)
    unseen_typos = _with_typos(unseen, 3)
    out = {"en -> en test": _accuracy(_fit(en_train), en_test),
           "en -> ja test": _accuracy(_fit(en_train), ja_test),
           "ja -> en test": _accuracy(_fit(ja_train), en_test)}
    for n in (20, 40, 80):
        runs = {"unseen": [], "unseen, typos": [], "ja test": []}
        for seed in range(samples):
            model = _fit(_stratified(en_train, n, seed))
            runs["unseen"].append(_accuracy(model, unseen))
            runs["unseen, typos"].append(_accuracy(model, unseen_typos))
            runs["ja test"].append(_accuracy(model, ja_test))
        for name, values in runs.items():
            out[f"en {n} -> {name}"] = statistics.median(values)
    loso = []
    for style in STYLES:
        train = [r for r in en if r.style != style and r.split != "test"]
        loso.append(_accuracy(_fit(train), [r for r in en if r.style == style]))
    out["LOSO lowest"], out["LOSO mean"] = min(loso), float(np.mean(loso))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", default="0,0.5,1")
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args()
    weights = [float(w) for w in args.weights.split(",")]
    began = time.perf_counter()
    results = {}
    for w in weights:
        results[w] = measure(w, args.samples)
        print(f"weight {w}: done at {time.perf_counter() - began:.0f} s", flush=True)
    print("\n| proxy | " + " | ".join(f"concepts x{w:g}" if w else "no concepts"
                                     for w in weights) + " |")
    print("|---" * (len(weights) + 1) + "|")
    for key in results[weights[0]]:
        print(f"| {key} | " + " | ".join(f"{results[w][key]:.3f}" for w in weights) + " |")


if __name__ == "__main__":
    main()
