"""JSON Lines: one flat JSON object per line, its keys the columns. There is no header: the
first object's keys stand for one, and every object is checked for the required keys."""

import io
import json
from collections.abc import Iterator

from ..checks import MAX_TEXT_CHARS, RowError
from ..formats import Header, RawRow, TextReader, register

MAX_JSONL_LINE_CHARS = 1_000_000


@register
class JsonLinesReader(TextReader):
    name = "jsonl"
    suffixes = (".jsonl", ".ndjson", ".json")
    described = ".jsonl (JSON Lines)"
    columns_per_row = True

    def read(self, handle: io.TextIOBase, date_source: str | None = None):
        seen_columns: list[str] = []
        for number, line in enumerate(_bounded_lines(handle), start=1):
            if line is None:
                yield RowError(number, "", (
                    f"line longer than {MAX_JSONL_LINE_CHARS:,} characters (report text is "
                    f"limited to {MAX_TEXT_CHARS:,})"))
                continue
            if not line.strip():
                continue
            try:
                record = json.loads(line, object_pairs_hook=_no_repeated_keys)
            except _RepeatedKey as exc:
                yield RowError(number, exc.key, f"key {exc.key!r} appears twice in this "
                                                "object; keep one")
                continue
            except json.JSONDecodeError as exc:
                yield RowError(number, "", f"not valid JSON (column {exc.colno}: {exc.msg})")
                continue
            except RecursionError:
                yield RowError(number, "", "JSON nested too deeply; a line must be one flat "
                                           "JSON object")
                continue
            except ValueError as exc:  # e.g. an integer longer than Python converts
                yield RowError(number, "", f"not valid JSON ({exc})")
                continue
            if not isinstance(record, dict):
                yield RowError(number, "", "each line must be one JSON object")
                continue
            record = {str(k).strip(): v for k, v in record.items()}
            if not seen_columns:
                seen_columns = list(record)
                yield Header(0, seen_columns)
            yield RawRow(number, record)


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
