"""The MRMC test's rejection rate under the null, and the planner's power against simulation.

Plain numpy, no database: `python bench/mrmc_null.py [--studies 2000]`. Prints a Markdown
table for docs/benchmarks.md. Each row simulates studies under studies.mrmc's planning model
(readers' and the model's correctness from a latent score with a shared case effect) and
runs the same analysis the results page shows: model minus reader average, random readers
and random cases (Obuchowski-Rockette, Hillis ddf), alpha 0.05.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studies.mrmc import (  # noqa: E402
    mean_jackknife,
    or_one_modality,
    plan_versus_model,
    simulate_correctness,
)

DESIGNS = [  # readers, cases, reader accuracy, model accuracy, reader SD, case correlation
    (2, 332, 0.93, 0.93, 0.02, 0.3),
    (3, 60, 0.90, 0.90, 0.02, 0.3),
    (3, 200, 0.90, 0.90, 0.02, 0.3),
    (4, 100, 0.85, 0.85, 0.03, 0.3),
    (5, 60, 0.90, 0.90, 0.02, 0.3),
    (5, 100, 0.85, 0.85, 0.03, 0.3),
    (10, 100, 0.90, 0.90, 0.02, 0.3),
    (5, 200, 0.88, 0.93, 0.03, 0.3),
    (8, 150, 0.85, 0.90, 0.02, 0.4),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--studies", type=int, default=2000)
    n = parser.parse_args().studies
    print(f"| readers | cases | reader acc. | model acc. | reader SD | case corr. | "
          f"rejected ({n} studies) | planned power | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for readers, cases, p_r, p_m, sd, rho in DESIGNS:
        rng = np.random.default_rng(20261201)
        began = time.perf_counter()
        rejected = 0
        for _ in range(n):
            readers_ok, model_ok = simulate_correctness(
                rng, readers=readers, cases=cases, reader_accuracy=p_r, model_accuracy=p_m,
                reader_sd=sd, case_correlation=rho)
            result = or_one_modality(*mean_jackknife(model_ok[None, :] - readers_ok))
            rejected += result["random"]["p"] is not None and result["random"]["p"] < 0.05
        seconds = time.perf_counter() - began
        planned = "–"
        if p_r != p_m:
            plan = plan_versus_model(reader_accuracy=p_r, model_accuracy=p_m,
                                     n_readers=readers, n_cases=cases, reader_sd=sd,
                                     case_correlation=rho)
            planned = f"{plan['power']:.3f}"
        print(f"| {readers} | {cases} | {p_r:.2f} | {p_m:.2f} | {sd:.2f} | {rho:.1f} | "
              f"{rejected / n:.3f} | {planned} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
