"""Planning an import: the whole file checked against itself and the database, nothing
written. The file is read twice, row by row: once to check every row, once (only when no row
is bad) to write. Large files never sit in memory whole.
"""

import dataclasses
import datetime
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..models import Patient, Project, Report
from . import formats
from .checks import ParsedRow, RowChecker, RowError, unstorable
from .columns import REQUIRED_FIELDS, ColumnMapping, guess_mapping
from .formats import Header, ImportFormatError, RawRow

# Said in the preview when a file has no column for these (columns.REQUIRED_FIELDS).
ABSENT_FIELD_NOTES = {
    "patient_id": "No patient id column: each report is taken as its own patient (its "
                  "accession as the patient id).",
    "sex": "No sex column: sex is recorded as U (unknown).",
    "age": "No age column: age is left empty.",
}
PREVIEW_ROWS = 10
LOOKUP_CHUNK = 2000


@dataclass
class ImportPlan:
    filename: str
    sha256: str = ""
    rows: int = 0
    new_reports: int = 0
    unchanged: int = 0
    new_labels: int = 0
    # New reports without a procedure date (a format that may leave it out), and reports
    # already here without one that this file gives one.
    undated: int = 0
    dates_added: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    # How the file's columns were read (guessed, remembered or chosen in the preview).
    mapping: ColumnMapping | None = None
    unit: str = "line"
    # The first data row as the file has it (values cut short), shown beside the mapping.
    sample: dict = field(default_factory=dict)
    # (line, accession, split stored, split in the file) for reports already here
    splits_not_applied: list[tuple[int, str, str, str]] = field(default_factory=list)
    # Problems found in all, when only the first ones were kept (a plan a worker stored).
    errors_total: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_count(self) -> int:
        return max(self.errors_total, len(self.errors))

    # A plan checked by a worker is kept on its job for the page to show; the first
    # problems are plenty to fix a file by, and keep the row small.
    KEPT_ERRORS = 2000

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["errors"] = [dataclasses.asdict(e) for e in self.errors[:self.KEPT_ERRORS]]
        data["errors_total"] = self.error_count
        data["mapping"] = self.mapping.to_dict() if self.mapping else None
        data["preview"] = [{k: v.isoformat() if isinstance(v, datetime.date) else v
                            for k, v in row.items()} for row in self.preview]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ImportPlan":
        names = {f.name for f in dataclasses.fields(cls)}
        plan = cls(**{k: v for k, v in data.items() if k in names})
        plan.errors = [RowError(**e) for e in data.get("errors", [])]
        plan.mapping = ColumnMapping.from_dict(data["mapping"]) if data.get("mapping") else None
        plan.preview = [{**row, "procedure_date": datetime.date.fromisoformat(
            row["procedure_date"]) if row.get("procedure_date") else None}
            for row in data.get("preview", [])]
        plan.splits_not_applied = [tuple(x) for x in data.get("splits_not_applied", [])]
        return plan

    @property
    def changes_nothing(self) -> bool:
        return self.ok and self.new_reports == 0 and self.new_labels == 0 and not self.dates_added


def iter_checked_rows(path: Path, fmt: str, checker: RowChecker, plan: ImportPlan,
                      mapping: ColumnMapping | None = None):
    """Yield parsed rows; file-level and row-level problems go into plan.errors/warnings.

    Without a mapping the columns are guessed from the header (ctir's own names first, then
    the project's last mapping, then common export names); plan.mapping says what was used.
    """
    reader = formats.reader_named(fmt)
    plan.unit = reader.unit
    date_source = (mapping.source("procedure_date") or (None,))[0] if mapping else None
    for item in reader.rows(path, date_source):
        if isinstance(item, RowError):
            plan.errors.append(dataclasses.replace(item, unit=plan.unit))
        elif isinstance(item, Header):
            mapping = _read_header(item, reader, checker, plan, mapping)
            if mapping is None:
                return
        elif row := _checked_row(item, reader, checker, plan, mapping):
            yield row


