"""Reads of annotation data, shaped for pages, commands and exports."""

from collections.abc import Iterator

from django.db.models import Count, Q

from .models import Annotation, Category, Membership, Project, Report, Split


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
