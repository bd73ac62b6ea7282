"""Writes to modeling data from the web process: start, cancel, promote, request pre-labeling;
and the classify endpoint's use case, which writes nothing but asks a worker.

Nothing here imports torch; the work itself runs in modeling.jobs on a Celery worker.
"""

import logging
import shutil
from dataclasses import dataclass, field

from celery import current_app as celery_app
from celery.exceptions import TimeoutError as CeleryTimeout
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from annotation.models import Project
from core.jobs import HEARTBEAT_SILENCE, Outcome, handed_over, running_jobs_fail_stale
from core.models import ACTIVE_STATUSES, JobStatus
from core.queue import broker_problem, safe_broker_url, send_now, send_on_commit

from . import archive, selectors
from .ml.recipe import (
    DEFAULT_EPOCHS,
    DEFAULT_MAX_LENGTH,
    DEFAULT_MAX_STEPS,
    DEFAULT_MIN_STEPS,
    DEFAULT_SEEDS,
)
from .models import ModelVersion, PrelabelRun, RetrainPolicy, Trigger

log = logging.getLogger(__name__)
DEFAULT_RECIPE = {
    "epochs": DEFAULT_EPOCHS, "seeds": DEFAULT_SEEDS, "max_length": DEFAULT_MAX_LENGTH,
}
LIMITS = {"epochs": (1, 20), "seeds": (1, 15), "max_length": (32, 512)}
# Shown beside the form: epochs are passes, held between these optimiser steps per seed.
STEP_BOUNDS = (DEFAULT_MIN_STEPS, DEFAULT_MAX_STEPS)


class JobError(ValueError):
    """A job cannot be started or changed; the message says why, for the page."""


def recipe_clean(**values) -> dict:
    recipe = dict(DEFAULT_RECIPE)
    for name, (low, high) in LIMITS.items():
        value = values.get(name)
        if value in (None, ""):
            continue
        text = str(value).strip()
        # ASCII digits only: int() also reads '１２' and '²', which no one means as a number.
        if isinstance(value, bool) or not (text.isascii() and text.isdigit()) or len(text) > 6:
            raise JobError(f"{name.replace('_', ' ')} must be a whole number (digits 0-9)")
        value = int(text)
        if not low <= value <= high:
            raise JobError(f"{name.replace('_', ' ')} must be between {low} and {high}")
        recipe[name] = value
    return recipe


@transaction.atomic
def model_version_create(
    *, project: Project, user=None, recipe: dict | None = None, auto_promote: bool = False,
    enqueue: bool = True, trigger: str = Trigger.MANUAL, start_from=None, fast: bool = False,
) -> ModelVersion:
    """Queue a training job. ``start_from``: None starts from the active model when its
    categories match (else the base encoder), "base" from the base encoder, or a succeeded
    ModelVersion (of any project with the same category codes) from that version."""
    # Lock the project row so two admins clicking at once get v5 and v6, not two v5s; the
    # lock also holds the label count still while it is copied onto the version.
    locked = Project.objects.select_for_update().get(pk=project.pk)
    number = (project.model_versions.aggregate(n=Max("number"))["n"] or 0) + 1
    # The fast path trains the TF-IDF candidate alone: no epochs, seeds or start to record.
    hyperparameters = {"fast": True} if fast else recipe_clean(**(recipe or {}))
    warm = None if fast else _warm_start_source(project, start_from)
    if warm is not None:
        hyperparameters["warm_start"] = {"project": warm.project.slug, "version": warm.number,
                                         "folder": warm.artifact_dir}
    # Annotation asks about a fast retrain again only once this version is K labels old.
    Project.objects.filter(pk=project.pk).update(
        fast_retrain_due_at=locked.reference_labels_written + locked.fast_retrain_every)
    version = ModelVersion.objects.create(
        project=project, number=number, base_model=str(settings.CTIR_BASE_MODEL),
        hyperparameters=hyperparameters, auto_promote=auto_promote,
        created_by=user, phase="queued", trigger=trigger,
        labels_written=locked.reference_labels_written,
        progress={"message": "Waiting for a training worker"},
    )
    if enqueue:
        send_on_commit("modeling.tasks.train_model_version", version.pk,
                       failed=_not_sent(ModelVersion, version.pk, "start the training again"))
    return version


# --- One service per use case, for the page and the API alike --------------------------


