"""Thin Celery tasks: take an id, call a job function. Queues are routed in settings."""

from celery import shared_task

from .services import auto_retrain_due, stale_jobs_fail

# Training on CPU takes minutes; on a slow host allow hours, but never forever.
TRAIN_TIME_LIMIT = 4 * 3600


@shared_task(acks_late=True, time_limit=TRAIN_TIME_LIMIT + 60, soft_time_limit=TRAIN_TIME_LIMIT)
def train_model_version(version_id: int) -> str:
    from .jobs import train_version

    return train_version(version_id).status


@shared_task(acks_late=True, time_limit=3600)
def prelabel_project(run_id: int) -> str:
    from .jobs import prelabel

    return prelabel(run_id).status


@shared_task(ignore_result=True)
def fail_stale_jobs() -> int:
    """Beat runs this every minute (settings.CELERY_BEAT_SCHEDULE), not the Models page."""
    return stale_jobs_fail()


@shared_task(ignore_result=True)
def auto_retrain() -> list[str]:
    """Beat runs this every minute: start the retrains the projects' policies say are due."""
    return auto_retrain_due()
