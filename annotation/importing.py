"""Reading and checking report files (CSV, JSON Lines or Excel) before anything is written.

The file is read twice, row by row: once to check every row against the file itself and the
database, once (only when no row is bad) to write. Large files never sit in memory whole.
"""

import csv
import dataclasses
import datetime
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from django.conf import settings
from django.utils import timezone
from openpyxl.utils import get_column_letter

from .columns import (
    DATE_COLUMN_NAMES,
    ColumnMapping,
    DateProblem,
    _normal,
    guess_mapping,
    parse_date,
)
from .models import Category, Patient, Project, Report, Split

REQUIRED_COLUMNS = ("accession", "procedure_date", "text")
# Said in the preview when a file has no column for these (columns.REQUIRED_FIELDS).
ABSENT_FIELD_NOTES = {
    "patient_id": "No patient id column: each report is taken as its own patient (its "
                  "accession as the patient id).",
    "sex": "No sex column: sex is recorded as U (unknown).",
    "age": "No age column: age is left empty.",
}
FORMAT_SUFFIXES = {"csv": ".csv", "jsonl": ".jsonl", "xlsx": ".xlsx"}
SEX_VALUES = {
    "f": "F", "female": "F", "w": "F", "m": "M", "male": "M",
    "o": "O", "other": "O", "u": "U", "unknown": "U", "": "U",
}
SPLIT_VALUES = {
    "train": Split.TRAIN, "training": Split.TRAIN, "val": Split.VALIDATION,
    "valid": Split.VALIDATION, "validation": Split.VALIDATION, "test": Split.TEST,
    "unassigned": Split.UNASSIGNED, "": None,
}
PREVIEW_ROWS = 10
# One limit for both formats (README, Import rules). The CSV parser stops any field at
# csv.field_size_limit() (131,072), so the limit must stay below that.
MAX_TEXT_CHARS = 100_000
MAX_JSONL_LINE_CHARS = 1_000_000
# Accepted ranges (README, Import rules): a procedure date from 1970-01-01 to today, written
# YYYY-MM-DD (no week or ordinal dates); an age in whole years from 0 to 120 ("45.0" is 45,
# "45.9" is refused rather than cut to 45).
EARLIEST_DATE = datetime.date(1970, 1, 1)
_WHOLE_AGE = re.compile(r"(\d{1,3})(?:\.0+)?", re.ASCII)
LOOKUP_CHUNK = 2000


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (unknown format, no header, not UTF-8); `line`
    where one line is to blame (0: the file as a whole)."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str
    unit: str = "line"  # "row" in a spreadsheet, as Excel numbers them

    def __str__(self):
        where = f"{self.unit} {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass
class ParsedRow:
    line: int
    accession: str
    patient_id: str
    sex: str
    age: int | None
    procedure_date: datetime.date
    text: str
    label: int | None
    split: str | None


@dataclass
class ImportPlan:
    filename: str
    sha256: str = ""
    rows: int = 0
    new_reports: int = 0
    unchanged: int = 0
    new_labels: int = 0
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
        return self.ok and self.new_reports == 0 and self.new_labels == 0


def file_format(filename: str) -> str:
    name = filename.lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith(".xlsx"):
        return "xlsx"
    if name.endswith(".xls"):
        raise ImportFormatError(f"{filename}: the old Excel format (.xls) cannot be read; save "
                                "it as .xlsx (Excel Workbook) or as CSV UTF-8")
    raise ImportFormatError(f"{filename}: unknown file type; use .csv, .jsonl (JSON Lines) or "
                            ".xlsx (Excel)")


def _raw_records(path: Path, fmt: str, date_source: str | None = None,
                 ) -> Iterator[tuple[int, dict | None, "str | RowError"]]:
    """Yield (line number, record or None, problem) for every data row of the file."""
    if fmt == "xlsx":
        yield from _xlsx_records(path)
        return
    # utf-8-sig drops a byte-order mark when there is one and is plain UTF-8 otherwise.
    with open(path, encoding="utf-8-sig", errors="strict", newline="") as handle:
        try:
            if fmt == "csv":
                yield from _csv_records(handle, date_source)
            else:
                yield from _jsonl_records(handle)
        except UnicodeDecodeError as exc:
            line, column = _first_bad_utf8(path)
            raise ImportFormatError(
                f"{path.name}: not UTF-8 text (line {line}, byte {column} of the line); save "
                "the file as UTF-8", line=line) from exc


