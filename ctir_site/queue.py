"""Enqueue a Celery task by name once the current transaction commits.

Services enqueue through here instead of importing their tasks: a task module imports the
job that does the work, the job calls services, and a service importing tasks would close
the circle. Sending by name also keeps the web process from importing task code at all.
Queues are picked by CELERY_TASK_ROUTES, which routes by the same name.
"""

from django.db import transaction

from .celery import app


def send_on_commit(task, *args) -> None:
    """Send `task` (a name like "modeling.tasks.prelabel_project", or a task) with `args`
    after the commit, so a worker never looks for a row that is not there yet; at once when
    no transaction is open."""
    name = task if isinstance(task, str) else task.name
    transaction.on_commit(lambda: _send(name, args))


def send_now(task, *args) -> None:
    """Send at once and let a broker error reach the caller, for a caller that must know
    the job was handed over (and undo what it wrote when it was not). Call it after the
    commit, outside any transaction."""
    _send(task if isinstance(task, str) else task.name, args)


def _send(name: str, args: tuple) -> None:
    if app.conf.task_always_eager:  # send_task ignores the setting that .delay() honours
        app.tasks[name].apply(args=args)
    else:
        app.send_task(name, args=args)
