"""Thin Celery tasks: take an id, call a job function. Queues are routed in settings.

Every task's base (core.tasks.InstanceTask) first checks the instance its message came
from: ids are only meaningful in the database of the instance that sent them.
"""

from celery import shared_task

from core.tasks import InstanceTask

from .services import auto_retrain_due, fast_retrain_check

# Training on CPU takes minutes; on a slow host allow hours, but never forever.
TRAIN_TIME_LIMIT = 4 * 3600


@shared_task(base=InstanceTask, acks_late=True, time_limit=TRAIN_TIME_LIMIT + 60,
             soft_time_limit=TRAIN_TIME_LIMIT)
def train_model_version(version_id: int) -> str:
    from .jobs import train_version  # torch: only a worker running the task loads it

    version = train_version(version_id)
    # Labels written while it ran may already call for the next fast model.
    fast_retrain_check(project=version.project)
    return version.status


@shared_task(base=InstanceTask, ignore_result=True)
def fast_retrain(project_id: int) -> str:
    """Sent when a project's labels reach the point where a fast retrain may be due."""
    from annotation.models import Project

    project = Project.objects.filter(pk=project_id).first()
    return fast_retrain_check(project=project) if project else "no such project"


@shared_task(base=InstanceTask, acks_late=True, time_limit=3600)
def prelabel_project(run_id: int) -> str:
    from .jobs import prelabel

    return prelabel(run_id).status


@shared_task(base=InstanceTask, acks_late=True, time_limit=3600)
def evaluate_imported_version(version_id: int) -> str:
    """Score an imported model archive on this project's splits (services.model_archive_import)."""
    from .jobs import evaluate_imported

    return evaluate_imported(version_id).status


@shared_task(base=InstanceTask, ignore_result=True)
def auto_retrain() -> list[str]:
    """Beat runs this every minute: start the retrains the projects' policies say are due."""
    return auto_retrain_due()


# The web process waits for this task's answer (modeling.services.texts_classify): the one
# task whose result is kept, in the Redis result backend, for settings.CELERY_RESULT_EXPIRES.
# Not acks_late: if the worker dies mid-call, the caller has its 503 and nobody waits for
# a second try.
@shared_task(base=InstanceTask, ignore_result=False, acks_late=False)
def classify_texts(version_id: int, texts: list[str]) -> list[dict]:
    """The version's predictions for texts sent by the API, stored nowhere."""
    from .ml.inference import cached_classifier  # torch: only a worker running the task
    from .models import ModelVersion

    folder = ModelVersion.objects.values_list("artifact_dir", flat=True).get(pk=version_id)
    return cached_classifier(folder).predict(texts)
