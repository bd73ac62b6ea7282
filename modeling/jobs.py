"""The work behind the Celery tasks and `manage.py train/prelabel`: plain functions of ids.

Only workers and management commands import this module; it pulls in torch.
"""

import json
import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from annotation.models import CHRONOLOGICAL, Category, Report, Split
from core.models import JobStatus

from .ml.candidates import TFIDF
from .ml.inference import LABEL_MAP_FILE, Classifier
from .ml.registry import ENCODER_FILE, Batch
from .ml.training import (
    Progress,
    TrainConfig,
    TrainingCancelled,
    TrainingDataError,
    train_fast,
    train_model,
)
from .ml.training import _candidate_scores as candidate_scores
from .models import ModelVersion, Prediction, PrelabelRun
from .selectors import ARTIFACT_NOTE, artifact_folder
from .services import model_version_promote

log = logging.getLogger(__name__)
WRITE_EVERY_SECONDS = 1.0
# What of train_model's result the version keeps (the history goes to its own field).
METRIC_KEYS = ("served", "fast", "validation", "test", "candidates", "baseline", "coverage",
               "best_seed", "best_epoch", "best_step", "steps_per_seed", "timings")
PRELABEL_CHUNK = 256


def _claim(model, job_id: int) -> bool:
    """Queued -> running in one conditional update, so two workers never run one job."""
    now = timezone.now()
    fields = {"status": JobStatus.RUNNING, "started_at": now, "heartbeat_at": now}
    if model is ModelVersion:
        fields["worker"] = socket.gethostname()
    return bool(model.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(**fields))


def training_data(project) -> dict[str, list[tuple[str, int]]]:
    data = {Split.TRAIN: [], Split.VALIDATION: [], Split.TEST: []}
    rows = (
        Report.objects.filter(project=project, split__in=list(data),
                              reference_label__isnull=False)
        .order_by(*CHRONOLOGICAL)
        .values_list("split", "text", "reference_label__category__code")
    )
    for split, text, code in rows:
        data[split].append((text, code))
    return data


def label_snapshot(project) -> dict:
    counts = (
        Report.objects.filter(project=project, reference_label__isnull=False)
        .values("split", "reference_label__category__code").annotate(n=Count("id"))
    )
    snapshot: dict[str, dict[str, int]] = {}
    for row in counts:
        code = str(row["reference_label__category__code"])
        snapshot.setdefault(row["split"], {})[code] = row["n"]
    # Train first: the version page lists what the model learnt from before what scored it.
    order = {split: i for i, split in enumerate(("train", "validation", "test"))}
    return dict(sorted(snapshot.items(), key=lambda item: order.get(item[0], 9)))