def _read_header(header: Header, reader: formats.Reader, checker: RowChecker,
                 plan: ImportPlan, mapping: ColumnMapping | None) -> ColumnMapping | None:
    """The mapping the rows are read by, or None when the file lacks a required column."""
    columns = header.columns
    plan.columns = columns
    plan.unit = header.unit or plan.unit
    mapping = mapping or guess_mapping(columns, checker.project.import_mapping)
    plan.mapping = mapping
    checker.date_format = mapping.date_format
    missing = mapping.missing(columns)
    for column in missing:
        plan.errors.append(RowError(max(header.line, 1), column, (
            "missing column" + ("" if reader.columns_per_row else
                                "; map a column of the file to it")), plan.unit))
    if missing:
        return None
    unknown = [c for c in columns if c not in mapping.used_columns()]
    if unknown:
        plan.warnings.append("Ignored unknown columns: " + ", ".join(unknown))
    checker.patient_from_accession = not mapping.source("patient_id")
    checker.dates_optional = header.dates_optional
    plan.warnings += [note for name, note in ABSENT_FIELD_NOTES.items()
                      if not mapping.source(name)]
    if header.note:
        plan.warnings.append(header.note)
    return mapping


def _checked_row(raw: RawRow, reader: formats.Reader, checker: RowChecker, plan: ImportPlan,
                 mapping: ColumnMapping) -> ParsedRow | None:
    line, record = raw.line, raw.values
    if not plan.sample:
        # An empty cell shows empty, never as the word None.
        plan.sample = {k: "" if v is None else str(v)[:80] for k, v in record.items()}
    if reader.columns_per_row:
        missing = [c for c in REQUIRED_FIELDS
                   if not any(s in record for s in mapping.source(c))]
        for column in missing:
            plan.errors.append(RowError(line, mapping.label(column), "missing column"))
        if missing:
            return None
    # Checked before the mapping joins text sections, which would write an object
    # inside one as its Python repr.
    raw_problems = [RowError(line, column, problem, plan.unit)
                    for column in sorted(mapping.used_columns())
                    if (problem := unstorable(record.get(column)))]
    if raw_problems:
        plan.errors.extend(raw_problems)
        return None
    row, errors = checker.parse(line, mapping.apply(record))
    plan.errors.extend(
        dataclasses.replace(e, column=mapping.label(e.column), unit=plan.unit)
        for e in errors)
    return row


def plan_import(project: Project, path: Path, filename: str | None = None,
                mapping: ColumnMapping | None = None, progress=None, sink=None) -> ImportPlan:
    """Check the whole file against itself and the database; write nothing.

    ``progress("checking", rows checked)`` is called after every chunk, if given.
    ``sink(rows)``, if given, gets every chunk of rows once checked, so that an import can
    stage them in the same pass (it writes nothing if the plan then has problems)."""
    filename = filename or path.name
    plan = ImportPlan(filename=filename)
    try:
        fmt = formats.file_format(filename, path)
        plan.sha256 = _sha256(path)
        checker = RowChecker(project)
        rows = iter_checked_rows(path, fmt, checker, plan, mapping)
        _check_against_file_and_database(project, rows, plan, progress, sink)
    except ImportFormatError as exc:
        # Files are staged under a name of ctir's own; the admin knows theirs.
        plan.errors.append(RowError(exc.line, "", str(exc).replace(path.name, filename)))
    if plan.rows == 0 and not plan.errors:
        plan.errors.append(RowError(0, "", f"{filename}: no report rows found"))
    if plan.unit != "line":  # file-level problems (line 0) stay as they are
        plan.errors = [dataclasses.replace(e, unit=plan.unit) if e.line else e
                       for e in plan.errors]
    return plan


def read_header(path: Path, fmt: str) -> list[str]:
    """The file's column names (for the mapping form), or [] if it has none readable."""
    try:
        for item in formats.reader_named(fmt).rows(path):
            if isinstance(item, Header):
                return item.columns
            if isinstance(item, RawRow):
                return list(item.values)
    except ImportFormatError:
        pass
    return []


