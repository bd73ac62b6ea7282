"""Thin Celery tasks: take an id, call a job function. Queues are routed in settings.

Every task first checks the instance its message came from (ctir_site.queue): ids are only
meaningful in the database of the instance that sent them.
"""

from celery import shared_task

from ctir_site.queue import instance_check

from .services import auto_retrain_due, fast_retrain_check, stale_jobs_fail

# Training on CPU takes minutes; on a slow host allow hours, but never forever.
TRAIN_TIME_LIMIT = 4 * 3600


@shared_task(acks_late=True, time_limit=TRAIN_TIME_LIMIT + 60, soft_time_limit=TRAIN_TIME_LIMIT)
def train_model_version(version_id: int, *, instance: str | None = None) -> str:
    instance_check(instance)
    from .jobs import train_version

    version = train_version(version_id)
    # Labels written while it ran may already call for the next fast model.
    fast_retrain_check(project=version.project)
    return version.status


@shared_task(ignore_result=True)
def fast_retrain(project_id: int, *, instance: str | None = None) -> str:
    """Sent when a project's labels pass a multiple of its fast-retrain step."""
    instance_check(instance)
    from annotation.models import Project

    project = Project.objects.filter(pk=project_id).first()
    return fast_retrain_check(project=project) if project else "no such project"


@shared_task(acks_late=True, time_limit=3600)
def prelabel_project(run_id: int, *, instance: str | None = None) -> str:
    instance_check(instance)
    from .jobs import prelabel

    return prelabel(run_id).status


@shared_task(ignore_result=True)
def fail_stale_jobs(*, instance: str | None = None) -> int:
    """Beat runs this every minute (settings.CELERY_BEAT_SCHEDULE), not the Models page."""
    instance_check(instance)
    return stale_jobs_fail()


@shared_task(ignore_result=True)
def auto_retrain(*, instance: str | None = None) -> list[str]:
    """Beat runs this every minute: start the retrains the projects' policies say are due."""
    instance_check(instance)
    return auto_retrain_due()