def training_request(*, project: Project, user, recipe: dict, start_from: str = "",
                     auto_promote: bool = False) -> Outcome:
    """An admin's Train: refused with the reason (no worker, a bad recipe or start), or a
    queued version; `unavailable` when the task queue did not take it."""
    if problem := selectors.queue_problem("training"):
        return Outcome(unavailable=f"Training cannot start: {problem}")
    try:
        start = selectors.start_from_choice(project, user, start_from)
        version = model_version_create(project=project, user=user, recipe=recipe_clean(
            **recipe), auto_promote=auto_promote, start_from=start)
    except JobError as exc:
        return Outcome(refused=f"Training not started: {exc}.")
    except LookupError:
        return Outcome(refused="Training not started: that version cannot be started from "
                               "here.")
    if reason := handed_over(version):
        return Outcome(job=version, unavailable=f"v{version.number} could not be queued: "
                                                f"{reason}")
    warm = version.hyperparameters.get("warm_start")
    return Outcome(job=version, message=f"v{version.number} is queued for training" + (
        f", starting from {warm['project']} v{warm['version']}." if warm else "."))


def promotion_request(*, version: ModelVersion, user) -> Outcome:
    """Make a version the active model; the promotion stands even when its pre-labeling
    could not be queued (then `note` says so)."""
    try:
        version = model_version_promote(version=version, user=user)
    except JobError as exc:
        return Outcome(refused=str(exc))
    run = selectors.latest_prelabel(version.project)
    if run is not None and run.model_version_id == version.pk and run.status == JobStatus.FAILED:
        return Outcome(job=version, note=f"v{version.number} is now the active model, but "
                                         f"pre-labeling could not be queued: {run.error}")
    return Outcome(job=version, message=f"v{version.number} is now the active model; "
                                        "pre-labeling has been queued.")


def prelabel_start(*, project: Project, version: ModelVersion | None = None,
                   user=None) -> Outcome:
    """Pre-label every report with the active model (or `version`)."""
    if problem := selectors.queue_problem("inference"):
        return Outcome(unavailable=f"Pre-labeling cannot start: {problem}")
    try:
        run = prelabel_request(project=project, version=version, user=user)
    except JobError as exc:
        return Outcome(refused=str(exc))
    if reason := handed_over(run):
        return Outcome(job=run, unavailable=f"Pre-labeling could not be queued: {reason}")
    return Outcome(job=run, message="Pre-labeling is queued.")


def model_archive_import(*, project: Project, upload, user=None) -> Outcome:
    """An admin's upload of a model archive (modeling.archive): refused with the reason
    unless the zip, its signature under this instance's key, every file's checksum and the
    categories all check out, before anything in it is unpacked or loaded; then a new
    version, queued for a worker to score it on this project's validation split (its
    figures must be this project's, not the exporter's) before anyone can promote it."""
    if problem := selectors.queue_problem("inference"):
        return Outcome(unavailable=f"The archive was not imported: {problem}")
    size = getattr(upload, "size", None)
    if size is not None and size > archive.limit("MAX_ARCHIVE_BYTES"):
        return Outcome(refused=f"Not imported: the archive is {size / 2**20:,.0f} MB; model "
                               f"archives are taken up to "
                               f"{archive.limit('MAX_ARCHIVE_BYTES') / 2**20:,.0f} MB.")
    try:
        checked = archive.archive_check(upload, categories=selectors.category_pairs(project))
        version = imported_version_create(project=project, upload=upload, checked=checked,
                                          user=user)
    except archive.ArchiveError as exc:
        return Outcome(refused=f"Not imported: {exc}.")
    if reason := handed_over(version):
        return Outcome(job=version, unavailable=f"v{version.number} was imported but could not "
                                                f"be queued for evaluation: {reason}")
    source = version.hyperparameters["imported_from"]
    return Outcome(job=version, message=(
        f"v{version.number} imported from {source['instance']} ({source['project']} "
        f"v{source['version']}); it is queued to be scored on this project's validation "
        "split, and can be promoted once that is done."))


