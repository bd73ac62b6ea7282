"""core's job base: one beat sweep fails the silent runs of every job kind."""

import datetime

from django.conf import settings
from django.utils import timezone

from core import tasks
from core.models import JobStatus
from modeling import services
from modeling.models import ModelVersion, PrelabelRun
from studies import services as studies
from studies.models import ModelTimingRun


def test_one_sweep_fails_every_kind_of_silent_job(labelled_project, reader):
    project = labelled_project
    version = services.model_version_create(project=project, enqueue=False)
    ModelVersion.objects.filter(pk=version.pk).update(status=JobStatus.SUCCEEDED)
    run = PrelabelRun.objects.create(project=project, model_version=version)
    study = studies.study_create(project=project, name="S", readers=[reader])
    timing = ModelTimingRun.objects.create(study=study, model_version_id=version.pk)
    fresh = services.model_version_create(project=project, enqueue=False)
    old = timezone.now() - datetime.timedelta(minutes=10)
    for model, pk in ((PrelabelRun, run.pk), (ModelTimingRun, timing.pk)):
        model.objects.filter(pk=pk).update(status=JobStatus.RUNNING, heartbeat_at=old)
    # One still beating: left alone.
    ModelVersion.objects.filter(pk=fresh.pk).update(status=JobStatus.RUNNING,
                                                    heartbeat_at=timezone.now())
    kwargs = settings.CELERY_BEAT_SCHEDULE["fail-stale-jobs"]["kwargs"]
    assert tasks.fail_stale_jobs.apply(kwargs=kwargs).result == 2
    run.refresh_from_db()
    timing.refresh_from_db()
    assert run.status == timing.status == JobStatus.FAILED
    assert "stopped responding" in run.error and run.error.endswith("Start a new one.")
    assert timing.error.endswith("time the model again.")
    assert ModelVersion.objects.get(pk=fresh.pk).status == JobStatus.RUNNING


def test_the_sweep_fails_a_silent_import_too(project, admin_user):
    # annotation registers its own sweep (annotation.apps); beat's one task runs it.
    from annotation.models import ImportJob

    long_ago = timezone.now() - datetime.timedelta(hours=1)
    job = ImportJob.objects.create(project=project, created_by=admin_user, filename="a.csv",
                                   staged="/nonexistent", status=ImportJob.Status.RUNNING,
                                   started_at=long_ago)
    kwargs = settings.CELERY_BEAT_SCHEDULE["fail-stale-jobs"]["kwargs"]
    assert tasks.fail_stale_jobs.apply(kwargs=kwargs).result == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and "nothing was imported" in job.message