def _first_bad_utf8(path: Path) -> tuple[int, int]:
    """Line and byte (from 1) of the first byte that is not UTF-8: the decoder's own offset
    counts from its buffer, not from the file."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, exc.start + 1
    return 0, 0


class _LineTap:
    """Feeds the CSV reader line by line and keeps the raw lines of the current record."""

    def __init__(self, handle):
        self.handle = handle
        self.lines: list[str] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self.handle)
        self.lines.append(line)
        return line


# RFC 4180: a field is either quoted (a quote inside doubled) or holds no quote at all.
_WELL_QUOTED_RECORD = re.compile(
    r'(?:"[^"]*(?:""[^"]*)*"|[^",\r\n]*)(?:,(?:"[^"]*(?:""[^"]*)*"|[^",\r\n]*))*(?:\r?\n)?'
)
# A date as a row of its own would start it (ISO or DD/MM/YYYY-like, maybe with a time).
_ISO_DATE = re.compile(r"\s*(?:\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{4})(?:[ T][\d:.]+)?\s*",
                       re.ASCII)


def _csv_records(handle: io.TextIOBase, date_source: str | None = None):
    tap = _LineTap(handle)
    reader = csv.reader(tap, strict=True)
    try:
        header = next(reader, None)
    except csv.Error:
        header = None
        yield 1, None, _quote_problem(tap.lines, 1, []) or "unreadable CSV header"
        return
    if not header:
        raise ImportFormatError("the file is empty; expected a header line")
    header = [h.strip() for h in header]
    if twice := _repeated_column(header, "line"):
        yield 1, None, twice
        return
    # The date columns tell a row of its own from a line inside a quoted text.
    date_at = [i for i, h in enumerate(header)
               if h == date_source or _normal(h) in DATE_COLUMN_NAMES]
    yield 1, {"__header__": header}, ""
    while True:
        start = reader.line_num + 1
        tap.lines = []
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field limit" in str(exc):
                yield start, None, _field_too_long(tap.lines, start, header)
                return
            yield start, None, _quote_problem(tap.lines, start, header) or (
                f"unreadable CSV ({exc}); the rest of the file was not read")
            return
        problem = _record_problem(tap.lines, start, header, date_at)
        if problem:
            yield start, None, problem
            continue
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            yield start, None, f"{len(values)} fields where the header has {len(header)}"
            continue
        yield start, dict(zip(header, values, strict=True)), ""


def _repeated_column(header: list[str], unit: str) -> "RowError | None":
    """A header naming one column twice: which copy was meant cannot be known (a dict would
    silently keep the last), so the file is refused with both positions."""
    seen: dict[str, int] = {}
    for index, name in enumerate(header):
        if name and name in seen:
            return RowError(1, name, (
                f"column {name!r} appears twice in the header (columns "
                f"{get_column_letter(seen[name] + 1)} and {get_column_letter(index + 1)}); "
                "rename or remove one"), unit=unit)
        seen.setdefault(name, index)
    return None


def _field_too_long(lines: list[str], start: int, header: list[str]) -> "RowError":
    field, in_quotes, length, limit = 0, False, 0, csv.field_size_limit()
    for ch in "".join(lines):
        if ch == '"':
            in_quotes = not in_quotes
        elif ch == "," and not in_quotes:
            field, length = field + 1, 0
        length += 1
        if length > limit:
            break
    column = header[field] if field < len(header) else f"field {field + 1}"
    return RowError(start, column, (
        f"a field longer than {csv.field_size_limit():,} characters; report text is limited "
        f"to {MAX_TEXT_CHARS:,} characters (the rest of the file was not read)"))


def _record_problem(lines: list[str], start: int, header: list[str],
                    date_at: list[int]) -> "RowError | None":
    """A quote out of place, or a quoted field that swallowed what looks like other rows."""
    if not any('"' in line for line in lines):
        return None
    if not _WELL_QUOTED_RECORD.fullmatch("".join(lines)):
        return _quote_problem(lines, start, header)
    if len(lines) > 1 and date_at:
        for offset, line in enumerate(lines[1:], start=1):
            fields = next(csv.reader([line]), [])
            if len(fields) == len(header) and any(_ISO_DATE.fullmatch(fields[i])
                                                  for i in date_at):
                opened = _quote_problem(lines, start, header, find_opening=True) or RowError(
                    start, "", "a quoted field")
                return RowError(
                    start, opened.column,
                    f"{opened.reason} runs on to line {start + len(lines) - 1} and takes in "
                    f"line {start + offset}, which looks like a row of its own; close the "
                    f"quote on line {start}, or write a quote inside a field as \"\"",
                )
    return None


def _quote_problem(lines: list[str], start: int, header: list[str],
                   find_opening: bool = False) -> "RowError | None":
    """Walk one record's raw text and say where its quoting goes wrong.

    Only called for records already known to be bad (or, with find_opening, to name the
    multi-line quoted field), so a plain character loop is fast enough.
    """
    text = "".join(lines)

    def column(index):
        return header[index] if index < len(header) else f"field {index + 1}"

    line, char, field = start, 0, 0
    opened = None  # (line, character, field) of the quote that opened the current field
    at_field_start, in_quotes, i = True, False, 0
    while i < len(text):
        ch = text[i]
        char += 1
        if in_quotes:
            if ch == '"':
                after = text[i + 1:i + 2]
                if after == '"':
                    i, char = i + 2, char + 1
                    continue
                in_quotes = False
                if after not in (",", "\r", "\n", ""):
                    if opened[0] == line:
                        reason = (f"text after the closing quote at character {char}; write a "
                                  f"quote inside a quoted field as \"\"")
                    else:
                        reason = (f"the quote opened at character {opened[1]} runs on to line "
                                  f"{line}, where text follows the quote at character {char}; "
                                  f"close the quote on line {opened[0]}, or write a quote "
                                  f"inside a field as \"\"")
                    return RowError(opened[0], column(opened[2]), reason)
                if find_opening and opened[0] != line:
                    return RowError(opened[0], column(opened[2]),
                                    f"the quote opened at character {opened[1]}")
        elif ch == '"':
            if not at_field_start:
                return RowError(line, column(field), (
                    f"a quote at character {char} inside an unquoted field; put the field in "
                    f"quotes and write the quote as \"\""))
            in_quotes, opened = True, (line, char, field)
        elif ch == ",":
            field += 1
            at_field_start = True
            i += 1
            continue
        if ch == "\n":
            line, char = line + 1, 0
        at_field_start = False
        i += 1
    if in_quotes:
        return RowError(opened[0], column(opened[2]), (
            f"the quote opened at character {opened[1]} is never closed; close it, or write a "
            f"quote inside a field as \"\" (the rest of the file was not read)"))
    return None


def _bounded_lines(handle: io.TextIOBase) -> Iterator[str | None]:
    """Lines of the file, or None for a line too long to hold in memory (skipped unread)."""
    while line := handle.readline(MAX_JSONL_LINE_CHARS + 1):
        if len(line) <= MAX_JSONL_LINE_CHARS or line.endswith("\n"):
            yield line
            continue
        while (rest := handle.readline(MAX_JSONL_LINE_CHARS)) and not rest.endswith("\n"):
            pass
        yield None


class _RepeatedKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key[:60]


def _no_repeated_keys(pairs: list[tuple[str, object]]) -> dict:
    """json.loads keeps the last of two equal keys; ctir refuses the object instead."""
    record = dict(pairs)
    if len(record) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)
    return record


def _jsonl_records(handle: io.TextIOBase):
    seen_columns: list[str] = []
    for number, line in enumerate(_bounded_lines(handle), start=1):
        if line is None:
            yield number, None, (f"line longer than {MAX_JSONL_LINE_CHARS:,} characters (report "
                                 f"text is limited to {MAX_TEXT_CHARS:,})")
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line, object_pairs_hook=_no_repeated_keys)
        except _RepeatedKey as exc:
            yield number, None, RowError(number, exc.key, f"key {exc.key!r} appears twice in "
                                         "this object; keep one")
            continue
        except json.JSONDecodeError as exc:
            yield number, None, f"not valid JSON (column {exc.colno}: {exc.msg})"
            continue
        except RecursionError:
            yield number, None, "JSON nested too deeply; a line must be one flat JSON object"
            continue
        except ValueError as exc:  # e.g. an integer longer than Python converts
            yield number, None, f"not valid JSON ({exc})"
            continue
        if not isinstance(record, dict):
            yield number, None, "each line must be one JSON object"
            continue
        record = {str(k).strip(): v for k, v in record.items()}
        if not seen_columns:
            seen_columns = list(record)
            yield 0, {"__header__": seen_columns}, ""
        yield number, record, ""


# A part this small is never worth refusing, however well it compresses (styles, themes).
_XLSX_RATIO_FLOOR = 4 * 1024 * 1024
_XLSX_MAX_PARTS = 10_000
_MB = 1024 * 1024


@dataclass(frozen=True)
class WorkbookSize:
    expanded: int  # bytes, all parts
    sheet: int  # bytes of the first worksheet's XML
    dimension_rows: int | None  # the rows the sheet says it spans, when it says


def xlsx_check(path: Path) -> WorkbookSize:
    """Refuse a workbook that would cost more to open than any export should, from the zip's
    directory alone (milliseconds): openpyxl reads shared strings whole and a sheet's XML
    row by row, so a 1 MB file that expands to 400 MB would hold a request for minutes.

    The sizes in the directory are safe to trust: Python's zipfile never inflates a part
    past the size its directory gives (and fails on a CRC mismatch)."""
    name = path.name
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            if len(parts) > _XLSX_MAX_PARTS:
                raise ImportFormatError(f"{name}: {len(parts):,} parts in the workbook's zip; "
                                        "an export has a few dozen. Save it as CSV UTF-8")
            expanded = sum(p.file_size for p in parts)
            limit = settings.CTIR_XLSX_MAX_EXPANDED_BYTES
            if expanded > limit:
                raise ImportFormatError(
                    f"{name} expands to {expanded / _MB:,.0f} MB when opened; workbooks are "
                    f"read up to {limit / _MB:,.0f} MB expanded (CTIR_XLSX_MAX_EXPANDED_MB). "
                    "Save it as CSV UTF-8 and import that, or split it")
            ratio = settings.CTIR_XLSX_MAX_RATIO
            for part in parts:
                if part.file_size > max(_XLSX_RATIO_FLOOR, ratio * part.compress_size):
                    raise ImportFormatError(
                        f"{name}: its part {part.filename[:60]} expands "
                        f"{part.file_size / max(part.compress_size, 1):,.0f} times "
                        f"({part.compress_size:,} bytes to {part.file_size / _MB:,.0f} MB); "
                        f"a workbook compressed over {ratio} times is refused as a "
                        "decompression bomb. Save it as CSV UTF-8 if it is a real export")
            sheets = sorted((p for p in parts if p.filename.startswith("xl/worksheets/")
                             and p.filename.endswith(".xml")),
                            key=lambda p: (p.filename != "xl/worksheets/sheet1.xml",
                                           p.filename))
            sheet = sheets[0] if sheets else None
            dimension = _dimension_rows(archive, sheet) if sheet else None
    except zipfile.BadZipFile as exc:
        raise ImportFormatError(
            f"not a readable .xlsx workbook ({type(exc).__name__}); save it again from Excel as "
            ".xlsx, or as CSV UTF-8") from exc
    return WorkbookSize(expanded, sheet.file_size if sheet else 0, dimension)


_DIMENSION = re.compile(rb'<dimension ref="[A-Z]{1,3}\d+:[A-Z]{1,3}(\d+)"')


def _dimension_rows(archive: zipfile.ZipFile, sheet: zipfile.ZipInfo) -> int | None:
    """The last row the sheet's <dimension> names (near the start of its XML), if any."""
    with archive.open(sheet) as handle:
        found = _DIMENSION.search(handle.read(4096))
    return int(found.group(1)) if found else None


