"""The broker is down (a closed port, a real connection failure): every job the pages start is
marked failed with the reason and what to do, the page answers, and nothing waits "queued"."""

import io
import socket
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse

from annotation.models import ImportJob, Report
from core.models import JobStatus
from core.queue import send_on_commit
from ctir_site.celery import app
from modeling.models import ModelVersion, PrelabelRun
from studies import services as studies
from studies.models import ModelTimingRun
from tests.support import add_reports

# The jobs are sent when the request's transaction really commits.
pytestmark = pytest.mark.django_db(transaction=True)
HEALTHY = {"redis": True, "training": True, "inference": True, "problem": ""}


def _fresh_connections():
    # Celery keeps its broker connections in pools made from the URL it saw first.
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None


@pytest.fixture
def broker_down(settings):
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    settings.CELERY_BROKER_URL = url
    # Celery reads CELERY_BROKER_URL from the environment before its own setting; the write
    # URL (the one sending uses) comes first.
    app.conf.broker_write_url = url
    _fresh_connections()
    # The pages' health check ran while Redis was still up (it is cached for seconds).
    cache.set("ctir:queue_health", HEALTHY, 60)
    yield url
    app.conf.broker_write_url = None
    _fresh_connections()


def _trained(project, number=1) -> ModelVersion:
    return ModelVersion.objects.create(project=project, number=number, base_model="x",
                                       status=JobStatus.SUCCEEDED, artifact_dir="/nowhere")


def test_the_helper_reports_a_send_that_never_reached_the_broker(broker_down):
    seen = []
    send_on_commit("modeling.tasks.prelabel_project", 1, failed=seen.append)
    assert len(seen) == 1 and "Error" in type(seen[0]).__name__


def test_training_is_failed_with_what_to_do(login, project, admin_user, broker_down):
    response = login(admin_user).post(reverse("model_train", args=[project.slug]),
                                      {"epochs": "1", "seeds": "1"})
    assert response.status_code == 302
    version = ModelVersion.objects.get()
    assert version.status == JobStatus.FAILED and version.phase == "failed"
    assert f"The job queue (Redis at {broker_down}) is not answering" in version.error
    assert version.error.endswith("start it (make run starts one) and start the training again.")
    page = login(admin_user).get(response.url).content.decode()
    assert "v1 could not be queued: The job queue" in page


def test_promote_commits_and_fails_its_prelabel_run(login, project, admin_user, broker_down):
    version = _trained(project)
    response = login(admin_user).post(reverse("model_promote", args=[project.slug, 1]))
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.is_active  # the promotion itself stands
    run = PrelabelRun.objects.get()
    assert run.status == JobStatus.FAILED and run.finished_at is not None
    assert "is not answering" in run.error and "press “Pre-label now”" in run.error
    page = login(admin_user).get(response.url).content.decode()
    assert "v1 is now the active model, but pre-labeling could not be queued" in page


def test_prelabel_now_is_failed_with_what_to_do(login, project, admin_user, broker_down):
    version = _trained(project)
    version.is_active = True
    version.save(update_fields=["is_active"])
    response = login(admin_user).post(reverse("prelabel_now", args=[project.slug]),
                                      follow=True)
    assert response.status_code == 200
    assert "Pre-labeling could not be queued: The job queue" in response.content.decode()
    assert PrelabelRun.objects.get().status == JobStatus.FAILED


def test_measure_model_says_why_and_keeps_no_queued_job(login, project, admin_user, reader,
                                                        broker_down):
    version = _trained(project)
    add_reports(project, 2)
    study = studies.study_create(project=project, name="S", readers=[reader],
                                 reports=project.reports.all(), model_version_id=version.pk)
    response = login(admin_user).post(
        reverse("study_update", args=[project.slug, study.pk]), {"measure_model": "1"})
    assert response.status_code == 302
    run = ModelTimingRun.objects.get(study=study)
    assert run.status == JobStatus.FAILED and run.finished_at is not None
    assert "is not answering" in run.error and "press “Time the model on these cases”" in (
        run.error)
    page = login(admin_user).get(response.url).content.decode()
    assert "The model cannot be timed now: The job queue" in page
    assert 'id="timing-run"' in page and 'hx-trigger="every 2s"' not in page  # no polling


# --- The branch's jobs: background imports, and the API's train and pre-label --------------

@pytest.fixture
def background(settings, tmp_path):
    settings.CTIR_BACKGROUND_IMPORT_ROWS = 3
    settings.CTIR_UPLOAD_DIR = tmp_path / "uploads"
    return settings


def test_a_background_import_is_failed_with_what_to_do(login, project, admin_user, background,
                                                       broker_down):
    from tests.support import preview, rows_csv

    client = login(admin_user)
    url, token = preview(client, project, rows_csv(5))
    page = client.post(url, {"confirm": "1", "token": token}, follow=True).content.decode()
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED and job.finished_at is not None
    assert "Nothing was imported. The job queue" in job.message
    assert job.message.endswith("and import the file again.")
    assert not Path(job.staged).exists() and not Report.objects.exists()
    assert "big.csv could not be queued; nothing was imported." in page
    assert "is not answering" in page and 'hx-trigger="every 1s"' not in page
    # The project is not locked against the next import by a job no worker will see.
    assert not ImportJob.objects.filter(status__in=ImportJob.ACTIVE).exists()


def test_the_api_answers_503_with_the_failed_job(project, admin_user, background, broker_down):
    from tests.support import bearer, rows_csv

    upload = io.BytesIO(rows_csv(5).encode())
    upload.name = "ris.csv"
    response = bearer(admin_user).post(reverse("api_reports", args=[project.slug]),
                                       {"file": upload}, format="multipart")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failed" and "import the file again" in body["detail"]
    assert body["message"] == body["detail"] and not Report.objects.exists()


def test_the_api_train_and_prelabel_answer_503_with_the_failed_job(project, admin_user,
                                                                   broker_down):
    from tests.support import bearer

    client = bearer(admin_user)
    train = client.post(reverse("api_models", args=[project.slug]), {"epochs": 1},
                        format="json")
    assert train.status_code == 503
    assert train.json()["status"] == "failed"
    assert train.json()["detail"].startswith("v1 could not be queued: The job queue")
    version = _trained(project, number=2)
    promote = client.post(reverse("api_model_promote", args=[project.slug, 2]))
    assert promote.status_code == 200 and promote.json()["is_active"]
    assert "pre-labeling could not be queued: The job queue" in promote.json()["detail"]
    prelabel = client.post(reverse("api_prelabel", args=[project.slug]), {"version": 2},
                           format="json")
    assert prelabel.status_code == 503
    assert prelabel.json()["detail"].startswith("Pre-labeling could not be queued:")
    assert not PrelabelRun.objects.filter(model_version=version,
                                          status=JobStatus.QUEUED).exists()
