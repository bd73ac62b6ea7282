"""Every write to annotation data goes through here."""

import datetime
import math
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count, ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from core.db import counter_add, insert_sql, prepared_cursor, table_and_columns
from core.jobs import Outcome, handed_over
from core.queue import broker_problem, send_on_commit

from . import import_progress
from .copy_write import StagedRows, rows_copy
from .double_reading import required_annotations
from .importing import columnar
from .importing.checks import ParsedRow, RowChecker, RowError
from .importing.columns import ColumnMapping
from .importing.formats import file_format
from .importing.plan import (
    LOOKUP_CHUNK,
    ImportPlan,
    estimate_rows,
    iter_checked_rows,
    plan_import,
)
from .models import (
    CHRONOLOGICAL,
    VALIDATION_CAP_PER_CATEGORY,
    VALIDATION_EVERY,
    VALIDATION_FIRST,
    Annotation,
    Category,
    CategoryChange,
    ImportBatch,
    ImportJob,
    LabelMethod,
    Membership,
    Patient,
    Project,
    ReferenceLabel,
    ReferenceLabelChange,
    Report,
    Role,
    Split,
)
from .signals import reference_labels_due

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
        if p.dates_added:
            not_applied += (f" {p.dates_added} of them were given the procedure date they "
                            "lacked.")
        if p.undated:
            not_applied += (f" {p.undated} new reports have no procedure date and stay out "
                            "of the chronological split until they have one.")
        if self.batch is None:
            return (
                f"{p.filename}: nothing to import; all {p.unchanged} reports are already here "
                "and unchanged." + not_applied
            )
        return (
            f"{p.filename}: imported {p.new_reports} new reports and {p.new_labels} reference "
            f"labels; {p.unchanged} reports were already here and unchanged." + not_applied
        )


class ImportBusy(Exception):
    """Another import of the project is queued or running; the message says which."""


# A running import reports progress every chunk (seconds apart); this much silence means its
# worker is gone, and the project must not stay locked against imports for ever.
IMPORT_SILENCE_SECONDS = 10 * 60


def import_jobs_fail_stale(*, project: Project | None = None) -> int:
    """Mark running import jobs whose worker went silent as failed (nothing was written:
    the import's transaction died with the worker)."""
    jobs = ImportJob.objects.filter(status=ImportJob.Status.RUNNING)
    if project is not None:
        jobs = jobs.filter(project=project)
    failed = 0
    for job in jobs:
        beat = import_progress.read(job).get("beat")
        last = (datetime.datetime.fromtimestamp(beat, tz=datetime.UTC) if beat
                else job.started_at)
        if last and (timezone.now() - last).total_seconds() > IMPORT_SILENCE_SECONDS:
            failed += ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
                status=ImportJob.Status.FAILED, finished_at=timezone.now(),
                message=f"The worker stopped responding (last sign of life "
                f"{timezone.localtime(last):%Y-%m-%d %H:%M:%S}); nothing was imported. "
                "Import the file again.")
    return failed


def import_busy_check(*, project: Project, job: ImportJob | None = None) -> None:
    import_jobs_fail_stale(project=project)
    running = ImportJob.objects.filter(project=project, status__in=ImportJob.ACTIVE,
                                       check_only=False).exclude(
        pk=job.pk if job else None).select_related("created_by").first()
    if running is not None:
        who = f" by {running.created_by}" if running.created_by else ""
        raise ImportBusy(f"An import of {project.name} is {running.status} ({running.filename}, "
                         f"started{who} at {timezone.localtime(running.created):%H:%M}); "
                         "wait for it to finish, then import again.")


