"""Reads for the Models pages, shaped for templates. No torch here."""

import secrets
import tempfile
from collections import Counter
from importlib import metadata
from pathlib import Path

import redis
from celery import current_app as celery_app
from django.conf import settings
from django.core.cache import cache
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from annotation import models as annotation_models
from annotation.models import Category, Membership, Project, Role, Split
from annotation.selectors import report_tally, stamped_count
from core import charts
from core.models import ACTIVE_STATUSES, JobStatus
from core.queue import safe_broker_url

from . import archive
from .ml.candidates import BASELINE, BERT, CATALOGUE
from .ml.metrics import clopper_pearson
from .models import ModelVersion, PrelabelRun, RetrainPolicy, Trigger

HEALTH_CACHE_SECONDS = 10
HEALTH_KEY = "ctir:queue_health"


def queue_health() -> dict:
    """Is Redis up, and is a worker listening on the training and inference queues?

    Asking workers costs up to a second, so the answer is cached for a few seconds. Pages
    read queue_health_known() instead and ask for this in a request of its own.
    """
    cached = cache.get(HEALTH_KEY)
    if cached is not None:
        return cached
    health = {"redis": False, "training": False, "inference": False, "problem": ""}
    try:
        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1,
                             socket_connect_timeout=1).ping()
        health["redis"] = True
    except redis.RedisError as exc:
        health["problem"] = (
            f"The task queue (Redis at {safe_broker_url()}) is not "
            f"answering ({exc.__class__.__name__}). Start Redis (make run starts one) and reload."
        )
    if health["redis"]:
        replies = celery_app.control.inspect(timeout=1.0).active_queues() or {}
        # Only this instance's queues count: another instance's worker on the same Redis
        # answers the ping too, but would refuse this instance's jobs.
        queues = {q["name"] for worker in replies.values() for q in worker}
        names = settings.CTIR_QUEUES
        health["training"] = names["training"] in queues
        health["inference"] = names["inference"] in queues
        if not (health["training"] or health["inference"] or names["celery"] in queues):
            health["problem"] = (
                f"No Celery worker of this instance ({settings.CTIR_INSTANCE}) is running, so "
                "jobs would wait forever. Start one with `make run` or "
                "`celery -A ctir_site worker -B`."
            )
        elif not (health["training"] and health["inference"]):
            missing = [names[q] for q in ("training", "inference") if not health[q]]
            health["problem"] = f"No worker listens on the {' and '.join(missing)} queue."
    cache.set(HEALTH_KEY, health, HEALTH_CACHE_SECONDS)
    return health


def queue_health_known() -> dict | None:
    """The last answer of queue_health() while it is fresh, or None: never asks the broker,
    so a page load does not wait up to a second on the workers' reply."""
    return cache.get(HEALTH_KEY)


def queue_problem(queue: str) -> str:
    """Why a job sent to this queue would not run now (no Redis, no worker), or ""."""
    health = queue_health()
    return "" if health["redis"] and health[queue] else health["problem"]


def versions_for_project(project):
    return ModelVersion.objects.filter(project=project).select_related("created_by")


def trained_versions(project):
    """The versions that finished training: the only ones a study can compare with."""
    return ModelVersion.objects.filter(project=project, status=JobStatus.SUCCEEDED)


def versions_with_candidates(project) -> list:
    """The project's versions, each with its candidate rows for the versions table."""
    versions = list(versions_for_project(project))
    for version in versions:
        version.candidate_rows = candidate_rows(version.metrics)
    return versions


def latest_prelabel(project):
    return PrelabelRun.objects.filter(project=project).select_related("model_version").first()


def prelabel_for_page(project):
    """The latest pre-labeling run with what the Models page says of it: still going or
    not, and how long it took once finished."""
    run = latest_prelabel(project)
    if run is not None:
        run.is_running = run.status in ACTIVE_STATUSES
        run.seconds = ((run.finished_at - run.started_at).total_seconds()
                       if run.started_at and run.finished_at else None)
    return run


def prediction_coverage(project) -> dict:
    active = ModelVersion.objects.filter(project=project, is_active=True).first()
    total = sum(report_tally(project).values())
    done = 0
    if active is not None:
        # Predictions are written only by pre-labeling runs, each moving its `done` on after
        # every chunk: the latest run of the version stamps the count.
        run = PrelabelRun.objects.filter(model_version=active).order_by("-pk").values_list(
            "pk", "done", "status").first()
        stamp = "-".join(map(str, run)) if run else "none"
        done = stamped_count(f"predictions:{active.pk}:{stamp}", active.predictions.count)
    return {"active": active, "total": total, "done": done}


