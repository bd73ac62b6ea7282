"""What the readers of annotation tools' exports share (Label Studio, doccano, Prodigy); no
format of its own.

These exports hold a task's text and its label, and whatever fields the task was imported
with: the accession, patient, date and split are looked for there (data.*, meta.*, the
record's own keys) under the names the column mapping knows ("accession", "Exam Date",
"MRN", ...), the accession falling back to the tool's id for the task. A report becomes one
row under ctir's own field names, the label under `label`, so the checks read it by code or
name as in any file. The header's note says where each field was found and which were not.

A task without a procedure date is imported without one (formats.Header.dates_optional):
it stays out of the chronological split until a later import gives it its date, and the
preview says how many.
"""

import functools
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..checks import MAX_TEXT_CHARS, RowError
from ..columns import ColumnMapping, guess_mapping
from ..formats import Header, RawRow
from .jsonl import MAX_JSONL_LINE_CHARS, _bounded_lines

# Read from the task's fields, in this order of the header (text and label come from where
# the format keeps them).
TASK_FIELDS = ("accession", "patient_id", "sex", "age", "procedure_date", "split")
COLUMNS = ("accession", "patient_id", "sex", "age", "procedure_date", "text", "label", "split")
# In the header whether a task has them or not (the rest only when some task has them, so
# the preview's notes on an absent patient, sex or age are said as for any file).
ALWAYS = frozenset(("accession", "procedure_date", "text", "label"))
SAID = {"accession": "accession", "patient_id": "patient id", "sex": "sex", "age": "age",
        "procedure_date": "procedure date", "text": "text", "split": "split"}
# A choice control or label field by one of these names is the category where several are.
CATEGORY_NAMES = ("category", "label", "labels", "class", "technique", "choice", "choices")
_SNIFF_CHARS = 64 * 1024


@dataclass
class Task:
    """One task of an export, as its format has it."""

    number: int  # where a problem is placed: the line, or the task's place in the array
    name: str  # said before a problem where the number alone does not name it: "task 3 (id 57)"
    id: object  # the tool's own id for the task, or None
    # (how a problem names the source, its fields): ("data.", {...}); the first that has a
    # field gives it.
    sources: tuple[tuple[str, dict], ...]
    label: object = None
    problems: list[RowError] = field(default_factory=list)
    text_field: str = "text"
    id_said: str = "the task id"  # where an accession taken from `id` came from


@dataclass
class Tally:
    """What the tasks held, for the header's columns and note: each field's sources."""

    tasks: int = 0
    found: dict[str, Counter] = field(default_factory=lambda: {f: Counter() for f in COLUMNS})
    own_patient: int = 0  # tasks without a patient id, taken as their own patient
    undated: int = 0
    labelled: int = 0

    def columns(self) -> list[str]:
        return [c for c in COLUMNS if c in ALWAYS or self.found[c]]

    def note(self, kind: str, unit: str, said_of_labels: str, date_field: str) -> str:
        units = f"{self.tasks} {unit}{'s' if self.tasks != 1 else ''}"
        parts, missing = [], []
        for name in (*TASK_FIELDS[:5], "text", "split"):
            sources = self.found[name]
            if not sources:
                missing.append(SAID[name])
                continue
            where = ", ".join(f"{s} ({n})" if len(sources) > 1 else s
                              for s, n in sources.most_common())
            if name == "patient_id" and self.own_patient:
                where += (f" ({self.own_patient} {unit}{'s' if self.own_patient != 1 else ''} "
                          "without one taken as its own patient)")
            parts.append(f"{SAID[name]} from {where}")
        note = f"Read as a {kind} ({units}): {'; '.join(parts)}."
        if missing:
            note += f" Not found: {', '.join(missing)}."
        if self.undated:
            note += (f" {self.undated} {unit}{'s' if self.undated != 1 else ''} without a "
                     f"procedure date (add {date_field}, YYYY-MM-DD, to give "
                     f"{'it' if self.undated == 1 else 'them'} one).")
        return f"{note} {self.labelled} with a label: {said_of_labels}"


def task_row(task: Task, tally: Tally) -> tuple[RawRow | None, list[RowError]]:
    """The task as a row under ctir's field names, or the problems that keep it out."""
    tally.tasks += 1
    problems = list(task.problems)
    said = f"{task.name}: " if task.name else ""
    values: dict = {}
    for prefix, source in task.sources:
        mapping = fields_mapping(tuple(source))
        applied = mapping.apply(source)
        for name in (*TASK_FIELDS, "text"):
            if name not in values and not _blank(applied.get(name)):
                values[name] = applied[name]
                tally.found[name][" + ".join(prefix + c for c in mapping.source(name))] += 1
    if "accession" not in values and not _blank(task.id):
        values["accession"] = task.id
        tally.found["accession"][task.id_said] += 1
    if "patient_id" not in values:
        values["patient_id"] = values.get("accession", "")
        tally.own_patient += 1
    tally.undated += "procedure_date" not in values
    if "text" not in values:
        problems.append(RowError(task.number, task.text_field, f"{said}no report text"))
    if "accession" not in values:
        problems.append(RowError(task.number, "accession", (
            f"{said}no accession and no task id; add the accession to the task's fields")))
    if problems:
        return None, problems
    values["label"] = "" if task.label is None else task.label
    tally.labelled += task.label is not None
    return RawRow(task.number, {c: values.get(c, "") for c in COLUMNS}), []


