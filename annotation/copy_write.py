"""Checked import rows into the tables on PostgreSQL: streamed with COPY into a staging table,
then written with a few set-based statements.

This is annotation.services.reports_write's PostgreSQL path (other databases take the ORM's
chunked path there); it writes exactly what that path writes. An import builds no model
instance per row and sends no INSERT per batch: 100,000 rows were 60% of an import's time
through the ORM. Memory stays flat, as the rows stream from the file to the server.
"""

from collections.abc import Callable, Iterable

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from .importing.checks import ParsedRow
from .models import (
    Category,
    ImportBatch,
    LabelMethod,
    Patient,
    Project,
    ReferenceLabel,
    ReferenceLabelChange,
    Report,
    Split,
)

STAGING = "ctir_import_rows"
PROGRESS_EVERY = 5000


def _tables() -> dict:
    qn = connection.ops.quote_name
    return {"patient": qn(Patient._meta.db_table), "report": qn(Report._meta.db_table),
            "category": qn(Category._meta.db_table), "label": qn(ReferenceLabel._meta.db_table),
            "change": qn(ReferenceLabelChange._meta.db_table), "staging": qn(STAGING)}


class StagedRows:
    """A temporary staging table for one import, in the caller's transaction: rows are
    streamed into it while they are read and checked, then write_tables() writes them to
    the tables."""

    def __init__(self, progress: Callable[[int], None] | None = None):
        self.count = 0
        self.progress = progress
        self.t = _tables()

    def __enter__(self):
        self.cursor = connection.cursor()
        self.cursor.execute(f"DROP TABLE IF EXISTS {self.t['staging']}")
        self.cursor.execute(
            f"CREATE TEMPORARY TABLE {self.t['staging']} (line integer, accession text, "
            "patient_id text, sex text, age smallint, procedure_date date, text text, "
            "label integer, split text) ON COMMIT DROP")
        return self

    def __exit__(self, *exc_info):
        self.cursor.close()

    def clear(self) -> None:
        """Empty the table (a fast path that gave up hands it to the row-by-row one)."""
        self.cursor.execute(f"TRUNCATE {self.t['staging']}")
        self.count = 0

    def write(self, rows: Iterable[ParsedRow]) -> None:
        """Stream rows into the table (one COPY; the connection runs nothing else meanwhile,
        so a caller that also queries, as the import's check does, sends chunks)."""
        with self.cursor.copy(f"COPY {self.t['staging']} FROM STDIN") as copy:
            for row in rows:
                copy.write_row((row.line, row.accession, row.patient_id, row.sex, row.age,
                                row.procedure_date, row.text, row.label, row.split))
                self.count += 1
                if self.progress is not None and self.count % PROGRESS_EVERY == 0:
                    self.progress(self.count)

    def write_tables(self, *, project: Project, batch: ImportBatch | None, user: User | None,
                     reason: str, unlabelled_scope: bool) -> tuple[int, int, int]:
        """New patients (sex and age from their earliest report, a known sex over "U"), new
        reports, and an imported label for each report without one. Returns (reports
        created, labels created, rows already present)."""
        t, cursor, now = self.t, self.cursor, timezone.now()
        cursor.execute(f"ANALYZE {t['staging']}")
        user_id = user.pk if user else None
        # The earliest report (file order among equal dates) gives a new patient's age and
        # sex; a later one gives the sex when the earliest did not know it.
        cursor.execute(
            f"""INSERT INTO {t['patient']} (project_id, pseudo_id, sex, age)
            SELECT %s, s.patient_id,
                   COALESCE((array_agg(s.sex ORDER BY s.procedure_date, s.line)
                             FILTER (WHERE s.sex <> 'U'))[1], 'U'),
                   (array_agg(s.age ORDER BY s.procedure_date, s.line))[1]
            FROM {t['staging']} s
            WHERE NOT EXISTS (SELECT 1 FROM {t['patient']} p
                              WHERE p.project_id = %s AND p.pseudo_id = s.patient_id)
            GROUP BY s.patient_id
            ORDER BY min(s.line)""", [project.pk, project.pk])
        # A report imported without a date takes the date a later file gives it (filling a
        # blank, never changing a date it has).
        cursor.execute(
            f"""UPDATE {t['report']} r SET procedure_date = s.procedure_date
            FROM {t['staging']} s
            WHERE r.project_id = %s AND r.accession = s.accession
              AND r.procedure_date IS NULL AND s.procedure_date IS NOT NULL""", [project.pk])
        cursor.execute(
            f"""INSERT INTO {t['report']} (project_id, patient_id, accession, procedure_date,
                                          text, split, import_batch_id, created, in_queue)
            SELECT %s, p.id, s.accession, s.procedure_date, s.text,
                   COALESCE(s.split, %s), %s, %s, NOT (%s AND s.label IS NOT NULL)
            FROM {t['staging']} s
            JOIN {t['patient']} p ON p.project_id = %s AND p.pseudo_id = s.patient_id
            WHERE NOT EXISTS (SELECT 1 FROM {t['report']} r
                              WHERE r.project_id = %s AND r.accession = s.accession)
            ORDER BY s.line""",
            [project.pk, Split.UNASSIGNED, batch.pk if batch else None, now, unlabelled_scope,
             project.pk, project.pk])
        created = cursor.rowcount
        # A label for each report of the file that has none yet, its history row, and (when
        # the queue is for unlabelled reports) the report out of the queue: one statement.
        cursor.execute(
            f"""WITH labelled AS (
                INSERT INTO {t['label']} (report_id, category_id, method, set_by_id, updated)
                SELECT r.id, c.id, %s, %s, %s
                FROM {t['staging']} s
                JOIN {t['report']} r ON r.project_id = %s AND r.accession = s.accession
                JOIN {t['category']} c ON c.project_id = %s AND c.code = s.label
                WHERE s.label IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM {t['label']} l WHERE l.report_id = r.id)
                ORDER BY s.line
                RETURNING report_id, category_id
            ), dequeued AS (
                UPDATE {t['report']} SET in_queue = false
                WHERE %s AND in_queue AND id IN (SELECT report_id FROM labelled)
            )
            INSERT INTO {t['change']} (report_id, old_category_id, new_category_id, old_method,
                                       new_method, changed_by_id, changed_at, reason)
            SELECT report_id, NULL, category_id, '', %s, %s, %s, %s FROM labelled""",
            [LabelMethod.IMPORTED, user_id, now, project.pk, project.pk,
             unlabelled_scope, LabelMethod.IMPORTED, user_id, now, reason])
        labels = cursor.rowcount
        cursor.execute(f"DROP TABLE {t['staging']}")
        return created, labels, self.count - created


def rows_copy(*, project: Project, rows: Iterable[ParsedRow], batch: ImportBatch | None,
              user: User | None, reason: str, unlabelled_scope: bool,
              progress: Callable[[int], None] | None = None) -> tuple[int, int, int]:
    """Write rows already checked (see StagedRows.write_tables)."""
    with transaction.atomic(), StagedRows(progress) as staged:
        staged.write(rows)
        result = staged.write_tables(project=project, batch=batch, user=user, reason=reason,
                                     unlabelled_scope=unlabelled_scope)
    if progress is not None:
        progress(staged.count)
    return result