def reports_import(
    *, project: Project, path: Path, filename: str | None = None, user: User | None = None,
    mapping: ColumnMapping | None = None, progress=None, job: ImportJob | None = None,
) -> ImportResult:
    """Import a report file (CSV, JSON Lines, xlsx, FHIR, HL7 v2): all of it or, if any row
    is bad, nothing (ImportRejected).

    `mapping` says which of the file's columns feed which field (None: guessed from the
    header); a file that imports is read the same way next time (Project.import_mapping).
    Refused (ImportBusy) while an import job of the project runs, other than ``job``.
    ``progress(phase, rows, total)`` hears of each chunk checked and written.
    """
    import_busy_check(project=project, job=job)
    if connection.vendor == "postgresql":
        return _reports_import_staged(project=project, path=path, filename=filename, user=user,
                                      mapping=mapping, progress=progress)
    plan = plan_import(project, path, filename, mapping, progress=progress)
    if not plan.ok:
        raise ImportRejected(plan)
    if plan.changes_nothing:
        return ImportResult(plan=plan, batch=None)
    second_pass = ImportPlan(filename=plan.filename)
    rows = iter_checked_rows(path, file_format(plan.filename, path), RowChecker(project),
                             second_pass, plan.mapping)
    with _refusal_reported(plan), transaction.atomic():
        batch = ImportBatch.objects.create(
            project=project, filename=plan.filename, sha256=plan.sha256, imported_by=user,
            rows=plan.rows,
        )
        created, labels, unchanged = reports_write(
            project=project, rows=rows, batch=batch, user=user,
            reason=f"imported from {plan.filename}",
            progress=progress and (lambda done: progress("writing", done, plan.rows)),
        )
        # The file was checked a moment ago; if it changed under us, roll back rather than
        # write something nobody previewed.
        if second_pass.errors or (created, labels) != (plan.new_reports, plan.new_labels):
            if not second_pass.errors:
                plan.errors.append(RowError(0, "", "the file or the database changed between "
                                                   "the check and the import"))
            raise ImportRejected(second_pass if second_pass.errors else plan)
        _import_batch_finish(batch, created, labels, unchanged, project, plan)
    return ImportResult(plan=plan, batch=batch)


def _reports_import_staged(*, project, path, filename, user, mapping, progress) -> ImportResult:
    """PostgreSQL: one pass over the file checks each row and streams it (COPY) into a
    staging table; if the check found no problem, a few set-based statements write the
    tables, else the transaction rolls back and nothing is written."""
    with transaction.atomic(), StagedRows() as staged:
        # A clean CSV is checked a column at a time; anything else, or a file with a
        # problem, row by row (which names each problem).
        plan = columnar.plan_staged(project, path, filename or path.name, mapping, staged,
                                    progress)
        if plan is None:
            plan = plan_import(project, path, filename, mapping, progress=progress,
                               sink=staged.write)
        if not plan.ok:
            raise ImportRejected(plan)
        if plan.changes_nothing:
            return ImportResult(plan=plan, batch=None)
        if progress is not None:
            progress("writing", 0, plan.rows)
        with _refusal_reported(plan):
            batch = ImportBatch.objects.create(
                project=project, filename=plan.filename, sha256=plan.sha256, imported_by=user,
                rows=plan.rows)
            created, labels, unchanged = reports_write(
                project=project, rows=staged, batch=batch, user=user,
                reason=f"imported from {plan.filename}")
        # The rows were checked against the database in this transaction; another writer
        # (a label set meanwhile) can still differ: roll back rather than write something
        # nobody checked.
        if (created, labels) != (plan.new_reports, plan.new_labels):
            plan.errors.append(RowError(0, "", "the database changed between the check and "
                                               "the import"))
            raise ImportRejected(plan)
        _import_batch_finish(batch, created, labels, unchanged, project, plan)
        if progress is not None:
            progress("writing", plan.rows, plan.rows)
    return ImportResult(plan=plan, batch=batch)


def _import_batch_finish(batch, created, labels, unchanged, project, plan) -> None:
    batch.reports_created, batch.labels_created, batch.unchanged = created, labels, unchanged
    batch.save(update_fields=["reports_created", "labels_created", "unchanged"])
    import_mapping_remember(project=project, mapping=plan.mapping)