def _xlsx_records(path: Path):
    """The first sheet of a workbook: its first row names the columns. Rows are numbered as
    Excel numbers them; date cells arrive as dates, whatever the date format chosen."""
    xlsx_check(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a damaged zip or XML fails in many ways, none of them ours
        raise ImportFormatError(
            f"not a readable .xlsx workbook ({type(exc).__name__}); save it again from Excel "
            "as .xlsx, or as CSV UTF-8") from exc
    try:
        sheet = book.worksheets[0]
        # The <dimension> a file declares is not trusted: openpyxl would pad every row out
        # to it, and "A1:XFD1048576" costs 17 billion empty cells.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
        cells_read, max_cells = 0, settings.CTIR_XLSX_MAX_CELLS  # the header row counts too
        first = next(rows, None)
        cells_read += len(first or ())
        cells = [("" if v is None else str(v)).strip() for v in (first or ())]
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            raise ImportFormatError(f"the first sheet ({sheet.title!r}) is empty; expected a "
                                    "header row")
        header = [c or f"column {get_column_letter(i + 1)}" for i, c in enumerate(cells)]
        if twice := _repeated_column(header, "row"):
            yield 1, None, twice
            return
        note = ""
        if len(book.worksheets) > 1:
            others = len(book.worksheets) - 1
            note = (f"Read the first sheet, {sheet.title!r}; {others} other "
                    f"sheet{'s' if others != 1 else ''} ignored")
        yield 1, {"__header__": header, "__note__": note}, ""
        for number, values in enumerate(rows, start=2):
            cells_read += len(values)
            if cells_read > max_cells:
                raise ImportFormatError(
                    f"{path.name}: more than {max_cells:,} cells on the first sheet (row "
                    f"{number:,}); save it as CSV UTF-8 and import that, or split it")
            values = [_cell(v) for v in values]
            if not any(v != "" for v in values):
                continue
            extra = [i for i, v in enumerate(values[len(header):], start=len(header)) if v != ""]
            if extra:
                yield number, None, RowError(number, get_column_letter(extra[0] + 1), (
                    f"a value in a column with no name in the header row (the header has "
                    f"{len(header)} columns)"), unit="row")
                continue
            values += [""] * (len(header) - len(values))
            yield number, dict(zip(header, values, strict=False)), ""
    finally:
        book.close()


def _cell(value):
    """A spreadsheet cell as the text a CSV export would hold; dates stay dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 45.0 -> "45", accession 123456.0 -> "123456"
    if isinstance(value, datetime.date):
        return value
    return value if isinstance(value, str) else str(value)


# PostgreSQL stores neither NUL nor a lone surrogate (JSON can spell both as \\u escapes).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable(value) -> str:
    """Why this raw value cannot be stored as text, or ''."""
    if isinstance(value, dict | list):
        kind = "a JSON object" if isinstance(value, dict) else "a JSON array"
        return f"expected a string or a number, not {kind}"
    if isinstance(value, bool):  # JSON true/false: would be stored as "True"
        return f"expected a string or a number, not {str(value).lower()}"
    if not isinstance(value, str):
        return ""
    found = _UNSTORABLE.search(value)
    if found is None:
        return ""
    char = found.group()
    what = "a NUL character" if char == "\x00" else "a lone surrogate"
    return (f"{what} (U+{ord(char):04X}) at character {found.start() + 1}, "
            "which the database cannot store; remove it")


def _text(value) -> str:
    if value is None:
        return ""
    return str(value).strip()


class RowChecker:
    """Turns raw records into ParsedRows, collecting every problem with its line and column."""

    def __init__(self, project: Project, date_format: str = "iso"):
        self.project = project
        self.date_format = date_format
        # Set from the mapping: with no patient id column, the accession stands in for it.
        self.patient_from_accession = False
        # A retired category is kept for the labels it has, but takes no new ones.
        everything = list(Category.objects.filter(project=project))
        self.categories = {c.code: c for c in everything if not c.retired}
        self.category_names = {c.name.lower(): c.code for c in self.categories.values()}
        self.retired = {key: c for c in everything if c.retired
                        for key in (str(c.code), c.name.lower())}

    def category_code(self, value) -> int | None:
        raw = _text(value)
        if not raw:
            return None
        # isdigit() is also true of '²' or '٣'; only ASCII digits are a code.
        if raw.isascii() and raw.isdigit() and int(raw) in self.categories:
            return int(raw)
        return self.category_names.get(raw.lower(), -1)

    def parse(self, line: int, record: dict) -> tuple[ParsedRow | None, list[RowError]]:
        errors = []

        def bad(column, reason):
            errors.append(RowError(line, column, reason))

        # What the database cannot store was refused by iter_checked_rows, column by column
        # of the file, before the mapping joined any text.
        accession = _text(record.get("accession"))
        if not accession:
            bad("accession", "empty accession")
        elif len(accession) > 64:
            bad("accession", "accession longer than 64 characters")
        patient_id = _text(record.get("patient_id"))
        if not patient_id and self.patient_from_accession:
            patient_id = accession
        if not patient_id:
            bad("patient_id", "empty patient_id")
        elif len(patient_id) > 64:
            bad("patient_id", "patient_id longer than 64 characters")
        sex = SEX_VALUES.get(_text(record.get("sex")).lower())
        if sex is None:
            bad("sex", f"unknown sex {_text(record.get('sex'))!r} (use F, M, O or U)")
        age_raw = _text(record.get("age"))
        age = None
        if age_raw:
            whole = _WHOLE_AGE.fullmatch(age_raw)
            age = int(whole.group(1)) if whole else None
            if age is None or not 0 <= age <= 120:
                bad("age", f"age {age_raw!r} is not a whole number of years from 0 to 120")
                age = None
        date = None
        try:
            # Not date.fromisoformat: it also takes 2020-W01-1 and 20200101.
            date = parse_date(record.get("procedure_date"), self.date_format)
        except DateProblem as exc:
            bad("procedure_date", str(exc))
        else:
            if date < EARLIEST_DATE:
                bad("procedure_date", f"date {date} is before {EARLIEST_DATE}, the "
                                      "earliest accepted")
            elif date > timezone.localdate():
                bad("procedure_date", f"date {date} is after today "
                                      f"({timezone.localdate()})")
        text = _text(record.get("text"))
        if not text:
            bad("text", "empty report text")
        elif len(text) > MAX_TEXT_CHARS:
            bad("text", f"report text is {len(text):,} characters; the limit is "
                        f"{MAX_TEXT_CHARS:,}")
        label = self.category_code(record.get("label"))
        if label == -1:
            known = ", ".join(f"{c.code} {c.name}" for c in self.categories.values())
            retired = self.retired.get(_text(record.get("label")).lower())
            bad("label", f"category {retired} is retired and takes no new labels (in use: "
                         f"{known})" if retired else
                f"unknown category {_text(record.get('label'))!r} (known: {known})")
        split_raw = _text(record.get("split")).lower()
        split = SPLIT_VALUES.get(split_raw, "bad")
        if split == "bad":
            bad("split", f"unknown split {split_raw!r} (use train, validation, test or unassigned)")
        if errors:
            return None, errors
        return ParsedRow(line, accession, patient_id, sex, age, date, text, label, split), []


def iter_checked_rows(path: Path, fmt: str, checker: RowChecker, plan: ImportPlan,
                      mapping: ColumnMapping | None = None):
    """Yield parsed rows; file-level and row-level problems go into plan.errors/warnings.

    Without a mapping the columns are guessed from the header (ctir's own names first, then
    the project's last mapping, then common export names); plan.mapping says what was used.
    """
    plan.unit = "row" if fmt == "xlsx" else "line"
    date_source = (mapping.source("procedure_date") or (None,))[0] if mapping else None
    for line, record, problem in _raw_records(path, fmt, date_source):
        if isinstance(problem, RowError):
            plan.errors.append(dataclasses.replace(problem, unit=plan.unit))
            continue
        if problem:
            plan.errors.append(RowError(line, "", problem, plan.unit))
            continue
        if "__header__" in record:
            columns = record["__header__"]
            plan.columns = columns
            mapping = mapping or guess_mapping(columns, checker.project.import_mapping)
            plan.mapping = mapping
            checker.date_format = mapping.date_format
            missing = mapping.missing(columns)
            for column in missing:
                plan.errors.append(RowError(max(line, 1), column, (
                    "missing column" + ("" if fmt == "jsonl" else
                                        "; map a column of the file to it")), plan.unit))
            if missing:
                return
            unknown = [c for c in columns if c not in mapping.used_columns()]
            if unknown:
                plan.warnings.append("Ignored unknown columns: " + ", ".join(unknown))
            checker.patient_from_accession = not mapping.source("patient_id")
            plan.warnings += [note for name, note in ABSENT_FIELD_NOTES.items()
                              if not mapping.source(name)]
            if record.get("__note__"):
                plan.warnings.append(record["__note__"])
            continue
        if not plan.sample:
            # An empty cell shows empty, never as the word None.
            plan.sample = {k: "" if v is None else str(v)[:80] for k, v in record.items()}
        if fmt == "jsonl":
            missing = [c for c in REQUIRED_COLUMNS
                       if not any(s in record for s in mapping.source(c))]
            for column in missing:
                plan.errors.append(RowError(line, mapping.label(column), "missing column"))
            if missing:
                continue
        # Checked before the mapping joins text sections, which would write an object
        # inside one as its Python repr.
        raw_problems = [RowError(line, column, problem, plan.unit)
                        for column in sorted(mapping.used_columns())
                        if (problem := _unstorable(record.get(column)))]
        if raw_problems:
            plan.errors.extend(raw_problems)
            continue
        row, errors = checker.parse(line, mapping.apply(record))
        plan.errors.extend(
            dataclasses.replace(e, column=mapping.label(e.column), unit=plan.unit)
            for e in errors)
        if row is not None:
            yield row


def plan_import(project: Project, path: Path, filename: str | None = None,
                mapping: ColumnMapping | None = None, progress=None) -> ImportPlan:
    """Check the whole file against itself and the database; write nothing.

    ``progress("checking", rows checked)`` is called after every chunk, if given."""
    filename = filename or path.name
    plan = ImportPlan(filename=filename)
    try:
        fmt = file_format(filename)
        plan.sha256 = _sha256(path)
        checker = RowChecker(project)
        rows = iter_checked_rows(path, fmt, checker, plan, mapping)
        _check_against_file_and_database(project, rows, plan, progress)
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
        for _line, record, _problem in _raw_records(path, fmt):
            if record is not None and "__header__" in record:
                return record["__header__"]
            if record is not None:
                return list(record)
    except ImportFormatError:
        pass
    return []


def _check_against_file_and_database(project, rows, plan: ImportPlan, progress=None):
    first_line_of: dict[str, int] = {}
    patient_sex: dict[str, tuple[str, int]] = {}
    pending: list[ParsedRow] = []

    def flush():
        _check_chunk_against_database(project, pending, plan)
        pending.clear()
        if progress is not None:
            progress("checking", plan.rows)

    for row in rows:
        plan.rows += 1
        if len(plan.preview) < PREVIEW_ROWS:
            plan.preview.append(
                {
                    "line": row.line, "accession": row.accession, "patient_id": row.patient_id,
                    "procedure_date": row.procedure_date, "label": row.label, "split": row.split,
                    "text": row.text[:160],
                }
            )
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
    if plan.splits_not_applied:
        examples = "; ".join(
            f"line {line}: accession {accession!r} is in {stored}, the file says {given}"
            for line, accession, stored, given in plan.splits_not_applied[:5]
        )
        more = "; ..." if len(plan.splits_not_applied) > 5 else ""
        count = len(plan.splits_not_applied)
        plan.warnings.append(
            f"Split not applied to {count} report{'s' if count != 1 else ''} already here "
            f"({examples}{more}); splits of existing reports change only with "
            "manage.py assign_splits"
        )


def _check_chunk_against_database(project, rows: list[ParsedRow], plan: ImportPlan):
    if not rows:
        return
    existing = {
        accession: (text, code, method, split)
        for accession, text, code, method, split in Report.objects.filter(
            project=project, accession__in=[r.accession for r in rows]
        ).values_list(
            "accession", "text", "reference_label__category__code", "reference_label__method",
            "split",
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
            continue
        text, code, method, split = existing[row.accession]
        if text.strip() != row.text:
            plan.errors.append(RowError(
                row.line, "text",
                f"accession {row.accession!r} already exists with a different text",
            ))
            continue
        plan.unchanged += 1
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


# An xlsx row of a report export is rarely under this many bytes of sheet XML.
_XLSX_ROW_BYTES = 200


def estimate_data_rows(path: Path) -> int:
    """estimate_rows less a CSV's header line: what a job or a preview is sized by."""
    return max(estimate_rows(path) - (path.suffix.lower() == ".csv"), 1)


def estimate_rows(path: Path) -> int:
    """About how many rows the file holds (its line breaks), for a progress bar's first
    guess before the check has counted them; a quoted field over several lines makes it
    a little high. A workbook is counted from what it expands to, never from its
    compressed bytes."""
    if path.suffix.lower() == ".xlsx":
        size = xlsx_check(path)
        return max(size.dimension_rows or 0, size.sheet // _XLSX_ROW_BYTES, 1)
    lines = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            lines += block.count(b"\n")
    return max(lines, 1)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
