"""Reads of the labeling queue: what to serve next, suggestions, progress, disagreements.

The model's predictions are read through the relations the modeling app declares
(report.predictions, project.model_versions), never by importing it: annotation sits below
modeling.
"""

from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Mod
from django.utils import timezone

from core.db import CompiledQuery

from ..double_reading import required_annotations_expression
from ..models import (
    CHRONOLOGICAL,
    Annotation,
    LabelMethod,
    Project,
    ReferenceLabel,
    Report,
    ReportClaim,
    ReportSkip,
)
from ..selectors import with_active_prediction


def queue_candidates(project: Project, user, now, shuffled_for: int | None = None):
    """Reports this annotator may be served, best first; counts are read without locks.

    `shuffled_for`: whose permutation the random order uses, when not `user.pk` (a compiled
    query builds with a stand-in user but the real user's permutation: see _candidate)."""
    annotators = Coalesce(Subquery(
        Annotation.objects.filter(report=OuterRef("pk")).order_by().values("report")
        .annotate(n=Count("user", distinct=True)).values("n")[:1]
    ), 0)
    claims = Coalesce(Subquery(
        ReportClaim.objects.filter(report=OuterRef("pk"), expires_at__gt=now)
        .exclude(user=user).order_by().values("report").annotate(n=Count("id")).values("n")[:1]
    ), 0)
    reports = (
        Report.objects.filter(project=project, in_queue=True)
        .exclude(Exists(Annotation.objects.filter(report=OuterRef("pk"), user=user)))
        .exclude(Exists(ReportSkip.objects.filter(report=OuterRef("pk"), user=user)))
        .alias(load=annotators + claims, need=required_annotations_expression(project))
        .filter(load__lt=F("need"))
    )
    if project.queue_scope == Project.QueueScope.UNLABELLED:
        reports = reports.exclude(Exists(ReferenceLabel.objects.filter(report=OuterRef("pk"))))
    if project.queue_order == Project.QueueOrder.RANDOM:
        # Reproducible per annotator, and cheap: no ORDER BY RANDOM() over the whole table.
        # Each annotator multiplies by their own factor modulo a prime, which permutes the
        # reports differently (an added offset would only rotate one shared order).
        factor = 104729 + 7919 * (user.pk if shuffled_for is None else shuffled_for)
        factor += factor % 1000003 == 0  # a multiple of the prime would not shuffle at all
        return reports.alias(shuffle=Mod(F("id") * factor, 1000003)).order_by("shuffle", "id")
    if project.queue_order == Project.QueueOrder.UNCERTAINTY:
        return with_active_prediction(reports, project).alias(
            margin=F("active_prediction__margin")).order_by(
            F("margin").asc(nulls_last=True), CHRONOLOGICAL[0], "id")
    return reports.order_by(*CHRONOLOGICAL)


# How the suggestion line names a version's served candidate. modeling's catalogue owns the
# names and fills this in at start-up (modeling.apps); annotation, below modeling, cannot
# import it. A name missing here (a version from a candidate since removed) shows as stored.
_CANDIDATE_PHRASES: dict[str, str] = {}


def candidate_phrases_register(phrases: dict[str, str]) -> None:
    _CANDIDATE_PHRASES.update(phrases)


def _prediction(*, report_id: int):
    """The prediction suggestion_for shows: the active version's, else the most recently
    promoted version's that has one."""
    return (_report_predictions(report_id)
            .filter(Q(model_version__is_active=True)
                    | Q(model_version__promoted_at__isnull=False))
            .select_related("category", "model_version")
            .order_by("-model_version__is_active",
                      F("model_version__promoted_at").desc(nulls_last=True))[:1])


def _report_predictions(report_id: int):
    """A report's predictions, through the relation modeling declares (no import of it)."""
    return Report.predictions.rel.related_model.objects.filter(report_id=report_id)


def suggestion_for(report: Report) -> dict | None:
    """The active model's prediction for this report, read afresh for every report served,
    so a model promoted while an annotator works suggests from their next report on.

    While a newly promoted model's pre-labeling has not reached this report yet, the
    prediction of the most recently promoted model that has one stands in (and says so);
    None when no model has predicted it.
    """
    found = _PREDICTION.fetch((), report_id=report.pk)
    if not found:
        return None
    prediction = found[0]
    version = prediction.model_version
    served = (version.metrics or {}).get("served", "bert")
    active = None
    if not version.is_active:
        active = report.project.model_versions.filter(is_active=True).values_list(
            "number", flat=True).first()
    return {
        "version_id": prediction.model_version_id,
        "version_number": version.number,
        "candidate": _CANDIDATE_PHRASES.get(served, served),
        "pending_version_number": active,
        "category": prediction.category,
        "probability": prediction.probabilities.get(str(prediction.category.code)),
        "probabilities": {int(k): v for k, v in prediction.probabilities.items()},
    }


QUEUE_COUNT_SECONDS = 60


