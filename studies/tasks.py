"""Thin Celery tasks: take an id, call a job function. Queues are routed in settings."""

from celery import shared_task


@shared_task(acks_late=True, time_limit=1800)
def time_model_on_study(study_id: int) -> float:
    # Imported when the task runs: the web process loads this module and must not load torch.
    from .jobs import time_study_model

    return time_study_model(study_id)["total_s"]
