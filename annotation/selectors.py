"""Reads of annotation data, shaped for pages, commands and exports."""

from collections.abc import Iterator

from django.core.cache import cache
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Mod
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from .models import (
    Annotation,
    Category,
    LabelMethod,
    Membership,
    Project,
    ReferenceLabel,
    Report,
    ReportClaim,
    ReportSkip,
    Split,
)


def projects_for_user(user):
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user).distinct()


def project_role_map(user) -> dict[int, str]:
    return dict(Membership.objects.filter(user=user).values_list("project_id", "role"))


def dashboard_stats(project: Project) -> dict:
    """Reports per split and label status, and reference labels per category and split."""
    reports = Report.objects.filter(project=project)
    per_split = {
        row["split"]: row
        for row in reports.values("split").annotate(
            total=Count("id"),
            labelled=Count("id", filter=Q(reference_label__isnull=False)),
            annotated=Count(
                "id", filter=Q(reference_label__isnull=True, annotations__isnull=False),
                distinct=True,
            ),
        )
    }
    splits = []
    for split in Split:
        row = per_split.get(split.value, {"total": 0, "labelled": 0, "annotated": 0})
        splits.append({
            "value": split.value, "name": split.label, "total": row["total"],
            "labelled": row["labelled"], "annotated": row["annotated"],
            "unlabelled": row["total"] - row["labelled"],
        })
    label_counts = {
        (r["reference_label__category"], r["split"]): r["n"]
        for r in reports.filter(reference_label__isnull=False)
        .values("reference_label__category", "split").annotate(n=Count("id"))
    }
    categories = []
    for category in Category.objects.filter(project=project):
        by_split = [label_counts.get((category.pk, s.value), 0) for s in Split]
        categories.append({"category": category, "by_split": by_split, "total": sum(by_split)})
    total = sum(s["total"] for s in splits)
    labelled = sum(s["labelled"] for s in splits)
    return {
        "splits": splits, "categories": categories, "total": total, "labelled": labelled,
        "patients": project.patients.count(),
        "split_names": [s.label for s in Split],
    }


EXPORT_COLUMNS = [
    "accession", "patient_id", "sex", "age", "procedure_date", "split", "text",
    "label", "label_name", "label_method", "label_set_by",
]


def export_rows(project: Project) -> tuple[list[str], Iterator[dict]]:
    """Columns and one dict per report: patient fields, split, reference label, and each
    annotator's latest annotation (column `annotator:<username>`)."""
    annotators = sorted(
        set(Annotation.objects.filter(report__project=project)
            .values_list("user__username", flat=True))
    )
    columns = EXPORT_COLUMNS + [f"annotator:{name}" for name in annotators]

    def rows():
        reports = (
            Report.objects.filter(project=project)
            .select_related("patient", "reference_label__category", "reference_label__set_by")
            .order_by("procedure_date", "accession")
        )
        for chunk in _chunks(reports, 2000):
            latest = {}
            for report_id, username, code in (
                Annotation.objects.filter(report__in=[r.pk for r in chunk])
                .order_by("submitted_at", "id")
                .values_list("report_id", "user__username", "category__code")
            ):
                latest[(report_id, username)] = code
            for report in chunk:
                label = getattr(report, "reference_label", None)
                row = {
                    "accession": report.accession, "patient_id": report.patient.pseudo_id,
                    "sex": report.patient.sex,
                    "age": "" if report.patient.age is None else report.patient.age,
                    "procedure_date": report.procedure_date.isoformat(), "split": report.split,
                    "text": report.text,
                    "label": label.category.code if label else "",
                    "label_name": label.category.name if label else "",
                    "label_method": label.method if label else "",
                    "label_set_by": label.set_by.username if label and label.set_by else "",
                }
                for name in annotators:
                    row[f"annotator:{name}"] = latest.get((report.pk, name), "")
                yield row

    return columns, rows()


def _chunks(queryset, size):
    chunk = []
    for item in queryset.iterator(chunk_size=size):
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- Labeling queue --------------------------------------------------------------------------

