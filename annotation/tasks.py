"""Thin Celery tasks of the annotation app: take an id, call a service.

Every task's base (core.tasks.InstanceTask) first checks the instance its message came
from: ids are only meaningful in the database of the instance that sent them.
"""

from celery import shared_task

from core.tasks import InstanceTask

from .services import import_check_run, import_job_run

IMPORT_TIME_LIMIT = 2 * 3600


@shared_task(base=InstanceTask, acks_late=True, time_limit=IMPORT_TIME_LIMIT)
def import_reports_job(job_id: int) -> str:
    return import_job_run(job_id).status


@shared_task(base=InstanceTask, acks_late=True, time_limit=IMPORT_TIME_LIMIT)
def import_check_job(job_id: int) -> str:
    return import_check_run(job_id).status