def train_version(version_id: int, *, echo: Callable[[str], None] | None = None) -> ModelVersion:
    """Run one queued training job to its end: succeeded, failed or cancelled."""
    if not _claim(ModelVersion, version_id):
        log.info("model version %s is not queued any more; skipping", version_id)
        return ModelVersion.objects.get(pk=version_id)
    version = ModelVersion.objects.select_related("project").get(pk=version_id)
    project = version.project
    out_dir = artifact_folder(project.slug, version.number)
    if out_dir.name != f"v{version.number}":
        log.warning("v%s goes to %s: %s", version.number, out_dir,
                    ARTIFACT_NOTE.format(number=version.number))
        if echo:
            echo(f"{out_dir.parent / f'v{version.number}'} is taken by a folder this database "
                 f"did not write; saving in {out_dir} instead (nothing moved or deleted).")
    last_write = [0.0]
    cancel = [False]

    def on_progress(p: Progress):
        now = time.monotonic()
        final = p.phase in ("test", "saving")
        if now - last_write[0] < WRITE_EVERY_SECONDS and not final:
            return
        last_write[0] = now
        state = {
            "seed": p.seed_index + 1, "seeds": p.seeds, "epoch": p.epoch, "epochs": p.epochs,
            "step": p.step, "total_steps": p.total_steps, "loss": p.loss,
            "val_accuracy": p.val_accuracy, "eta_seconds": p.eta_seconds,
            "message": p.message, "warning": p.warning,
        }
        # The heartbeat doubles as the cancel check: one round trip per write.
        ModelVersion.objects.filter(pk=version_id).update(
            phase=p.phase, progress=state, heartbeat_at=timezone.now()
        )
        cancel[0] = ModelVersion.objects.filter(pk=version_id, cancel_requested=True).exists()
        if echo:
            echo(_progress_line(p))

    try:
        data = training_data(project)
        labels = list(Category.objects.filter(project=project).values_list("code", flat=True))
        if version.hyperparameters.get("fast"):
            result = _train_fast(version, data, labels, out_dir, on_progress, echo)
        else:
            result = _train_full(version, data, labels, out_dir, on_progress, cancel, echo)
    except TrainingCancelled:
        _finish(version_id, JobStatus.CANCELLED, phase="cancelled", error="Cancelled by an admin.")
    except (TrainingDataError, ValueError, FileExistsError) as exc:
        _finish(version_id, JobStatus.FAILED, phase="failed", error=str(exc))
    except Exception as exc:  # anything else: record it, never leave the run "running"
        log.exception("training v%s failed", version.number)
        _finish(version_id, JobStatus.FAILED, phase="failed",
                error=f"{type(exc).__name__}: {exc}")
    else:
        trained = dict(artifact_dir=str(out_dir), history=result.get("history", []),
                       metrics={k: result[k] for k in METRIC_KEYS if k in result})
        verdict = None
        if version.auto_promote:
            # Compare before the job reads "succeeded", so that nobody (the page, the API,
            # a script polling it) sees a finished auto-promote job that is not yet active.
            ModelVersion.objects.filter(pk=version_id).update(
                phase="comparing", heartbeat_at=timezone.now(), **trained)
            version.refresh_from_db()
            try:
                verdict = promotion_verdict(version)
            except Exception as exc:  # the model trained fine: it succeeds, unpromoted
                log.exception("comparing v%s with the active model failed", version.number)
                verdict = (False, f"the comparison with the active model failed "
                                  f"({type(exc).__name__}: {exc}).")
        with transaction.atomic():
            _finish(version_id, JobStatus.SUCCEEDED, phase="done", **trained)
            if verdict is not None:
                _promote_on(version, verdict)
    version.refresh_from_db()
    return version


def _train_full(version, data, labels, out_dir, on_progress, cancel, echo) -> dict:
    """BERT, TF-IDF and their ensemble, as the version's recipe says."""
    config = TrainConfig.from_dict(version.hyperparameters)
    recorded = config.to_dict()
    base_model, warm = warm_start(version.hyperparameters.get("warm_start"), labels,
                                  version.base_model)
    if warm:
        recorded["warm_start"] = warm
    ModelVersion.objects.filter(pk=version.pk).update(
        label_snapshot=label_snapshot(version.project), hyperparameters=recorded
    )
    if echo:
        echo("Candidates: fine-tuned BERT, TF-IDF (n-grams + concepts), their ensemble; "
             "the one to serve is chosen on validation.")
        if warm:
            echo(warm.get("fallback") or f"BERT starts from {warm['project']} "
                 f"v{warm['version']} ({warm['folder']}).")
    return train_model(
        base_model=base_model, train=data[Split.TRAIN],
        validation=data[Split.VALIDATION], test=data[Split.TEST], labels=labels,
        config=config, out_dir=out_dir, on_progress=on_progress,
        should_stop=lambda: cancel[0],
    )


def _train_fast(version, data, labels, out_dir, on_progress, echo) -> dict:
    """The TF-IDF candidate alone: seconds, for the first suggestions and between full
    retrains (hyperparameters {"fast": true})."""
    ModelVersion.objects.filter(pk=version.pk).update(
        label_snapshot=label_snapshot(version.project))
    if echo:
        echo("Fast model: the TF-IDF candidate alone (seconds); a full job may replace it "
             "when validation says so.")
    return train_fast(train=data[Split.TRAIN], validation=data[Split.VALIDATION],
                      test=data[Split.TEST], labels=labels, out_dir=out_dir,
                      on_progress=on_progress)


