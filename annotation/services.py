"""Every write to annotation data goes through here."""

import datetime
import math
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, F, Func, IntegerField, OuterRef, Subquery
from django.utils import timezone

from .importing import (
    LOOKUP_CHUNK,
    ImportPlan,
    ParsedRow,
    RowChecker,
    RowError,
    file_format,
    iter_checked_rows,
    plan_import,
)
from .models import (
    Annotation,
    Category,
    ImportBatch,
    LabelMethod,
    Membership,
    Patient,
    Project,
    ReferenceLabel,
    ReferenceLabelChange,
    Report,
    ReportClaim,
    ReportSkip,
    Split,
)

WRITE_BATCH = 2000


class ImportRejected(Exception):
    def __init__(self, plan: ImportPlan):
        self.plan = plan
        super().__init__(f"{plan.filename}: {len(plan.errors)} problem(s), nothing imported")


@dataclass
class ImportResult:
    plan: ImportPlan
    batch: ImportBatch | None

    @property
    def message(self) -> str:
        p = self.plan
        skipped = len(p.splits_not_applied)
        not_applied = (f" The split was not applied to {skipped} of them (see the warning)."
                       if skipped else "")
        if self.batch is None:
            return (
                f"{p.filename}: nothing to import; all {p.unchanged} reports are already here "
                "and unchanged." + not_applied
            )
        return (
            f"{p.filename}: imported {p.new_reports} new reports and {p.new_labels} reference "
            f"labels; {p.unchanged} reports were already here and unchanged." + not_applied
        )


def reports_import(
    *, project: Project, path: Path, filename: str | None = None, user: User | None = None
) -> ImportResult:
    """Import a CSV/JSONL file: all of it or, if any row is bad, nothing (ImportRejected)."""
    plan = plan_import(project, path, filename)
    if not plan.ok:
        raise ImportRejected(plan)
    if plan.changes_nothing:
        return ImportResult(plan=plan, batch=None)
    second_pass = ImportPlan(filename=plan.filename)
    rows = iter_checked_rows(path, file_format(plan.filename), RowChecker(project), second_pass)
    with _refusal_reported(plan), transaction.atomic():
        batch = ImportBatch.objects.create(
            project=project, filename=plan.filename, sha256=plan.sha256, imported_by=user,
            rows=plan.rows,
        )
        created, labels, unchanged = reports_write(
            project=project, rows=rows, batch=batch, user=user,
            reason=f"imported from {plan.filename}",
        )
        # The file was checked a moment ago; if it changed under us, roll back rather than
        # write something nobody previewed.
        if second_pass.errors or (created, labels) != (plan.new_reports, plan.new_labels):
            if not second_pass.errors:
                plan.errors.append(RowError(0, "", "the file or the database changed between "
                                                   "the check and the import"))
            raise ImportRejected(second_pass if second_pass.errors else plan)
        batch.reports_created, batch.labels_created, batch.unchanged = created, labels, unchanged
        batch.save(update_fields=["reports_created", "labels_created", "unchanged"])
    return ImportResult(plan=plan, batch=batch)


@contextmanager
def _refusal_reported(plan: ImportPlan):
    """The check pass should catch whatever the database refuses; if it missed something,
    reject the file with the database's words instead of failing with a traceback."""
    try:
        yield
    except DatabaseError as exc:
        plan.errors.append(RowError(0, "", f"the database refused the import ({exc})"))
        raise ImportRejected(plan) from exc