@transaction.atomic
def imported_version_create(*, project: Project, upload, checked: archive.CheckedArchive,
                            user=None) -> ModelVersion:
    """The checked archive's model folder as a new version's folder, and the version, queued
    for evaluation. The folder is removed again if the version cannot be written."""
    locked = Project.objects.select_for_update().get(pk=project.pk)
    number = (project.model_versions.aggregate(n=Max("number"))["n"] or 0) + 1
    card = checked.card
    exported, source = card.get("exported") or {}, card.get("version") or {}
    origin = {"instance": str(exported.get("instance", "?"))[:100],
              "project": str((card.get("project") or {}).get("slug", "?"))[:100],
              "version": source.get("number"), "exported_at": exported.get("at"),
              "ctir_version": exported.get("ctir_version"),
              "manifest_sha256": archive.manifest_digest(checked.manifest)}
    folder = selectors.artifact_folder(project.slug, number)
    archive.archive_unpack(upload, checked, folder)
    try:
        # Not the project's label count: an imported model learnt none of this project's
        # labels, so it must not reset the count the retrain policy waits on.
        newest = project.model_versions.order_by("-number").values_list(
            "labels_written", flat=True).first()
        recipe = card.get("recipe") if isinstance(card.get("recipe"), dict) else {}
        counts = (card.get("data") or {}).get("counts")
        version = ModelVersion.objects.create(
            project=locked, number=number, trigger=Trigger.IMPORTED, created_by=user,
            base_model=str(source.get("base_model", ""))[:500],
            hyperparameters={**recipe, "imported_from": origin},
            label_snapshot=counts if isinstance(counts, dict) and all(
                isinstance(v, dict) for v in counts.values()) else {},
            metrics={"served": checked.label_map.get("served", card.get("served")),
                     "as_exported": card.get("metrics") or {}},
            artifact_dir=str(folder), phase="queued",
            labels_written=newest if newest is not None else 0,
            progress={"message": "Imported; waiting for an inference worker to score it on "
                                 "this project's validation split"},
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    send_on_commit("modeling.tasks.evaluate_imported_version", version.pk,
                   failed=_not_sent(ModelVersion, version.pk, "import the archive again"))
    return version


def _not_sent(model, job_id: int, retry: str):
    """What send_on_commit calls when the broker did not take the job: fail its row with the
    reason, so it never waits "queued" for a message that does not exist."""
    def failed(exc: BaseException) -> None:
        extra = ({"phase": "failed", "progress": {"message": "Never reached a worker"}}
                 if model is ModelVersion else {})
        model.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
            status=JobStatus.FAILED, finished_at=timezone.now(),
            error=broker_problem(exc, retry), **extra)
    return failed


def _warm_start_source(project: Project, start_from) -> ModelVersion | None:
    if start_from == "base":
        return None
    if start_from is None:
        start_from = project.model_versions.filter(is_active=True).first()
        # A fast model (TF-IDF alone, what a new project is served first) has no encoder to
        # start BERT from: the default is then the base encoder.
        if start_from is None or (start_from.metrics or {}).get("fast"):
            return None
    if start_from.status != JobStatus.SUCCEEDED or not start_from.artifact_dir:
        raise JobError(f"v{start_from.number} has no trained model to start from")
    if selectors.category_codes(start_from.project) != selectors.category_codes(project):
        if start_from.project_id == project.pk:
            return None  # the categories changed since: the old head does not fit
        raise JobError(f"{start_from.project.slug} v{start_from.number} has other categories")
    return start_from


# --- Automatic retraining ---------------------------------------------------------------------

EVERY_BOUNDS = (1, 100_000)


def retrain_policy_set(*, project: Project, mode: str, every, user=None) -> RetrainPolicy:
    if mode not in RetrainPolicy.Mode.values:
        raise JobError(f"unknown policy {mode!r}")
    text = str(every if every is not None else "").strip()
    # ASCII digits only, as for the training recipe: int() would also read '１２'.
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise JobError("the number of labels must be a whole number (digits 0-9)")
    every = int(text)
    low, high = EVERY_BOUNDS
    if not low <= every <= high:
        raise JobError(f"the number of labels must be between {low} and {high}")
    policy, _ = RetrainPolicy.objects.update_or_create(
        project=project, defaults={"mode": mode, "every": every, "updated_by": user, "note": ""}
    )
    return policy


def auto_retrain_due() -> list[str]:
    """Check every project whose policy is on; start the retrains that are due. A project
    with no model yet gets a fast one as soon as its labels allow, policy or not."""
    outcomes = []
    for policy in RetrainPolicy.objects.filter(mode=RetrainPolicy.Mode.EVERY).select_related(
            "project"):
        outcomes.append(f"{policy.project.slug}: {auto_retrain_check(project=policy.project)}")
    for project in selectors.projects_without_a_model():
        outcomes.append(f"{project.slug}: {first_model_check(project=project)}")
    # A fast retrain whose message was lost (broker down at the label's commit) starts here.
    for project in selectors.projects_due_a_fast_model():
        outcomes.append(f"{project.slug}: {fast_retrain_check(project=project)}")
    return outcomes


