"""How many labels a new site must give before the suggestions can be trusted.

    .venv/bin/python bench/learning_curve.py [--site unseen:synoptic] [--seeds 3]
        [--points 20,50,100,200] [--bert-steps 10] [--source DIR] [--png PATH]

One annotator at a new site labels the site's reports in queue order from zero. After
every point (20, 50, ... labels) ctir retrains and the served candidate is scored on the
site's later reports, which nobody labels. Four arms:
- order: ``random`` (the queue as it comes) or ``uncertainty`` (the reports the current
  model is least sure of first; random until a model exists);
- start: ``cold`` (BERT from the base encoder) or ``warm`` (BERT from the model trained
  on the source data, which also makes the suggestions before the first site label).
Each arm runs ``--seeds`` times; the table gives medians. The site's labels are split the
way a project's growing validation set is (the 3rd and every 5th label of each category
go to validation).

The source model is trained on the demo cohort (without the site's style when the site is
one of the demo's styles), or given with ``--source`` (a demo model, for a site that is
not one of the demo's styles). The site is one of:
- ``style:NAME``  a demo house style, held out of the source data;
- ``unseen:NAME`` a style from bench.heldout.unseen, which the generator never produces;
- ``ja``          the Japanese demo (ctir_demo.japanese).
Every training is the real job's ``train_model`` with all three candidates and
served-candidate selection; only the BERT schedule is reduced (``--bert-steps`` steps,
one seed, one check), which the output says.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from _models import LABELS  # sets sys.path and offline mode first
from _models import pairs as _pairs

from bench.heldout.unseen import generate_unseen_reports
from ctir_demo.cohort import generate_cohort, generate_reports
from ctir_demo.japanese import generate_japanese_reports
from modeling.ml.inference import Classifier
from modeling.ml.training import TrainConfig, TrainingDataError, train_model
from tests.tiny_models import minilm_path

# The project's growing validation set (annotation.services.split_draw): of each
# category's labels the 3rd and every 5th after it go to validation, up to 60 a category.
VALIDATION_FIRST, VALIDATION_EVERY, VALIDATION_CAP = 3, 5, 60
ARMS = [("random", "cold"), ("random", "warm"), ("uncertainty", "cold"),
        ("uncertainty", "warm")]


def _site_rows(site: str, n: int, seed: int):
    kind, _, name = site.partition(":")
    if kind == "style":
        return generate_reports(n, seed, styles=[name])
    if kind == "unseen":
        return generate_unseen_reports(n, seed, styles=[name])
    if kind == "ja":
        return generate_japanese_reports(n, seed)
    raise SystemExit(f"--site must be style:NAME, unseen:NAME or ja, not {site!r}")


def _source_model(site: str, config: TrainConfig, folder: Path) -> Path:
    rows = generate_cohort()
    kind, _, name = site.partition(":")
    if kind == "style":
        rows = [r for r in rows if r.style != name]
    train = [r for r in rows if r.split == "train"]
    validation = [r for r in rows if r.split == "validation"]
    test = [r for r in rows if r.split == "test"]
    train_model(base_model=minilm_path(), train=_pairs(train), validation=_pairs(validation),
                test=_pairs(test), labels=LABELS, config=config, out_dir=folder)
    return folder


def _accuracy(model_dir: Path, rows) -> float:
    predicted = Classifier.load(model_dir).predict([r.text for r in rows])
    return sum(p["category"] == r.label for p, r in zip(predicted, rows, strict=True)) / len(rows)


def _growing_split(labelled):
    seen: dict[int, int] = {}
    train, validation = [], []
    for r in labelled:
        seen[r.label] = n = seen.get(r.label, 0) + 1
        step = n - VALIDATION_FIRST
        to_validation = (step >= 0 and step % VALIDATION_EVERY == 0
                         and step // VALIDATION_EVERY < VALIDATION_CAP)
        (validation if to_validation else train).append(r)
    return train, validation


def _next_reports(order: str, model_dir: Path | None, pool: list, k: int, rng: random.Random):
    """The next ``k`` reports of the annotator's queue."""
    if order == "uncertainty" and model_dir is not None and len(pool) > k:
        margins = [p["margin"] for p in Classifier.load(model_dir).predict([r.text for r in pool])]
        ranked = sorted(range(len(pool)), key=lambda i: margins[i])
        chosen = set(ranked[:k])
    else:
        chosen = set(rng.sample(range(len(pool)), min(k, len(pool))))
    return ([r for i, r in enumerate(pool) if i in chosen],
            [r for i, r in enumerate(pool) if i not in chosen])


