"""Thin Celery tasks: take an id, call a job function. Queues are routed in settings."""

from celery import shared_task

from ctir_site.queue import instance_check


@shared_task(acks_late=True, time_limit=1800)
def time_model_on_study(run_id: int, *, instance: str | None = None) -> float | None:
    """Time the model on a study's cases: the ModelTimingRun with this id."""
    instance_check(instance)  # the id means nothing in another instance's database
    # Imported when the task runs: the web process loads this module and must not load torch.
    from .jobs import run_model_timing

    timing = run_model_timing(run_id)
    return timing["total_s"] if timing else None


@shared_task(ignore_result=True)
def fail_stale_timing_runs(*, instance: str | None = None) -> int:
    """Beat runs this every minute (settings.CELERY_BEAT_SCHEDULE)."""
    instance_check(instance)
    from .services import timing_runs_fail_stale

    return timing_runs_fail_stale()
