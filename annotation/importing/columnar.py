"""A clean CSV checked a column at a time: the fast path of an import on PostgreSQL.

The row-by-row path (readers/csv.py, checks.RowChecker.parse, plan.py) is the reference: it
names every problem by line and column. Most files that reach an import were previewed and
have none; for those, this module runs the same checks over whole columns instead of row by
row: pyarrow's CSV reader parses the file, each distinct value of a column is checked once
by the reference's own code, the file is checked against itself in one pass and against the
database with a few statements over the staging table its rows are copied into.

Whenever this path meets something it might not decide as the reference would (a value that
fails a check, quoting it cannot vouch for, a line it cannot place, a row that differs from
the one already stored), it gives up: plan_staged returns None and the import runs the
reference path over the file, which then names the problem. So the messages stay the
reference's, and a clean file does not pay for them.
"""

import csv
import hashlib
import re
from pathlib import Path

import numpy as np
from django.db import connection

from . import formats
from .checks import RowChecker
from .columns import DATE_COLUMN_NAMES, ColumnMapping, _normal
from .formats import Header

BLOCK_BYTES = 16 << 20
# Rows parsed, checked and staged at a time (about 6,000 of the demo's reports): the import's
# progress moves on after each.
PARSE_BYTES = 4 << 20
# A date-like token on a later line of a multi-line value: the reference path may take that
# line for a row of its own swallowed by an open quote (readers/csv.py); left to it.
_DATE_ON_A_LATER_LINE = re.compile(r"\n.*?(?:\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{4})",
                                   re.ASCII | re.DOTALL)


_DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{4}", re.ASCII)


class _GiveUp(Exception):
    """Something the reference path decides (and names) better."""


def plan_staged(project, path: Path, filename: str, mapping: ColumnMapping | None, staged,
                progress=None):
    """The import's plan for a clean CSV file, its rows copied into `staged` (StagedRows), or
    None (with nothing left in `staged`) where the reference path must read the file."""
    from .plan import (
        PREVIEW_ROWS,
        ImportPlan,
        _read_header,
        preview_entry,
        splits_warning,
        undated_note,
    )

    try:
        if formats.file_format(filename, path) != "csv" or connection.vendor != "postgresql":
            return None
    except formats.ImportFormatError:
        return None  # the row path says why
    plan = ImportPlan(filename=filename)
    checker = RowChecker(project)
    try:
        header = _header(path)
        mapping = _read_header(Header(1, header), formats.reader_named("csv"), checker, plan,
                               mapping)
        if mapping is None or plan.errors:
            raise _GiveUp
        date_source = (mapping.source("procedure_date") or (None,))[0]
        date_at = {i for i, h in enumerate(header)
                   if h == date_source or _normal(h) in DATE_COLUMN_NAMES}
        plan.sha256, newlines, ends_with_newline = _raw_checks(path)
        seen: dict[str, int] = {}
        patient_sex: dict[str, str] = {}
        line, embedded = 2, 0
        for batch in _batches(path, header):
            lines, line, batch_newlines = _lines(batch, line)
            embedded += batch_newlines
            _multiline_values_plain(batch, header, date_at)
            raw = {name: batch.column(i).to_pylist() for i, name in enumerate(header)
                   if name in mapping.used_columns()}
            if not plan.sample:
                plan.sample = {name: batch.column(i)[0].as_py()[:80]
                               for i, name in enumerate(header)}
            rows = checker.parse_columns(lines, _mapped(mapping, raw))
            if rows is None:
                raise _GiveUp
            for row in rows:
                if row.accession in seen:
                    raise _GiveUp
                seen[row.accession] = row.line
                known = patient_sex.get(row.patient_id)
                if known and "U" not in (known, row.sex) and known != row.sex:
                    raise _GiveUp
                if not known or known == "U":
                    patient_sex[row.patient_id] = row.sex
            plan.preview += [preview_entry(row) for row in rows[:PREVIEW_ROWS - len(plan.preview)]]
            plan.rows += len(rows)
            staged.write(rows)
            if progress is not None:
                progress("checking", plan.rows)
        # Every line break of the file is a row's end or inside a value: no blank line was
        # passed over, so each row's line above is the reference's.
        if plan.rows == 0 or newlines != 1 + plan.rows + embedded - (not ends_with_newline):
            raise _GiveUp
        _against_database(project, staged, plan)
    except _GiveUp:
        staged.clear()
        return None
    if plan.undated:
        plan.warnings.append(undated_note(plan.undated))
    if plan.splits_not_applied:
        plan.warnings.append(splits_warning(plan.splits_not_applied))
    return plan