def run_arm(order, start, seed, *, queue, later, points, source, config, tmp: Path) -> list:
    rng = random.Random(seed)
    pool = list(queue)
    rng.shuffle(pool)
    labelled: list = []
    model_dir = source if start == "warm" else None
    curve = [{"labels": 0, "served": "source" if model_dir else None,
              "accuracy": _accuracy(model_dir, later) if model_dir else None}]
    for point in points:
        batch, pool = _next_reports(order, model_dir, pool, point - len(labelled), rng)
        labelled += batch
        train, validation = _growing_split(labelled)
        out = tmp / f"{order}-{start}-{seed}-{point}"
        try:
            result = train_model(
                base_model=source if start == "warm" else minilm_path(),
                train=_pairs(train), validation=_pairs(validation), test=_pairs(later),
                labels=LABELS, config=config, out_dir=out)
        except TrainingDataError as exc:
            # Too few labels of some category to train: the previous model keeps serving.
            curve.append({"labels": point, "served": curve[-1]["served"],
                          "accuracy": curve[-1]["accuracy"], "note": str(exc)[:80]})
            continue
        model_dir = out
        curve.append({"labels": point, "served": result["served"],
                      "accuracy": result["test"]["accuracy"],
                      "candidates": {n: c["test"]["accuracy"]
                                     for n, c in result["candidates"].items()}})
    return curve


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _table(points, medians) -> str:
    head = "| arm | " + " | ".join(f"{p} labels" for p in [0, *points]) + " |"
    lines = [head, "|---" * (len(points) + 2) + "|"]
    for arm, row in medians.items():
        cells = ["-" if v is None else f"{v:.3f}" for v in row]
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _plot(points, medians, png: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    xs = [0, *points]
    for arm, row in medians.items():
        pts = [(x, y) for x, y in zip(xs, row, strict=True) if y is not None]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=arm)
    ax.axhline(0.97, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("site labels")
    ax.set_ylabel("accuracy on the site's later reports (median)")
    ax.set_title(title, fontsize=10)
    ax.set_ylim(min(0.5, *(y for r in medians.values() for y in r if y is not None)), 1.0)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--site", default="unseen:synoptic")
    parser.add_argument("--site-reports", type=int, default=400)
    parser.add_argument("--later", type=int, default=150,
                        help="the site's later reports scored after each retrain")
    parser.add_argument("--points", default="20,50,100,200")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--bert-steps", type=int, default=10)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--source-steps", type=int, default=150)
    parser.add_argument("--source", type=Path,
                        help="a model folder trained on the source data (default: train one)")
    parser.add_argument("--png", type=Path)
    args = parser.parse_args()
    points = [int(p) for p in args.points.split(",")]
    began = time.perf_counter()
    reduced = dict(seeds=1, epochs=1, checks=1, patience=1, max_length=args.max_length)
    site_config = TrainConfig(min_steps=args.bert_steps, max_steps=args.bert_steps, **reduced)
    source_config = TrainConfig(min_steps=args.source_steps, max_steps=args.source_steps,
                                **reduced)
    rows = _site_rows(args.site, args.site_reports, seed=11)
    queue, later = rows[: -args.later], rows[-args.later:]
    print(json.dumps({"site": args.site, "queue": len(queue), "later": len(later),
                      "points": points, "seeds": args.seeds,
                      "bert": f"reduced: 1 seed, {args.bert_steps} steps per site retrain, "
                              f"source model {args.source_steps} steps"}), flush=True)
    curves: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        source = args.source or _source_model(args.site, source_config, tmp / "source")
        print(json.dumps({"source_trained_s": round(time.perf_counter() - began)}), flush=True)
        for order, start in ARMS:
            arm = f"{order}, {start}"
            for seed in range(args.seeds):
                curve = run_arm(order, start, seed, queue=queue, later=later, points=points,
                                source=source, config=site_config, tmp=tmp)
                curves.setdefault(arm, []).append(curve)
                print(json.dumps({"arm": arm, "seed": seed, "curve": curve,
                                  "elapsed_s": round(time.perf_counter() - began)}), flush=True)
    medians = {arm: [_median([c[i]["accuracy"] for c in runs]) for i in range(len(points) + 1)]
               for arm, runs in curves.items()}
    print()
    print(_table(points, medians))
    print(f"\n{time.perf_counter() - began:.0f} s in all")
    if args.png:
        _plot(points, medians, args.png,
              f"site {args.site}: median of {args.seeds} seeds, served candidate")
        print(f"plot: {args.png}")


if __name__ == "__main__":
    main()