def first_model_check(*, project: Project) -> str:
    """Start the fast (TF-IDF) model of a project that has none, once every category has
    labels enough (2 in train, 2 in validation), auto-promoted through the usual gate, so
    annotators see suggestions without anyone pressing Train. A failed try waits for new
    labels before the next."""
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        if project.model_versions.filter(Q(is_active=True) | Q(status__in=ACTIVE_STATUSES)
                                         ).exists():
            return "has a model"
        tried = project.model_versions.filter(trigger=Trigger.FIRST).order_by(
            "-number").values_list("labels_written", flat=True).first()
        if tried is not None and tried >= locked.reference_labels_written:
            _fast_due_at(locked, locked.reference_labels_written + 1)
            return "waiting for new labels since the last try"
        short = selectors.first_model_shortfall(project)
        if short:
            # Asked again at the very next label: the first suggestions come as soon as the
            # labels allow, not `fast_retrain_every` labels later.
            _fast_due_at(locked, locked.reference_labels_written + 1)
            return f"waiting for labels ({short})"
        version = model_version_create(project=project, auto_promote=True, enqueue=False,
                                       trigger=Trigger.FIRST, fast=True)
        version.progress = {"message": "The project's first model (fast, TF-IDF), started "
                                       "automatically; waiting for a worker"}
        version.save(update_fields=["progress"])
    if problem := _sent_or_undone(version):
        return f"due, but the task queue did not answer ({problem})"
    return f"started v{version.number} (fast)"


def fast_retrain_poke(*, project_id: int, **_) -> None:
    """annotation.signals.reference_labels_due: hand the check to a worker after the label's
    commit, so the labeling request never waits on it. A message the broker refuses is only
    logged: beat's minute check (auto_retrain_due) catches up."""
    send_on_commit("modeling.tasks.fast_retrain", project_id,
                   failed=lambda exc: log.warning("fast retrain check not sent: %s", exc))


def fast_retrain_check(*, project: Project) -> str:
    """Between full retrains, train the fast (TF-IDF) model again once the project has
    `fast_retrain_every` new reference labels since its newest version, and promote it
    through the usual gate (only if at least as good on validation). A project without a
    model gets its first one here as soon as its labels allow. Called after labels are
    written and when a training job ends, so labels gathered during a run are not lost."""
    every = Project.objects.filter(pk=project.pk).values_list(
        "fast_retrain_every", flat=True).get()
    if not project.model_versions.filter(Q(is_active=True) | Q(status__in=ACTIVE_STATUSES)
                                         ).exists():
        return first_model_check(project=project)
    if not every:
        return "fast retraining is off"
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        busy = project.model_versions.filter(status__in=ACTIVE_STATUSES).first()
        if busy is not None:
            # Its end checks again (modeling.tasks); no message per label meanwhile.
            _fast_due_at(locked, locked.reference_labels_written + every)
            return f"waiting for v{busy.number} to finish"
        since = selectors.labels_since_last_version(locked)
        if since < every:
            _fast_due_at(locked, locked.reference_labels_written - since + every)
            return f"waiting ({since} of {every} labels)"
        version = model_version_create(project=project, auto_promote=True, enqueue=False,
                                       trigger=Trigger.FAST, fast=True)
        version.progress = {"message": f"Fast model after {since} new labels; waiting for a "
                                       "worker"}
        version.save(update_fields=["progress"])
    if problem := _sent_or_undone(version):
        return f"due, but the task queue did not answer ({problem})"
    return f"started v{version.number} (fast)"


def _fast_due_at(project: Project, labels_written: int) -> None:
    Project.objects.filter(pk=project.pk).update(fast_retrain_due_at=labels_written)


