"""Reads of annotation data, shaped for pages, commands and exports."""

import datetime
import functools
import itertools
import time
from collections import Counter, defaultdict
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Exists, F, FilteredRelation, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from core import charts
from core.db import SearchIContains, one_snapshot

from . import import_progress
from .exporting import export_lines, report_lines, write_hf_dataset
from .models import (
    CHRONOLOGICAL,
    Annotation,
    Category,
    ImportJob,
    Membership,
    Project,
    Report,
    Split,
)


def with_active_prediction(reports, project: Project):
    """Reports joined to the project's active model's prediction (at most one each), as
    `active_prediction`. The modeling app declares the relation; annotation only reads it,
    without importing modeling, which sits above it."""
    active = project.model_versions.filter(is_active=True).values("pk")[:1]
    return reports.alias(active_prediction=FilteredRelation(
        "predictions", condition=Q(predictions__model_version=Subquery(active))))


# Whether a report has any answer: asked with EXISTS, which never repeats a report.
_answered = Exists(Annotation.objects.filter(report=OuterRef("pk")))


def projects_for_user(user):
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user).distinct()


def project_role_map(user) -> dict[int, str]:
    return dict(Membership.objects.filter(user=user).values_list("project_id", "role"))


def category_names(project: Project) -> dict[int, str]:
    """Code -> name, for pages that show a code where people read a name."""
    return dict(Category.objects.filter(project=project).values_list("code", "name"))


def categories_offered(project: Project) -> list[Category]:
    """The categories annotators answer with (a retired one keeps its labels but takes no
    new answers). Read on every answer, so kept in a shared cache (CTIR_CACHE_SHARED) until
    a category of the project is saved or deleted (categories_forget); read from the
    database where each process has a cache of its own, which another process's change
    could not clear."""
    def read():
        return list(Category.objects.filter(project=project, retired=False))

    if not settings.CTIR_CACHE_SHARED:
        return read()
    names = _CATEGORY_FIELDS
    if (rows := cache.get(_categories_key(project.pk))) is None:
        rows = [[getattr(c, name) for name in names] for c in read()]
        cache.set(_categories_key(project.pk), rows, STAMPED_SECONDS)
    # Plain values in the cache, model instances out.
    return [Category.from_db("default", names, row) for row in rows]


_CATEGORY_FIELDS = [f.attname for f in Category._meta.concrete_fields]


def _categories_key(project_id: int) -> str:
    # The field list is part of the key: a release that adds a field never reads old rows.
    return f"ctir:categories:{project_id}:{','.join(_CATEGORY_FIELDS)}"


