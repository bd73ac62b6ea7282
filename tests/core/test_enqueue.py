"""Services enqueue by task name, after the commit, tagged with the instance (core.queue)."""

import importlib

import pytest
from django.conf import settings

from core import queue


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(queue.app, "send_task",
                        lambda name, args, kwargs: calls.append((name, args, kwargs)))
    return calls


def _never_called(exc):
    raise AssertionError(f"the send failed: {exc}")


def test_it_sends_by_name_only_after_the_commit(db, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        queue.send_on_commit("modeling.tasks.prelabel_project", 7, failed=_never_called)
        assert sent == []
    assert sent == [("modeling.tasks.prelabel_project", (7,),
                     {"instance": settings.CTIR_INSTANCE})]


def test_it_takes_a_task_too(db, sent, django_capture_on_commit_callbacks):
    from studies.tasks import time_model_on_study

    with django_capture_on_commit_callbacks(execute=True):
        queue.send_on_commit(time_model_on_study, 3, failed=_never_called)
    assert [(name, args) for name, args, _ in sent] == [("studies.tasks.time_model_on_study",
                                                          (3,))]


@pytest.mark.parametrize("name", sorted(settings.CELERY_TASK_ROUTES))
def test_every_routed_name_is_a_task(name):
    module, _, attribute = name.rpartition(".")
    assert getattr(importlib.import_module(module), attribute).name == name