def import_mapping_remember(*, project: Project, mapping: ColumnMapping | None) -> None:
    """Keep the columns and date format of the last file that imported, for the next one."""
    if mapping is None or mapping.to_dict() == project.import_mapping:
        return
    project.import_mapping = mapping.to_dict()
    project.save(update_fields=["import_mapping"])


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
    *, project: Project, rows: Iterable[ParsedRow] | StagedRows, batch: ImportBatch | None,
    user: User | None, reason: str, progress=None,
) -> tuple[int, int, int]:
    """Write checked rows in chunks: new patients, new reports, labels for unlabeled reports.

    Returns (reports created, labels created, rows already present). Callers hold the
    transaction. PostgreSQL streams the rows with COPY and writes them set-based
    (copy_write; `rows` may be staged there already, as an import does while it checks
    them); other databases take the ORM's chunks below.
    """
    if connection.vendor == "postgresql":
        unlabelled_scope = project.queue_scope == Project.QueueScope.UNLABELLED
        if isinstance(rows, StagedRows):
            created, labels, unchanged = rows.write_tables(
                project=project, batch=batch, user=user, reason=reason,
                unlabelled_scope=unlabelled_scope)
        else:
            created, labels, unchanged = rows_copy(
                project=project, rows=rows, batch=batch, user=user, reason=reason,
                unlabelled_scope=unlabelled_scope, progress=progress)
        _labels_written_add(project.pk, labels)
        if created:
            report_counts_changed(project_id=project.pk)
        return created, labels, unchanged
    categories = {c.code: c for c in Category.objects.filter(project=project)}
    totals = [0, 0, 0]
    chunk: list[ParsedRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= LOOKUP_CHUNK:
            _write_chunk(project, chunk, batch, user, reason, categories, totals)
            chunk = []
            if progress is not None:
                progress(sum(totals[::2]))  # created and unchanged: the rows gone through
    _write_chunk(project, chunk, batch, user, reason, categories, totals)
    if progress is not None:
        progress(sum(totals[::2]))
    if totals[0]:
        report_counts_changed(project_id=project.pk)
    return totals[0], totals[1], totals[2]


def report_counts_changed(*, project_id: int) -> None:
    """Reports were added, deleted or moved between splits: move the stamp of the
    project's counts on (Project.reports_changed; selectors.report_tally)."""
    counter_add(Project, project_id, "reports_changed")


def _write_chunk(project, rows, batch, user, reason, categories, totals):
    if not rows:
        return
    patients = {
        p.pseudo_id: p
        for p in Patient.objects.filter(project=project, pseudo_id__in={r.patient_id for r in rows})
    }
    new_patients = {}
    # The earliest report gives a new patient's sex (those without a date last).
    for row in sorted(rows, key=lambda r: (r.procedure_date is None, r.procedure_date)):
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
    # A report imported without a date takes the date a later file gives it (filling a
    # blank, never changing a date it has).
    dated = [r for r in rows if r.procedure_date is not None and r.accession in existing
             and existing[r.accession].procedure_date is None]
    for row in dated:
        existing[row.accession].procedure_date = row.procedure_date
    Report.objects.bulk_update([existing[r.accession] for r in dated], ["procedure_date"],
                               batch_size=WRITE_BATCH)
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
    _labels_written_add(project.pk, len(to_label))
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
    return reference_label_write(report=report, label=label, category=category, method=method,
                                  user=user, reason=reason)


class CategoryRetired(ValueError):
    """A retired category keeps the labels it has but takes no new ones, from anywhere."""

    def __init__(self, category: Category):
        super().__init__(f"Category {category} is retired: it keeps its labels but takes no "
                         "new ones. Choose another category, or bring it back in the "
                         "project's settings.")


def category_usable(category: Category) -> Category:
    """The category, if a new label may use it; every label write calls this."""
    if category.retired:
        raise CategoryRetired(category)
    return category


def reference_label_write(*, report, label, category, method, user, reason) -> ReferenceLabel:
    """Write a reference label whose current row (or None) the caller has locked."""
    if category.project_id != report.project_id:
        raise ValueError("category belongs to another project")
    now = timezone.now()
    old_category, old_method = (label.category, label.method) if label else (None, "")
    if label and label.category_id == category.pk and label.method == method:
        return label
    category_usable(category)
    change = ReferenceLabelChange(
        report=report, old_category=old_category, new_category=category, old_method=old_method,
        new_method=method, changed_by=user, changed_at=now, reason=reason,
    )
    if label is None and connection.vendor == "postgresql":
        return _first_label_write(report=report, change=change, label=ReferenceLabel(
            report=report, category=category, method=method, set_by=user, updated=now))
    report_fields = {}
    if label is None:
        label = ReferenceLabel.objects.create(
            report=report, category=category, method=method, set_by=user, updated=now
        )
        if report.split == Split.UNASSIGNED:
            report_fields["split"] = split_draw(report=report, category=category, write=False)
    else:
        label.category, label.method, label.set_by, label.updated = category, method, user, now
        label.save(update_fields=["category", "method", "set_by", "updated"])
    change.save(force_insert=True)
    _labels_written_add(report.project_id, 1)
    # The new split and the queue flag in one write: every answer of every annotator
    # passes here.
    if report_fields:
        if _queue_out(report, labelled=True):
            report_fields["in_queue"] = False
        Report.objects.filter(pk=report.pk).update(**report_fields)
    else:
        queue_flag_settle(report=report, labelled=True)
    return label


def _first_label_write(*, report: Report, label: ReferenceLabel,
                       change: ReferenceLabelChange) -> ReferenceLabel:
    """A report's first reference label on PostgreSQL, in one statement (every answer of
    every annotator passes here): the label, its history row, the category's draw counter
    and the report's split when it had none (split_draw), the project's count of labels
    written, and the report's queue flag. What reference_label_write's other path does in
    five statements."""
    draw = report.split == Split.UNASSIGNED
    out = _queue_out(report, labelled=True)
    label_insert, label_params = insert_sql(label)
    change_insert, change_params = insert_sql(change)
    categories, drawn_col = table_and_columns(Category, "labels_drawn")
    projects, written_col, every_col, due_col = table_and_columns(
        Project, "reference_labels_written", "fast_retrain_every", "fast_retrain_due_at")
    reports, split_col, queue_col = table_and_columns(Report, "split", "in_queue")
    with prepared_cursor() as cursor:
        cursor.execute(
            f"""WITH label AS ({label_insert}),
            change AS ({change_insert}),
            drawn AS (UPDATE {categories} SET {drawn_col} = {drawn_col} + 1
                      WHERE id = %s AND %s RETURNING {drawn_col} AS n),
            written AS (UPDATE {projects}
                        SET {_labels_written_set_sql(written_col, every_col, due_col)}
                        WHERE id = %s RETURNING {written_col}, {every_col}, {due_col}),
            moved AS (UPDATE {reports}
                      SET {split_col} = COALESCE((SELECT {split_of_draw_sql('n')} FROM drawn),
                                                 {split_col}),
                          {queue_col} = {queue_col} AND NOT %s
                      WHERE id = %s AND (%s OR (%s AND {queue_col})))
            SELECT (SELECT id FROM label), (SELECT n FROM drawn), written.* FROM written""",
            [*label_params, *change_params, label.category_id, draw, 1, 1, 1,
             report.project_id, out, report.pk, draw, out])
        label.pk, drawn, total, every, due_at = cursor.fetchone()
    label._state.adding = False
    if draw:
        report.split = split_of_draw(drawn)
    if out:
        report.in_queue = False
    _labels_written_due(report.project_id, total, every, due_at)
    return label


def _labels_written_add(project_id: int, n: int) -> None:
    """Count reference labels written, in the caller's transaction (see the field), and say
    when the count reaches the point where a fast retrain may be due."""
    if not n:
        return
    table, written, every, due = table_and_columns(
        Project, "reference_labels_written", "fast_retrain_every", "fast_retrain_due_at")
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {_labels_written_set_sql(written, every, due)} "
                       f"WHERE id = %s RETURNING {written}, {every}, {due}",
                       [n, n, n, project_id])
        total, every_n, due_at = cursor.fetchone()
    _labels_written_due(project_id, total, every_n, due_at)


