"""Serialising export rows; used by the download view and `manage.py export_labels`."""

import csv
import io
import json
from collections.abc import Iterator


def csv_lines(columns: list[str], rows: Iterator[dict]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
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
