"""Latency of the classify endpoint: one report per call, through the API, to a real worker.

    .venv/bin/python bench/classify.py [--calls 30] [--model-dir PATH]

A fresh benchmark database (CTIR_BENCH_DATABASE_URL, dropped and made again) with a
project holding the 1605 demo cohort reports, its fast (TF-IDF) model trained here and
promoted, or with --model-dir a trained folder (bench/train_demo.py writes one with BERT);
a real Celery worker (--pool=solo, as `make run`'s one worker) on PostgreSQL and Redis.
Each call is a full request cycle in Django's test client: token check, role check, body
validation, the queue-health check (cached for seconds), the message to the inference
queue, the worker's answer through the Redis result backend. The first call is shown
apart: the worker loads the model then. Reported: median and 90th percentile of --calls
one-report calls (each a report of the held-out test split, never the same twice), and the
worker's own time for the same calls from its log, so the rest is the round trip. Then a
few calls of 100 reports, the most a call takes.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

from _models import LABELS  # noqa: F401  (sets sys.path and offline mode first)
from _setup import Worker, django_setup, machine

SLUG = "bench-classify"
BROKER = "redis://127.0.0.1:6379/12"  # its own: never hands a job to a `make run` worker
TASK_TIME = re.compile(r"classify_texts\[[^\]]+\] succeeded in ([0-9.]+)s")


def _project():
    from django.contrib.auth.models import User

    from annotation import services
    from annotation.importing.checks import ParsedRow
    from annotation.models import Category, Membership, Project, Role
    from ctir_demo.cohort import generate_cohort

    # No fast retrain from the labels written here: the bench trains its own version.
    project = Project.objects.create(slug=SLUG, name="Classify bench", fast_retrain_every=0)
    for c in Project.objects.get(slug="ct-ir").categories.all():
        Category.objects.create(project=project, code=c.code, name=c.name, key=c.key)
    rows = generate_cohort()
    services.reports_write(project=project, rows=[
        ParsedRow(line=i, accession=r.accession, patient_id=r.patient_id, sex=r.sex,
                  age=r.age, procedure_date=r.procedure_date, text=r.text, label=r.label,
                  split=r.split)
        for i, r in enumerate(rows, start=1)], batch=None, user=None, reason="bench")
    admin, _ = User.objects.get_or_create(username="bench-classify-admin")
    Membership.objects.get_or_create(project=project, user=admin,
                                     defaults={"role": Role.ADMIN})
    return project, admin, [r.text for r in rows if r.split == "test"]


def _version(project, model_dir: Path | None):
    from core.models import JobStatus
    from modeling import jobs, services
    from modeling.ml.inference import served_candidate
    from modeling.models import ModelVersion

    if model_dir is not None:
        version = ModelVersion.objects.create(
            project=project, number=1, base_model="bench", status=JobStatus.SUCCEEDED,
            artifact_dir=str(model_dir.resolve()),
            metrics={"served": served_candidate(model_dir)})
    else:
        version = services.model_version_create(project=project, enqueue=False, fast=True)
        version = jobs.train_version(version.pk)
        if version.status != JobStatus.SUCCEEDED:
            raise SystemExit(f"the fast model failed: {version.error}")
    return services.model_version_promote(version=version, prelabel=False)


def _call(client, url, texts) -> float:
    began = time.perf_counter()
    response = client.post(url, {"texts": texts}, content_type="application/json")
    seconds = time.perf_counter() - began
    if response.status_code != 200:
        raise SystemExit(f"{response.status_code}: {response.content[:500]!r}")
    assert len(response.json()["results"]) == len(texts)
    return seconds


def _ms(values) -> str:
    return f"{statistics.median(values) * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--batches", type=int, default=5, help="calls of 100 reports")
    parser.add_argument("--model-dir", type=Path, help="a trained model folder to serve "
                        "instead of the fast model trained here")
    args = parser.parse_args()
    os.environ.setdefault("CELERY_BROKER_URL", BROKER)
    # A fresh benchmark database: a project's reports and labels are never deleted.
    django_setup(fresh=True)
    import redis
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from accounts.services import token_create

    with tempfile.TemporaryDirectory() as tmp:
        settings.CTIR_MODEL_DIR = tmp
        project, admin, texts = _project()
        version = _version(project, args.model_dir)
        served = (version.metrics or {}).get("served")
        # No stale messages (the labels' fast-retrain pokes): the worker starts clean.
        redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
        env = dict(os.environ, DATABASE_URL=os.environ["DATABASE_URL"],
                   CELERY_BROKER_URL=settings.CELERY_BROKER_URL, CTIR_MODEL_DIR=tmp,
                   CTIR_INSTANCE=settings.CTIR_INSTANCE)
        log = Path(tmp) / "worker.log"
        worker = Worker(f"classify-{os.getpid()}", env, log)
        try:
            client = Client(headers={"Authorization": "Bearer " + token_create(
                user=admin, name="bench")[1]})
            url = reverse("api_classify", args=[SLUG])
            first = _call(client, url, texts[:1])
            singles = [_call(client, url, [text]) for text in texts[1:args.calls + 1]]
            batches = [_call(client, url, [texts[(i * 100 + j) % len(texts)]
                                           for j in range(100)]) for i in range(args.batches)]
        finally:
            worker.stop()
        worker_s = [float(s) for s in TASK_TIME.findall(log.read_text())]
    on_worker = worker_s[1:len(singles) + 1]
    p90 = statistics.quantiles(singles, n=10)[-1]
    print(f"v{version.number} serves {served}; first call {first:.2f} s (the worker loads "
          f"the model: {worker_s[0]:.2f} s of it on the worker)")
    print(f"one report: median {_ms(singles)} of {len(singles)} calls, p90 "
          f"{p90 * 1000:.1f} ms, min {min(singles) * 1000:.1f}, max "
          f"{max(singles) * 1000:.1f}; on the worker median {_ms(on_worker)}")
    print(f"100 reports: median {_ms(batches)} of {len(batches)} calls "
          f"({100 / statistics.median(batches):.0f} reports/s)")
    print(f"| classify, 1 report a call through the API ({served}) | median {_ms(singles)} "
          f"(p90 {p90 * 1000:.1f} ms) of {len(singles)} calls; worker's part "
          f"{_ms(on_worker)}; first call {first:.2f} s; 100 reports a call "
          f"{_ms(batches)} | {datetime.date.today()} | {machine()} |")


if __name__ == "__main__":
    main()
