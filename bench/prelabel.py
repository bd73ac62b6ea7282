"""Pre-labeling throughput of a trained model over the 1605 demo reports; median of passes.

    .venv/bin/python bench/train_demo.py --out /tmp/demo-model     # once: the default recipe
    .venv/bin/python bench/prelabel.py /tmp/demo-model [--passes 5]
"""

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _setup import machine  # noqa: E402

from ctir_demo.cohort import generate_cohort  # noqa: E402
from modeling.ml.inference import Classifier  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    texts = [r.text for r in generate_cohort()]
    began = time.perf_counter()
    classifier = Classifier.load(args.model_dir)
    load_s = time.perf_counter() - began
    rates = []
    for number in range(args.passes):
        began = time.perf_counter()
        classifier.predict(texts)
        rates.append(len(texts) / (time.perf_counter() - began))
        print(f"pass {number + 1}: {rates[-1]:.1f} reports/s", flush=True)
    print(f"| pre-labeling {len(texts)} demo reports | median {statistics.median(rates):.1f} "
          f"reports/s of {args.passes} passes ({', '.join(f'{r:.1f}' for r in rates)}); "
          f"model load {load_s:.2f} s apart | {datetime.date.today()} | {machine()} |")


if __name__ == "__main__":
    main()
