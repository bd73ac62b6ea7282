"""Every CSV that leaves ctir is written here (label exports, study responses, the paper's
tables and responses, `study_report --paper`), so none of them can carry a formula into a
spreadsheet; JSON Lines are written verbatim."""

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator

# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...)).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A signed number written as text ("-3.2", "+26.0" in a results table) is read as a number,
# not run: it stays as it is, so tables of differences are not littered with apostrophes.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?")


def inert(value):
    """Text that a spreadsheet would run gets a leading apostrophe; numbers stay numbers."""
    if (isinstance(value, str) and value.startswith(FORMULA_PREFIXES)
            and not _NUMBER.fullmatch(value)):
        return "'" + value
    return value


def csv_text(rows: Iterable[Iterable]) -> str:
    """Rows (the first one the header) as one CSV text, every cell made inert."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([inert(c) for c in row] for row in rows)
    return out.getvalue()


def csv_lines(columns: list[str], rows: Iterator[dict]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: inert(value) for key, value in row.items()})
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def jsonl_lines(columns: list[str], rows: Iterator[dict]) -> Iterator[str]:
    for row in rows:
        yield json.dumps({c: row[c] for c in columns}, ensure_ascii=False) + "\n"


def export_lines(fmt: str, columns, rows) -> Iterator[str]:
    if fmt == "csv":
        return csv_lines(columns, rows)
    if fmt == "jsonl":
        return jsonl_lines(columns, rows)
    raise ValueError(f"unknown export format {fmt!r}; use csv or jsonl")
