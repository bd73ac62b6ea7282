"""What every job kind shares beyond its row: failing the runs whose worker went silent,
and one sweep over all job kinds for beat."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from .models import JobStatus

# A running job writes a heartbeat at least every few seconds; this much silence means its
# worker is gone (killed, out of memory, machine restarted).
HEARTBEAT_SILENCE = datetime.timedelta(minutes=3)

_SWEEPS: list[Callable[[], int]] = []


def stale_sweep(sweep: Callable[[], int]) -> Callable[[], int]:
    """Register a job kind's sweep (its app's ready() calls this); beat runs them all."""
    if sweep not in _SWEEPS:
        _SWEEPS.append(sweep)
    return sweep


def stale_jobs_fail_all() -> int:
    """core.tasks.fail_stale_jobs: every registered job kind's sweep, once a minute."""
    return sum(sweep() for sweep in list(_SWEEPS))


def running_jobs_fail_stale(queryset, *, then: str, silence=HEARTBEAT_SILENCE,
                            **extra) -> int:
    """Fail the running jobs of `queryset` (a Job subclass) whose heartbeat is older than
    `silence`, saying when it was last heard and `then`, what to do. Each row is failed by a
    conditional update, so a job that finished meanwhile is left as it is."""
    cutoff = timezone.now() - silence
    count = 0
    for job in queryset.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff):
        last = timezone.localtime(job.heartbeat_at).strftime("%Y-%m-%d %H:%M:%S")
        count += queryset.model.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            status=JobStatus.FAILED, finished_at=timezone.now(),
            error=f"The worker stopped responding (last heartbeat {last}); {then}", **extra)
    return count


@dataclass(frozen=True)
class Outcome:
    """What a request to start or change a job came to, for the page and the API alike.

    ``refused``: the request cannot be done (the page shows it as an error; the API answers
    400 or 409). ``unavailable``: nothing would run it now, or the task queue did not take
    it (503). ``note``: done, with something the user must know. ``message``: what the page
    says when all went well."""

    job: object | None = None
    message: str = ""
    refused: str = ""
    unavailable: str = ""
    note: str = ""

    @property
    def ok(self) -> bool:
        return not (self.refused or self.unavailable)


def handed_over(job, *, status_field: str = "status", reason_field: str = "error",
                failed=JobStatus.FAILED) -> str:
    """'' when the broker took the job; else the reason its row was failed with. A job sent
    with core.queue.send_on_commit is failed at once when the broker refuses it, so a
    re-read after the commit tells the caller whether a worker will ever see it."""
    job.refresh_from_db(fields=[status_field, reason_field])
    return getattr(job, reason_field) if getattr(job, status_field) == failed else ""
