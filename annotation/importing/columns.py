"""Which columns of an export feed ctir's fields, and how its dates are written.

Hospital exports do not use ctir's column names ("Accession No", "Exam Date", a report split
into "Findings" and "Impression"), so a file is read through a ColumnMapping. The mapping is
guessed from common names, shown and changed in the import preview, and remembered per
project. The date format is never guessed: DD/MM/YYYY and MM/DD/YYYY read 03/04/2020 as two
different days, so the file says which it uses or dates must be ISO (YYYY-MM-DD).
"""

import datetime
import re
from dataclasses import dataclass, field

FIELDS = ("accession", "patient_id", "sex", "age", "procedure_date", "text", "label", "split")
# A RIS export may lack the patient's id, sex or age; a report cannot be read without its
# text, an id of its own and its date.
REQUIRED_FIELDS = ("accession", "procedure_date", "text")
FIELD_LABELS = {
    "accession": "Accession", "patient_id": "Patient id (optional)", "sex": "Sex (optional)",
    "age": "Age (optional)",
    "procedure_date": "Procedure date", "text": "Report text", "label": "Label (optional)",
    "split": "Split (optional)",
}

DATE_FORMATS = {"iso": "YYYY-MM-DD", "dmy": "DD/MM/YYYY", "mdy": "MM/DD/YYYY"}

# Names seen in RIS/PACS exports, compared after _normal() (lower case, words only).
SYNONYMS = {
    "accession": ("accession", "accession no", "accession number", "accession nr", "acc no",
                  "accno", "acc", "accession id", "exam id", "study id", "exam number"),
    "patient_id": ("patient id", "patientid", "patient no", "patient number", "mrn",
                   "medical record number", "hospital number", "pid", "patient"),
    "sex": ("sex", "gender", "patient sex"),
    "age": ("age", "patient age", "age at exam", "age years"),
    "procedure_date": ("procedure date", "exam date", "examination date", "study date",
                       "date of exam", "date of procedure", "date", "exam dt"),
    "text": ("text", "report", "report text", "full report", "report body", "narrative"),
    # Only ctir's own names: an export's "Category" or "Class" is often something else
    # (patient class, exam category), and a wrong guess here would refuse the whole file.
    "label": ("label",),
    "split": ("split",),
}
DATE_COLUMN_NAMES = frozenset(("procedure date", *SYNONYMS["procedure_date"]))
# With no whole-report column, these sections are joined, in the file's order.
TEXT_SECTIONS = ("findings", "impression", "conclusion")

# The time part a RIS often appends to a date ("2020-01-03 14:05", "03/01/2020 14:05:00").
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})" + _TIME, re.ASCII)
_SLASHED = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})" + _TIME, re.ASCII)


def _normal(name: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", str(name).lower()).split())


@dataclass(frozen=True)
class ColumnMapping:
    """field -> the file's column(s); only `text` may take several, joined in order."""

    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    date_format: str = "iso"

    def source(self, name: str) -> tuple[str, ...]:
        return self.columns.get(name, ())

    def label(self, name: str) -> str:
        """How an error names the column: the file's own name, and ctir's if different."""
        sources = self.source(name)
        if not sources or sources == (name,):
            return name
        return f"{' + '.join(sources)} ({name})"

    def describe(self) -> str:
        """'procedure_date <- Exam Date, text <- Findings + Impression; dates DD/MM/YYYY', naming
        only what differs from ctir's own layout ('' when nothing does)."""
        moved = [f"{name} <- {' + '.join(sources)}" for name, sources in self.columns.items()
                 if sources != (name,)]
        dates = f"dates {DATE_FORMATS[self.date_format]}" if self.date_format != "iso" else ""
        return "; ".join(part for part in (", ".join(moved), dates) if part)

    def used_columns(self) -> set[str]:
        return {column for sources in self.columns.values() for column in sources}

    def missing(self, header: list[str]) -> list[str]:
        present = set(header)
        return [name for name in REQUIRED_FIELDS
                if not self.source(name) or not set(self.source(name)) <= present]

    def apply(self, record: dict) -> dict:
        """The record under ctir's field names; several text columns become one text."""
        out = {}
        for name, sources in self.columns.items():
            if name == "text" and len(sources) > 1:
                parts = [(s, record.get(s)) for s in sources]
                out[name] = "\n\n".join(f"{s}: {str(v).strip()}" for s, v in parts
                                        if v is not None and str(v).strip())
            elif sources:
                out[name] = record.get(sources[0])
        return out

    def to_dict(self) -> dict:
        return {"columns": {k: list(v) for k, v in self.columns.items()},
                "date_format": self.date_format}

    @classmethod
    def from_dict(cls, data: dict | None) -> "ColumnMapping":
        data = data or {}
        columns = {k: tuple(str(c) for c in v) for k, v in (data.get("columns") or {}).items()
                   if k in FIELDS and isinstance(v, list | tuple)}
        date_format = data.get("date_format")
        return cls(columns, date_format if date_format in DATE_FORMATS else "iso")


def guess_mapping(header: list[str], remembered: dict | None = None) -> ColumnMapping:
    """The mapping for a file with this header: what the project used before where this file
    has those columns, else ctir's own names, else common export names."""
    by_normal: dict[str, str] = {}
    for column in header:
        by_normal.setdefault(_normal(column), column)
    before = ColumnMapping.from_dict(remembered)
    present = set(header)
    columns: dict[str, tuple[str, ...]] = {}
    for name in FIELDS:
        if before.source(name) and set(before.source(name)) <= present:
            columns[name] = before.source(name)
            continue
        for synonym in (name.replace("_", " "), *SYNONYMS[name]):
            if synonym in by_normal:
                columns[name] = (by_normal[synonym],)
                break
    if "text" not in columns:
        sections = [c for c in header if _normal(c) in TEXT_SECTIONS]
        if sections:
            columns["text"] = tuple(sections)
    # One file column feeds one field; the earlier field in FIELDS keeps it.
    taken: set[str] = set()
    for name in FIELDS:
        if name in columns and taken & set(columns[name]):
            del columns[name]
        elif name in columns:
            taken |= set(columns[name])
    # The date format remembered goes with the date column it was chosen for: a file in
    # ctir's own layout after a DD/MM/YYYY export is read as ISO again.
    same_dates = bool(before.source("procedure_date")) and (
        columns.get("procedure_date") == before.source("procedure_date"))
    return ColumnMapping(columns, before.date_format if same_dates else "iso")


class DateProblem(ValueError):
    pass


def parse_date(value, date_format: str) -> datetime.date:
    """A calendar date in the chosen format; a spreadsheet's own date cell is taken as is."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    raw = "" if value is None else str(value).strip()
    expected = DATE_FORMATS[date_format]
    if date_format == "iso":
        match = _ISO.fullmatch(raw)
        parts = match and (match.group(1), match.group(2), match.group(3))
    else:
        match = _SLASHED.fullmatch(raw)
        first, second, year = match.groups() if match else (None, None, None)
        parts = match and ((year, second, first) if date_format == "dmy" else (year, first, second))
    hint = ""
    if not match and date_format == "iso" and _SLASHED.fullmatch(raw):
        hint = ("; if the file writes dates as DD/MM/YYYY or MM/DD/YYYY, choose that date "
                "format")
    elif not match and date_format != "iso" and _ISO.fullmatch(raw):
        hint = "; this date is ISO, choose the YYYY-MM-DD date format"
    if not match:
        raise DateProblem(f"bad date {raw!r} (expected {expected}){hint}")
    try:
        return datetime.date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise DateProblem(f"bad date {raw!r} (expected {expected}); no such day") from None
