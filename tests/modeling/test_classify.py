"""POST /api/v1/projects/<slug>/classify/: the active model's answer for texts sent by the
API, computed by a worker on the inference queue and stored nowhere; 409 without an active
model, 503 when no worker answers, 400 for a body that does not validate."""

import pytest
import redis
from django.conf import settings
from django.urls import reverse

from annotation.importing.checks import MAX_TEXT_CHARS
from annotation.models import Annotation, Report
from core.models import JobStatus
from modeling import jobs, services
from modeling.models import ModelVersion, Prediction, PrelabelRun
from tests.support import bearer

TEXTS = [
    "CT-guided drainage of right hepatic abscess, 10 Fr pigtail left in situ, 40 mL pus.",
    "Percutaneous lung biopsy of left lower lobe mass, 18G, 3 cores.",
    "CT-guided bone biopsy of L2 vertebral body lytic lesion, 11G bone needle.",
    "Biopsy of adrenal lesion under CT guidance, 16G needle, 2 samples.",
    "Something no report of this project says.",
]


def _url(project):
    return reverse("api_classify", args=[project.slug])


def _classify(user, project, texts):
    return bearer(user).post(_url(project), {"texts": texts}, format="json")


def _stored():
    return [model.objects.count() for model in (Report, Prediction, PrelabelRun, ModelVersion,
                                                Annotation)]


def _trained(project, **kwargs) -> ModelVersion:
    """A version trained in this process and promoted without pre-labeling."""
    version = services.model_version_create(project=project, enqueue=False, **kwargs)
    version = jobs.train_version(version.pk)
    assert version.status == JobStatus.SUCCEEDED, version.error
    return services.model_version_promote(version=version, prelabel=False)


def _expected(version, texts):
    from modeling.ml.inference import Classifier

    return Classifier.load(version.artifact_dir).predict(texts)


def _assert_same(body, version, texts):
    assert body["model_version"] == version.number
    assert body["served"] == version.metrics["served"]
    expected = _expected(version, texts)
    assert len(body["results"]) == len(texts)
    for got, want in zip(body["results"], expected, strict=True):
        assert got["category"] == want["category"]
        assert got["probabilities"] == pytest.approx(want["probabilities"], abs=1e-5)
        assert got["margin"] == pytest.approx(want["margin"], abs=1e-5)
        assert got["category_name"] == version.project.categories.get(
            code=want["category"]).name


@pytest.mark.worker
def test_it_answers_as_the_active_version_would_and_stores_nothing(labelled_project,
                                                                   admin_user, worker):
    # The labels were written before the worker started: their fast-retrain message went
    # with the worker fixture's flush, so the versions here are the test's own.
    project = labelled_project
    fast = _trained(project, fast=True)
    before = _stored()

    response = _classify(admin_user, project, TEXTS)
    assert response.status_code == 200, response.json()
    _assert_same(response.json(), fast, TEXTS)
    one = _classify(admin_user, project, TEXTS[1:2])
    assert one.status_code == 200 and one.json()["results"] == response.json()["results"][1:2]
    assert _stored() == before

    # The worker loaded the model once for both calls (modeling.ml.inference's cache).
    log = worker.log_path.read_text()
    assert log.count("loaded model folder") == 1, log[-3000:]

    # A promotion: the next call answers with the new version, loaded once too.
    # From the base encoder: the fast version's folder has no encoder to start BERT from.
    bert = _trained(project, recipe={"epochs": 1, "seeds": 1, "max_length": 64},
                    start_from="base")
    before = _stored()
    for _ in range(2):
        response = _classify(admin_user, project, TEXTS)
        assert response.status_code == 200, response.json()
        _assert_same(response.json(), bert, TEXTS)
    assert _stored() == before
    assert worker.log_path.read_text().count("loaded model folder") == 2
    # The answers were read once and deleted from the result backend.
    assert not redis.Redis.from_url(settings.CELERY_RESULT_BACKEND).keys("celery-task-meta-*")


def test_it_is_409_without_an_active_version(project, admin_user, version):
    response = _classify(admin_user, project, TEXTS)
    assert response.status_code == 409
    assert "train a version and promote it on the Models page" in response.json()["detail"]


def test_it_is_503_when_no_worker_listens_on_the_inference_queue(project, admin_user, version,
                                                                  settings):
    # Queues of an instance no worker serves: the real health check, whatever runs nearby.
    settings.CTIR_QUEUES = {role: f"nobody-listens.{role}"
                            for role in ("celery", "training", "inference")}
    ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    before = _stored()
    response = _classify(admin_user, project, TEXTS)
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "make run" in detail and "celery -A ctir_site worker" in detail, detail
    assert _stored() == before


def test_it_is_503_when_no_worker_answers_in_time(project, admin_user, version, workers_up,
                                                   monkeypatch):
    """The health check saw a worker, but none takes the message (busy training): the call
    gives up after the timeout instead of hanging, and the message expires unread."""
    try:
        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {settings.CELERY_BROKER_URL}")
    monkeypatch.setattr(services, "CLASSIFY_TIMEOUT", 1)
    ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    response = _classify(admin_user, project, TEXTS[:1])
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert detail.startswith("No worker answered within 1 s") and "make run" in detail


@pytest.mark.parametrize(("body", "says"), [
    ({"texts": "CT-guided drainage"}, "Expected a list of items"),
    ({"texts": []}, "Send at least one text."),
    ({"texts": ["a report"] * 101}, "At most 100 texts a call: split them."),
    ({"texts": ["a report", 7]}, "1: Not a valid string."),
    ({"texts": [""]}, "0: A report text must have something besides white space."),
    ({"texts": [" \n\t"]}, "0: A report text must have something besides white space."),
    ({"texts": ["x" * (MAX_TEXT_CHARS + 1)]}, f"no more than {MAX_TEXT_CHARS} characters"),
    ({"texts": [None]}, "0: This field may not be null."),
    ({}, "This field is required."),
], ids=["not-a-list", "empty", "101-texts", "a-number", "empty-string", "white-space",
        "too-long", "null", "missing"])
def test_a_bad_body_is_a_400_naming_the_field(project, admin_user, body, says):
    before = _stored()
    response = bearer(admin_user).post(_url(project), body, format="json")
    assert response.status_code == 400, response.json()
    fields = response.json()["fields"]
    assert list(fields) == ["texts"]
    assert any(says in message for message in fields["texts"]), fields
    assert _stored() == before


def test_a_body_that_is_not_an_object_is_a_400(project, admin_user):
    response = bearer(admin_user).post(_url(project), ["a report"], format="json")
    assert response.status_code == 400 and list(response.json()["fields"]) == [
        "non_field_errors"]


def test_the_longest_text_and_most_texts_pass_validation(project, admin_user):
    # Valid bodies at the limits reach the model check (409 here: no active model).
    for texts in (["x" * MAX_TEXT_CHARS], ["a report"] * 100, ["nul \x00 inside"]):
        assert _classify(admin_user, project, texts).status_code == 409