def _check_against_file_and_database(project, rows, plan: ImportPlan, progress=None,
                                     sink=None):
    first_line_of: dict[str, int] = {}
    patient_sex: dict[str, tuple[str, int]] = {}
    pending: list[ParsedRow] = []

    def flush():
        _check_chunk_against_database(project, pending, plan)
        if sink is not None:
            sink(pending)
        pending.clear()
        if progress is not None:
            progress("checking", plan.rows)

    for row in rows:
        plan.rows += 1
        if len(plan.preview) < PREVIEW_ROWS:
            plan.preview.append(preview_entry(row))
        if row.accession in first_line_of:
            plan.errors.append(RowError(
                row.line, "accession",
                f"duplicate accession {row.accession!r} "
                f"(first on line {first_line_of[row.accession]})",
            ))
            continue
        first_line_of[row.accession] = row.line
        known = patient_sex.get(row.patient_id)
        if known and "U" not in (known[0], row.sex) and known[0] != row.sex:
            plan.errors.append(RowError(
                row.line, "sex",
                f"patient {row.patient_id} is {row.sex} here but {known[0]} on line {known[1]}",
            ))
        elif not known or known[0] == "U":
            patient_sex[row.patient_id] = (row.sex, row.line)
        pending.append(row)
        if len(pending) >= LOOKUP_CHUNK:
            flush()
    flush()
    if plan.undated:
        plan.warnings.append(undated_note(plan.undated))
    if plan.splits_not_applied:
        plan.warnings.append(splits_warning(plan.splits_not_applied))


def splits_warning(splits_not_applied: list[tuple[int, str, str, str]]) -> str:
    examples = "; ".join(
        f"line {line}: accession {accession!r} is in {stored}, the file says {given}"
        for line, accession, stored, given in splits_not_applied[:5]
    )
    more = "; ..." if len(splits_not_applied) > 5 else ""
    count = len(splits_not_applied)
    return (f"Split not applied to {count} report{'s' if count != 1 else ''} already here "
            f"({examples}{more}); splits of existing reports change only with "
            "manage.py assign_splits")


def preview_entry(row: ParsedRow) -> dict:
    """How the import preview shows one of the file's first rows."""
    return {"line": row.line, "accession": row.accession, "patient_id": row.patient_id,
            "procedure_date": row.procedure_date, "label": row.label, "split": row.split,
            "text": row.text[:160]}


def undated_note(count: int) -> str:
    reports = f"{count:,} report{'s' if count != 1 else ''}"
    return (f"{reports} without a procedure date will be imported without one. They are "
            "labelled and pre-labelled as any other, but stay out of the chronological split "
            "(train, validation, test by date) until they have a date: import the file "
            "again with their dates, which fills in a missing date and changes nothing else.")


def _check_chunk_against_database(project, rows: list[ParsedRow], plan: ImportPlan):
    if not rows:
        return
    existing = {
        accession: (text, code, method, split, date)
        for accession, text, code, method, split, date in Report.objects.filter(
            project=project, accession__in=[r.accession for r in rows]
        ).values_list(
            "accession", "text", "reference_label__category__code", "reference_label__method",
            "split", "procedure_date",
        )
    }
    patients = dict(
        Patient.objects.filter(
            project=project, pseudo_id__in={r.patient_id for r in rows}
        ).values_list("pseudo_id", "sex")
    )
    for row in rows:
        sex = patients.get(row.patient_id)
        if sex and "U" not in (sex, row.sex) and sex != row.sex:
            plan.errors.append(RowError(
                row.line, "sex", f"patient {row.patient_id} is already recorded as {sex}",
            ))
        if row.accession not in existing:
            plan.new_reports += 1
            plan.new_labels += row.label is not None
            plan.undated += row.procedure_date is None
            continue
        text, code, method, split, date = existing[row.accession]
        if text.strip() != row.text:
            plan.errors.append(RowError(
                row.line, "text",
                f"accession {row.accession!r} already exists with a different text",
            ))
            continue
        plan.unchanged += 1
        plan.dates_added += date is None and row.procedure_date is not None
        if row.split is not None and row.split != split:
            plan.splits_not_applied.append((row.line, row.accession, split, row.split))
        if row.label is None:
            continue
        if code is None:
            plan.new_labels += 1
        elif code != row.label:
            plan.errors.append(RowError(
                row.line, "label",
                f"accession {row.accession!r} already has reference label {code} ({method}); "
                f"the file says {row.label}. Change it on the report page, with a reason",
            ))


def estimate_data_rows(path: Path) -> int:
    """estimate_rows less a header line: what a job or a preview is sized by."""
    reader = formats.reader_for_file(path)
    return max(estimate_rows(path) - (reader.header_lines if reader else 0), 1)


def estimate_rows(path: Path) -> int:
    """About how many rows the file holds, for a progress bar's first guess before the check
    has counted them: its line breaks (a quoted field over several lines makes it a little
    high), or what its format measures instead (a workbook, from what it expands to)."""
    reader = formats.reader_for_file(path)
    return reader.estimate_rows(path) if reader else formats.count_lines(path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
