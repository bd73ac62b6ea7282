"""The base of every ctir task, and beat's one sweep over all job kinds."""

from celery import Task, shared_task

from .jobs import stale_jobs_fail_all
from .queue import instance_check


class InstanceTask(Task):
    """Refuses a message sent by another ctir instance before the task body runs: its ids
    mean nothing in this database (core.queue tags every message with `instance`)."""

    def __call__(self, *args, instance: str | None = None, **kwargs):
        instance_check(instance)
        return super().__call__(*args, **kwargs)


@shared_task(base=InstanceTask, ignore_result=True)
def fail_stale_jobs() -> int:
    """Beat runs this every minute (settings.CELERY_BEAT_SCHEDULE), for every job kind."""
    return stale_jobs_fail_all()
