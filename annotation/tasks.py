"""Thin Celery tasks of the annotation app: take an id, call a service."""

from celery import shared_task

from .services import import_job_run

IMPORT_TIME_LIMIT = 2 * 3600


@shared_task(acks_late=True, time_limit=IMPORT_TIME_LIMIT)
def import_reports_job(job_id: int) -> str:
    return import_job_run(job_id).status