def _labels_written_set_sql(written: str, every: str, due: str) -> str:
    """The SET of a label count update that adds n labels (its three %s, each n): the count,
    and the due count, which the update that reaches it moves `every` labels on in the same
    statement, so one label in `every` sends the fast-retrain message even while no worker
    takes it and moves the count on itself (one message per label piled up in the queue
    before)."""
    return (f"{written} = {written} + %s, {due} = CASE WHEN {every} > 0 AND {written} + %s "
            f">= {due} THEN {written} + %s + {every} ELSE {due} END")


def _labels_written_due(project_id: int, total: int, every: int, due_at: int) -> None:
    # The update moved the due count to total + every exactly when it reached it (see
    # _labels_written_set_sql); a due count some other writer set to that very number sends one
    # more message, which only asks modeling to check.
    if every and due_at == total + every:
        reference_labels_due.send(sender=Project, project_id=project_id)


def split_draw(*, report: Report, category: Category, write: bool = True) -> str:
    """Give a newly labelled report without a split its split: validation or train
    (`write=False`: the caller writes report.split with its own update).

    Constant time: one counter per category, updated in the label's transaction (which also
    serialises two annotators labelling the same category at once).
    """
    (n,) = counter_add(Category, category.pk, "labels_drawn")
    report.split = split_of_draw(n)
    if write:
        Report.objects.filter(pk=report.pk).update(split=report.split)
    return report.split