def warm_start(warm: dict | None, labels: list[int], base_model: str) -> tuple[str, dict]:
    """The folder BERT starts from, and what to record about it.

    A warm start loads the earlier version's whole classifier, head included, so its label
    order must be this project's; otherwise (or if the folder is gone) the run starts from
    the base encoder and says why.
    """
    if not warm:
        return base_model, {}
    folder = Path(warm["folder"])
    try:
        trained_on = json.loads((folder / LABEL_MAP_FILE).read_text())["labels"]
    except (OSError, ValueError, KeyError) as exc:
        problem = f"its model folder cannot be read ({type(exc).__name__})"
    else:
        if [int(c) for c in trained_on] == list(labels):
            return str(folder), dict(warm)
        problem = f"it was trained on categories {trained_on}, this project has {labels}"
    note = (f"Not started from {warm['project']} v{warm['version']}: {problem}; "
            "started from the base model.")
    return base_model, {**warm, "fallback": note}


def _promote_on(version: ModelVersion, verdict: tuple[bool, str]) -> None:
    """Promote (which queues pre-labeling) only if at least as good as the active model on
    the current validation split; say why either way."""
    good, note = verdict
    if good:
        model_version_promote(version=version, user=version.created_by)
    ModelVersion.objects.filter(pk=version.pk).update(
        promotion_note=("Promoted: " if good else "Not promoted: ") + note)


def promotion_verdict(version: ModelVersion) -> tuple[bool, str]:
    """Compare served candidates on the current validation split: the active model is
    re-scored on it now, because the validation labels may have changed since the active
    model was trained. Classifier.load serves each version's chosen candidate."""
    active = version.project.model_versions.filter(is_active=True).exclude(
        pk=version.pk).first()
    if active is None:
        return True, "there was no active model."
    data = training_data(version.project)[Split.VALIDATION]
    if not data:
        return False, "there is no validation split to compare on."
    texts, truth = zip(*data, strict=True)
    new, old = (validation_correct(v, list(texts), list(truth)) for v in (version, active))
    n = len(truth)
    served = (version.metrics or {}).get("served", "bert")
    detail = (f"{served} v{version.number} {new}/{n} correct on the current validation "
              f"split, active v{active.number} {old}/{n}.")
    return new >= old, detail


def validation_correct(version: ModelVersion, texts: list[str], truth: list[int]) -> int:
    predictions = Classifier.load(version.artifact_dir).predict(texts)
    return sum(p["category"] == t for p, t in zip(predictions, truth, strict=True))


def evaluate_imported(version_id: int) -> ModelVersion:
    """Score an imported version (services.model_archive_import) on this project's
    validation and test splits, as training scores its candidates, so its figures, the
    Models page's comparison and the promotion gate are this project's, not the exporter's
    (those stay in metrics["as_exported"]). Succeeds unpromoted: an admin promotes it."""
    if not _claim(ModelVersion, version_id):
        log.info("model version %s is not queued any more; skipping", version_id)
        return ModelVersion.objects.get(pk=version_id)
    ModelVersion.objects.filter(pk=version_id).update(phase="evaluating", progress={
        "message": "Scoring the imported model on this project's validation and test splits"})
    version = ModelVersion.objects.select_related("project").get(pk=version_id)
    try:
        metrics = {**imported_scores(version), "as_exported": (version.metrics or {}).get(
            "as_exported", {})}
        ModelVersion.objects.filter(pk=version_id).update(
            phase="comparing", heartbeat_at=timezone.now(), metrics=metrics)
        version.refresh_from_db()
        better, note = promotion_verdict(version) if metrics["validation"] else (
            False, "this project has no labelled validation reports to score it on.")
    except Exception as exc:  # record it, never leave the version "running"
        log.exception("evaluating imported v%s failed", version.number)
        _finish(version_id, JobStatus.FAILED, phase="failed",
                error=f"Evaluation failed: {type(exc).__name__}: {exc}")
    else:
        advice = "promote it by hand if you want it" if better else "the active model stays"
        _finish(version_id, JobStatus.SUCCEEDED, phase="done",
                promotion_note=f"Imported, not promoted ({advice}): {note}")
    version.refresh_from_db()
    return version


