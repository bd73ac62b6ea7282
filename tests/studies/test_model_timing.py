"""The model's timing on a study's cases, run in-process on a tiny randomly initialised BERT."""

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from core.models import JobStatus
from modeling.models import ModelVersion
from studies import services as studies
from studies.jobs import run_model_timing, time_study_model
from studies.models import ModelTimingRun, ReaderStudy
from studies.selectors import study_results
from tests.support import project_with_labels, train, wait_for


def test_the_model_is_timed_on_a_study_apart_from_loading(labelled_project, model_settings,
                                                          reader):
    version = train(labelled_project)
    study = studies.study_create(project=labelled_project, name="S", readers=[reader])
    studies.study_model_set(study=study, model_version_id=version.pk)
    timing = time_study_model(study.pk)
    assert timing["n"] == 8 and timing["load_s"] > 0 and timing["total_s"] > 0
    assert len(timing["answers"]) == 8 and len(timing["per_case_ms"]) == 8
    study.refresh_from_db()
    results = study_results(study)
    assert results["model_source"] == "measured"
    assert results["rows"][0]["name"] == "Model" and results["rows"][0]["accuracy"]["n"] == 8
    out = io.StringIO()
    call_command("study_report", str(study.pk), "--json", stdout=out)
    assert json.loads(out.getvalue())["model_timing"]["n"] == 8


# --- The model side runs itself: active version, fixed on open, a tracked timing job --------


def _promote(version):
    version.is_active = True
    version.save(update_fields=["is_active"])
    return version


def _finished_version(project, **fields):
    # A version row only: these tests never load its weights.
    return ModelVersion.objects.create(project=project, number=1, base_model="x",
                                       status=JobStatus.SUCCEEDED, **fields)


def test_a_study_without_a_version_uses_the_active_one_until_opening_fixes_it(
        labelled_project, reader, admin_user, login):
    version = _finished_version(labelled_project, is_active=True)
    study = studies.study_create(project=labelled_project, name="S", readers=[reader])
    assert study.model_version_id is None
    results = study_results(study)
    assert results["model_source"] == "none"  # the version has no stored predictions
    assert results["model_version"] == version and results["model_chosen"] is False
    page = login(admin_user).get(reverse("study_detail", args=[labelled_project.slug,
                                                               study.pk])).content.decode()
    assert 'id="model-active-note"' in page and "the project's active version, v1" in page
    studies.study_status_set(study=study, status=ReaderStudy.Status.OPEN)
    study.refresh_from_db()
    assert study.model_version_id == version.pk
    with pytest.raises(studies.StudyError, match="keeps a fixed model version"):
        studies.study_model_set(study=study, model_version_id=None)


def test_the_timing_job_records_state_progress_and_hardware(labelled_project, model_settings,
                                                            reader, admin_user, login):
    _promote(train(labelled_project))
    study = studies.study_create(project=labelled_project, name="S", readers=[reader])
    run = studies.study_model_timing_request(study=study)  # fixes the active version
    study.refresh_from_db()
    assert study.model_version_id == run.model_version_id and run.status == JobStatus.QUEUED
    with pytest.raises(studies.StudyError, match="already being timed"):
        studies.study_model_timing_request(study=study)
    # While it is queued the model card polls; the partial is the card alone.
    client = login(admin_user)
    url = reverse("study_detail", args=[labelled_project.slug, study.pk])
    card = client.get(url, {"part": "model"}, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 2s"' in card and "<html" not in card
    timing = run_model_timing(run.pk)
    assert run_model_timing(run.pk) is None  # claimed once: a second worker does nothing
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED and run.progress == {"done": 8, "total": 8}
    assert run.hardware.startswith(("CPU ", "GPU ")) and run.worker and run.heartbeat_at
    assert timing["hardware"] == run.hardware
    # Once it has ended the poll reloads the page, which shows the measured model.
    ended = client.get(url, {"part": "model"}, headers={"HX-Request": "true"})
    assert ended["HX-Refresh"] == "true"
    page = client.get(url).content.decode()
    assert "Measured on" in page and run.hardware in page and "8 of 8 cases" in page


def test_a_failed_timing_run_says_why(labelled_project, reader, tmp_path):
    version = _finished_version(labelled_project, artifact_dir=str(tmp_path / "gone"))
    study = studies.study_create(project=labelled_project, name="S", readers=[reader],
                                 model_version_id=version.pk)
    run = studies.study_model_timing_request(study=study)
    with pytest.raises(FileNotFoundError):
        run_model_timing(run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED and "FileNotFoundError" in run.error


def test_a_timing_run_whose_worker_went_silent_is_failed(labelled_project, reader):
    import datetime

    from django.utils import timezone

    version = _finished_version(labelled_project)
    study = studies.study_create(project=labelled_project, name="S", readers=[reader],
                                 model_version_id=version.pk)
    run = studies.study_model_timing_request(study=study)
    beat = timezone.now() - datetime.timedelta(minutes=10)
    ModelTimingRun.objects.filter(pk=run.pk).update(status=JobStatus.RUNNING, heartbeat_at=beat)
    assert studies.timing_runs_fail_stale() == 1
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED and "stopped responding" in run.error
    assert studies.study_model_timing_request(study=study).status == JobStatus.QUEUED


@pytest.mark.worker
def test_a_real_worker_times_the_model_from_the_results_page(project, worker, reader,
                                                              admin_user, login):
    # The version this test promotes alone: the labels would otherwise have the worker
    # train and promote the fast first model meanwhile (tests/modeling/test_fast_retrain.py).
    type(project).objects.filter(pk=project.pk).update(fast_retrain_every=0)
    project_with_labels(project)
    _promote(train(project))
    study = studies.study_create(project=project, name="S", readers=[reader])
    client = login(admin_user)
    client.post(reverse("study_update", args=[project.slug, study.pk]),
                {"model_version": "", "measure_model": "1"})
    run = ModelTimingRun.objects.get(study=study)
    done = wait_for(lambda: ModelTimingRun.objects.filter(
        pk=run.pk, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]).first(), 120,
        "the timing run to end", worker)
    assert done.status == JobStatus.SUCCEEDED, done.error
    assert done.progress["done"] == done.progress["total"] == study.cases.count()
    study.refresh_from_db()
    assert study.model_timing["n"] == study.cases.count() and study.model_timing["hardware"]
    assert study_results(study)["model_source"] == "measured"