def confusion_rows(metrics: dict | None) -> list[dict]:
    """Rows of a confusion matrix with labels, for a template table."""
    if not metrics:
        return []
    labels = metrics.get("labels", [])
    return [
        {"label": label, "cells": row, "total": sum(row)}
        for label, row in zip(labels, metrics.get("confusion", []), strict=False)
    ]


def validation_curve(history: list[dict], width=520, height=180) -> dict:
    """Per-epoch validation accuracy as SVG polylines, one per seed."""
    if not history:
        return {"lines": [], "width": width, "height": height}
    epochs = max(h["epoch"] for h in history)
    values = [h["val_accuracy"] for h in history if h.get("val_accuracy") is not None]
    low = min(values + [0.5])
    pad = 30

    def xy(epoch, acc):
        x = pad + (epoch - 1) * (width - 2 * pad) / max(epochs - 1, 1)
        y = height - pad - (acc - low) * (height - 2 * pad) / max(1 - low, 1e-9)
        return round(x, 1), round(y, 1)

    lines = []
    for seed in sorted({h["seed"] for h in history}):
        # Dots as well as the line, so a one-epoch run still shows its point.
        dots = [(*xy(h["epoch"], h["val_accuracy"]), h["epoch"], h["val_accuracy"])
                for h in history if h["seed"] == seed and h.get("val_accuracy") is not None]
        lines.append({"seed": seed, "dots": dots,
                      "points": " ".join(f"{x},{y}" for x, y, _, _ in dots)})
    return {"lines": lines, "width": width, "height": height, "low": low, "epochs": epochs,
            "pad": pad}


def accuracy_over_versions(versions) -> dict:
    """The Models page's picture: test accuracy of each finished version, oldest first, for
    the candidate it serves and for its TF-IDF baseline (from ModelVersion.metrics, through
    candidate_rows). `versions` are those of the page, each with .candidate_rows."""
    done = sorted((v for v in versions if v.status == JobStatus.SUCCEEDED
                   and any(c.get("test") for c in v.candidate_rows)), key=lambda v: v.number)
    if not done:
        return {}
    served, baseline, values = [], [], []
    for i, version in enumerate(done):
        finished = version.finished_at and timezone.localtime(version.finished_at)
        when = f"{finished.day} {finished:%b %Y}" if finished else "date unknown"
        for row in version.candidate_rows:
            accuracy = (row.get("test") or {}).get("accuracy")
            if accuracy is None:
                continue
            title = (f"v{version.number} ({when}), {row['label']}: {accuracy:.1%} on test"
                     f"{' (served)' if row['served'] else ''}")
            if row["served"]:
                served.append((i, accuracy, title))
                values.append(accuracy)
            if row["name"] == BASELINE:
                baseline.append((i, accuracy, title))
                values.append(accuracy)
    if not values:  # test blocks without an accuracy: nothing to draw
        return {}
    # From a round tenth below the lowest score (at most 50%) to 100%: small gains stay
    # visible without pretending a 2-point difference is a cliff.
    low = min(0.5, int(min(values) * 10) / 10)
    return {"versions": len(done), "first": done[0], "last": done[-1],
            "chart": charts.line_chart(
                # The served line last, so it is drawn on top where the two coincide.
                [{"name": "TF-IDF baseline", "points": baseline, "colour": "#94a3b8",
                  "dash": "5 4"},
                 {"name": "Served candidate", "points": served, "colour": "#2563eb"}],
                [f"v{v.number}" for v in done], low, 1.0, percent=True)}


def candidate_rows(metrics: dict | None) -> list[dict]:
    """Every candidate of a job side by side, the served one marked (BERT, TF-IDF, ensemble).

    A version trained before candidates existed shows its BERT and its TF-IDF baseline.
    """
    metrics = metrics or {}
    candidates = metrics.get("candidates")
    if candidates is None and metrics.get("validation"):
        candidates = {BERT: {"validation": metrics.get("validation"),
                             "test": metrics.get("test")},
                      BASELINE: metrics.get("baseline") or {}}
    served = metrics.get("served", BERT if candidates else None)
    # The registry's catalogue, in its order: a new candidate shows up here by itself.
    rows = [
        {"name": info.name, "label": info.label, "short": info.short_label,
         "served": info.name == served, "bert_weight": None, **candidates[info.name]}
        for info in CATALOGUE if info.name in (candidates or {})
    ]
    for row in rows:
        if row["bert_weight"] is not None:
            row["tfidf_weight"] = 1.0 - row["bert_weight"]
            if row.get("skip_decided") and row["bert_weight"] < 0.5:
                # candidates.decided_without_bert: the lead BERT's share can overturn.
                row["overturnable_lead"] = row["bert_weight"] / row["tfidf_weight"]
    return rows


