"""Writes to modeling data from the web process: start, cancel, promote, request pre-labeling.

Nothing here imports torch; the work itself runs in modeling.jobs on a Celery worker.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotation.models import Project
from ctir_site.queue import send_on_commit

from .ml.recipe import (
    DEFAULT_EPOCHS,
    DEFAULT_MAX_LENGTH,
    DEFAULT_MAX_STEPS,
    DEFAULT_MIN_STEPS,
    DEFAULT_SEEDS,
)
from .models import ACTIVE_STATUSES, JobStatus, ModelVersion, PrelabelRun

DEFAULT_RECIPE = {
    "epochs": DEFAULT_EPOCHS, "seeds": DEFAULT_SEEDS, "max_length": DEFAULT_MAX_LENGTH,
}
LIMITS = {"epochs": (1, 20), "seeds": (1, 15), "max_length": (32, 512)}
# Shown beside the form: epochs are passes, held between these optimiser steps per seed.
STEP_BOUNDS = (DEFAULT_MIN_STEPS, DEFAULT_MAX_STEPS)
# A running job writes a heartbeat at least every few seconds; this much silence means its
# worker is gone (killed, out of memory, machine restarted).
HEARTBEAT_SILENCE = datetime.timedelta(minutes=3)


class JobError(ValueError):
    """A job cannot be started or changed; the message says why, for the page."""


def recipe_clean(**values) -> dict:
    recipe = dict(DEFAULT_RECIPE)
    for name, (low, high) in LIMITS.items():
        value = values.get(name)
        if value in (None, ""):
            continue
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise JobError(f"{name.replace('_', ' ')} must be a whole number") from None
        if not low <= value <= high:
            raise JobError(f"{name.replace('_', ' ')} must be between {low} and {high}")
        recipe[name] = value
    return recipe


@transaction.atomic
def model_version_create(
    *, project: Project, user=None, recipe: dict | None = None, auto_promote: bool = False,
    enqueue: bool = True,
) -> ModelVersion:
    # Lock the project row so two admins clicking at once get v5 and v6, not two v5s.
    Project.objects.select_for_update().get(pk=project.pk)
    number = (project.model_versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = ModelVersion.objects.create(
        project=project, number=number, base_model=str(settings.CTIR_BASE_MODEL),
        hyperparameters=recipe_clean(**(recipe or {})), auto_promote=auto_promote,
        created_by=user, phase="queued",
        progress={"message": "Waiting for a training worker"},
    )
    if enqueue:
        send_on_commit("modeling.tasks.train_model_version", version.pk)
    return version


def model_version_cancel(*, version: ModelVersion) -> str:
    """Cancel a queued run at once; ask a running one to stop at its next step."""
    now = timezone.now()
    if ModelVersion.objects.filter(pk=version.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, finished_at=now, phase="cancelled",
        progress={"message": "Cancelled before it started"},
    ):
        return "Cancelled before it started."
    if ModelVersion.objects.filter(pk=version.pk, status=JobStatus.RUNNING).update(
        cancel_requested=True
    ):
        return "Cancelling: the run stops after its current step."
    raise JobError(f"v{version.number} has already finished ({version.status}).")


@transaction.atomic
def model_version_promote(*, version: ModelVersion, user=None, prelabel: bool = True):
    """Make this version the project's active model in one transaction.

    The old version stays active until the commit, so suggestions never go missing.
    """
    locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != JobStatus.SUCCEEDED:
        raise JobError(f"v{locked.number} cannot be promoted: it has not succeeded.")
    list(ModelVersion.objects.select_for_update().filter(project=locked.project_id))
    ModelVersion.objects.filter(project=locked.project_id, is_active=True).exclude(
        pk=locked.pk
    ).update(is_active=False)
    locked.is_active, locked.promoted_at = True, timezone.now()
    locked.save(update_fields=["is_active", "promoted_at"])
    if prelabel:
        prelabel_request(project=locked.project, version=locked, user=user)
    return locked


def prelabel_request(*, project: Project, version: ModelVersion | None = None, user=None,
                     enqueue: bool = True) -> PrelabelRun:
    version = version or project.model_versions.filter(is_active=True).first()
    if version is None:
        raise JobError("No active model: promote a model version first.")
    if version.status != JobStatus.SUCCEEDED:
        raise JobError(f"v{version.number} has no trained model to pre-label with.")
    running = PrelabelRun.objects.filter(
        model_version=version, status__in=ACTIVE_STATUSES
    ).first()
    if running:
        return running
    run = PrelabelRun.objects.create(project=project, model_version=version, created_by=user)
    if enqueue:
        send_on_commit("modeling.tasks.prelabel_project", run.pk)
    return run


def stale_jobs_fail(*, project: Project | None = None, silence=HEARTBEAT_SILENCE) -> int:
    """Mark running jobs whose worker went silent as failed, with the reason."""
    cutoff = timezone.now() - silence
    count = 0
    for model in (ModelVersion, PrelabelRun):
        stale = model.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)
        if project is not None:
            stale = stale.filter(project=project)
        for job in stale:
            last = timezone.localtime(job.heartbeat_at).strftime("%Y-%m-%d %H:%M:%S")
            extra = {"phase": "failed"} if model is ModelVersion else {}
            count += model.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
                status=JobStatus.FAILED, finished_at=timezone.now(),
                error=f"The worker stopped responding (last heartbeat {last}); the run was "
                "abandoned. Start a new one.",
                **extra,
            )
    return count