def task_rows(tasks: Callable[[], Iterable[Task | RowError]], *, kind: str, unit: str,
              date_field: str, said_of_labels: Callable[[Tally], str],
              ) -> Iterator[Header | RawRow | RowError]:
    """The header, then the rows: `tasks()` is read twice (once to learn what the tasks hold,
    for the header and its note; once for the rows), so a big file never sits in memory."""
    tally = Tally()
    for task in tasks():
        if isinstance(task, Task):
            task_row(task, tally)
    yield Header(0, tally.columns(), tally.note(kind, unit, said_of_labels(tally), date_field),
                 unit=unit if unit != "line" else "", dates_optional=True)
    rows = Tally()  # counted again, and not needed: the header is out
    for task in tasks():
        if isinstance(task, RowError):
            yield task
            continue
        row, problems = task_row(task, rows)
        yield from problems
        if row is not None:
            yield row


def one_label(values: list, where: str, number: int, said: str = "",
              ) -> tuple[object, list[RowError]]:
    """The one category among a task's labels (the same label twice is one), or a problem: a
    report takes one category."""
    structured = [v for v in values if isinstance(v, list | dict)]
    if structured:
        return None, [RowError(number, where, (
            f"{said}labels with offsets or structure ({str(structured[0])[:60]}): a span or "
            "sequence labeling export, not text classification; export the project's "
            "document categories"))]
    distinct = list(dict.fromkeys(v for v in values if not _blank(v)))
    if len(distinct) > 1:
        shown = ", ".join(repr(str(v)) for v in distinct[:5])
        return None, [RowError(number, where, (
            f"{said}several labels ({shown}); a report takes one category"))]
    return (distinct[0] if distinct else None), []


def is_prodigy(record: dict) -> bool:
    """A Prodigy task: answered, hashed by Prodigy, or a text with only its meta (the tasks
    Prodigy is given, as ctir exports an unlabelled report)."""
    return "text" in record and (
        "answer" in record or "_input_hash" in record or "_task_hash" in record
        or (isinstance(record.get("meta"), dict)
            and not {"label", "labels", "accession", "procedure_date"} & record.keys()))


def json_lines(handle) -> Iterator[tuple[int, dict | RowError]]:
    """(line, JSON object) for each line that is not blank, or (line, RowError) where the line
    is not one."""
    for number, line in enumerate(_bounded_lines(handle), start=1):
        if line is None:
            yield number, RowError(number, "", (
                f"line longer than {MAX_JSONL_LINE_CHARS:,} characters (report text is "
                f"limited to {MAX_TEXT_CHARS:,})"))
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, RowError(number, "", f"not valid JSON (column {exc.colno}: "
                                               f"{exc.msg})")
            continue
        except (ValueError, RecursionError) as exc:
            yield number, RowError(number, "", f"not valid JSON ({type(exc).__name__})")
            continue
        yield number, (record if isinstance(record, dict) else
                       RowError(number, "", "each line must be one JSON object"))


def first_json_line(path: Path) -> dict | None:
    """The first JSON Lines record of the file, if its first line that is not blank is one."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            for _, record in json_lines(handle):
                return record if isinstance(record, dict) else None
    except (OSError, UnicodeDecodeError):
        return None  # the reader the suffix picks says what is wrong with it
    return None


def first_array_item(path: Path) -> object:
    """The first item of the file's top-level JSON array (None: not an array, or empty)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            head = handle.read(_SNIFF_CHARS)
            start = len(head) - len(head.lstrip())
            if not head[start:].startswith("["):
                return None
            body = head[start + 1:].lstrip()
            try:
                return json.JSONDecoder().raw_decode(body)[0] if body[:1] != "]" else None
            except (ValueError, RecursionError):
                pass
            handle.seek(0)  # a first task longer than the sniff: the whole array
            data = json.loads(handle.read())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data[0] if isinstance(data, list) and data else None


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@functools.lru_cache(maxsize=256)
def fields_mapping(keys: tuple[str, ...]) -> ColumnMapping:
    """The mapping of a task's fields, guessed as for a file's header (by name only: never a
    project's remembered mapping, which is for its own files)."""
    return guess_mapping([k for k in keys if isinstance(k, str)])
