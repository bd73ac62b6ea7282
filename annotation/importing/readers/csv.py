"""CSV (RFC 4180, UTF-8): the first line names the columns; a quoted field may span lines.

A quote out of place is named where it is (line, character, column), and a quoted field that
swallowed what looks like rows of their own is refused rather than imported as one report.
"""

import csv
import io
import re

from ..checks import MAX_TEXT_CHARS, RowError
from ..columns import DATE_COLUMN_NAMES, _normal
from ..formats import Header, ImportFormatError, RawRow, TextReader, register, repeated_column


@register
class CsvReader(TextReader):
    name = "csv"
    suffixes = (".csv",)
    described = ".csv"
    header_lines = 1

    def read(self, handle: io.TextIOBase, date_source: str | None = None):
        tap = _LineTap(handle)
        reader = csv.reader(tap, strict=True)
        try:
            header = next(reader, None)
        except csv.Error:
            yield _quote_problem(tap.lines, 1, []) or RowError(1, "", "unreadable CSV header")
            return
        if not header:
            raise ImportFormatError("the file is empty; expected a header line")
        header = [h.strip() for h in header]
        if twice := repeated_column(header, "line"):
            yield twice
            return
        # The date columns tell a row of its own from a line inside a quoted text.
        date_at = [i for i, h in enumerate(header)
                   if h == date_source or _normal(h) in DATE_COLUMN_NAMES]
        yield Header(1, header)
        while True:
            start = reader.line_num + 1
            tap.lines = []
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if "field limit" in str(exc):
                    yield _field_too_long(tap.lines, start, header)
                    return
                yield _quote_problem(tap.lines, start, header) or RowError(
                    start, "", f"unreadable CSV ({exc}); the rest of the file was not read")
                return
            problem = _record_problem(tap.lines, start, header, date_at)
            if problem:
                yield problem
                continue
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                yield RowError(start, "",
                               f"{len(values)} fields where the header has {len(header)}")
                continue
            yield RawRow(start, dict(zip(header, values, strict=True)))


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