def split_of_draw(n: int) -> str:
    """The split of a category's n-th label drawn (1-based): see VALIDATION_FIRST."""
    step = n - VALIDATION_FIRST
    drawn = step // VALIDATION_EVERY + 1  # validation reports of this category, this one included
    to_validation = step >= 0 and step % VALIDATION_EVERY == 0 and (
        drawn <= VALIDATION_CAP_PER_CATEGORY)
    return Split.VALIDATION if to_validation else Split.TRAIN


def split_of_draw_sql(column: str) -> str:
    """split_of_draw over an integer column, for _first_label_write (a test compares the two
    for every n up past the cap). n >= VALIDATION_FIRST comes first: PostgreSQL's integer
    division and MOD truncate towards zero, Python's // and % floor."""
    step = f"({column} - {VALIDATION_FIRST})"
    return (f"CASE WHEN {column} >= {VALIDATION_FIRST} AND MOD({step}, {VALIDATION_EVERY}) = 0 "
            f"AND {step} / {VALIDATION_EVERY} + 1 <= {VALIDATION_CAP_PER_CATEGORY} "
            f"THEN '{Split.VALIDATION.value}' ELSE '{Split.TRAIN.value}' END")


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
    Reports without a date are left out and keep their split (unassigned, or the train or
    validation draw of a label): where they fall in time is not known, so none can be put
    before or after the test split (selectors.undated_count says how many).
    """
    reports = Report.objects.filter(project=project, procedure_date__isnull=False)
    if only_unassigned:
        reports = reports.filter(split=Split.UNASSIGNED)
    ids = list(reports.order_by(*CHRONOLOGICAL).values_list("pk", flat=True))
    total = len(ids)
    if fractions is not None:
        counts = split_counts_from_fractions(total, fractions)
    if counts is None or any(c < 0 for c in counts):
        raise SplitError("give three counts >= 0 or three fractions")
    if sum(counts) != total:
        raise SplitError(
            f"the counts add up to {sum(counts)} but the project has {total} "
            f"{'unassigned ' if only_unassigned else ''}reports with a procedure date"
        )
    bounds = [0, counts[0], counts[0] + counts[1], total]
    splits = [Split.TRAIN, Split.VALIDATION, Split.TEST]
    for split, start, end in zip(splits, bounds, bounds[1:], strict=False):
        for at in range(start, end, 10_000):
            Report.objects.filter(pk__in=ids[at:min(end, at + 10_000)]).update(split=split)
    report_counts_changed(project_id=project.pk)
    return dict(zip([s.value for s in splits], counts, strict=True))


def membership_set(*, project: Project, user: User, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        project=project, user=user, defaults={"role": role}
    )
    return membership


# --- Queue flags ------------------------------------------------------------------------------

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
    if _queue_out(report, labelled=labelled):
        Report.objects.filter(pk=report.pk, in_queue=True).update(in_queue=False)


def _queue_out(report: Report, *, labelled: bool) -> bool:
    project = report.project
    if labelled and project.queue_scope == Project.QueueScope.UNLABELLED:
        return True
    annotators = Annotation.objects.filter(report=report).values("user").distinct().count()
    return annotators >= required_annotations(project, report.pk)


# --- Big imports in the background -------------------------------------------------------------

def import_job_start(*, project: Project, path: Path, filename: str, rows: int,
                     user: User | None = None,
                     mapping: ColumnMapping | None = None) -> ImportJob:
    """Queue the import of a previewed file for a Celery worker; ImportBusy while another
    import of the project is queued or running (a partial unique index holds it).

    The job keeps the column mapping the preview used, so the worker reads the file the
    way the admin saw it (None: guessed from the header again, as the preview did)."""
    import_busy_check(project=project)
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(project=project, created_by=user, filename=filename,
                                           staged=str(path), rows=rows,
                                           mapping=mapping.to_dict() if mapping else None,
                                           message="Waiting for a worker")
    except IntegrityError:  # another admin's confirm won the race by a moment
        import_busy_check(project=project)
        raise
    send_on_commit("annotation.tasks.import_reports_job", job.pk,
                   failed=_import_not_sent(job.pk, Path(path)))
    return job


def import_job_request(*, project: Project, path: Path, filename: str, rows: int, user,
                       mapping: ColumnMapping | None = None) -> Outcome:
    """A big file for a worker to import, from the page or the API: refused while another
    import runs, `unavailable` (with the failed job) when the task queue did not take it."""
    try:
        job = import_job_start(project=project, path=path, filename=filename, rows=rows,
                               user=user, mapping=mapping)
    except ImportBusy as exc:
        Path(path).unlink(missing_ok=True)
        return Outcome(refused=str(exc))
    if reason := handed_over(job, reason_field="message", failed=ImportJob.Status.FAILED):
        return Outcome(job=job, unavailable=reason)
    return Outcome(job=job, message=f"{job.filename}: {job.rows:,} rows are being imported "
                                    "in the background; this page shows how far it has got.")


def import_check_start(*, project: Project, path: Path, filename: str, rows: int,
                       user: User | None = None,
                       mapping: ColumnMapping | None = None) -> ImportJob:
    """Queue the preview of a big (or compressed) upload for a Celery worker: it checks the
    file as the page's preview would, writes nothing, and keeps the plan for the page."""
    job = ImportJob.objects.create(project=project, created_by=user, filename=filename,
                                   staged=str(path), rows=rows, check_only=True,
                                   mapping=mapping.to_dict() if mapping else None,
                                   message="Waiting for a worker")
    send_on_commit("annotation.tasks.import_check_job", job.pk,
                   failed=_import_not_sent(job.pk, Path(path)))
    return job