def imported_scores(version: ModelVersion) -> dict:
    """The metrics of every candidate the version's served one is built from, on this
    project's splits, shaped as a training job's."""
    labels = list(Category.objects.filter(project=version.project).values_list(
        "code", flat=True))
    classifier = Classifier.load(version.artifact_dir)
    if classifier.labels != labels:
        raise ValueError(f"the model's categories {classifier.labels} are not this project's "
                         f"{labels}")
    data = training_data(version.project)
    splits = {split: Batch([text for text, _ in data[split]])
              for split in (Split.VALIDATION, Split.TEST)}
    codes = {split: [code for _, code in data[split]] for split in splits}
    scores = {name: candidate_scores(member, splits, codes, labels)
              for name, member in classifier.members.items()}
    served = classifier.candidate
    metrics = {"served": served, "imported": True, "candidates": scores,
               "validation": scores[served]["validation"], "test": scores[served]["test"],
               "counts": {split: len(rows) for split, rows in codes.items()}}
    if not (Path(version.artifact_dir) / ENCODER_FILE).is_file():
        metrics["fast"] = True  # no encoder: nothing for a warm start (services)
    if TFIDF in scores:
        metrics["baseline"] = {s: scores[TFIDF][s] for s in ("validation", "test")}
    return metrics


def _finish(version_id: int, status: str, **fields):
    ModelVersion.objects.filter(pk=version_id).update(
        status=status, finished_at=timezone.now(), heartbeat_at=timezone.now(), **fields
    )


def _progress_line(p: Progress) -> str:
    parts = [f"[{p.phase}]", f"seed {p.seed_index + 1}/{p.seeds}", f"check {p.epoch}/{p.epochs}",
             f"step {p.step}/{p.total_steps}"]
    if p.loss is not None:
        parts.append(f"loss {p.loss:.4f}")
    if p.val_accuracy is not None:
        parts.append(f"val acc {p.val_accuracy:.4f}")
    if p.eta_seconds is not None:
        parts.append(f"eta {p.eta_seconds:.0f}s")
    return " ".join(parts)


def prelabel(run_id: int, *, echo: Callable[[str], None] | None = None) -> PrelabelRun:
    """Predict every report of the project that has no prediction from this version yet."""
    if not _claim(PrelabelRun, run_id):
        return PrelabelRun.objects.get(pk=run_id)
    run = PrelabelRun.objects.select_related("model_version", "project").get(pk=run_id)
    try:
        version = run.model_version
        categories = {c.code: c for c in Category.objects.filter(project=run.project)}
        # The ids only, in order; each chunk's texts are read when it comes up, so memory
        # stays flat however large the project (the texts of a million reports are
        # about 1 GiB as Python strings; their ids about 40 MB).
        todo = list(
            Report.objects.filter(project=run.project)
            .exclude(predictions__model_version=version)
            # Reports still waiting in the queue first: after a promotion the reports
            # annotators see next get the new model's suggestion soonest.
            .order_by("-in_queue", *CHRONOLOGICAL).values_list("pk", flat=True)
        )
        total = len(todo)
        PrelabelRun.objects.filter(pk=run_id).update(total=total)
        classifier = Classifier.load(version.artifact_dir)
        began, done = time.perf_counter(), 0
        for start in range(0, total, PRELABEL_CHUNK):
            ids = todo[start:start + PRELABEL_CHUNK]
            texts = dict(Report.objects.filter(pk__in=ids).values_list("pk", "text"))
            # A report deleted since the ids were read is left out.
            chunk = [(pk, texts[pk]) for pk in ids if pk in texts]
            outputs = classifier.predict([text for _, text in chunk])
            Prediction.objects.bulk_create(
                [Prediction(report_id=pk, model_version=version,
                            category=categories[out["category"]],
                            probabilities=out["probabilities"], margin=out["margin"],
                            ms=out["ms"])
                 for (pk, _), out in zip(chunk, outputs, strict=True)],
                ignore_conflicts=True,
            )
            done += len(ids)
            rate = done / max(time.perf_counter() - began, 1e-9)
            PrelabelRun.objects.filter(pk=run_id).update(
                done=done, reports_per_second=rate, heartbeat_at=timezone.now()
            )
            if echo:
                echo(f"pre-labelled {done}/{total} ({rate:.0f} reports/s)")
        PrelabelRun.objects.filter(pk=run_id).update(
            status=JobStatus.SUCCEEDED, finished_at=timezone.now()
        )
    except Exception as exc:
        log.exception("pre-labeling run %s failed", run_id)
        PrelabelRun.objects.filter(pk=run_id).update(
            status=JobStatus.FAILED, finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}",
        )
    run.refresh_from_db()
    return run
