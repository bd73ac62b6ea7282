"""Warm start: a new version's BERT starts from an earlier version, not the base encoder."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from django.urls import reverse

from annotation.models import Category, Membership, Role
from core.models import JobStatus
from modeling import jobs, selectors, services
from modeling.ml import training
from modeling.models import ModelVersion

TINY = {"epochs": 1, "seeds": 1, "max_length": 64}


def train(project, **kw):
    version = services.model_version_create(project=project, recipe=TINY, enqueue=False, **kw)
    return jobs.train_version(version.pk)


@pytest.fixture
def first(labelled_project, model_settings):
    version = train(labelled_project)
    assert version.status == JobStatus.SUCCEEDED, version.error
    return services.model_version_promote(version=version, prelabel=False)


@pytest.fixture
def loaded(monkeypatch):
    """The weights BERT starts each seed with, before any training step."""
    states = []
    load = training._load_model

    def spy(*args, **kwargs):
        model = load(*args, **kwargs)
        states.append({k: v.clone() for k, v in model.state_dict().items()})
        return model

    monkeypatch.setattr(training, "_load_model", spy)
    return states


def _weights(folder):
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(folder).state_dict()


def test_it_starts_from_the_active_version_by_default(first, loaded):
    second = train(first.project)
    assert second.status == JobStatus.SUCCEEDED, second.error
    assert second.hyperparameters["warm_start"] == {
        "project": "ct-ir", "version": 1, "folder": first.artifact_dir}
    before = loaded[0]
    previous = _weights(first.artifact_dir)
    assert before.keys() == previous.keys()
    assert all(torch.equal(before[k], previous[k]) for k in previous)  # head included
    assert [s["label"] for s in selectors.lineage(second)][:2] == ["v2", "v1"]
    third = train(first.project, start_from=second)
    assert [s["label"] for s in selectors.lineage(third)][:3] == ["v3", "v2", "v1"]
    assert selectors.lineage(third)[-1]["label"].startswith("base model (")


def test_it_starts_from_the_base_encoder_when_asked_or_with_no_active_model(
        labelled_project, model_settings, loaded):
    v1 = train(labelled_project)  # nothing active yet
    assert "warm_start" not in v1.hyperparameters
    services.model_version_promote(version=v1, prelabel=False)
    v2 = train(labelled_project, start_from="base")
    assert "warm_start" not in v2.hyperparameters
    base = _weights(model_settings.CTIR_BASE_MODEL)
    encoder = [k for k in base if k.startswith("bert.encoder")]
    assert encoder and all(torch.equal(loaded[1][k], base[k]) for k in encoder)
    assert [s["label"] for s in selectors.lineage(v2)] == [
        "v2", f"base model ({model_settings.CTIR_BASE_MODEL})"]


def test_a_head_with_another_label_order_falls_back_with_a_message(first):
    label_map = Path(first.artifact_dir) / "label_map.json"
    data = json.loads(label_map.read_text())
    label_map.write_text(json.dumps({**data, "labels": [1, 2, 3, 5]}))
    second = train(first.project)
    assert second.status == JobStatus.SUCCEEDED, second.error
    assert "trained on categories [1, 2, 3, 5]" in second.hyperparameters["warm_start"][
        "fallback"]
    assert [s["label"] for s in selectors.lineage(second)][:2] == [
        "v2", f"base model ({second.base_model})"]


def test_a_missing_folder_falls_back_too(first):
    shutil.rmtree(first.artifact_dir)
    second = train(first.project)
    assert second.status == JobStatus.SUCCEEDED, second.error
    assert "cannot be read" in second.hyperparameters["warm_start"]["fallback"]


@pytest.fixture
def demo_version(first, other_project, admin_user):
    """A version of another project with the same four category codes."""
    for c in Category.objects.filter(project=first.project):
        Category.objects.create(project=other_project, code=c.code, name=c.name, key=c.key)
    Membership.objects.create(project=other_project, user=admin_user, role=Role.ADMIN)
    return ModelVersion.objects.create(project=other_project, number=4, base_model="x",
                                       status=JobStatus.SUCCEEDED,
                                       artifact_dir=first.artifact_dir)


def test_it_starts_from_another_projects_version_chosen_on_the_page(
        login, first, demo_version, admin_user):
    client = login(admin_user)
    page = client.get(reverse("models", args=["ct-ir"])).content.decode()
    assert "The active model, v1 (default)" in page
    assert f'<option value="{demo_version.pk}">Other department v4</option>' in page
    from django.core.cache import cache

    cache.set("ctir:queue_health", {"redis": True, "training": True, "inference": True,
                                    "problem": ""}, 60)
    response = client.post(reverse("model_train", args=["ct-ir"]),
                           {"start_from": str(demo_version.pk)}, follow=True)
    assert b"v2 is queued for training, starting from other v4." in response.content
    v2 = ModelVersion.objects.get(project=first.project, number=2)
    assert v2.hyperparameters["warm_start"]["project"] == "other"
    v2 = jobs.train_version(v2.pk)
    assert v2.status == JobStatus.SUCCEEDED, v2.error
    detail = client.get(reverse("model_detail", args=["ct-ir", 2])).content.decode()
    assert "v2 &larr; other v4 &larr; base model (x)" in detail


def test_a_version_of_a_project_one_does_not_administer_is_refused(
        login, first, demo_version, admin_user):
    Membership.objects.filter(project=demo_version.project, user=admin_user).update(
        role=Role.ANNOTATOR)
    from django.core.cache import cache

    cache.set("ctir:queue_health", {"redis": True, "training": True, "inference": True,
                                    "problem": ""}, 60)
    client = login(admin_user)
    page = client.get(reverse("models", args=["ct-ir"])).content.decode()
    assert "Other department v4" not in page
    response = client.post(reverse("model_train", args=["ct-ir"]),
                           {"start_from": str(demo_version.pk)}, follow=True)
    assert b"that version cannot be started from here" in response.content
    assert not ModelVersion.objects.filter(project=first.project, number=2).exists()


def test_with_a_fast_model_active_bert_starts_from_the_base_encoder(labelled_project,
                                                                    model_settings,
                                                                    admin_user):
    # What a new project has first (make run, the fast loop): TF-IDF alone, no encoder.
    fast = train(labelled_project, fast=True)
    assert fast.status == JobStatus.SUCCEEDED and fast.metrics["fast"], fast.error
    services.model_version_promote(version=fast, prelabel=False)
    assert fast not in selectors.warm_start_choices(labelled_project, admin_user)
    bert = train(labelled_project)
    assert bert.status == JobStatus.SUCCEEDED, bert.error
    assert "warm_start" not in bert.hyperparameters