def import_check_run(job_id: int) -> ImportJob:
    """The worker's side of a check: claim it, check the file with progress, keep the plan.
    The staged file stays for the confirm (or goes with the upload's 6-hour expiry)."""
    if not ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
            status=ImportJob.Status.RUNNING, started_at=timezone.now(),
            message="Checking the file"):
        return ImportJob.objects.get(pk=job_id)  # already run (a redelivered task)
    job = ImportJob.objects.select_related("project").get(pk=job_id)
    path = Path(job.staged)
    fields = {}
    try:
        reporter = import_progress.Reporter(job, job.rows or 1)
        mapping = ColumnMapping.from_dict(job.mapping) if job.mapping else None
        plan = plan_import(job.project, path, job.filename, mapping, progress=reporter)
        reporter.flush()
        if plan.changes_nothing or not plan.columns:
            path.unlink(missing_ok=True)  # nothing to confirm, nothing a mapping could change
        fields.update(
            status=ImportJob.Status.SUCCEEDED if plan.ok else ImportJob.Status.REJECTED,
            plan=plan.to_dict(), rows=plan.rows,
            message=(f"{plan.rows:,} rows checked: ready to import." if plan.ok and not
                     plan.changes_nothing else
                     f"{plan.rows:,} rows checked: nothing new to import." if plan.ok else
                     f"{plan.error_count:,} problem(s) found; nothing can be imported yet."))
    except Exception as exc:  # the reason goes to the page; the worker log has the rest
        fields.update(status=ImportJob.Status.FAILED,
                      message=f"The check failed ({type(exc).__name__}: {exc}).")
        path.unlink(missing_ok=True)
        raise
    finally:
        fields["finished_at"] = timezone.now()
        ImportJob.objects.filter(pk=job.pk).update(**fields)
    return ImportJob.objects.get(pk=job.pk)


