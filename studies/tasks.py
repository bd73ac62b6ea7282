"""Thin Celery tasks: take an id, call a job function. Queues are routed in settings."""

from celery import shared_task

from ctir_site.queue import instance_check


@shared_task(acks_late=True, time_limit=1800)
def time_model_on_study(study_id: int, *, instance: str | None = None) -> float:
    instance_check(instance)  # the id means nothing in another instance's database
    # Imported when the task runs: the web process loads this module and must not load torch.
    from .jobs import time_study_model

    return time_study_model(study_id)["total_s"]
