"""Checking one row: its values under ctir's field names become a ParsedRow, or RowErrors
naming the line, the column and what is wrong. The same for every file format."""

import datetime
import re
from collections import Counter
from dataclasses import dataclass

from django.utils import timezone

from ..models import Category, Project, Split
from .columns import DateProblem, parse_date

SEX_VALUES = {
    "f": "F", "female": "F", "w": "F", "m": "M", "male": "M",
    "o": "O", "other": "O", "u": "U", "unknown": "U", "": "U",
}
SPLIT_VALUES = {
    "train": Split.TRAIN, "training": Split.TRAIN, "val": Split.VALIDATION,
    "valid": Split.VALIDATION, "validation": Split.VALIDATION, "test": Split.TEST,
    "unassigned": Split.UNASSIGNED, "": None,
}
# One limit for every format (README, Import rules). The CSV parser stops any field at
# csv.field_size_limit() (131,072), so the limit must stay below that.
MAX_TEXT_CHARS = 100_000
# Accepted ranges (README, Import rules): a procedure date from 1970-01-01 to today, written
# YYYY-MM-DD (no week or ordinal dates); an age in whole years from 0 to 120 ("45.0" is 45,
# "45.9" is refused rather than cut to 45).
EARLIEST_DATE = datetime.date(1970, 1, 1)
_WHOLE_AGE = re.compile(r"(\d{1,3})(?:\.0+)?", re.ASCII)


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
    procedure_date: datetime.date | None  # None only where the format allows it
    text: str
    label: int | None
    split: str | None


# PostgreSQL stores neither NUL nor a lone surrogate (JSON can spell both as \\u escapes).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value) -> str:
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


_CODED_NAME = re.compile(r"(.+) \(code (\d+)\)", re.ASCII)


def _loose(name: str) -> str:
    """A category name without case or punctuation: "LUNG_BIOPSY" is "lung biopsy"."""
    return " ".join(re.sub(r"[\W_]+", " ", name.lower()).split())


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
        # Set from the header: an annotation tool's export may leave a report's date out
        # (formats.Header.dates_optional); every other file must give it.
        self.dates_optional = False
        # A retired category is kept for the labels it has, but takes no new ones.
        everything = list(Category.objects.filter(project=project))
        self.categories = {c.code: c for c in everything if not c.retired}
        self.category_names = {c.name.lower(): c.code for c in self.categories.values()}
        # Annotation tools write names their own way ("LUNG_BIOPSY", "soft-tissue-biopsy"):
        # a name also matches with case and punctuation left aside, where that is unique.
        loose = Counter(_loose(c.name) for c in self.categories.values())
        self.loose_names = {_loose(c.name): c.code for c in self.categories.values()
                            if loose[_loose(c.name)] == 1 and _loose(c.name)}
        self.retired = {key: c for c in everything if c.retired
                        for key in (str(c.code), c.name.lower())}
        # Read once, not for each of a million rows (an import that runs past midnight
        # still refuses only dates after the day it began).
        self.today = timezone.localdate()

    def category_code(self, value) -> int | None:
        raw = _text(value)
        if not raw:
            return None
        # isdigit() is also true of '²' or '٣'; only ASCII digits are a code.
        if raw.isascii() and raw.isdigit() and int(raw) in self.categories:
            return int(raw)
        if raw.lower() in self.category_names:
            return self.category_names[raw.lower()]
        # ctir's exports name a category that shares its name "Biopsy (code 2)".
        coded = _CODED_NAME.fullmatch(raw)
        if coded and int(coded.group(2)) in self.categories and (
                self.categories[int(coded.group(2))].name.lower() == coded.group(1).lower()):
            return int(coded.group(2))
        return self.loose_names.get(_loose(raw), -1)

    def _date(self, raw, bad) -> datetime.date | None:
        try:
            # Not date.fromisoformat: it also takes 2020-W01-1 and 20200101.
            date = parse_date(raw, self.date_format)
        except DateProblem as exc:
            bad("procedure_date", str(exc))
            return None
        if date < EARLIEST_DATE:
            bad("procedure_date", f"date {date} is before {EARLIEST_DATE}, the earliest accepted")
        elif date > self.today:
            bad("procedure_date", f"date {date} is after today ({self.today})")
        return date

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
        if not (self.dates_optional and not _text(record.get("procedure_date"))):
            date = self._date(record.get("procedure_date"), bad)
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

    def parse_columns(self, lines: list[int], columns: dict[str, list]
                      ) -> list[ParsedRow] | None:
        """parse() over whole columns of a clean file (importing.columnar): the rows, or None
        as soon as any row has a problem, which parse() then names. `columns` holds the
        mapped values under ctir's field names (a field the file lacks is absent) and
        `lines` each row's line. Values repeat (sex, age, dates, labels, splits), so each
        distinct one is checked once, by the same code as parse()."""
        count = len(lines)

        def column(name):
            return columns.get(name) or [None] * count

        problems = []

        def bad(column_name, reason):
            problems.append(reason)

        def each_distinct(name, check):
            values = column(name)
            checked = {value: check(value, bad) for value in set(values)}
            return None if problems else [checked[v] for v in values]

        accessions = [_text(v) for v in column("accession")]
        if not all(0 < len(a) <= 64 for a in accessions):
            return None
        patients = [_text(v) for v in column("patient_id")]
        if self.patient_from_accession:
            patients = [p or a for p, a in zip(patients, accessions, strict=True)]
        if not all(0 < len(p) <= 64 for p in patients):
            return None
        texts = [_text(v) for v in column("text")]
        if not all(0 < len(t) <= MAX_TEXT_CHARS for t in texts):
            return None

        def sex(value, bad):
            found = SEX_VALUES.get(_text(value).lower())
            if found is None:
                bad("sex", "unknown")
            return found

        def age(value, bad):
            raw = _text(value)
            whole = _WHOLE_AGE.fullmatch(raw) if raw else None
            if raw and (whole is None or not 0 <= int(whole.group(1)) <= 120):
                bad("age", "not an age")
            return int(whole.group(1)) if whole else None

        def date(value, bad):
            if self.dates_optional and not _text(value):
                return None
            return self._date(value, bad)

        def label(value, bad):
            code = self.category_code(value)
            if code == -1:
                bad("label", "unknown")
            return code

        def split(value, bad):
            found = SPLIT_VALUES.get(_text(value).lower(), "bad")
            if found == "bad":
                bad("split", "unknown")
            return found

        checked = [each_distinct(name, check) for name, check in (
            ("sex", sex), ("age", age), ("procedure_date", date), ("label", label),
            ("split", split))]
        if any(values is None for values in checked):
            return None
        return [ParsedRow(*row) for row in zip(
            lines, accessions, patients, checked[0], checked[1], checked[2], texts,
            checked[3], checked[4], strict=True)]