def _header(path: Path) -> list[str]:
    """The first line's column names; a header with quotes is left to the reference path."""
    with open(path, "rb") as handle:
        first = handle.readline()
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _GiveUp from None
    if '"' in text or not text.endswith("\n") or "\r" in text.rstrip("\r\n"):
        raise _GiveUp
    header = [h.strip() for h in text.rstrip("\r\n").split(",")]
    if formats.repeated_column(header, "line"):
        raise _GiveUp
    return header


def _raw_checks(path: Path) -> tuple[str, int, bool]:
    """Over the file's bytes: its SHA-256, its line breaks (\\n) and whether it ends with one;
    gives up on a NUL byte, a carriage return that does not end a line, or any quoting the
    reference path would refuse (RFC 4180: a field is quoted whole, a quote inside it
    doubled, or it holds no quote at all)."""
    digest = hashlib.sha256()
    newlines, inside, previous, pending, last = 0, False, ord("\n"), False, b""
    with open(path, "rb") as handle:
        first = True
        for block in iter(lambda: handle.read(BLOCK_BYTES), b""):
            digest.update(block)
            if first and block.startswith(b"\xef\xbb\xbf"):
                block = block[3:]  # a byte-order mark: the first line starts after it
            first = False
            if not block:
                continue
            if b"\x00" in block or block.count(b"\r") != block.count(b"\r\n") + (
                    block.endswith(b"\r")) or (last == b"\r" and not block.startswith(b"\n")):
                raise _GiveUp
            newlines += block.count(b"\n")
            data = np.frombuffer(block, dtype=np.uint8)
            quotes = np.flatnonzero(data == ord('"')).tolist()
            i = 0
            if pending:  # a quote closed or doubled at the end of the block before
                pending = False
                if block[:1] == b'"':
                    i = 1  # doubled: still inside
                else:
                    inside = False
                    if block[:1] not in (b",", b"\r", b"\n"):
                        raise _GiveUp
            while i < len(quotes):
                at = quotes[i]
                if not inside:
                    before = block[at - 1] if at else previous
                    if before not in (ord(","), ord("\n")):
                        raise _GiveUp
                    inside = True
                    i += 1
                    continue
                if at + 1 == len(block):
                    pending = True
                    i += 1
                    continue
                after = block[at + 1]
                if after == ord('"'):
                    i += 2
                    continue
                if after not in (ord(","), ord("\r"), ord("\n")):
                    raise _GiveUp
                inside = False
                i += 1
            previous, last = block[-1], block[-1:]
    if (inside and not pending) or last == b"\r":
        raise _GiveUp  # a quote never closed, or a last line ended by a carriage return
    return digest.hexdigest(), newlines, last == b"\n"


def _batches(path: Path, header: list[str]):
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    try:
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(column_names=header, skip_rows=1,
                                            block_size=PARSE_BYTES),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
        for batch in reader:
            if batch.num_rows:
                yield batch
    except (pa.ArrowInvalid, UnicodeDecodeError):
        raise _GiveUp from None


def _lines(batch, line: int) -> tuple[list[int], int, int]:
    """Each row's first line (the reference counts a line break inside a value as a line),
    the line after the batch, and the line breaks inside its values."""
    import pyarrow.compute as pc

    inside = np.zeros(batch.num_rows, dtype=np.int64)
    for column in batch.columns:
        inside += pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)
        # The reference's csv module stops at csv.field_size_limit() characters.
        if len(column) and pc.max(pc.binary_length(column)).as_py() > csv.field_size_limit():
            raise _GiveUp
    steps = 1 + inside
    starts = line + np.concatenate(([0], np.cumsum(steps)[:-1]))
    return starts.tolist(), int(line + steps.sum()), int(inside.sum())


