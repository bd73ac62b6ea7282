"""REST API v1, the modeling app's routes: training refused without a worker, cancel and
promote by the page's rules, a version's predictions and pre-labeling."""

from django.core.cache import cache
from django.urls import reverse

from annotation.models import Category, Report
from core.models import JobStatus
from modeling import services as modeling_services
from modeling.models import ModelVersion, Prediction, PrelabelRun
from tests.support import add_reports, bearer


def test_training_is_refused_without_a_worker_and_queued_with_one(project, admin_user):
    cache.set("ctir:queue_health", {"redis": True, "training": False, "inference": False,
                                    "problem": "No Celery worker is running."}, 60)
    client = bearer(admin_user)
    url = reverse("api_models", args=[project.slug])
    refused = client.post(url, {}, format="json")
    assert refused.status_code == 503 and "No Celery worker" in refused.json()["detail"]
    cache.set("ctir:queue_health",
              {"redis": True, "training": True, "inference": True, "problem": ""}, 60)
    assert "between 1 and 20" in client.post(url, {"epochs": 0}, format="json").json(
        )["detail"]
    foreign = client.post(url, {"start_from": "999"}, format="json")
    assert foreign.status_code == 400 and "cannot be started from here" in foreign.json(
        )["detail"]
    response = client.post(url, {"epochs": 2, "seeds": 1}, format="json")
    assert response.status_code == 201, response.json()
    version = ModelVersion.objects.get()
    assert version.status == "queued" and version.hyperparameters["epochs"] == 2
    assert version.created_by == admin_user
    listed = client.get(url).json()
    assert [v["number"] for v in listed["results"]] == [1]
    cache.delete("ctir:queue_health")


def test_cancel_and_promote_use_the_page_rules(project, admin_user, workers_up):
    client = bearer(admin_user)
    queued = modeling_services.model_version_create(project=project, enqueue=False)
    cancel = reverse("api_model_cancel", args=[project.slug, queued.number])
    assert client.post(cancel).json()["detail"] == "Cancelled before it started."
    assert client.post(cancel).status_code == 409
    promote = reverse("api_model_promote", args=[project.slug, queued.number])
    assert "has not succeeded" in client.post(promote).json()["detail"]
    done = ModelVersion.objects.create(project=project, number=2, base_model="x",
                                       status=JobStatus.SUCCEEDED)
    response = client.post(reverse("api_model_promote", args=[project.slug, 2]))
    assert response.status_code == 200 and response.json()["is_active"] is True
    done.refresh_from_db()
    assert done.is_active and PrelabelRun.objects.filter(model_version=done).exists()
    detail = client.get(reverse("api_model", args=[project.slug, 2])).json()
    assert detail["status"] == "succeeded"
    assert client.get(reverse("api_model", args=[project.slug, 9])).status_code == 404


def test_predictions_of_a_version_and_pre_labeling(project, admin_user, version, workers_up):
    add_reports(project, 3)
    category = Category.objects.get(project=project, code=2)
    for report in Report.objects.all():
        Prediction.objects.create(report=report, model_version=version, category=category,
                                  probabilities={"2": 0.9, "1": 0.1}, margin=0.8, ms=2.0)
    client = bearer(admin_user)
    data = client.get(reverse("api_model_predictions", args=[project.slug, 1])).json()
    assert data["count"] == 3 and data["results"][0]["category"] == 2
    assert data["results"][0]["probabilities"] == {"2": 0.9, "1": 0.1}
    url = reverse("api_prelabel", args=[project.slug])
    assert client.get(url).status_code == 404
    assert "No active model" in client.post(url, {}, format="json").json()["detail"]
    started = client.post(url, {"version": 1}, format="json")
    assert started.status_code == 202 and started.json()["model_version"] == 1
    assert client.get(url).json()["id"] == started.json()["id"]
    assert client.post(url, {"version": "x"}, format="json").status_code == 400
