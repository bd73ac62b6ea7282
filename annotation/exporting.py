"""Serialising export rows; used by the download view and `manage.py export_labels`."""

import csv
import io
import json
from collections.abc import Iterator

# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...)).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _inert(value):
    """Text that a spreadsheet would run gets a leading apostrophe; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_lines(columns: list[str], rows: Iterator[dict]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _inert(value) for key, value in row.items()})
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