def auto_retrain_check(*, project: Project) -> str:
    """Start an automatic, auto-promoting retrain of this project if its policy says one is
    due and no training job of the project is queued or running. Returns what happened.

    Constant work whatever the number of labels: the count since the last version is two
    stored numbers. Not called from the labeling path; beat calls it once a minute.
    """
    with transaction.atomic():
        # The policy row lock makes two checks at once start one run, not two.
        policy = RetrainPolicy.objects.select_for_update().filter(project=project).first()
        if policy is None or not policy.is_on:
            return "off"
        since = selectors.labels_since_last_version(project)
        if since < policy.every:
            return f"waiting ({since} of {policy.every} labels)"
        busy = project.model_versions.filter(status__in=ACTIVE_STATUSES).first()
        if busy is not None:
            return _policy_note(policy, f"Due, waiting for v{busy.number} to finish first.")
        version = model_version_create(project=project, auto_promote=True, enqueue=False,
                                       trigger=Trigger.AUTO, recipe=_last_recipe(project))
        version.progress = {"message": f"Started automatically after {since} new reference "
                                       "labels; waiting for a training worker"}
        version.save(update_fields=["progress"])
        _policy_note(policy, "")
    if problem := _sent_or_undone(version):
        return _policy_note(
            policy, f"Due, but the task queue did not answer ({problem}); retrying every "
            "minute.")
    return f"started v{version.number}"


def _sent_or_undone(version: ModelVersion) -> str:
    """Hand an automatic run to the broker after its commit; when the broker is down, delete
    the queued row (the next check starts it again) and say what failed. '' when sent."""
    try:
        send_now("modeling.tasks.train_model_version", version.pk)
    except Exception as exc:  # any failure to hand over: kombu wraps most, not all
        ModelVersion.objects.filter(pk=version.pk, status=JobStatus.QUEUED).delete()
        return type(exc).__name__
    return ""


def _last_recipe(project: Project) -> dict:
    """An automatic run repeats the newest version's recipe (what the admins chose last)."""
    last = project.model_versions.order_by("-number").first()
    used = last.hyperparameters if last else {}
    return {k: used[k] for k in DEFAULT_RECIPE if k in used}


def _policy_note(policy: RetrainPolicy, note: str) -> str:
    now = timezone.now()
    RetrainPolicy.objects.filter(pk=policy.pk).update(note=note[:300], checked_at=now)
    return note or "ok"


def model_version_cancel(*, version: ModelVersion) -> str:
    """Cancel a queued run at once; ask a running one to stop at its next step."""
    now = timezone.now()
    if ModelVersion.objects.filter(pk=version.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, finished_at=now, phase="cancelled",
        progress={"message": "Cancelled before it started"},
    ):
        return "Cancelled before it started."
    if ModelVersion.objects.filter(pk=version.pk, status=JobStatus.RUNNING).update(
        cancel_requested=True
    ):
        return "Cancelling: the run stops after its current step."
    raise JobError(f"v{version.number} has already finished ({version.status}).")


@transaction.atomic
def model_version_promote(*, version: ModelVersion, user=None, prelabel: bool = True):
    """Make this version the project's active model in one transaction.

    The old version stays active until the commit, so suggestions never go missing.
    """
    locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != JobStatus.SUCCEEDED:
        raise JobError(f"v{locked.number} cannot be promoted: it has not succeeded.")
    list(ModelVersion.objects.select_for_update().filter(project=locked.project_id))
    ModelVersion.objects.filter(project=locked.project_id, is_active=True).exclude(
        pk=locked.pk
    ).update(is_active=False)
    locked.is_active, locked.promoted_at = True, timezone.now()
    locked.save(update_fields=["is_active", "promoted_at"])
    if prelabel:
        prelabel_request(project=locked.project, version=locked, user=user)
    return locked


def prelabel_request(*, project: Project, version: ModelVersion | None = None, user=None,
                     enqueue: bool = True) -> PrelabelRun:
    version = version or project.model_versions.filter(is_active=True).first()
    if version is None:
        raise JobError("No active model: promote a model version first.")
    if version.status != JobStatus.SUCCEEDED:
        raise JobError(f"v{version.number} has no trained model to pre-label with.")
    running = PrelabelRun.objects.filter(
        model_version=version, status__in=ACTIVE_STATUSES
    ).first()
    if running:
        return running
    run = PrelabelRun.objects.create(project=project, model_version=version, created_by=user)
    if enqueue:
        send_on_commit("modeling.tasks.prelabel_project", run.pk,
                       failed=_not_sent(PrelabelRun, run.pk, "press “Pre-label now”"))
    return run