def encoder_note(metrics: dict | None) -> str:
    """How the version's encoder is served and what its figures were computed with, in
    plain words for the version page; "" for versions from before this was recorded (fp32
    or bf16, served as evaluated)."""
    metrics = metrics or {}
    precision = metrics.get("encoder_precision")
    if precision == "int8":
        return ("int8 (dynamic quantisation of its linear layers, run on the CPU): the BERT "
                "and ensemble figures on this page are the quantised encoder's, the one that "
                "is served. The validation checks that chose the best run used the fp32 "
                "encoder as it was trained.")
    if precision == "bf16":
        return ("bf16, as trained; the figures on this page are this encoder's. A worker "
                "whose processor has no bf16 runs it in fp32, which can move a probability "
                "in its last digits.")
    if precision:
        return f"{precision}, as trained; the figures on this page are this encoder's."
    return ""


def metric_blocks(candidates: list[dict]) -> list[dict]:
    """One block per candidate and split for the version page: title, metrics, confusion."""
    return [
        {"title": f"{c['label']}{' (served)' if c['served'] else ''}, {split}",
         "metrics": c.get(split), "rows": confusion_rows(c.get(split))}
        for c in candidates for split in ("validation", "test")
    ]


def latest_coverage_warning(versions) -> str:
    """The tokenizer warning of the newest finished version, if its coverage was poor."""
    for version in versions:
        coverage = (version.metrics or {}).get("coverage")
        if coverage:
            return coverage.get("warning", "") if coverage.get("poor") else ""
    return ""


# A first model needs every category in both splits it learns and is judged on.
FIRST_MODEL_MIN = {"train": 2, "validation": 2}


def projects_without_a_model():
    """Projects with no active model and no training queued or running."""
    return Project.objects.exclude(model_versions__is_active=True).exclude(
        model_versions__status__in=ACTIVE_STATUSES).distinct()


def first_model_shortfall(project) -> str:
    """What a project's labels still lack for its first model, in words; '' if nothing."""
    counts = Counter(project.reports.filter(
        reference_label__isnull=False, split__in=list(FIRST_MODEL_MIN)).values_list(
        "split", "reference_label__category__code"))
    short = [f"category {code} has {counts[(split, code)]} in {split}"
             for code in project.categories.filter(retired=False).values_list("code", flat=True)
             for split, least in FIRST_MODEL_MIN.items() if counts[(split, code)] < least]
    return "; ".join(short[:3]) + (f"; and {len(short) - 3} more" if len(short) > 3 else "")


def projects_due_a_fast_model():
    """Projects with an active model, fast retraining on, no training queued or running, and
    `fast_retrain_every` new labels since their newest version: one query for all."""
    newest = ModelVersion.objects.filter(project=OuterRef("pk")).order_by("-number")
    return (Project.objects.filter(fast_retrain_every__gt=0, model_versions__is_active=True)
            .exclude(model_versions__status__in=ACTIVE_STATUSES)
            .annotate(last_written=Subquery(newest.values("labels_written")[:1]))
            .filter(reference_labels_written__gte=F("last_written") + F("fast_retrain_every"))
            .distinct())


def labels_since_last_version(project) -> int:
    """Reference labels written or changed since the newest version was queued: two stored
    numbers, one indexed row each, whatever the number of labels."""
    written = Project.objects.filter(pk=project.pk).values_list(
        "reference_labels_written", flat=True).first() or 0
    last = ModelVersion.objects.filter(project=project).order_by("-number").values_list(
        "labels_written", flat=True).first()
    return max(written - (last or 0), 0)


def retrain_policy(project) -> dict:
    """The policy for the Models page: settings, labels gathered, the last automatic run."""
    policy = RetrainPolicy.objects.filter(project=project).first() or RetrainPolicy(
        project=project)
    last_auto = ModelVersion.objects.filter(project=project, trigger=Trigger.AUTO).order_by(
        "-number").first()
    return {
        "policy": policy,
        "since": labels_since_last_version(project),
        "last_auto": last_auto,
        "modes": RetrainPolicy.Mode.choices,
    }