def _required_expression(project: Project):
    from .services import HASH_BUCKETS, HASH_OFFSET, HASH_PRIME

    n = project.annotations_per_report
    if n <= 1 or project.double_read_fraction >= 1:
        return Value(max(n, 1))
    bucket = Mod(F("id") * HASH_PRIME + HASH_OFFSET, HASH_BUCKETS)
    threshold = round(project.double_read_fraction * HASH_BUCKETS)
    return Case(When(GreaterThan(Value(threshold), bucket), then=Value(n)), default=Value(1))


def queue_candidates(project: Project, user, now):
    """Reports this annotator may be served, best first; counts are read without locks."""
    from modeling.models import Prediction

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
        .alias(load=annotators + claims, need=_required_expression(project))
        .filter(load__lt=F("need"))
    )
    if project.queue_scope == Project.QueueScope.UNLABELLED:
        reports = reports.exclude(Exists(ReferenceLabel.objects.filter(report=OuterRef("pk"))))
    if project.queue_order == Project.QueueOrder.RANDOM:
        # Reproducible per annotator, and cheap: no ORDER BY RANDOM() over the whole table.
        # Each annotator multiplies by their own factor modulo a prime, which permutes the
        # reports differently (an added offset would only rotate one shared order).
        factor = 104729 + 7919 * user.pk
        factor += factor % 1000003 == 0  # a multiple of the prime would not shuffle at all
        return reports.alias(shuffle=Mod(F("id") * factor, 1000003)).order_by("shuffle", "id")
    if project.queue_order == Project.QueueOrder.UNCERTAINTY:
        active = project.model_versions.filter(is_active=True).values("pk")[:1]
        margin = Subquery(Prediction.objects.filter(
            report=OuterRef("pk"), model_version=Subquery(active)).values("margin")[:1])
        return reports.alias(margin=margin).order_by(
            F("margin").asc(nulls_last=True), "procedure_date", "id")
    return reports.order_by("procedure_date", "accession")


def suggestion_for(report: Report) -> dict | None:
    """The active model's prediction for this report, or None (no model, or not pre-labelled)."""
    from modeling.models import Prediction

    prediction = (
        Prediction.objects.filter(report=report, model_version__is_active=True)
        .select_related("category", "model_version").first()
    )
    if prediction is None:
        return None
    return {
        "version_id": prediction.model_version_id,
        "version_number": prediction.model_version.number,
        "category": prediction.category,
        "probability": prediction.probabilities.get(str(prediction.category.code)),
        "probabilities": {int(k): v for k, v in prediction.probabilities.items()},
    }


QUEUE_COUNT_SECONDS = 60


def annotator_progress(project: Project, user) -> dict:
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    mine = Annotation.objects.filter(report__project=project, user=user, supersedes__isnull=True)
    counted = _queue_count(project)
    done = mine.aggregate(
        total=Count("id"), today=Count("id", filter=Q(submitted_at__gte=today)),
        since=Count("id", filter=Q(submitted_at__gt=counted["at"])),
    )
    return {"today": done["today"], "total": done["total"],
            "left": max(counted["left"] - done["since"], 0)}


def _queue_count(project: Project) -> dict:
    """About how many reports are still waiting in the project, counted once a minute.

    The project-wide count of reports still in the queue is shared by every annotator (and,
    with CACHE_URL, every web process); each annotator's own answers since the count are
    subtracted, so the number still goes down as they work.
    """
    key = f"ctir:queue-left:{project.pk}"
    counted = cache.get(key)
    if counted is None:
        waiting = Report.objects.filter(project=project, in_queue=True)
        counted = {"left": waiting.count(), "at": timezone.now()}
        cache.set(key, counted, QUEUE_COUNT_SECONDS)
    return counted


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


# --- Adjudication and review -----------------------------------------------------------------