def _multiline_values_plain(batch, header: list[str], date_at: set[int]) -> None:
    """Gives up where the reference path could take a line inside a quoted value for a row
    of its own (it reads each later line of a record alone, where the quotes that close one
    field and open the next swap roles): in a row with a multi-line value, a date-like token
    on a later line of that value or in any field after it, a quote in such a field, or a
    date column after it (the record's last line then holds that row's own date)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = batch.columns
    after = pa.array(np.zeros(batch.num_rows, dtype=bool))  # a risky field further right
    for index in range(len(columns) - 1, -1, -1):
        column = columns[index]
        multiline = pc.match_substring(column, "\n")
        if pc.any(multiline).as_py():
            if any(index < at for at in date_at):
                raise _GiveUp
            risky = pc.or_(after, pc.match_substring_regex(column,
                                                           _DATE_ON_A_LATER_LINE.pattern))
            if pc.any(pc.and_(multiline, risky)).as_py():
                raise _GiveUp
        after = pc.or_(after, pc.or_(pc.match_substring_regex(column, _DATE_LIKE.pattern),
                                     pc.match_substring(column, '"')))


def _mapped(mapping: ColumnMapping, raw: dict[str, list]) -> dict[str, list]:
    """ColumnMapping.apply over whole columns."""
    out = {}
    for name, sources in mapping.columns.items():
        if name == "text" and len(sources) > 1:
            rows = zip(*(raw[s] for s in sources), strict=True)
            out[name] = ["\n\n".join(f"{s}: {v.strip()}" for s, v in zip(sources, values,
                                                                          strict=True)
                                     if v.strip()) for values in rows]
        elif sources:
            out[name] = raw[sources[0]]
    return out


def _against_database(project, staged, plan) -> None:
    """The staged rows against the reports and patients already here: the plan's counts, or
    _GiveUp where a row differs from what is stored (the reference names it)."""
    t = staged.t
    cursor = staged.cursor
    cursor.execute(f"ANALYZE {t['staging']}")
    cursor.execute(
        f"""SELECT count(*) FILTER (WHERE r.id IS NULL),
                   count(*) FILTER (WHERE r.id IS NULL AND s.label IS NOT NULL),
                   count(*) FILTER (WHERE r.id IS NULL AND s.procedure_date IS NULL),
                   count(*) FILTER (WHERE r.id IS NOT NULL),
                   count(*) FILTER (WHERE r.id IS NOT NULL AND r.procedure_date IS NULL
                                    AND s.procedure_date IS NOT NULL),
                   count(*) FILTER (WHERE r.id IS NOT NULL AND s.label IS NOT NULL
                                    AND l.id IS NULL),
                   count(*) FILTER (WHERE r.id IS NOT NULL AND (r.text <> s.text OR (
                                    s.label IS NOT NULL AND c.code <> s.label))),
                   count(*) FILTER (WHERE r.id IS NOT NULL AND s.split IS NOT NULL
                                    AND s.split <> r.split)
            FROM {t['staging']} s
            LEFT JOIN {t['report']} r ON r.project_id = %s AND r.accession = s.accession
            LEFT JOIN {t['label']} l ON l.report_id = r.id
            LEFT JOIN {t['category']} c ON c.id = l.category_id""", [project.pk])
    (new_reports, new_labels, undated, unchanged, dates_added, labels_added, differ,
     splits) = cursor.fetchone()
    if differ:
        raise _GiveUp
    cursor.execute(
        f"""SELECT EXISTS (SELECT 1 FROM {t['staging']} s
            JOIN {t['patient']} p ON p.project_id = %s AND p.pseudo_id = s.patient_id
            WHERE p.sex <> 'U' AND s.sex <> 'U' AND p.sex <> s.sex)""", [project.pk])
    if cursor.fetchone()[0]:
        raise _GiveUp
    plan.new_reports, plan.unchanged = new_reports, unchanged
    plan.new_labels, plan.undated, plan.dates_added = new_labels + labels_added, undated, \
        dates_added
    if splits:
        cursor.execute(
            f"""SELECT s.line, s.accession, r.split, s.split FROM {t['staging']} s
            JOIN {t['report']} r ON r.project_id = %s AND r.accession = s.accession
            WHERE s.split IS NOT NULL AND s.split <> r.split ORDER BY s.line""", [project.pk])
        plan.splits_not_applied = [tuple(row) for row in cursor.fetchall()]