def category_codes(project) -> list[int]:
    return list(Category.objects.filter(project=project).order_by("code").values_list(
        "code", flat=True))


WARM_START_CHOICES = 20


def warm_start_choices(project, user) -> list[ModelVersion]:
    """Versions a new version of this project may start from: succeeded ones of projects
    this user administers (this one included) with the same category codes, that have a
    fine-tuned encoder (a fast model is TF-IDF alone: there is nothing for BERT in it)."""
    codes = category_codes(project)
    administered = Membership.objects.filter(user=user, role=Role.ADMIN).values("project")
    versions = (
        ModelVersion.objects.filter(status=JobStatus.SUCCEEDED, project__in=administered)
        .exclude(artifact_dir="").select_related("project")
        .order_by("-created")[:WARM_START_CHOICES * 5]
    )
    same = {}
    choices = []
    for version in versions:
        if (version.metrics or {}).get("fast"):
            continue
        if version.project_id not in same:
            same[version.project_id] = category_codes(version.project) == codes
        if same[version.project_id]:
            choices.append(version)
    return choices[:WARM_START_CHOICES]


def start_from_choice(project, user, choice: str):
    """What a training request's start_from means: None (the default: the active model when
    it fits, else the base encoder), "base", or a version this user may start from (by id).
    Raises LookupError for a version they may not start from."""
    choice = str(choice or "").strip()
    if choice in ("", "base"):
        return "base" if choice == "base" else None
    version = next((v for v in warm_start_choices(project, user) if str(v.pk) == choice), None)
    if version is None:
        raise LookupError(choice)
    return version


ARTIFACT_NOTE = ("A folder named v{number} was already there, left by an earlier database or "
                 "by another instance sharing CTIR_MODEL_DIR, so this one has a unique name; "
                 "nothing was moved or deleted.")


def artifact_folder(slug: str, number: int) -> Path:
    """Where a version's model goes: <CTIR_MODEL_DIR>/<project>/vN, or, when a leftover
    folder already has that name, vN-<time>-<random> beside it. The leftover is never
    moved or deleted: it may be another instance's live model, or the evidence of a study."""
    wanted = Path(settings.CTIR_MODEL_DIR) / slug / f"v{number}"
    if not wanted.exists():
        return wanted
    return wanted.with_name(f"v{number}-{timezone.now():%Y%m%d%H%M%S}-{secrets.token_hex(3)}")


def artifact_note(version) -> str:
    """Why the version's folder is not the plain vN (modeling.jobs.artifact_folder), or ""."""
    if not version.artifact_dir or Path(version.artifact_dir).name == f"v{version.number}":
        return ""
    return ARTIFACT_NOTE.format(number=version.number)


def lineage(version, limit: int = 20) -> list[dict]:
    """What this version started from, back to the base encoder: v3 <- v2 <- base model."""
    chain = [{"version": version, "label": f"v{version.number}"}]
    current = version
    for _ in range(limit):
        warm = (current.hyperparameters or {}).get("warm_start")
        if not warm or warm.get("fallback"):
            break
        parent = ModelVersion.objects.filter(project__slug=warm["project"],
                                             number=warm["version"]).first()
        same = warm["project"] == version.project.slug
        label = f"v{warm['version']}" if same else f"{warm['project']} v{warm['version']}"
        if parent is None:
            chain.append({"version": None, "label": f"{label} (deleted)"})
            return chain
        chain.append({"version": parent if same else None, "label": label})
        current = parent
    chain.append({"version": None, "label": f"base model ({current.base_model})"})
    return chain


# With no active model, the interval is shown at the accuracy a new site aims for.
TARGET_ACCURACY = 0.97


def validation_summary(project) -> dict:
    """How big the validation split is and how precisely it can tell an accuracy: the
    width of the exact 95% CI at the active model's validation accuracy."""
    codes = dict(Category.objects.filter(project=project).values_list("pk", "code"))
    per_category = dict(sorted(
        (codes[category], n) for (split, category), n in report_tally(project).items()
        if split == Split.VALIDATION and category is not None and n))
    n = sum(per_category.values())
    active = ModelVersion.objects.filter(project=project, is_active=True).first()
    accuracy = active.metric("validation") if active else None
    at = accuracy if accuracy is not None else TARGET_ACCURACY
    low, high = clopper_pearson(round(at * n), n)
    return {
        "n": n, "per_category": per_category, "accuracy": at, "from_active": active
        if accuracy is not None else None, "low": low, "high": high, "width": high - low,
        "first": annotation_models.VALIDATION_FIRST,
        "every": annotation_models.VALIDATION_EVERY,
        "cap": annotation_models.VALIDATION_CAP_PER_CATEGORY,
    }


