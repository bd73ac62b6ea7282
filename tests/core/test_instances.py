"""Two ctir instances on one Redis: queues named per instance, and tasks refuse ids sent by
another instance (core.queue)."""

import pytest
from django.conf import settings

from annotation.tasks import import_reports_job
from core.models import JobStatus
from core.queue import WrongInstance
from core.tasks import fail_stale_jobs
from ctir_site.settings import _default_instance
from modeling import services
from modeling.models import ModelVersion
from modeling.tasks import auto_retrain, prelabel_project, train_model_version
from studies.tasks import time_model_on_study

POSTGRES = "django.db.backends.postgresql"
SQLITE = "django.db.backends.sqlite3"


def test_the_default_instance_is_the_database_name():
    assert _default_instance({"ENGINE": POSTGRES, "NAME": "ctir_ha"}) == "ctir_ha"
    assert _default_instance({"ENGINE": POSTGRES, "NAME": "dept one/ct"}) == "dept-one-ct"
    one = _default_instance({"ENGINE": SQLITE, "NAME": "/srv/a/db.sqlite3"})
    two = _default_instance({"ENGINE": SQLITE, "NAME": "/srv/b/db.sqlite3"})
    assert one.startswith("db-") and two.startswith("db-") and one != two


def test_every_queue_and_route_carries_the_instance():
    names = set(settings.CTIR_QUEUES.values())
    assert names == {f"{settings.CTIR_INSTANCE}.{role}"
                     for role in ("celery", "training", "inference")}
    assert {q.name for q in settings.CELERY_TASK_QUEUES} == names
    assert {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} <= names
    assert settings.CELERY_TASK_DEFAULT_QUEUE in names
    # Each queue has its own key: a message for one queue never lands in another.
    assert len({q.routing_key for q in settings.CELERY_TASK_QUEUES}) == 3
    assert all(entry["kwargs"] == {"instance": settings.CTIR_INSTANCE}
               for entry in settings.CELERY_BEAT_SCHEDULE.values())


@pytest.mark.parametrize("instance", ["another-ctir", None])
def test_a_task_refuses_an_id_from_another_instance(project, instance):
    version = services.model_version_create(project=project, enqueue=False)
    kwargs = {} if instance is None else {"instance": instance}
    for task in (train_model_version, prelabel_project, time_model_on_study,
                 import_reports_job):
        result = task.apply(args=[version.pk], kwargs=kwargs)
        assert result.failed() and isinstance(result.result, WrongInstance), task.name
    for beat in (fail_stale_jobs, auto_retrain):
        assert isinstance(beat.apply(kwargs=kwargs).result, WrongInstance), beat.name
    version.refresh_from_db()
    assert version.status == JobStatus.QUEUED and version.started_at is None


def test_a_task_runs_its_own_instances_ids(project):
    version = services.model_version_create(project=project, enqueue=False)
    services.model_version_cancel(version=version)  # so the job returns without training
    result = train_model_version.apply(args=[version.pk],
                                       kwargs={"instance": settings.CTIR_INSTANCE})
    assert result.successful() and result.result == JobStatus.CANCELLED
    assert ModelVersion.objects.get().status == JobStatus.CANCELLED