def _import_not_sent(job_id: int, staged: Path):
    """What send_on_commit calls when the broker did not take the import: the job fails with
    the reason and what to do, so the project is not locked against imports by a job that
    no worker will ever see; the staged file goes, as when a job ends."""
    def failed(exc: BaseException) -> None:
        ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
            status=ImportJob.Status.FAILED, finished_at=timezone.now(),
            message="Nothing was imported. " + broker_problem(exc, "import the file again"))
        staged.unlink(missing_ok=True)
    return failed


def import_job_run(job_id: int) -> ImportJob:
    """The worker's side: claim the job, import the file with progress, keep the outcome."""
    now = timezone.now()
    if not ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
            status=ImportJob.Status.RUNNING, started_at=now, message="Checking the file"):
        return ImportJob.objects.get(pk=job_id)  # already run (a redelivered task)
    job = ImportJob.objects.select_related("project", "created_by").get(pk=job_id)
    path = Path(job.staged)
    fields = {"finished_at": None}
    try:
        reporter = import_progress.Reporter(job, job.rows or estimate_rows(path))
        mapping = ColumnMapping.from_dict(job.mapping) if job.mapping else None
        result = reports_import(project=job.project, path=path, filename=job.filename,
                                user=job.created_by, mapping=mapping, progress=reporter,
                                job=job)
        reporter.flush()
        fields.update(status=ImportJob.Status.SUCCEEDED, message=result.message,
                      batch=result.batch)
    except ImportRejected as exc:
        errors = exc.plan.errors
        fields.update(status=ImportJob.Status.REJECTED,
                      errors=[[e.line, e.column, e.reason] for e in errors[:500]],
                      message=f"{len(errors)} problem(s) found; nothing was imported.")
    except Exception as exc:  # the reason goes to the page; the worker log has the rest
        fields.update(status=ImportJob.Status.FAILED,
                      message=f"The import failed ({type(exc).__name__}: {exc}); nothing "
                      "was imported.")
        raise
    finally:
        fields["finished_at"] = timezone.now()
        ImportJob.objects.filter(pk=job.pk).update(**fields)
        path.unlink(missing_ok=True)
    return ImportJob.objects.get(pk=job.pk)


# --- Projects, categories, members ------------------------------------------------------------

class CategoryInUse(Exception):
    """Labels, annotations, predictions or study answers point at it: retire it instead."""


CATEGORY_FIELDS = ("name", "description", "key", "colour")


@transaction.atomic
def project_create(*, name: str, slug: str, description: str = "", guideline: str = "",
                   categories: Iterable[dict]) -> Project:
    """A project and its categories (dicts with code, name, description, key, colour)."""
    project = Project.objects.create(name=name, slug=slug, description=description,
                                     guideline=guideline)
    for category in categories:
        Category.objects.create(project=project, **category)
    return project


READING_SETTINGS = ("annotations_per_report", "double_read_fraction", "claim_minutes",
                    "fast_retrain_every")


@transaction.atomic
def project_update(*, project: Project, name: str, description: str, guideline: str,
                   **reading) -> Project:
    """The settings page's save. A change to how many readings a report needs moves reports
    into or out of the queue, so the queue flags are refreshed then."""
    before = {f: getattr(project, f) for f in READING_SETTINGS}
    project.name, project.description, project.guideline = name, description, guideline
    for field in READING_SETTINGS:
        if field in reading:
            setattr(project, field, reading[field])
    project.save(update_fields=["name", "description", "guideline", *READING_SETTINGS])
    if any(before[f] != getattr(project, f) for f in ("annotations_per_report",
                                                        "double_read_fraction")):
        queue_flags_refresh(project=project)
    return project


def category_add(*, project: Project, code: int, name: str, description: str = "", key: str,
                 colour: str, user: User | None = None) -> Category:
    category = Category.objects.create(project=project, code=code, name=name,
                                       description=description, key=key, colour=colour)
    _category_change(category, "created", "", f"{code} {name}", user)
    return category