# A job's phase (modeling.ml.training.Progress) as people say it, and the term it stands
# for, shown in a tooltip.
STAGES = {
    "": ("waiting for a worker", "queued"),
    "loading": ("reading the reports and loading the base model", "loading"),
    "training": ("learning from the labelled reports", "training: fine-tuning BERT"),
    "evaluating": ("checking on the held-out reports", "evaluating on the validation split"),
    "baseline": ("training the word-pattern model", "fitting the TF-IDF candidate"),
    "test": ("scoring on the test reports", "evaluating on the test split"),
    "saving": ("saving the model", "saving the artifacts"),
    "comparing": ("comparing with the active model", "promotion check on validation"),
}


def versions_in_progress(project) -> list[ModelVersion]:
    """Training jobs queued or running, oldest first, each with its stage in words: shown
    above the version history."""
    versions = list(ModelVersion.objects.filter(project=project, status__in=ACTIVE_STATUSES)
                    .select_related("created_by").order_by("number"))
    for version in versions:
        phase = "" if version.status == JobStatus.QUEUED else version.phase
        version.stage, version.stage_term = STAGES.get(phase, (phase, phase))
    return versions


# --- Model archives (modeling.archive) ----------------------------------------------------


def category_pairs(project) -> list[tuple[int, str]]:
    """The project's categories as (code, name), by code: the label order its models use."""
    return list(Category.objects.filter(project=project).order_by("code").values_list(
        "code", "name"))


def ctir_version() -> str:
    try:
        return metadata.version("ctir")
    except metadata.PackageNotFoundError:  # run from a checkout, as deploy.md does
        return "source checkout"


def model_card(version) -> dict:
    """model_card.json of a version's archive: what a person or another instance needs to
    know before trusting the model."""
    metrics = version.metrics or {}
    if version.label_snapshot:
        data = {"source": "reference labels per split and category code when it trained",
                "counts": version.label_snapshot}
    else:  # versions from before the snapshot: the sizes its figures were measured on
        data = {"source": "reports each split's figures were measured on",
                "counts": {split: (metrics.get(split) or {}).get("n")
                           for split in ("validation", "test") if metrics.get(split)}}
    recipe = {k: v for k, v in (version.hyperparameters or {}).items()
              if k not in ("warm_start", "imported_from")}
    warm = (version.hyperparameters or {}).get("warm_start")
    return {
        "format": "ctir-model-card", "format_version": archive.FORMAT_VERSION,
        "project": {"name": version.project.name, "slug": version.project.slug},
        "categories": [{"code": code, "name": name}
                       for code, name in category_pairs(version.project)],
        "version": {"number": version.number, "trigger": version.trigger,
                    "base_model": version.base_model,
                    "created": version.created.isoformat() if version.created else None,
                    "finished_at": version.finished_at.isoformat()
                    if version.finished_at else None,
                    "started_from": {k: warm[k] for k in ("project", "version") if k in warm}
                    if warm and not warm.get("fallback") else None,
                    "imported_from": (version.hyperparameters or {}).get("imported_from")},
        "served": metrics.get("served", BERT),
        "data": data,
        "recipe": recipe,
        # Validation and test figures as the exporting instance measured them, on its splits.
        "metrics": metrics,
        "exported": {"instance": settings.CTIR_INSTANCE, "at": timezone.now().isoformat(),
                     "ctir_version": ctir_version()},
    }


def version_archive(version):
    """The version's archive in a temporary file, at its start, and its download name. The
    file disappears when closed (the response closes it once sent). Raises
    archive.ArchiveError when the version has no model folder to export."""
    folder = Path(version.artifact_dir) if version.artifact_dir else None
    if version.status != JobStatus.SUCCEEDED or folder is None:
        raise archive.ArchiveError(f"v{version.number} has no trained model to download")
    if not (folder / "label_map.json").is_file():
        raise archive.ArchiveError(f"the model folder of v{version.number} ({folder}) is gone "
                                   "or incomplete on this server")
    card = model_card(version)
    handle = tempfile.TemporaryFile()
    try:
        archive.archive_write(folder, card, archive.card_text(card), handle)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle, f"{settings.CTIR_INSTANCE}-{version.project.slug}-v{version.number}.zip"