def adjudication_queue(project: Project) -> list[dict]:
    """Reports whose annotators' latest answers disagree and that nobody adjudicated yet."""
    from .services import latest_answers

    multi = (
        Report.objects.filter(project=project)
        .annotate(readers=Count("annotations__user", distinct=True)).filter(readers__gte=2)
        .exclude(reference_label__method__in=[LabelMethod.ADJUDICATION, LabelMethod.IMPORTED])
        .order_by("procedure_date", "accession")
    )
    items = []
    for report in multi:
        answers = latest_answers(report)
        if len({a.category_id for a in answers.values()}) > 1:
            items.append({"report": report, "answers": list(answers.values())})
    return items


def model_disagreements(project: Project):
    """Reports where the active model's prediction differs from the reference label."""
    from modeling.models import Prediction

    return (
        Prediction.objects.filter(model_version__project=project, model_version__is_active=True,
                                  report__reference_label__isnull=False)
        .exclude(category=F("report__reference_label__category"))
        .select_related("report", "category", "report__reference_label__category")
        .order_by("margin")
    )


# --- Reports browser -------------------------------------------------------------------------

REPORT_STATUSES = {
    "labelled": "With reference label",
    "unlabelled": "Without reference label",
    "annotated": "Annotated, no reference yet",
    "unannotated": "Never annotated",
}


def reports_filtered(project: Project, params) -> tuple:
    """Reports matching the browser's filters, with the active model's prediction alongside."""
    from modeling.models import Prediction

    active = project.model_versions.filter(is_active=True).values("pk")[:1]
    prediction = Prediction.objects.filter(report=OuterRef("pk"), model_version=Subquery(active))
    reports = (
        Report.objects.filter(project=project)
        .select_related("patient", "reference_label__category")
        .annotate(
            predicted_code=Subquery(prediction.values("category__code")[:1]),
            margin=Subquery(prediction.values("margin")[:1]),
        )
        .order_by("procedure_date", "accession")
    )
    applied = {}
    if params.get("split") in Split.values:
        reports = reports.filter(split=params["split"])
        applied["split"] = params["split"]
    status = params.get("status")
    if status == "labelled":
        reports = reports.filter(reference_label__isnull=False)
    elif status == "unlabelled":
        reports = reports.filter(reference_label__isnull=True)
    elif status == "annotated":
        reports = reports.filter(reference_label__isnull=True, annotations__isnull=False)
    elif status == "unannotated":
        reports = reports.filter(annotations__isnull=True)
    if status in REPORT_STATUSES:
        applied["status"] = status
    for key, field in (("reference", "reference_label__category__code"),
                       ("predicted", "predicted_code")):
        value = str(params.get(key, ""))
        if value.isascii() and value.isdigit() and len(value) <= 5:  # not '²', not 5,000 digits
            reports = reports.filter(**{field: int(params[key])})
            applied[key] = params[key]
    if params.get("disagree") == "1":
        reports = reports.filter(
            reference_label__isnull=False, predicted_code__isnull=False
        ).exclude(predicted_code=F("reference_label__category__code"))
        applied["disagree"] = "1"
    for key, lookup in (("margin_min", "margin__gte"), ("margin_max", "margin__lte")):
        try:
            value = float(params.get(key, ""))
        except ValueError:
            continue
        reports = reports.filter(**{lookup: value})
        applied[key] = params[key]
    query = (params.get("q") or "").replace("\x00", "").strip()  # PostgreSQL refuses NUL
    if query:
        reports = reports.filter(Q(text__icontains=query) | Q(accession__icontains=query))
        applied["q"] = query
    return reports.distinct(), applied


def report_detail(report: Report) -> dict:
    from modeling.models import Prediction

    return {
        "annotations": report.annotations.select_related("user", "category",
                                                         "suggested_category")
        .order_by("submitted_at", "id"),
        "predictions": Prediction.objects.filter(report=report)
        .select_related("model_version", "category").order_by("-model_version__number"),
        "history": report.label_history.select_related("old_category", "new_category",
                                                       "changed_by"),
        "reference": getattr(report, "reference_label", None),
    }