@transaction.atomic
def category_update(*, category: Category, user: User | None, **changes) -> Category:
    """Change name, description, key or colour; each change goes into the category's history.

    The code never changes: trained models and exports name categories by code, and labels
    keep pointing at the same row, so a renamed category keeps every label it had.
    """
    changed = []
    for field, value in changes.items():
        if field not in CATEGORY_FIELDS:
            raise ValueError(f"a category's {field} cannot be changed")
        old = getattr(category, field)
        if old != value:
            _category_change(category, field, old, value, user)
            setattr(category, field, value)
            changed.append(field)
    if changed:
        category.save(update_fields=changed)
    return category


def category_retire(*, category: Category, user: User | None, retired: bool = True) -> Category:
    if category.retired != retired:
        _category_change(category, "retired", str(category.retired), str(retired), user)
        category.retired = retired
        category.save(update_fields=["retired"])
    return category


def category_delete(*, category: Category) -> None:
    """Delete a category nothing uses; one in use raises CategoryInUse (retire it instead)."""
    try:
        with transaction.atomic():
            # Every table that points at a category protects it (reference labels and their
            # history, annotations, predictions, study answers): the database says if used.
            category.delete()
    except (ProtectedError, RestrictedError):
        raise CategoryInUse(f"{category} is used by labels, annotations or predictions, so it "
                            "cannot be deleted; retire it instead") from None


def _category_change(category, field, old, new, user):
    CategoryChange.objects.create(category=category, field=field, old_value=str(old)[:300],
                                  new_value=str(new)[:300], changed_by=user,
                                  changed_at=timezone.now())


class LastAdmin(Exception):
    """A project keeps at least one admin (superusers aside)."""


@transaction.atomic
def member_role_set(*, project: Project, user: User, role: str) -> Membership:
    """Add a member or change their role; the project's last admin cannot step down."""
    _keep_an_admin(project, user, leaving=role != Role.ADMIN)
    return membership_set(project=project, user=user, role=role)


@transaction.atomic
def member_remove(*, project: Project, user: User) -> None:
    _keep_an_admin(project, user, leaving=True)
    Membership.objects.filter(project=project, user=user).delete()


def _keep_an_admin(project, user, *, leaving: bool) -> None:
    if not leaving:
        return
    admins = set(Membership.objects.select_for_update().filter(
        project=project, role=Role.ADMIN).values_list("user_id", flat=True))
    if admins == {user.pk}:
        raise LastAdmin(f"{user.username} is the only admin of {project.name}; make someone "
                        "else admin first")


@transaction.atomic
def member_create(*, project: Project, username: str, role: str, email: str = "") -> User:
    """A new user, a member with this role, with no password yet: they choose one through
    the link set_password_token makes (no e-mail needed; the admin hands the link over)."""
    user = User(username=username, email=email)
    user.set_unusable_password()
    user.save()
    membership_set(project=project, user=user, role=role)
    return user


class LinkRefused(PermissionError):
    """No set-password link for this user from this admin; the message says why."""


def set_password_token(*, user: User, by: User) -> tuple[str, str]:
    """(uidb64, token) for Django's set-password page. One use: the token is made from the
    password hash and last login, so it stops working once a password is set; it also
    expires after PASSWORD_RESET_TIMEOUT. Only for users who have never had a password, so a
    project admin can never take over an account that already works; and only by a superuser
    or by an admin of every project the user belongs to, so that the admin of one project
    cannot choose the password of another project's new member."""
    if user.has_usable_password() or user.is_superuser or user.is_staff:
        raise LinkRefused(f"{user.username} already has a password; they log in with it.")
    if not by.is_superuser:
        theirs = set(Membership.objects.filter(user=user).values_list("project_id", flat=True))
        mine = set(Membership.objects.filter(user=by, role=Role.ADMIN)
                   .values_list("project_id", flat=True))
        if not theirs or theirs - mine:
            raise LinkRefused(
                f"{user.username} is also a member of a project you do not administer; an "
                "admin of all their projects, or a superuser, can make their link.")
    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)
