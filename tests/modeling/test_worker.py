"""A real Celery worker on Redis runs the jobs against the test database (PostgreSQL)."""

import os
import signal
import time
from pathlib import Path

import pytest
from django.conf import settings

from core.models import JobStatus
from modeling import services
from modeling.models import ModelVersion, Prediction
from tests.support import project_with_labels, wait_for

pytestmark = pytest.mark.worker
ROOT = Path(__file__).resolve().parents[2]


def test_worker_trains_shows_progress_promotes_and_prelabels(project, worker):
    project_with_labels(project)
    with_transaction = services.model_version_create(
        project=project, recipe={"epochs": 3, "seeds": 2, "max_length": 64}, auto_promote=True
    )
    seen_phases = set()

    def finished():
        version = ModelVersion.objects.get(pk=with_transaction.pk)
        if version.status == JobStatus.RUNNING and version.progress.get("total_steps"):
            seen_phases.add(version.phase)
        return version.status in (JobStatus.SUCCEEDED, JobStatus.FAILED) and version

    version = wait_for(finished, 180, "training to finish", worker)
    assert version.status == JobStatus.SUCCEEDED, version.error
    assert seen_phases, "no progress was written while the job ran"
    assert version.worker and version.heartbeat_at
    assert version.is_active
    run = wait_for(
        lambda: version.prelabel_runs.filter(status=JobStatus.SUCCEEDED).first(),
        120,
        "pre-labeling",
        worker,
    )
    assert run.done == 48
    assert Prediction.objects.filter(model_version=version).count() == 48


def _start_a_long_training(project, worker) -> ModelVersion:
    # This run alone: the labels would otherwise start the fast first model as well
    # (tests/modeling/test_fast_retrain.py), whose folder the cancel test must not find.
    type(project).objects.filter(pk=project.pk).update(fast_retrain_every=0)
    project_with_labels(project)
    version = services.model_version_create(
        project=project, recipe={"epochs": 20, "seeds": 3, "max_length": 64}
    )
    wait_for(
        lambda: ModelVersion.objects.filter(pk=version.pk, phase="training").exists(),
        120,
        "training to start",
        worker,
    )
    return version


def test_worker_cancels_a_running_version_and_leaves_no_model(project, worker):
    version = _start_a_long_training(project, worker)
    assert services.model_version_cancel(version=version).startswith("Cancelling")
    version = wait_for(
        lambda: ModelVersion.objects.filter(pk=version.pk, status=JobStatus.CANCELLED).first(),
        60,
        "the cancel",
        worker,
    )
    folder = Path(settings.CTIR_MODEL_DIR) / project.slug
    # Only this run's folder, finished or half-written: the end of a run may start the
    # project's fast first model (fast_retrain_check), which writes a folder of its own.
    left = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    name = f"v{version.number}"
    assert [n for n in left if n == name or n.startswith(f".{name}.tmp-")] == []
    assert version.finished_at is not None


def test_a_killed_worker_leaves_a_failed_run_not_a_running_one(project, worker):
    import datetime

    version = _start_a_long_training(project, worker)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    time.sleep(1)
    assert ModelVersion.objects.get(pk=version.pk).status == JobStatus.RUNNING
    assert services.stale_jobs_fail(silence=datetime.timedelta(seconds=0.5)) == 1
    version.refresh_from_db()
    assert version.status == JobStatus.FAILED
    assert "stopped responding" in version.error


def test_worker_runs_one_automatic_cycle_labels_train_promote_prelabel(project, worker):
    from core.queue import send_now
    from modeling.models import RetrainPolicy, Trigger

    services.retrain_policy_set(project=project, mode=RetrainPolicy.Mode.EVERY, every=48)
    # The policy's full run alone: with the fast loop on, the labels below would start the
    # fast first model before beat's check (tests/modeling/test_fast_retrain.py).
    type(project).objects.filter(pk=project.pk).update(fast_retrain_every=0)
    # An admin's earlier attempt, cancelled: automatic runs repeat its (short) recipe.
    services.model_version_cancel(version=services.model_version_create(
        project=project, recipe={"epochs": 1, "seeds": 1, "max_length": 64}, enqueue=False))
    send_now("modeling.tasks.auto_retrain")  # what beat sends once a minute
    time.sleep(1)
    assert ModelVersion.objects.count() == 1  # not due: no labels yet
    project_with_labels(project)  # 48 reference labels
    send_now("modeling.tasks.auto_retrain")
    version = wait_for(
        lambda: ModelVersion.objects.filter(
            number=2, status__in=(JobStatus.SUCCEEDED, JobStatus.FAILED)).first(),
        400, "the automatic run", worker)
    assert version.status == JobStatus.SUCCEEDED, version.error
    assert version.trigger == Trigger.AUTO
    version = wait_for(lambda: ModelVersion.objects.filter(pk=version.pk, is_active=True)
                        .first(), 30, "the promotion", worker)
    assert version.promotion_note == "Promoted: there was no active model."
    run = wait_for(
        lambda: version.prelabel_runs.filter(status=JobStatus.SUCCEEDED).first(),
        120, "pre-labeling", worker)
    assert run.done == 48 == Prediction.objects.filter(model_version=version).count()
    send_now("modeling.tasks.auto_retrain")  # nothing new since v2: no second run
    time.sleep(1)
    assert ModelVersion.objects.count() == 2


def test_the_worker_takes_its_instances_queues_and_refuses_another_instances_ids(project,
                                                                                 worker):
    from ctir_site.celery import app

    replies = app.control.inspect(timeout=2).active_queues() or {}
    mine = next(queues for name, queues in replies.items()
                if name.startswith(f"test-{os.getpid()}@"))
    assert {q["name"] for q in mine} == set(settings.CTIR_QUEUES.values())
    version = services.model_version_create(project=project, enqueue=False)
    # What another instance sharing these queue names would send: an id of its own database.
    app.send_task("modeling.tasks.train_model_version", args=[version.pk],
                  kwargs={"instance": "another-ctir"}, queue=settings.CTIR_QUEUES["training"])
    wait_for(lambda: "WrongInstance" in worker.log_path.read_text(), 30, "the refusal", worker)
    version.refresh_from_db()
    assert version.status == JobStatus.QUEUED and version.started_at is None
