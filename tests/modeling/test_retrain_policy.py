"""The auto-retrain policy: labels are counted as they are written; beat starts the run."""

import dataclasses
import shutil

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from kombu.exceptions import OperationalError

from annotation import services as annotation_services
from annotation.models import Category, LabelMethod, Report
from core import queue
from core.models import JobStatus
from modeling import jobs, selectors, services
from modeling.models import ModelVersion, RetrainPolicy, Trigger
from tests.support import labelled_rows

TINY = {"epochs": 1, "seeds": 1, "max_length": 64}


@pytest.fixture
def unlabelled(project):
    rows = [dataclasses.replace(r, label=None, split=None)
            for r in labelled_rows({"train": 3}, prefix="U")]
    annotation_services.reports_write(project=project, rows=rows, batch=None, user=None,
                                      reason="test")
    return list(Report.objects.filter(project=project).order_by("pk"))


def label(reports, code=1):
    for report in reports:
        annotation_services.reference_label_set(
            report=report, category=Category.objects.get(project=report.project, code=code),
            method=LabelMethod.SINGLE, user=None)


def policy(project, every):
    return services.retrain_policy_set(project=project, mode=RetrainPolicy.Mode.EVERY,
                                       every=every)


def test_it_counts_labels_without_touching_modeling_tables(project, unlabelled):
    with CaptureQueriesContext(connection) as queries:
        label(unlabelled[:2])
    assert not any("modeling_" in q["sql"] for q in queries.captured_queries)
    assert selectors.labels_since_last_version(project) == 2
    services.model_version_create(project=project, enqueue=False)
    label(unlabelled[2:3])
    label(unlabelled[:1], code=2)  # a corrected label counts too
    assert selectors.labels_since_last_version(project) == 2


def test_it_is_off_without_a_policy_and_starts_at_n(project, unlabelled, sent):
    label(unlabelled[:3])
    assert services.auto_retrain_check(project=project) == "off"
    policy(project, 4)
    assert services.auto_retrain_check(project=project).startswith("waiting (3 of 4")
    assert not ModelVersion.objects.exists()
    label(unlabelled[3:4])
    assert services.auto_retrain_due() == ["ct-ir: started v1"]
    version = ModelVersion.objects.get()
    assert (version.trigger, version.auto_promote) == (Trigger.AUTO, True)
    assert sent == [("modeling.tasks.train_model_version", (version.pk,))]
    assert selectors.labels_since_last_version(project) == 0


def test_it_does_not_start_twice_while_a_job_runs(project, unlabelled, sent):
    policy(project, 2)
    label(unlabelled[:2])
    assert services.auto_retrain_check(project=project) == "started v1"
    label(unlabelled[2:6])
    ModelVersion.objects.update(status=JobStatus.RUNNING)
    assert "waiting for v1" in services.auto_retrain_check(project=project)
    assert services.auto_retrain_check(project=project).startswith("Due")
    assert ModelVersion.objects.count() == 1 and len(sent) == 1
    assert "waiting for v1" in RetrainPolicy.objects.get().note
    ModelVersion.objects.update(status=JobStatus.SUCCEEDED)
    assert services.auto_retrain_check(project=project) == "started v2"


