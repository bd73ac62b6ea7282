"""The training and pre-labeling jobs, run in-process on a tiny randomly initialised BERT."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotation.models import CHRONOLOGICAL, Report
from core.models import JobStatus
from modeling import jobs, services
from modeling.models import ModelVersion, Prediction
from tests.support import TINY, train


def test_training_succeeds_and_records_everything(labelled_project, model_settings):
    version = train(labelled_project)
    assert version.status == JobStatus.SUCCEEDED, version.error
    assert version.number == 1
    assert version.metrics["validation"]["n"] == 8
    assert version.metrics["test"]["n"] == 8
    assert version.metrics["baseline"]["test"]["n"] == 8
    assert version.label_snapshot == {
        "train": {"1": 8, "2": 8, "3": 8, "4": 8},
        "validation": {"1": 2, "2": 2, "3": 2, "4": 2},
        "test": {"1": 2, "2": 2, "3": 2, "4": 2},
    }
    assert version.history and version.history[0]["epoch"] == 1
    assert version.started_at <= version.finished_at
    folder = Path(version.artifact_dir)
    assert folder == Path(model_settings.CTIR_MODEL_DIR) / "ct-ir" / "v1"
    assert (folder / "model.safetensors").exists() and (folder / "label_map.json").exists()
    assert not version.is_active


def test_promote_then_prelabel_gives_every_report_a_prediction(labelled_project, model_settings):
    version = train(labelled_project)
    services.model_version_promote(version=version, prelabel=False)
    run = services.prelabel_request(project=labelled_project, enqueue=False)
    run = jobs.prelabel(run.pk)
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.done == run.total == Report.objects.filter(project=labelled_project).count() == 48
    prediction = Prediction.objects.filter(model_version=version).first()
    assert abs(sum(prediction.probabilities.values()) - 1) < 1e-4
    assert 0 <= prediction.margin <= 1
    # A second run finds nothing left to do.
    again = jobs.prelabel(services.prelabel_request(project=labelled_project, enqueue=False).pk)
    assert again.total == 0
    assert Prediction.objects.count() == 48


def test_only_one_version_is_active_and_rollback_works(labelled_project, model_settings):
    v1 = train(labelled_project)
    v2 = train(labelled_project)
    services.model_version_promote(version=v2, prelabel=False)
    services.model_version_promote(version=v1, prelabel=False)
    assert list(ModelVersion.objects.filter(is_active=True)) == [v1]


def test_a_failed_version_cannot_be_promoted(labelled_project, model_settings):
    version = services.model_version_create(project=labelled_project, enqueue=False)
    with pytest.raises(services.JobError, match="has not succeeded"):
        services.model_version_promote(version=version)


def test_auto_promote_when_at_least_as_good(labelled_project, model_settings):
    version = train(labelled_project, auto_promote=True)
    assert ModelVersion.objects.get(pk=version.pk).is_active


def test_too_few_labels_fail_with_a_clear_message(project, model_settings):
    from annotation import services as annotation_services
    from tests.support import labelled_rows

    rows = [r for r in labelled_rows() if not (r.split == "train" and r.label == 4)]
    annotation_services.reports_write(
        project=project, rows=rows, batch=None, user=None, reason="test"
    )
    version = train(project)
    assert version.status == JobStatus.FAILED
    assert "category 4: 0" in version.error
    assert not (Path(model_settings.CTIR_MODEL_DIR) / "ct-ir" / "v1").exists()
    with pytest.raises(CommandError, match="category 4: 0"):
        call_command(
            "train", "--project", "ct-ir", "--epochs", "1", "--seeds", "1", stderr=io.StringIO()
        )


def test_a_version_is_claimed_once(labelled_project, model_settings):
    version = services.model_version_create(project=labelled_project, recipe=TINY, enqueue=False)
    ModelVersion.objects.filter(pk=version.pk).update(status=JobStatus.RUNNING)
    result = jobs.train_version(version.pk)  # a second delivery of the same task
    assert result.status == JobStatus.RUNNING
    assert not (Path(model_settings.CTIR_MODEL_DIR) / "ct-ir" / "v1").exists()


def test_cancel_a_queued_version(labelled_project):
    version = services.model_version_create(project=labelled_project, enqueue=False)
    assert services.model_version_cancel(version=version) == "Cancelled before it started."
    version.refresh_from_db()
    assert version.status == JobStatus.CANCELLED
    assert jobs.train_version(version.pk).status == JobStatus.CANCELLED
    with pytest.raises(services.JobError, match="already finished"):
        services.model_version_cancel(version=version)


def test_a_silent_running_job_is_marked_failed(labelled_project):
    import datetime

    from django.utils import timezone

    version = services.model_version_create(project=labelled_project, enqueue=False)
    old = timezone.now() - datetime.timedelta(minutes=10)
    ModelVersion.objects.filter(pk=version.pk).update(status=JobStatus.RUNNING, heartbeat_at=old)
    assert services.stale_jobs_fail(project=labelled_project) == 1
    version.refresh_from_db()
    assert version.status == JobStatus.FAILED
    assert "worker stopped responding" in version.error


def test_train_prelabel_and_evaluate_commands(labelled_project, model_settings, tmp_path):
    out = io.StringIO()
    call_command(
        "train",
        "--project",
        "ct-ir",
        "--epochs",
        "1",
        "--seeds",
        "1",
        "--max-length",
        "64",
        "--promote",
        stdout=out,
        stderr=io.StringIO(),
    )
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["version"] == 1 and result["active"] is True
    assert result["test"]["n"] == 8 and len(result["test"]["confusion"]) == 4
    out = io.StringIO()
    call_command("prelabel", "--project", "ct-ir", stdout=out, stderr=io.StringIO())
    assert out.getvalue().startswith("Pre-labelled 48 reports with v1")
    external = tmp_path / "external.csv"
    external.write_text(
        "accession,patient_id,sex,age,procedure_date,text,label\n"
        "X1,Q1,F,70,2024-01-01,Drainage of pelvic abscess with 12 Fr catheter,1\n"
        "X2,Q2,M,71,2024-01-02,Lung biopsy of RUL nodule 18G,3\n"
    )
    out = io.StringIO()
    call_command("evaluate", "--project", "ct-ir", "--file", str(external), stdout=out)
    scored = json.loads(out.getvalue())
    assert scored["n"] == 2 and scored["model"] == 1
    assert 0 <= scored["accuracy_ci"][0] <= scored["accuracy_ci"][1] <= 1
    assert scored["ms_per_report"] > 0
    assert scored["served"] in ("bert", "tfidf", "ensemble") and "candidates" not in scored
    out = io.StringIO()
    call_command("evaluate", "--project", "ct-ir", "--file", str(external), "--all-candidates",
                 stdout=out)
    every = json.loads(out.getvalue())
    assert set(every["candidates"]) == {"bert", "tfidf", "ensemble"}
    assert every["candidates"][every["served"]]["accuracy"] == every["accuracy"]


def test_evaluate_rejects_unlabelled_rows(labelled_project, model_settings, tmp_path):
    train(labelled_project)
    external = tmp_path / "external.csv"
    external.write_text(
        "accession,patient_id,sex,age,procedure_date,text\n"
        "X1,Q1,F,70,2024-01-01,Drainage of pelvic abscess\n"
    )
    with pytest.raises(CommandError, match="1 problem"):
        call_command(
            "evaluate",
            "--project",
            "ct-ir",
            "--model",
            "1",
            "--file",
            str(external),
            stderr=io.StringIO(),
        )


def test_default_recipe_matches_the_training_defaults():
    from modeling.ml.training import TrainConfig

    defaults = TrainConfig()
    assert services.DEFAULT_RECIPE == {
        "epochs": defaults.epochs,
        "seeds": defaults.seeds,
        "max_length": defaults.max_length,
    }


def test_beat_fails_silent_jobs_every_minute(labelled_project, settings):
    import datetime

    from django.utils import timezone

    from core import tasks

    schedule = settings.CELERY_BEAT_SCHEDULE["fail-stale-jobs"]
    # Beat's message carries the instance, as every job's does (core.queue).
    assert schedule == {"task": tasks.fail_stale_jobs.name, "schedule": 60.0,
                        "kwargs": {"instance": settings.CTIR_INSTANCE}}
    version = services.model_version_create(project=labelled_project, enqueue=False)
    old = timezone.now() - datetime.timedelta(minutes=10)
    ModelVersion.objects.filter(pk=version.pk).update(status=JobStatus.RUNNING, heartbeat_at=old)
    assert tasks.fail_stale_jobs(**schedule["kwargs"]) == 1
    version.refresh_from_db()
    assert version.status == JobStatus.FAILED


def test_train_on_a_mixed_english_japanese_cohort_reports_candidates_and_coverage(
    project, model_settings
):
    from annotation import services as annotation_services
    from modeling.ml.candidates import CANDIDATES
    from tests.support import labelled_rows

    rows = labelled_rows({"train": 10, "validation": 3, "test": 3}, japanese_every=2)
    annotation_services.reports_write(project=project, rows=rows, batch=None, user=None,
                                      reason="test")
    out, err = io.StringIO(), io.StringIO()
    call_command("train", "--project", "ct-ir", "--epochs", "1", "--seeds", "1",
                 stdout=out, stderr=err)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    version = ModelVersion.objects.get(project=project)
    metrics = version.metrics
    assert set(metrics["candidates"]) == set(CANDIDATES) == set(summary["candidates"])
    assert metrics["served"] == summary["served"] in CANDIDATES
    served_val = metrics["candidates"][metrics["served"]]["validation"]["accuracy"]
    assert served_val == max(c["validation"]["accuracy"] for c in metrics["candidates"].values())
    assert metrics["validation"] == metrics["candidates"][metrics["served"]]["validation"]
    for candidate in metrics["candidates"].values():
        assert candidate["test"]["n"] == 12 and 0 <= candidate["ece_test"] <= 1
    # Half the reports are Japanese and the tiny model has MiniLM's English vocabulary.
    assert metrics["coverage"]["poor"] and metrics["coverage"]["unk_rate"] > 0.05
    assert "Warning: The base model's tokenizer reads these reports poorly" in err.getvalue()
    assert "<- served" in err.getvalue()
    assert summary["coverage"]["poor"] is True
    assert metrics["candidates"]["bert"]["temperature"] >= 1.0  # never sharpened


def test_the_served_candidate_is_what_prelabeling_uses(labelled_project, model_settings):
    from modeling.ml.inference import Classifier

    version = train(labelled_project)
    served = version.metrics["served"]
    classifier = Classifier.load(version.artifact_dir)
    assert classifier.candidate == served
    assert (classifier.model is None) == (served == "tfidf")
    texts = list(Report.objects.filter(project=labelled_project).values_list("text", flat=True))
    for name in ("bert", "tfidf", "ensemble"):
        other = Classifier.load(version.artifact_dir, candidate=name).predict(texts)
        if name == served:
            assert [p["category"] for p in other] == [
                p["category"] for p in classifier.predict(texts)]
    services.model_version_promote(version=version, prelabel=False)
    run = jobs.prelabel(services.prelabel_request(project=labelled_project, enqueue=False).pk)
    stored = dict(Prediction.objects.filter(model_version=version)
                  .values_list("report__text", "category__code"))
    expected = {t: p["category"] for t, p in zip(texts, classifier.predict(texts), strict=True)}
    assert run.status == JobStatus.SUCCEEDED and stored == expected


def test_a_leftover_folder_is_never_collided_with_nor_touched(labelled_project, model_settings,
                                                             login, admin_user):
    # What a deleted database leaves behind: var/models/ct-ir/v1 of a model nobody knows.
    leftover = Path(model_settings.CTIR_MODEL_DIR) / "ct-ir" / "v1"
    leftover.mkdir(parents=True)
    (leftover / "label_map.json").write_text('{"old": true}')
    version = train(labelled_project)
    assert version.status == JobStatus.SUCCEEDED, version.error
    folder = Path(version.artifact_dir)
    assert folder.parent == leftover.parent and folder.name.startswith("v1-")
    assert (folder / "model.safetensors").exists()
    assert (leftover / "label_map.json").read_text() == '{"old": true}'
    page = login(admin_user).get(reverse("model_detail", args=["ct-ir", 1])).content.decode()
    assert 'id="artifact-note"' in page and "A folder named v1 was already there" in page
    assert jobs.artifact_folder("ct-ir", 2).name == "v2"  # no leftover: the plain name


def test_prelabeling_reads_a_chunk_at_a_time_and_skips_a_report_deleted_meanwhile(
        labelled_project, model_settings, monkeypatch):
    monkeypatch.setattr(jobs, "PRELABEL_CHUNK", 7)
    version = train(labelled_project)
    services.model_version_promote(version=version, prelabel=False)
    last = Report.objects.filter(project=labelled_project).order_by(
        "-in_queue", *CHRONOLOGICAL).last()  # in the last chunk
    progress = []

    def echo(line):  # after each chunk: the first one deletes a report not read yet
        progress.append(line)
        if len(progress) == 1:
            Report.objects.filter(pk=last.pk).delete()

    run = jobs.prelabel(services.prelabel_request(project=labelled_project,
                                                   enqueue=False).pk, echo=echo)
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert len(progress) == 7 and progress[0].startswith("pre-labelled 7/48")
    assert run.done == run.total == 48
    assert Prediction.objects.filter(model_version=version).count() == 47
    assert not Prediction.objects.filter(report_id=last.pk).exists()