def annotator_progress(project: Project, user) -> dict:
    """The annotator's progress line: their first answers in the project today and in all,
    and about how many reports are still waiting.

    Counting every answer of an annotator on every report served grows with their work (a
    few ms at 2,000 answers), so their counts are taken once a minute (_answers_count) and
    only the answers since are counted on each serve, through the (user, submitted_at)
    index. An answer whose transaction was still open when the counts were taken shows at
    the next minute's count.
    """
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    queue_key = f"ctir:queue-left:{project.pk}"
    mine_key = f"ctir:my-answers:{project.pk}:{user.pk}"
    # Both counts in one round trip to the cache: every report served reads them.
    cached = cache.get_many([queue_key, mine_key])
    queue = cached.get(queue_key) or _counted(queue_key, lambda: _queue_count(project))
    mine = cached.get(mine_key) or _counted(mine_key, lambda: _answers_count(project, user))
    found = _PROGRESS.fetch((), project_id=project.pk, user_id=user.pk, today=today,
                            counted_at=mine["at"], queue_at=queue["at"],
                            since=min(mine["at"], queue["at"]))
    new = found[0] if found else {"new": 0, "new_today": 0, "queue_since": 0}
    earlier_today = mine["today"] if mine["day"] == today else 0
    return {"today": earlier_today + new["new_today"], "total": mine["total"] + new["new"],
            "left": max(queue["left"] - new["queue_since"], 0)}


def _answers(project_id: int, user_id: int):
    """This user's first answers (not corrections) in the project."""
    return Annotation.objects.filter(report__project_id=project_id, user_id=user_id,
                                     supersedes__isnull=True).order_by().values("user_id")


def _progress(*, project_id: int, user_id: int, today, counted_at, queue_at, since):
    """Their answers since `since` (the earlier of the two counts): those after their own
    count (all, and today's), and those after the project's queue count."""
    return (_answers(project_id, user_id).filter(submitted_at__gt=since)
            .annotate(new=Count("id", filter=Q(submitted_at__gt=counted_at)),
                      new_today=Count("id", filter=Q(submitted_at__gt=counted_at,
                                                     submitted_at__gte=today)),
                      queue_since=Count("id", filter=Q(submitted_at__gt=queue_at))))


def _counted(key: str, count) -> dict:
    """A count taken now and kept in the cache for QUEUE_COUNT_SECONDS."""
    counted = count()
    cache.set(key, counted, QUEUE_COUNT_SECONDS)
    return counted


def _answers_count(project: Project, user) -> dict:
    """All the user's first answers in the project up to now, and today's (taken once a
    minute, see annotator_progress)."""
    at = timezone.now()
    day = timezone.localtime(at).replace(hour=0, minute=0, second=0, microsecond=0)
    done = _answers(project.pk, user.pk).filter(submitted_at__lte=at).aggregate(
        total=Count("id"), today=Count("id", filter=Q(submitted_at__gte=day)))
    return {"total": done["total"], "today": done["today"], "day": day, "at": at}


# The reads of every report served, compiled once per process (core.db.CompiledQuery).
_PREDICTION = CompiledQuery(_prediction)
_PROGRESS = CompiledQuery(_progress)


def _queue_count(project: Project) -> dict:
    """About how many reports are still waiting in the project (taken once a minute).

    The project-wide count of reports still in the queue is shared by every annotator (and,
    with CACHE_URL, every web process); each annotator's own answers since the count are
    subtracted, so the number still goes down as they work.
    """
    return {"left": Report.objects.filter(project=project, in_queue=True).count(),
            "at": timezone.now()}


def previous_annotation(project: Project, user, before_id: int | None = None):
    """The annotation the Z key goes back to: this user's latest, or the one before it."""
    answers = Annotation.objects.filter(report__project=project, user=user).exclude(
        superseded_by__isnull=False
    ).select_related("report", "category").order_by("-submitted_at", "-id")
    if before_id:
        anchor = Annotation.objects.filter(pk=before_id, user=user).first()
        if anchor is None:
            return None
        answers = answers.filter(submitted_at__lt=anchor.submitted_at)
    return answers.first()


def adjudication_queue(project: Project) -> list[dict]:
    """Reports whose annotators' latest answers disagree and that nobody adjudicated yet."""
    multi = (
        Report.objects.filter(project=project)
        .annotate(readers=Count("annotations__user", distinct=True)).filter(readers__gte=2)
        .exclude(reference_label__method__in=[LabelMethod.ADJUDICATION, LabelMethod.IMPORTED])
        .order_by(*CHRONOLOGICAL)
    )
    items = []
    for report in multi:
        answers = latest_answers(report)
        if len({a.category_id for a in answers.values()}) > 1:
            items.append({"report": report, "answers": list(answers.values())})
    return items


def model_disagreements(project: Project):
    """Predictions of the active model that differ from the reference label, least sure first."""
    active = project.model_versions.filter(is_active=True).first()
    if active is None:
        return []
    return (
        active.predictions.filter(report__reference_label__isnull=False)
        .exclude(category=F("report__reference_label__category"))
        .select_related("report", "category", "report__reference_label__category")
        .order_by("margin")
    )


def latest_answers(report: Report) -> dict[int, Annotation]:
    latest = {}
    for annotation in report.annotations.select_related("category").order_by("submitted_at",
                                                                              "id"):
        latest[annotation.user_id] = annotation
    return latest