def test_it_catches_up_after_a_broker_outage(project, unlabelled, monkeypatch):
    policy(project, 2)

    def down(name, args, kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(queue.app, "send_task", down)
    label(unlabelled[:3])  # labeling never talks to the broker
    assert "did not answer" in services.auto_retrain_check(project=project)
    assert not ModelVersion.objects.exists()  # nothing left queued that no worker will see
    assert selectors.labels_since_last_version(project) == 3  # and no label lost
    calls = []
    monkeypatch.setattr(queue.app, "send_task", lambda name, args, kwargs: calls.append(name))
    assert services.auto_retrain_check(project=project) == "started v1"
    assert calls == ["modeling.tasks.train_model_version"]
    assert RetrainPolicy.objects.get().note == ""


def _auto_trained(project):
    version = services.model_version_create(project=project, recipe=TINY, enqueue=False,
                                            auto_promote=True, trigger=Trigger.AUTO)
    return jobs.train_version(version.pk)


def test_it_promotes_when_as_good_and_says_why(labelled_project, model_settings,
                                               django_capture_on_commit_callbacks, sent):
    with django_capture_on_commit_callbacks(execute=True):
        version = _auto_trained(labelled_project)
    assert version.is_active
    assert version.promotion_note == "Promoted: there was no active model."
    assert ("modeling.tasks.prelabel_project", (version.prelabel_runs.get().pk,)) in sent


def test_it_does_not_promote_a_worse_model(labelled_project, model_settings, monkeypatch):
    first = _auto_trained(labelled_project)
    assert first.is_active
    monkeypatch.setattr(jobs, "validation_correct",
                        lambda v, texts, truth: 8 if v.pk == first.pk else 5)
    second = _auto_trained(labelled_project)
    assert second.status == JobStatus.SUCCEEDED and not second.is_active
    assert second.promotion_note.startswith("Not promoted:")
    assert "5/8" in second.promotion_note and "active v1 8/8" in second.promotion_note
    assert ModelVersion.objects.get(is_active=True) == first


def test_a_failed_comparison_leaves_the_new_version_succeeded_and_unpromoted(
        labelled_project, model_settings):
    first = _auto_trained(labelled_project)
    shutil.rmtree(first.artifact_dir)  # the active model's folder is gone from the disk
    second = _auto_trained(labelled_project)
    assert second.status == JobStatus.SUCCEEDED and second.phase == "done"
    assert not second.is_active and ModelVersion.objects.get(is_active=True) == first
    assert second.promotion_note.startswith(
        "Not promoted: the comparison with the active model failed")


def test_the_models_page_shows_and_edits_the_policy(login, project, admin_user, unlabelled):
    client = login(admin_user)
    url = reverse("models", args=[project.slug])
    page = client.get(url).content.decode()
    assert 'value="off" checked' in page and 'value="50"' in page
    response = client.post(reverse("retrain_policy", args=[project.slug]),
                           {"mode": "every", "every": "20"}, follow=True)
    assert b"after every 20 new reference labels is on" in response.content
    assert RetrainPolicy.objects.get().every == 20
    label(unlabelled[:3])
    page = client.get(url).content.decode()
    assert "<strong>3</strong> new or changed reference labels since the last version" in page
    assert "(a retrain starts at 20)" in page
    response = client.post(reverse("retrain_policy", args=[project.slug]),
                           {"mode": "every", "every": "0"}, follow=True)
    assert b"Policy not saved: the number of labels must be between 1" in response.content


def test_the_page_says_why_the_last_automatic_run_was_not_promoted(login, project, admin_user):
    ModelVersion.objects.create(project=project, number=1, base_model="x",
                                status=JobStatus.SUCCEEDED, trigger=Trigger.AUTO,
                                promotion_note="Not promoted: tfidf v1 5/8 correct ...")
    page = login(admin_user).get(reverse("models", args=[project.slug])).content.decode()
    assert "Last automatic run" in page and "Not promoted: tfidf v1 5/8" in page
    assert "retrain policy" in page


def test_an_automatic_run_repeats_the_newest_recipe(project, unlabelled, sent):
    services.model_version_create(project=project, enqueue=False, recipe=TINY)
    ModelVersion.objects.update(status=JobStatus.FAILED)
    policy(project, 1)
    label(unlabelled[:1])
    assert services.auto_retrain_check(project=project) == "started v2"
    assert ModelVersion.objects.get(number=2).hyperparameters == TINY


def test_a_project_gets_its_first_model_fast_with_no_one_pressing_train(
        labelled_project, model_settings, sent):
    """As soon as every category has 2 labels in train and in validation: a fast (TF-IDF)
    version, auto-promoted through the usual gate, trained in seconds without BERT."""
    from modeling.ml.inference import Classifier

    assert services.auto_retrain_due() == ["ct-ir: started v1 (fast)"]
    version = ModelVersion.objects.get()
    assert (version.trigger, version.auto_promote, version.hyperparameters) == (
        Trigger.FIRST, True, {"fast": True})
    assert sent == [("modeling.tasks.train_model_version", (version.pk,))]
    # While it is queued, no second one starts.
    assert services.first_model_check(project=labelled_project) == "has a model"
    version = jobs.train_version(version.pk)  # what the worker's task calls
    assert version.status == JobStatus.SUCCEEDED and version.is_active
    assert version.metrics["served"] == "tfidf" and version.metrics["fast"] is True
    assert version.metrics["validation"]["accuracy"] is not None
    folder = version.artifact_dir
    import os

    assert "tfidf.joblib" in os.listdir(folder) and "model.safetensors" not in os.listdir(
        folder)
    classifier = Classifier.load(folder)
    assert classifier.model is None  # the encoder is never loaded for a fast model
    [answer] = classifier.predict(["CT-guided drainage of a pelvic abscess, 10F pigtail."])
    assert answer["category"] in (1, 2, 3, 4)
    assert services.auto_retrain_due() == []  # it has a model now


def test_the_first_model_waits_for_labels_and_after_a_failure_for_new_ones(
        project, unlabelled, sent):
    label(unlabelled[:3])
    said = services.first_model_check(project=project)
    assert said.startswith("waiting for labels (category 1 has")
    assert not ModelVersion.objects.exists()
    failed = services.model_version_create(project=project, enqueue=False, fast=True,
                                           trigger=Trigger.FIRST)
    ModelVersion.objects.filter(pk=failed.pk).update(status=JobStatus.FAILED)
    assert services.first_model_check(project=project) == (
        "waiting for new labels since the last try")
