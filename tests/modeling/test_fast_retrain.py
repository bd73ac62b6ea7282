"""The model that learns while you label: a fast (TF-IDF) retrain every K new labels."""

import dataclasses

import pytest
from django.urls import reverse

from annotation import services as annotation_services
from annotation.models import Category, LabelMethod, Project, Report
from core.models import JobStatus
from modeling import jobs, selectors, services
from modeling.models import ModelVersion, Trigger
from tests.support import labelled_rows


@pytest.fixture
def unlabelled(project):
    rows = [dataclasses.replace(r, label=None, split=None)
            for r in labelled_rows({"train": 4}, prefix="U")]
    annotation_services.reports_write(project=project, rows=rows, batch=None, user=None,
                                      reason="test")
    return list(Report.objects.filter(project=project, reference_label__isnull=True)
                .order_by("pk"))


def label(reports, code=1):
    for report in reports:
        annotation_services.reference_label_set(
            report=report, category=Category.objects.get(project=report.project, code=code),
            method=LabelMethod.SINGLE, user=None)


def every(project, k):
    Project.objects.filter(pk=project.pk).update(fast_retrain_every=k)


def test_the_kth_label_asks_a_worker_after_its_commit(labelled_project, unlabelled, sent,
                                                      django_capture_on_commit_callbacks):
    project = labelled_project
    every(project, 3)
    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_create(project=project, enqueue=False, fast=True)
    with django_capture_on_commit_callbacks(execute=True):
        label(unlabelled[:2])
    assert sent == []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        label(unlabelled[2:3])
    assert len(callbacks) == 1
    assert sent == [("modeling.tasks.fast_retrain", (project.pk,))]
    # The worker found v1 still queued: annotation stops asking until K more labels, and
    # v1's end checks again (modeling.tasks.train_model_version).
    assert services.fast_retrain_check(project=project) == "waiting for v1 to finish"
    with django_capture_on_commit_callbacks(execute=True):
        label(unlabelled[3:5], code=2)
    assert len(sent) == 1
    # An import with labels asks once, however many it writes.
    with django_capture_on_commit_callbacks(execute=True):
        annotation_services.reports_write(project=project, rows=labelled_rows(
            {"train": 4}, prefix="L"), batch=None, user=None, reason="test")
    assert sent[1:] == [("modeling.tasks.fast_retrain", (project.pk,))]


def test_without_a_worker_one_message_per_k_labels(project, unlabelled, sent,
                                                   django_capture_on_commit_callbacks):
    """Nobody takes the messages (worker down or busy): the label that reaches the due count
    moves it K on itself, so K labels send one message, not K."""
    every(project, 3)
    for report in unlabelled[:7]:
        with django_capture_on_commit_callbacks(execute=True):
            label([report])
    assert len(sent) == 3  # labels 1, 4 and 7
    assert Project.objects.get(pk=project.pk).fast_retrain_due_at == 10
    # A worker that finds the first model still short of labels asks again at the next one,
    # so the first suggestions do not wait K labels more.
    assert services.first_model_check(project=project).startswith("waiting for labels")
    with django_capture_on_commit_callbacks(execute=True):
        label(unlabelled[7:8])
    assert len(sent) == 4


def test_off_means_no_message(project, unlabelled, sent, django_capture_on_commit_callbacks):
    every(project, 0)
    with django_capture_on_commit_callbacks(execute=True):
        label(unlabelled[:5])
    assert sent == []


def _first_model(project):
    assert services.first_model_check(project=project) == "started v1 (fast)"
    version = jobs.train_version(ModelVersion.objects.get(number=1).pk)
    assert version.is_active
    return version


def test_k_new_labels_train_and_promote_a_fast_model(labelled_project, unlabelled,
                                                     model_settings, sent):
    project = labelled_project
    _first_model(project)
    every(project, 4)
    label(unlabelled[:3])
    assert services.fast_retrain_check(project=project) == "waiting (3 of 4 labels)"
    assert not selectors.projects_due_a_fast_model().exists()
    label(unlabelled[3:4])
    assert list(selectors.projects_due_a_fast_model()) == [project]
    assert services.fast_retrain_check(project=project) == "started v2 (fast)"
    v2 = ModelVersion.objects.get(number=2)
    assert (v2.trigger, v2.auto_promote, v2.hyperparameters) == (
        Trigger.FAST, True, {"fast": True})
    assert sent[-1] == ("modeling.tasks.train_model_version", (v2.pk,))
    # Labels that arrive while it is queued wait for it; none starts beside it.
    label(unlabelled[4:9])
    assert services.fast_retrain_check(project=project) == "waiting for v2 to finish"
    assert not selectors.projects_due_a_fast_model().exists()
    v2 = jobs.train_version(v2.pk)
    assert v2.status == JobStatus.SUCCEEDED
    # The same gate as any automatic run: promoted only if at least as good on validation.
    assert v2.promotion_note.startswith(("Promoted: ", "Not promoted: "))
    assert v2.is_active == v2.promotion_note.startswith("Promoted: ")
    # The 5 labels written while v2 was queued count towards the next one (v2 was queued
    # after the 4th, so they are new to it).
    assert selectors.labels_since_last_version(project) == 5
    assert services.auto_retrain_due() == ["ct-ir: started v3 (fast)"]


def test_a_full_run_in_progress_holds_the_fast_model_back(labelled_project, unlabelled,
                                                          model_settings, sent):
    project = labelled_project
    _first_model(project)
    every(project, 2)
    full = services.model_version_create(project=project, enqueue=False)
    label(unlabelled[:6])
    assert services.fast_retrain_check(project=project) == f"waiting for v{full.number} to finish"
    ModelVersion.objects.filter(pk=full.pk).update(status=JobStatus.FAILED)
    assert services.fast_retrain_check(project=project).startswith("started v")


def test_fast_retraining_off(labelled_project, unlabelled, model_settings, sent):
    project = labelled_project
    _first_model(project)
    every(project, 0)
    label(unlabelled[:6])
    assert services.fast_retrain_check(project=project) == "fast retraining is off"
    assert not selectors.projects_due_a_fast_model().exists()


def test_without_a_model_the_check_is_the_first_model_check(project, unlabelled, sent):
    label(unlabelled[:3])
    assert services.fast_retrain_check(project=project).startswith("waiting for labels")
    assert not ModelVersion.objects.exists()


def test_the_settings_page_sets_the_step(project, admin_user, login):
    client = login(admin_user)
    url = reverse("project_settings", args=[project.slug])
    form = {"action": "project", "name": project.name, "description": "", "guideline": "",
            "annotations_per_report": 1, "double_read_fraction": 100, "claim_minutes": 15}
    page = client.get(url).content.decode()
    assert "Retrain the fast model every, labels" in page and 'value="10"' in page
    response = client.post(url, {**form, "fast_retrain_every": "25"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.fast_retrain_every == 25
    response = client.post(url, {**form, "fast_retrain_every": "-1"})
    assert "greater than or equal to 0" in response.content.decode()
    project.refresh_from_db()
    assert project.fast_retrain_every == 25
