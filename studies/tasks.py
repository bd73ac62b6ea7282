"""Thin Celery tasks: take an id, call a job function. Queues are routed in settings."""

from celery import shared_task

from core.tasks import InstanceTask


@shared_task(base=InstanceTask, acks_late=True, time_limit=1800)
def time_model_on_study(run_id: int) -> float | None:
    """Time the model on a study's cases: the ModelTimingRun with this id."""
    # Imported when the task runs: the web process loads this module and must not load torch.
    from .jobs import run_model_timing

    timing = run_model_timing(run_id)
    return timing["total_s"] if timing else None
