"""Every enqueue goes through here: by task name, after the commit, tagged with the instance.

Services enqueue through here instead of importing their tasks: a task module imports the
job that does the work, the job calls services, and a service importing tasks would close
the circle. Sending by name also keeps the web process from importing task code at all.
Queues are picked by CELERY_TASK_ROUTES, which routes by the same name.

Two guarantees:
- A job whose message never reached the broker does not wait "queued" forever: the caller
  passes `failed`, which marks its row failed with the reason (what to do included), and
  the request goes on; no 500 after the commit.
- Every message carries `instance` (settings.CTIR_INSTANCE); the task calls
  `instance_check` first, so a worker never runs an id from another ctir instance's
  database even when two instances share one Redis and its queue names.
"""

import logging
from collections.abc import Callable

from celery import current_app as app
from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)


class WrongInstance(RuntimeError):
    """A task was sent by another ctir instance: its ids mean nothing in this database."""


def send_on_commit(task, *args, failed: Callable[[str], None]) -> None:
    """Send `task` (a name like "modeling.tasks.prelabel_project", or a task) with `args`
    after the commit, so a worker never looks for a row that is not there yet; at once when
    no transaction is open. If the broker does not take it, `failed(exc)` is called (it
    marks the job's row failed, with `broker_problem` as the reason) and nothing is raised."""
    name = task if isinstance(task, str) else task.name
    transaction.on_commit(lambda: _send_or_report(name, args, failed))


def send_now(task, *args) -> None:
    """Send at once and let a broker error reach the caller, for a caller that must know
    the job was handed over (and undo what it wrote when it was not). Call it after the
    commit, outside any transaction."""
    _send(task if isinstance(task, str) else task.name, args)


def instance_check(instance: str | None) -> None:
    """First line of every task: refuse a message from another instance (or from before
    messages carried one) instead of running its ids against this database."""
    if instance != settings.CTIR_INSTANCE:
        raise WrongInstance(
            f"task sent by instance {instance!r}, this worker serves "
            f"{settings.CTIR_INSTANCE!r}: refused (check CTIR_INSTANCE and the worker's -Q)")


def broker_problem(exc: BaseException, retry: str) -> str:
    """What the page says when the broker did not take a job: what broke and what to do."""
    return (f"The job queue (Redis at {safe_broker_url()}) is not answering "
            f"({type(exc).__name__}); start it (make run starts one) and {retry}.")


def safe_broker_url() -> str:
    # Never show a password from the broker URL on a page.
    url = str(settings.CELERY_BROKER_URL)
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.split('@', 1)[1]}"
    return url


def _send_or_report(name: str, args: tuple, failed: Callable[[str], None]) -> None:
    try:
        _send(name, args)
    except Exception as exc:  # kombu wraps most broker errors, not all: any failure to hand over
        log.error("could not send %s%r: %s", name, args, exc)
        failed(exc)


def _send(name: str, args: tuple) -> None:
    kwargs = {"instance": settings.CTIR_INSTANCE}
    if app.conf.task_always_eager:  # send_task ignores the setting that .delay() honours
        app.tasks[name].apply(args=args, kwargs=kwargs)
    else:
        app.send_task(name, args=args, kwargs=kwargs)