def reports_write(
    *, project: Project, rows: Iterable[ParsedRow], batch: ImportBatch | None,
    user: User | None, reason: str,
) -> tuple[int, int, int]:
    """Write checked rows in chunks: new patients, new reports, labels for unlabeled reports.

    Returns (reports created, labels created, rows already present). Callers hold the
    transaction.
    """
    categories = {c.code: c for c in Category.objects.filter(project=project)}
    totals = [0, 0, 0]
    chunk: list[ParsedRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= LOOKUP_CHUNK:
            _write_chunk(project, chunk, batch, user, reason, categories, totals)
            chunk = []
    _write_chunk(project, chunk, batch, user, reason, categories, totals)
    return totals[0], totals[1], totals[2]


def _write_chunk(project, rows, batch, user, reason, categories, totals):
    if not rows:
        return
    patients = {
        p.pseudo_id: p
        for p in Patient.objects.filter(project=project, pseudo_id__in={r.patient_id for r in rows})
    }
    new_patients = {}
    for row in sorted(rows, key=lambda r: r.procedure_date):
        patient = patients.get(row.patient_id) or new_patients.get(row.patient_id)
        if patient is None:
            new_patients[row.patient_id] = Patient(
                project=project, pseudo_id=row.patient_id, sex=row.sex, age=row.age
            )
        elif patient.sex == "U" and row.sex != "U" and patient.pk is None:
            patient.sex = row.sex
    Patient.objects.bulk_create(new_patients.values(), batch_size=WRITE_BATCH)
    patients.update(
        (p.pseudo_id, p)
        for p in Patient.objects.filter(project=project, pseudo_id__in=list(new_patients))
    )
    existing = {
        r.accession: r
        for r in Report.objects.filter(
            project=project, accession__in=[r.accession for r in rows]
        ).select_related("reference_label")
    }
    # A labelled report is not waiting for annotators when the queue is for unlabelled ones.
    unlabelled_scope = project.queue_scope == Project.QueueScope.UNLABELLED
    new_reports = [
        Report(
            project=project, patient=patients[row.patient_id], accession=row.accession,
            procedure_date=row.procedure_date, text=row.text,
            split=row.split or Split.UNASSIGNED, import_batch=batch,
            in_queue=not (unlabelled_scope and row.label is not None),
        )
        for row in rows
        if row.accession not in existing
    ]
    Report.objects.bulk_create(new_reports, batch_size=WRITE_BATCH)
    totals[0] += len(new_reports)
    totals[2] += len(rows) - len(new_reports)
    # select_related above cached the label (or its absence), so this costs no queries.
    labelled = {a for a, r in existing.items() if hasattr(r, "reference_label")}
    by_accession = {r.accession: r for r in new_reports} | existing
    to_label = [
        (by_accession[row.accession], categories[row.label])
        for row in rows
        if row.label is not None and row.accession not in labelled
    ]
    totals[1] += _labels_create(to_label, LabelMethod.IMPORTED, user, reason)
    if unlabelled_scope:
        newly_labelled = [r.pk for r, _ in to_label if r.accession in existing]
        Report.objects.filter(pk__in=newly_labelled).update(in_queue=False)


def _labels_create(pairs, method, user, reason) -> int:
    now = timezone.now()
    ReferenceLabel.objects.bulk_create(
        [ReferenceLabel(report=r, category=c, method=method, set_by=user, updated=now)
         for r, c in pairs],
        batch_size=WRITE_BATCH,
    )
    ReferenceLabelChange.objects.bulk_create(
        [ReferenceLabelChange(report=r, new_category=c, new_method=method, changed_by=user,
                              changed_at=now, reason=reason) for r, c in pairs],
        batch_size=WRITE_BATCH,
    )
    return len(pairs)


@transaction.atomic(savepoint=False)
def reference_label_set(
    *, report: Report, category: Category, method: str, user: User | None, reason: str = ""
) -> ReferenceLabel:
    """Set or change a report's reference label; the old value goes into its history."""
    label = ReferenceLabel.objects.select_for_update().filter(report=report).first()
    return _reference_label_write(report=report, label=label, category=category, method=method,
                                  user=user, reason=reason)


def _reference_label_write(*, report, label, category, method, user, reason) -> ReferenceLabel:
    """Write a reference label whose current row (or None) the caller has locked."""
    if category.project_id != report.project_id:
        raise ValueError("category belongs to another project")
    now = timezone.now()
    old_category, old_method = (label.category, label.method) if label else (None, "")
    if label and label.category_id == category.pk and label.method == method:
        return label
    if label is None:
        label = ReferenceLabel.objects.create(
            report=report, category=category, method=method, set_by=user, updated=now
        )
    else:
        label.category, label.method, label.set_by, label.updated = category, method, user, now
        label.save(update_fields=["category", "method", "set_by", "updated"])
    ReferenceLabelChange.objects.create(
        report=report, old_category=old_category, new_category=category, old_method=old_method,
        new_method=method, changed_by=user, changed_at=now, reason=reason,
    )
    queue_flag_settle(report=report, labelled=True)
    return label


class SplitError(ValueError):
    pass


def split_counts_from_fractions(total: int, fractions: tuple[float, float, float]):
    if any(f < 0 for f in fractions) or not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
        raise SplitError(f"fractions must be >= 0 and add up to 1, got {fractions}")
    train = math.floor(total * fractions[0] + 1e-9)
    val = round(total * fractions[1])
    return train, val, total - train - val


@transaction.atomic
def splits_assign(
    *, project: Project, counts: tuple[int, int, int] | None = None,
    fractions: tuple[float, float, float] | None = None, only_unassigned: bool = False,
) -> dict[str, int]:
    """Split reports chronologically: the earliest go to train, then validation, then test.

    Ties on the date are broken by accession so the split never depends on insert order.
    """
    reports = Report.objects.filter(project=project)
    if only_unassigned:
        reports = reports.filter(split=Split.UNASSIGNED)
    ids = list(reports.order_by("procedure_date", "accession").values_list("pk", flat=True))
    total = len(ids)
    if fractions is not None:
        counts = split_counts_from_fractions(total, fractions)
    if counts is None or any(c < 0 for c in counts):
        raise SplitError("give three counts >= 0 or three fractions")
    if sum(counts) != total:
        raise SplitError(
            f"the counts add up to {sum(counts)} but the project has {total} "
            f"{'unassigned ' if only_unassigned else ''}reports"
        )
    bounds = [0, counts[0], counts[0] + counts[1], total]
    splits = [Split.TRAIN, Split.VALIDATION, Split.TEST]
    for split, start, end in zip(splits, bounds, bounds[1:], strict=False):
        for at in range(start, end, 10_000):
            Report.objects.filter(pk__in=ids[at:min(end, at + 10_000)]).update(split=split)
    return dict(zip([s.value for s in splits], counts, strict=True))


def membership_set(*, project: Project, user: User, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        project=project, user=user, defaults={"role": role}
    )
    return membership


# --- Labeling queue --------------------------------------------------------------------------

def queue_flags_refresh(*, project: Project, report_ids=None) -> None:
    """Recompute Report.in_queue from the project's queue settings (all reports, or some).

    Called after imports, after queue settings change, and by the data migration; single
    answers and labels keep the flag themselves (queue_flag_settle).
    """
    reports = Report.objects.filter(project=project)
    if report_ids is not None:
        reports = reports.filter(pk__in=list(report_ids))
    reports.update(in_queue=True)
    if project.queue_scope == Project.QueueScope.UNLABELLED:
        reports.filter(reference_label__isnull=False).update(in_queue=False)
    done = [
        row["report"] for row in Annotation.objects.filter(report__in=reports)
        .values("report").annotate(n=Count("user", distinct=True))
        if row["n"] >= required_annotations(project, row["report"])
    ]
    for start in range(0, len(done), 10_000):
        Report.objects.filter(pk__in=done[start:start + 10_000]).update(in_queue=False)


def queue_flag_settle(*, report: Report, labelled: bool = False) -> None:
    """Take a report out of the queue once it has a reference label (when the queue is for
    unlabelled reports) or all the annotations it needs."""
    project = report.project
    out = labelled and project.queue_scope == Project.QueueScope.UNLABELLED
    if not out:
        annotators = Annotation.objects.filter(report=report).values("user").distinct().count()
        out = annotators >= required_annotations(project, report.pk)
    if out:
        Report.objects.filter(pk=report.pk, in_queue=True).update(in_queue=False)



QUEUE_RETRIES = 20
HASH_PRIME, HASH_OFFSET, HASH_BUCKETS = 7919, 13, 1000


def required_annotations(project: Project, report_id: int) -> int:
    """How many independent annotations this report needs (same rule as the queue's SQL)."""
    n = project.annotations_per_report
    if n <= 1 or project.double_read_fraction >= 1:
        return max(n, 1)
    bucket = (report_id * HASH_PRIME + HASH_OFFSET) % HASH_BUCKETS
    return n if bucket < round(project.double_read_fraction * HASH_BUCKETS) else 1


def queue_next(*, project: Project, user: User, exclude_ids=()) -> Report | None:
    """Serve the next report to this annotator and hold it for them (an expiring claim).

    Safe under concurrency on PostgreSQL: candidate rows are locked with SKIP LOCKED, and the
    count of annotations and claims is read again after the lock, because a claim committed
    a moment earlier by another annotator is not visible to the query that found the row.
    """
    from .selectors import queue_candidates

    now = timezone.now()
    expires = now + datetime.timedelta(minutes=project.claim_minutes)
    with transaction.atomic():
        held = (
            ReportClaim.objects.filter(user=user, report__project=project, expires_at__gt=now)
            .exclude(report__annotations__user=user)
            .exclude(report_id__in=exclude_ids)
            .order_by("expires_at").select_related("report").first()
        )
        if held:
            held.expires_at = expires
            held.save(update_fields=["expires_at"])
            return held.report
        rejected = list(exclude_ids)
        for _ in range(QUEUE_RETRIES):
            candidates = queue_candidates(project, user, now).exclude(pk__in=rejected)
            if connection.features.has_select_for_update_skip_locked:
                candidates = candidates.select_for_update(skip_locked=True, of=("self",))
            report = candidates.first()
            if report is None:
                return None
            if _load(report, user, now) < required_annotations(project, report.pk):
                # One statement whether or not an old, expired claim of this user is there.
                ReportClaim.objects.bulk_create(
                    [ReportClaim(report=report, user=user, expires_at=expires)],
                    update_conflicts=True, unique_fields=["report", "user"],
                    update_fields=["expires_at"],
                )
                return report
            rejected.append(report.pk)
    return None


def _load(report: Report, user: User, now) -> int:
    """Annotators who answered plus others holding a live claim, in one statement."""

    def count(queryset, field, distinct=""):
        return Subquery(queryset.order_by().annotate(n=Func(
            F(field), function="COUNT", template=f"COUNT({distinct}%(expressions)s)",
            output_field=IntegerField(),
        )).values("n")[:1])

    annotators = Annotation.objects.filter(report=OuterRef("pk"))
    claims = ReportClaim.objects.filter(report=OuterRef("pk"), expires_at__gt=now).exclude(
        user=user)
    row = Report.objects.filter(pk=report.pk).values_list(
        count(annotators, "user", "DISTINCT "), count(claims, "id")).first()
    return sum(n or 0 for n in row)


def queue_release(*, report: Report, user: User) -> None:
    ReportClaim.objects.filter(report=report, user=user).delete()


@transaction.atomic
def report_skip(*, report: Report, user: User) -> None:
    ReportSkip.objects.get_or_create(report=report, user=user)
    queue_release(report=report, user=user)


@dataclass(frozen=True)
class ServedReport:
    """What was on screen when a report was served; signed into the form."""

    report_id: int
    user_id: int
    served_at: datetime.datetime
    suggestion_version_id: int | None = None
    suggested_code: int | None = None
    suggested_probability: float | None = None
    supersedes_id: int | None = None


@transaction.atomic
def annotation_submit(
    *, served: ServedReport, user: User, category: Category, active_ms: int | None,
) -> Annotation:
    """Record one decision. Append-only: a correction (undo) is a new row that supersedes."""
    report = Report.objects.select_for_update().select_related("project").get(
        pk=served.report_id
    )
    if category.project_id != report.project_id or served.user_id != user.pk:
        raise ValueError("this answer does not belong to this user and project")
    previous = Annotation.objects.filter(report=report, user=user).order_by(
        "-submitted_at", "-id").first()
    if previous and previous.pk != served.supersedes_id:
        # The same form sent twice (double click, network retry): keep the first answer.
        return previous
    now = timezone.now()
    window_ms = max(int((now - served.served_at).total_seconds() * 1000), 0)
    suggested = None
    if served.suggested_code is not None:
        suggested = Category.objects.filter(
            project=report.project, code=served.suggested_code).first()
    annotation = Annotation.objects.create(
        report=report, user=user, category=category, served_at=served.served_at,
        submitted_at=now,
        # The browser cannot have been active longer than the report was on screen.
        active_ms=None if active_ms is None else min(max(int(active_ms), 0), window_ms),
        suggestion_model_version_id=served.suggestion_version_id,
        suggested_category=suggested, suggested_probability=served.suggested_probability,
        supersedes=previous,
    )
    queue_release(report=report, user=user)
    if reference_from_annotations(report=report, user=user) != "set":
        queue_flag_settle(report=report)
    return annotation


def latest_answers(report: Report) -> dict[int, Annotation]:
    latest = {}
    for annotation in report.annotations.select_related("category").order_by("submitted_at",
                                                                              "id"):
        latest[annotation.user_id] = annotation
    return latest


def reference_from_annotations(*, report: Report, user: User | None) -> str:
    """Apply the reference-label rules after an annotation; returns what happened.

    One required reading: that annotator's answer is the reference (single). Several: if the
    latest answers agree, agreement; if not, the report waits for adjudication. Imported and
    adjudicated references are never overwritten by annotations.
    """
    label = ReferenceLabel.objects.select_for_update().filter(report=report).first()
    if label and label.method in (LabelMethod.IMPORTED, LabelMethod.ADJUDICATION):
        return "kept"
    answers = latest_answers(report)
    if len(answers) < required_annotations(report.project, report.pk):
        return "waiting"
    codes = {a.category_id for a in answers.values()}
    if len(codes) > 1:
        return "disagreement"
    category = next(iter(answers.values())).category
    if len(answers) == 1:
        _reference_label_write(report=report, label=label, category=category,
                               method=LabelMethod.SINGLE, user=user, reason="annotation")
    else:
        _reference_label_write(report=report, label=label, category=category,
                               method=LabelMethod.AGREEMENT, user=None,
                               reason=f"{len(answers)} annotators agree")
    return "set"


def adjudicate(*, report: Report, category: Category, user: User, reason: str) -> ReferenceLabel:
    if not reason.strip():
        raise ValueError("Give a reason for the adjudication; it is kept in the label history.")
    return reference_label_set(report=report, category=category,
                               method=LabelMethod.ADJUDICATION, user=user, reason=reason.strip())
