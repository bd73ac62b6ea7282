"""The model that learns while you label: the fast (TF-IDF) loop on an independent style.

    .venv/bin/python bench/fast_loop.py [--points 10,20,50,100] [--seeds 5] [--cycles 5]
        [--every 10] [--skip-loop] [--png PATH]

The site is a new department writing in the held-out English styles of
``bench/heldout/unseen_en.py``, which the demo generator (the one the model was tuned on)
never writes. Two parts:

1. Learning curve. One annotator labels the site's reports in queue order from zero; at
   every point the fast model (``train_fast``: the TF-IDF candidate alone, what the loop
   trains) is trained on the labels so far, split as a project splits them (the 3rd and
   every 5th label of a category to validation), and scored on the site's later reports,
   which nobody labels. Medians over ``--seeds`` queue orders; a point where a category
   still lacks the two training labels a model needs is shown as "-" with the count of
   orders that could train.
2. Label to suggestion, the real loop: PostgreSQL, Redis and a real Celery worker
   (``--pool=solo``, as ``make run``'s one worker) on a project holding the site's reports
   with ``fast_retrain_every = --every``. The annotator answers through the API
   (``queue/next`` and ``annotations``, the requests the annotate page's script makes);
   the first model starts by itself once its labels allow; then, for each cycle, the
   seconds from the K-th answer's response until ``queue/next`` serves a suggestion of
   the new version (or until the version is finished, when the gate keeps the old one).

The machine is shared: medians, and the fit time of part 1 beside part 2's total.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from _models import (
    LABELS,  # sets sys.path and offline mode first
    pairs,
)
from _setup import Worker, django_setup, machine
from learning_curve import _growing_split

from bench.heldout.unseen_en import generate_unseen_english_reports

ROOT = Path(__file__).resolve().parents[1]
SLUG = "bench-fast-loop"
BROKER = "redis://127.0.0.1:6379/11"  # its own: never hands a job to a `make run` worker


def learning_curve(points, seeds: int, site_n: int, later_n: int) -> dict:
    import random

    from modeling.ml.training import TrainingDataError, train_fast

    rows = generate_unseen_english_reports(site_n, seed=11)
    queue, later = rows[:-later_n], rows[-later_n:]
    results: dict[int, list] = {p: [] for p in points}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(seeds):
            order = list(queue)
            random.Random(seed).shuffle(order)
            for point in points:
                train, validation = _growing_split(order[:point])
                began = time.perf_counter()
                try:
                    result = train_fast(train=pairs(train), validation=pairs(validation),
                                        test=pairs(later), labels=LABELS,
                                        out_dir=Path(tmp) / f"{seed}-{point}")
                except TrainingDataError:
                    results[point].append(None)
                    continue
                results[point].append((result["test"]["accuracy"],
                                        time.perf_counter() - began))
            print(json.dumps({"seed": seed, "curve": {
                p: (round(r[-1][0], 3) if r[-1] else None) for p, r in results.items()}}),
                flush=True)
    return results


def _project(site_n: int):
    from django.contrib.auth.models import User

    from annotation import services
    from annotation.importing.checks import ParsedRow
    from annotation.models import Category, Membership, Project, Role

    Project.objects.filter(slug=SLUG).delete()
    project = Project.objects.create(slug=SLUG, name="Fast loop bench", fast_retrain_every=10)
    for c in Project.objects.get(slug="ct-ir").categories.all():
        Category.objects.create(project=project, code=c.code, name=c.name, key=c.key)
    rows = generate_unseen_english_reports(site_n, seed=11)
    services.reports_write(project=project, rows=[
        ParsedRow(line=i, accession=f"F{i:05d}", patient_id=f"FP{i:05d}", sex=r.sex, age=r.age,
                  procedure_date=r.procedure_date, text=r.text, label=None, split=None)
        for i, r in enumerate(rows)], batch=None, user=None, reason="bench")
    user, _ = User.objects.get_or_create(username="bench-fast-annotator")
    Membership.objects.get_or_create(project=project, user=user,
                                     defaults={"role": Role.ANNOTATOR})
    truth = {f"F{i:05d}": r.label for i, r in enumerate(rows)}
    return project, user, truth


def label_loop(args) -> dict:
    from django.test import Client

    from core.models import JobStatus
    from modeling.models import ModelVersion

    project, user, truth = _project(args.site_reports)
    Project = type(project)
    Project.objects.filter(pk=project.pk).update(fast_retrain_every=args.every)
    client = Client()
    client.force_login(user)
    base = f"/api/v1/projects/{SLUG}/"

    def next_report():
        return client.post(base + "queue/next/", content_type="application/json").json()

    def answer(served):
        response = client.post(base + "annotations/", {
            "token": served["token"], "category": truth[served["report"]["accession"]]},
            content_type="application/json")
        assert response.status_code == 201, response.content

    def newest():
        return ModelVersion.objects.filter(project=project).order_by("-number").first()

    labelled, cycles = 0, []
    began = time.perf_counter()
    # Until the first model: answer as fast as a script can; the worker starts it by itself.
    while not ModelVersion.objects.filter(project=project, is_active=True).exists():
        if labelled >= args.site_reports - 50:
            raise SystemExit("no first model after all the site's labels")
        version = newest()
        if version is None or version.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            answer(next_report())
            labelled += 1
        else:
            time.sleep(0.2)
    first = ModelVersion.objects.get(project=project, is_active=True)
    print(json.dumps({"first_model": f"v{first.number}", "after_labels": labelled,
                      "seconds": round(time.perf_counter() - began, 1)}), flush=True)
    for _ in range(args.cycles):
        # Wait for the pre-labeling of the active version, so each cycle starts settled.
        deadline = time.monotonic() + 120
        while newest().status in (JobStatus.QUEUED, JobStatus.RUNNING) or (
                project.prelabel_runs.filter(status__in=(JobStatus.QUEUED, JobStatus.RUNNING))
                .exists()):
            if time.monotonic() > deadline:
                raise SystemExit("the loop did not settle in 120 s")
            time.sleep(0.2)
        before = newest().number
        shown = (next_report()["suggestion"] or {}).get("model_version")
        for _k in range(args.every):
            answer(next_report())
            labelled += 1
        kth = time.perf_counter()
        finished = suggested = None
        while time.perf_counter() - kth < 120:
            version = newest()
            if version.number > before and version.status not in (JobStatus.QUEUED,
                                                                  JobStatus.RUNNING):
                finished = finished or time.perf_counter() - kth
                if not version.is_active:
                    break
                served = (next_report()["suggestion"] or {}).get("model_version")
                if served == version.number:
                    suggested = time.perf_counter() - kth
                    break
            time.sleep(0.1)
        version = newest()
        cycles.append({"labels": labelled, "version": f"v{version.number}",
                       "promoted": version.is_active, "shown_before": shown,
                       "to_finished_s": finished and round(finished, 2),
                       "to_suggestion_s": suggested and round(suggested, 2),
                       "validation": (version.metrics or {}).get("validation", {}).get(
                           "accuracy"),
                       "note": version.promotion_note[:90]})
        print(json.dumps(cycles[-1]), flush=True)
    return {"first_after": labelled and first.labels_written, "cycles": cycles}


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", default="10,20,50,100")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--site-reports", type=int, default=400)
    parser.add_argument("--later", type=int, default=150)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--skip-loop", action="store_true")
    parser.add_argument("--png", type=Path)
    args = parser.parse_args()
    points = [int(p) for p in args.points.split(",")]
    os.environ.setdefault("CELERY_BROKER_URL", BROKER)
    print(json.dumps({"machine": machine(), "site": "bench.heldout.unseen_en",
                      "site_reports": args.site_reports, "later": args.later}), flush=True)
    curve = learning_curve(points, args.seeds, args.site_reports, args.later)
    print("\n| labels | accuracy on later reports (median) | orders that could train "
          "| fit seconds (median) |\n|---|---|---|---|")
    for point, runs in curve.items():
        done = [r for r in runs if r]
        acc = _median([a for a, _ in done])
        fit = _median([s for _, s in done])
        print(f"| {point} | {'-' if acc is None else f'{acc:.3f}'} | {len(done)} of "
              f"{len(runs)} | {'-' if fit is None else f'{fit:.2f}'} |")
    if args.png:
        _plot(curve, args.png)
    if args.skip_loop:
        return
    django_setup()
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, DATABASE_URL=os.environ["DATABASE_URL"],
                   CELERY_BROKER_URL=settings.CELERY_BROKER_URL, CTIR_MODEL_DIR=tmp)
        settings.CTIR_MODEL_DIR = tmp
        worker = Worker(f"fastloop-{os.getpid()}", env, Path(tmp) / "worker.log")
        try:
            loop = label_loop(args)
        finally:
            worker.stop()
    cycles = loop["cycles"]
    print(f"\nfirst model after {loop['first_after']} labels; {len(cycles)} cycles of "
          f"{args.every} labels: median {_median([c['to_suggestion_s'] for c in cycles])} s "
          "from the K-th label to the new suggestion (promoted cycles), "
          f"{_median([c['to_finished_s'] for c in cycles])} s to the version's verdict; "
          f"{sum(c['promoted'] for c in cycles)} of {len(cycles)} promoted")


def _plot(curve, png: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs, ys, lo, hi = [], [], [], []
    for point, runs in curve.items():
        accs = sorted(a for a, _ in (r for r in runs if r))
        if not accs:
            continue
        xs.append(point)
        ys.append(statistics.median(accs))
        lo.append(accs[0])
        hi.append(accs[-1])
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    ax.plot(xs, ys, marker="o", label="fast model (TF-IDF), median")
    ax.fill_between(xs, lo, hi, alpha=0.2, label="range over queue orders")
    ax.set_xscale("log")
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    for point, y in zip(xs, ys, strict=True):
        trained = sum(1 for r in curve[point] if r)
        if trained < len(curve[point]):
            ax.annotate(f"{trained} of {len(curve[point])} orders could train", (point, y),
                        textcoords="offset points", xytext=(6, -12), fontsize=7)
    ax.set_xlabel("labels at the new site")
    ax.set_ylabel("accuracy on its later reports")
    ax.set_title("unseen English styles (bench/heldout/unseen_en.py)", fontsize=10)
    ax.set_ylim(min(0.4, *lo), 1.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png)
    print(f"plot: {png}")


if __name__ == "__main__":
    main()