def categories_forget(sender, instance, **kwargs) -> None:
    """post_save and post_delete of a Category (connected in AnnotationConfig.ready): the
    cached list goes now and again at commit, since an answer between the two could read
    the rows the change has not yet committed over and cache them again."""
    key = _categories_key(instance.project_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def report_tally(project: Project) -> dict[tuple[str, int | None], int]:
    """Reports by (split, reference label's category id; None without a label): what the
    dashboard, the Models page and the study form count from. Counting them takes about a
    second at a million reports, so the count is kept in the cache under the project's
    stamp (labels written, reports added or split), which every such write moves on: a
    changed project is counted afresh, an unchanged one is never counted twice."""
    # A project deleted while its page loads has no row and no reports: counted as such,
    # under a stamp of its own.
    stamp = Project.objects.filter(pk=project.pk).values_list(
        "reference_labels_written", "reports_changed").first() or ("gone", "gone")
    return stamped_count(f"report-tally:{project.pk}:{stamp[0]}:{stamp[1]}", lambda: {
        (r["split"], r["reference_label__category"]): r["n"] for r in
        Report.objects.filter(project=project).values("split", "reference_label__category")
        .annotate(n=Count("id"))})


def patient_count(project: Project) -> int:
    """The project's patients: new ones come only with new reports (the same stamp)."""
    changed = Project.objects.filter(pk=project.pk).values_list(
        "reports_changed", flat=True).first()
    return stamped_count(f"patients:{project.pk}:{changed}", project.patients.count)


# A stamp's count is never wrong, only unused once the stamp moves on: kept a day.
STAMPED_SECONDS = 24 * 3600


def stamped_count(stamp: str, count):
    """count(), kept in the cache under `stamp` (which names everything that would change
    it, so that a cached value is never stale)."""
    key = f"ctir:counted:{stamp}"
    if (value := cache.get(key)) is None:
        value = count()
        cache.set(key, value, STAMPED_SECONDS)
    return value


def dashboard_stats(project: Project) -> dict:
    """Reports per split and label status, and reference labels per category and split."""
    reports = Report.objects.filter(project=project)
    label_counts = {(category, split): n
                    for (split, category), n in report_tally(project).items()}
    # Answers change without moving the tally's stamp: counted each time, asked with EXISTS
    # (a join gave a report one row per answer, and the DISTINCT that undid it took seconds
    # at a million reports).
    annotated = dict(reports.filter(_answered, reference_label__isnull=True)
                     .values("split").annotate(n=Count("id")).values_list("split", "n"))
    splits = []
    for split in Split:
        total = sum(n for (_, s), n in label_counts.items() if s == split.value)
        labelled = total - label_counts.get((None, split.value), 0)
        splits.append({
            "value": split.value, "name": split.label, "total": total, "labelled": labelled,
            "annotated": annotated.get(split.value, 0), "unlabelled": total - labelled,
        })
    categories = []
    for category in Category.objects.filter(project=project):
        by_split = [label_counts.get((category.pk, s.value), 0) for s in Split]
        categories.append({"category": category, "by_split": by_split, "total": sum(by_split)})
    total = sum(s["total"] for s in splits)
    labelled = sum(s["labelled"] for s in splits)
    return {
        "splits": splits, "categories": categories, "total": total, "labelled": labelled,
        "patients": patient_count(project),
        "split_names": [s.label for s in Split],
        "undated": undated_count(project),
    }


def undated_count(project: Project) -> int:
    """Reports without a procedure date: out of the chronological split until they have one."""
    return Report.objects.filter(project=project, procedure_date__isnull=True).count()


def labelling_activity(project: Project, days: int = 60) -> dict:
    """The dashboard's pictures: annotations submitted per day (bars) and each annotator's
    running total (lines), over the last `days` calendar days up to the latest annotation,
    in the site's time zone. One grouped query; days without annotations are kept, so the
    gaps show."""
    rows = list(
        Annotation.objects.filter(report__project=project)
        .annotate(day=TruncDate("submitted_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "user__username").annotate(n=Count("id")).order_by("day")
    )
    if not rows:
        return {}
    last = rows[-1]["day"]
    first = max(rows[0]["day"], last - datetime.timedelta(days=days - 1))
    span = [first + datetime.timedelta(days=i) for i in range((last - first).days + 1)]
    per_day, per_user, before = Counter(), defaultdict(Counter), Counter()
    for row in rows:
        if row["day"] < first:  # counted into the running totals, not drawn
            before[row["user__username"]] += row["n"]
        else:
            per_day[row["day"]] += row["n"]
            per_user[row["user__username"]][row["day"]] += row["n"]
    labels = [f"{d.day} {d:%b}" for d in span]
    bars = [{"label": label, "value": per_day[d],
             "title": f"{d:%a} {label}: {per_day[d]} annotation{'s' * (per_day[d] != 1)}"}
            for d, label in zip(span, labels, strict=True)]
    series, top = [], 1
    for username in sorted(per_user, key=lambda u: -sum(per_user[u].values()) - before[u]):
        total, points = before[username], []
        for i, (d, label) in enumerate(zip(span, labels, strict=True)):
            total += per_user[username][d]
            if per_user[username][d] or i in (0, len(span) - 1):
                points.append((i, total, f"{username}, {label}: {total} in all "
                               f"(+{per_user[username][d]} that day)"))
        series.append({"name": username, "points": points})
        top = max(top, total)
    return {
        "days": len(span), "first": first, "last": last, "total": sum(per_day.values()),
        "per_day": charts.bar_chart(bars),
        "per_annotator": charts.line_chart(series, labels, 0, top),
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
        reports = Report.objects.filter(project=project)
        for chunk in _in_date_order(reports, reports.select_related(
                "patient", "reference_label__category", "reference_label__set_by"),
                lambda report: report.pk):
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
                    "procedure_date": report.procedure_date.isoformat() if report.procedure_date
                    else "", "split": report.split,
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


def export_categories(project: Project) -> list[tuple[int, str]]:
    """(code, name) of every category, retired ones too (old labels may name them), by code:
    the label list of the formats other tools read."""
    return list(Category.objects.filter(project=project).order_by("code")
                .values_list("code", "name"))


def export_split_sizes(project: Project) -> dict[str, int]:
    """Reports per split, every split named, in the order train, validation, test,
    unassigned."""
    sizes = dict(Report.objects.filter(project=project).values("split")
                 .annotate(n=Count("id")).values_list("split", "n"))
    return {split.value: sizes.get(split.value, 0) for split in Split}


def export_reports(project: Project, split: str | None = None) -> Iterator[dict]:
    """One dict per report (of one split, if given), by date: the report, its patient, its
    reference label's code and the active model version's prediction (code, score, version
    number), for the formats other tools read (Label Studio, doccano, Prodigy, Parquet).
    Read in chunks, never all at once."""
    reports = Report.objects.filter(project=project)
    if split is not None:
        reports = reports.filter(split=split)
    rows = with_active_prediction(reports, project).annotate(
        pseudo_id=F("patient__pseudo_id"), sex=F("patient__sex"), age=F("patient__age"),
        label=F("reference_label__category__code"),
        predicted=F("active_prediction__category__code"),
        probabilities=F("active_prediction__probabilities"),
    ).values(
        "id", "accession", "pseudo_id", "sex", "age", "procedure_date", "split", "text",
        "label", "predicted", "probabilities",
    )
    active = project.model_versions.filter(is_active=True).values_list("number", flat=True)
    version = active.first()
    for row in itertools.chain.from_iterable(
            _in_date_order(reports, rows, lambda row: row["id"])):
        row["patient_id"] = row.pop("pseudo_id")  # Report.patient_id is the key, not this
        probabilities = row.pop("probabilities") or {}
        # The score other tools sort by: the model's probability of the category it chose.
        predicted = row["predicted"] is not None
        row["score"] = probabilities.get(str(row["predicted"])) if predicted else None
        row["model_version"] = version if predicted else None
        yield row


EXPORT_CHUNK = 2000


def _in_date_order(reports, queryset, key) -> Iterator[list]:
    """The rows of `queryset` for `reports` (a plain filter of reports) in date order, a
    chunk at a time: the ids come first, in the order of the date index, then each chunk is
    loaded with its joins (`key` gives a row's id). Ordering the joined rows themselves made
    PostgreSQL sort a million of them before an export's first byte (11.5 s). One snapshot
    throughout, where the database has them; where not, a report deleted between reading
    the ids and loading its chunk is left out."""
    with one_snapshot():
        ids = reports.order_by(*CHRONOLOGICAL).values_list("pk", flat=True).iterator(
            chunk_size=EXPORT_CHUNK)
        while chunk := list(itertools.islice(ids, EXPORT_CHUNK)):
            loaded = {key(row): row for row in queryset.order_by().filter(pk__in=chunk)}
            yield [loaded[pk] for pk in chunk if pk in loaded]


# --- Reports browser -------------------------------------------------------------------------

# How many matches of a text search the reports page counts and lists (the API counts all).
SEARCH_COUNT_CAP = 10_000

REPORT_STATUSES = {
    "labelled": "With reference label",
    "unlabelled": "Without reference label",
    "annotated": "Annotated, no reference yet",
    "unannotated": "Never annotated",
}


class DeferredRows:
    """A filtered report list for a Paginator: counted and sliced by report id alone (an
    index scan), then only the shown page's reports are loaded with their patient, label and
    prediction. Page 5,000 of a million reports otherwise joined 250,000 rows to skip them."""

    def __init__(self, ids, shown, counted=None):
        self.ids, self.shown, self.counted = ids, shown, counted
        self.cap: int | None = None
        self.capped = False
        self.matched: list[int] | None = None  # every match, when there are at most cap

    def count_at_most(self, cap: int) -> "DeferredRows":
        """Count no further than ``cap`` reports (the page then lists the first ``cap`` and
        says there are more): a text search reads every text it counts, and a common word
        in a million reports matches tens of thousands of them."""
        self.cap = cap
        return self

    def count(self) -> int:
        if self.counted is not None:
            return self.counted()
        if self.cap is None:
            return self.ids.count()
        # The matches' ids, unordered, so PostgreSQL stops its scan at the cap-th match plus
        # one. Where that is all of them, the page is cut from these ids: walking the date
        # index to a rare term's few matches read every report in date order (10 s for an
        # accession at a million reports), where one scan has already found them.
        found = list(self.ids.order_by()[:self.cap + 1])
        self.capped = len(found) > self.cap
        self.matched = None if self.capped else found
        return min(len(found), self.cap)

    def __getitem__(self, window: slice) -> list[Report]:
        ids = self.ids if self.matched is None else Report.objects.filter(
            pk__in=self.matched).order_by(*CHRONOLOGICAL).values_list("pk", flat=True)
        page = list(ids[window])
        loaded = {report.pk: report for report in self.shown.filter(pk__in=page)}
        return [loaded[pk] for pk in page]


def _with_prediction(reports, project: Project):
    return with_active_prediction(reports, project).annotate(
        predicted_code=F("active_prediction__category__code"),
        margin=F("active_prediction__margin"))


def reports_filtered(project: Project, params) -> tuple[DeferredRows, dict]:
    """Reports matching the browser's filters, with the active model's prediction alongside."""
    reports = Report.objects.filter(project=project)
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
        reports = reports.filter(_answered, reference_label__isnull=True)
    elif status == "unannotated":
        reports = reports.filter(~_answered)
    if status in REPORT_STATUSES:
        applied["status"] = status
    value = str(params.get("reference", ""))
    if value.isascii() and value.isdigit() and len(value) <= 5:  # not '²', not 5,000 digits
        reports = reports.filter(reference_label__category__code=int(value))
        applied["reference"] = value
    query = (params.get("q") or "").replace("\x00", "").strip()  # PostgreSQL refuses NUL
    if query:
        reports = reports.filter(SearchIContains(F("text"), query)
                                 | SearchIContains(F("accession"), query))
        applied["q"] = query
    # The prediction is joined for counting and paging only when a filter asks for it.
    predicted = _with_prediction(reports, project)
    by_prediction = {}
    value = str(params.get("predicted", ""))
    if value.isascii() and value.isdigit() and len(value) <= 5:
        by_prediction["predicted_code"] = int(value)
        applied["predicted"] = value
    for key, lookup in (("margin_min", "margin__gte"), ("margin_max", "margin__lte")):
        try:
            by_prediction[lookup] = float(params.get(key, ""))
        except ValueError:
            continue
        applied[key] = params[key]
    if by_prediction:
        reports = predicted = predicted.filter(**by_prediction)
    if params.get("disagree") == "1":
        reports = predicted = predicted.filter(
            reference_label__isnull=False, predicted_code__isnull=False
        ).exclude(predicted_code=F("reference_label__category__code"))
        applied["disagree"] = "1"
    # No join repeats a report (a report has at most one label and one active prediction;
    # answers are asked with EXISTS), so no DISTINCT: over a million reports it sorted every
    # row of the page's query and of its count.
    ids = reports.order_by(*CHRONOLOGICAL).values_list("pk", flat=True)
    shown = _with_prediction(Report.objects.filter(project=project), project).select_related(
        "patient", "reference_label__category")
    # Split, labelled or not and the reference category are in the project's counts: the
    # count is read there instead of counting up to a million reports.
    counted = None
    if set(applied) <= {"split", "status", "reference"} and status not in (
            "annotated", "unannotated"):
        counted = functools.partial(_tally_count, project, applied.get("split"),
                                    applied.get("status"), applied.get("reference"))
    return DeferredRows(ids, shown, counted), applied


def _tally_count(project: Project, split: str | None, status: str | None,
                 reference: str | None) -> int:
    codes = dict(Category.objects.filter(project=project).values_list("pk", "code"))
    total = 0
    for (in_split, category), n in report_tally(project).items():
        code = codes.get(category)
        if (split is None or in_split == split) and (
                status is None or (status == "labelled") == (category is not None)) and (
                reference is None or code == int(reference)):
            total += n
    return total


def report_detail(report: Report) -> dict:
    return {
        "annotations": report.annotations.select_related("user", "category",
                                                         "suggested_category")
        .order_by("submitted_at", "id"),
        "predictions": report.predictions.select_related("model_version", "category")
        .order_by("-model_version__number"),
        "history": report.label_history.select_related("old_category", "new_category",
                                                       "changed_by"),
        "reference": getattr(report, "reference_label", None),
    }


# --- Import jobs --------------------------------------------------------------------------------

def import_job_latest(project: Project):
    """The project's running import job, else its latest one if it ended in the last hour."""
    recent = timezone.now() - datetime.timedelta(hours=1)
    jobs = ImportJob.objects.filter(project=project).select_related("created_by")
    return (jobs.filter(status__in=ImportJob.ACTIVE).first()
            or jobs.filter(finished_at__gte=recent).first())


def import_job_progress(job: ImportJob) -> dict:
    """Rows checked and written, the share done and the time left, for the progress bar.

    The file is read twice (check, then write), so each pass is half the bar; until the
    check has counted the rows, their number is estimated from the file's line breaks.
    The time left assumes the writing pass goes as fast as the check went.
    """
    live = import_progress.read(job)
    total = max(live.get("total") or job.rows or 1, 1)
    checked, written = live.get("checked", 0), live.get("written", 0)
    if job.status == ImportJob.Status.SUCCEEDED:
        checked = written = total
    passes = 1 if job.check_only else 2  # a check reads the file once and writes nothing
    done = min((checked + (0 if job.check_only else written)) / (passes * total), 1.0)
    eta = None
    if job.is_active and live.get("phase") and job.started_at:
        phase_seconds = time.time() - live.get("phase_started", time.time())
        if live["phase"] == "checking" and checked and phase_seconds > 0:
            eta = (passes * total - checked) * phase_seconds / checked
        elif live["phase"] == "writing" and written and phase_seconds > 0:
            eta = (total - written) * phase_seconds / written
    return {"checked": checked, "written": written, "total": total,
            "estimated": live.get("phase") in (None, "checking") and job.is_active,
            "percent": round(done * 100), "eta_seconds": None if eta is None else int(eta),
            "phase": live.get("phase", "")}


def export_text(project: Project, fmt: str) -> Iterator[str]:
    """A text export (every format but the Parquet zip) as streamed chunks, for the page's
    download and `manage.py export_labels` alike."""
    if fmt in ("csv", "jsonl"):
        return export_lines(fmt, *export_rows(project))
    return report_lines(fmt, export_reports(project), export_categories(project))


def export_dataset(project: Project, out, *, folder: str, identifiers: bool = False) -> None:
    """The Hugging Face dataset (Parquet per split and its card, zipped) into the binary
    file `out`."""
    write_hf_dataset(
        out, title=project.name, folder=folder, categories=export_categories(project),
        splits=export_split_sizes(project), identifiers=identifiers,
        rows_of=lambda split: export_reports(project, split=split))