def stale_jobs_fail(*, project: Project | None = None, silence=HEARTBEAT_SILENCE) -> int:
    """Mark running training and pre-labeling jobs whose worker went silent as failed, with
    the reason (annotation registers its import jobs' sweep itself)."""
    count = 0
    for model, extra in ((ModelVersion, {"phase": "failed"}), (PrelabelRun, {})):
        jobs = model.objects.filter(project=project) if project else model.objects.all()
        count += running_jobs_fail_stale(jobs, then="the run was abandoned. Start a new one.",
                                         silence=silence, **extra)
    return count


# --- Classify: the active model's answer for texts sent by the API, stored nowhere ---------

# How long the web process waits for the inference worker. A worker busy with a training job
# (one worker for every queue, as `make run` starts) cannot answer until the job ends, and a
# request must not hang that long; a model's first load on a worker takes a few seconds.
CLASSIFY_TIMEOUT = 30
CLASSIFY_TASK = "modeling.tasks.classify_texts"


@dataclass(frozen=True)
class Classified:
    """What a classify request came to: `results`, one per text in order (category code and
    name, probabilities by code, margin), from `version`; or why not: `refused` (no active
    model: the API answers 409) or `unavailable` (no worker answered: 503)."""

    version: ModelVersion | None = None
    results: list[dict] = field(default_factory=list)
    refused: str = ""
    unavailable: str = ""


def classify_request(*, project: Project, texts: list[str]) -> Classified:
    """Classify texts with the project's active model on a worker of the inference queue
    (the web process never loads torch), waiting at most CLASSIFY_TIMEOUT seconds."""
    version = project.model_versions.filter(is_active=True).first()
    if version is None:
        return Classified(refused="This project has no active model to classify with: train "
                                  "a version and promote it on the Models page, then try "
                                  "again.")
    start = (f"start one (`make run`, or `celery -A ctir_site worker`) that consumes "
             f"{settings.CTIR_QUEUES['inference']} and try again")
    if problem := _inference_problem(start):
        return Classified(version=version, unavailable=problem)
    try:
        answers = _answer(CLASSIFY_TASK, version.pk, list(texts), timeout=CLASSIFY_TIMEOUT)
    except CeleryTimeout:
        return Classified(version=version, unavailable=(
            f"No worker answered within {CLASSIFY_TIMEOUT} s: a worker busy with a long job "
            f"(training) answers only when it ends. Wait for it, or {start}."))
    except _NotSent as exc:
        return Classified(version=version, unavailable=broker_problem(exc.__cause__,
                                                                      "try again"))
    except Exception as exc:  # raised by the task on the worker, sent back by the backend
        log.warning("classify with v%s failed on the worker: %r", version.number, exc)
        return Classified(version=version, unavailable=(
            f"The worker could not classify with v{version.number} ({type(exc).__name__}: "
            f"{str(exc)[:300]}); check that it can read the model folder "
            f"{version.artifact_dir}, or promote another version."))
    names = dict(project.categories.values_list("code", "name"))
    return Classified(version=version, results=[
        {"category": answer["category"], "category_name": names.get(answer["category"], ""),
         "probabilities": answer["probabilities"], "margin": answer["margin"]}
        for answer in answers])


def _inference_problem(start: str) -> str:
    """Why no worker would answer on the inference queue now, with what to do; or ""."""
    health = selectors.queue_health()
    if not health["redis"]:
        return (f"The job queue (Redis at {safe_broker_url()}) is not answering: start it "
                f"(`make run` starts one) and a worker, and try again.")
    if not health["inference"]:
        return f"No worker listens on the inference queue: {start}."
    return ""


class _NotSent(RuntimeError):
    """The broker did not take the message (its error is the cause)."""


def _answer(name: str, *args, timeout: float):
    """Send a task and wait for its return value (core.queue sends without keeping the
    result handle: the other tasks' callers never wait)."""
    kwargs = {"instance": settings.CTIR_INSTANCE}
    if celery_app.conf.task_always_eager:
        return celery_app.tasks[name].apply(args=args, kwargs=kwargs).get(timeout=timeout)
    try:
        # `expires`: a message still queued when the caller gives up is dropped by the
        # worker that takes it later, not run for nobody.
        result = celery_app.send_task(name, args=args, kwargs=kwargs, expires=timeout)
    except Exception as exc:  # kombu wraps most broker errors, not all
        raise _NotSent from exc
    try:
        return result.get(timeout=timeout)
    finally:
        result.forget()  # read once: no need to keep it in Redis until it expires
