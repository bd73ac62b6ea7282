"""The file formats an import reads: one Reader per format, registered by its suffixes.

A reader turns a file into its Header, then one RawRow per data row (the values under the
file's own column names), or a RowError where it cannot read a row. Mapping the columns and
checking the values is the same for every format (plan.py, checks.py), so a new format is
one module in readers/ holding a Reader subclass under @register.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from openpyxl.utils import get_column_letter

from .checks import RowError


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (unknown format, no header, not UTF-8); `line`
    where one line is to blame (0: the file as a whole)."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Header:
    """The file's column names, read before its first row (line 0: taken from the first
    record, in a format with no header of its own); a note is said in the preview."""

    line: int
    columns: list[str]
    note: str = ""
    # What a problem is placed by, where the file decides it rather than its format (a FHIR
    # Bundle's entries, an NDJSON file's lines); "" keeps the reader's own unit.
    unit: str = ""
    # A blank procedure date is let through (the report is imported without one): only an
    # annotation tool's export, whose tasks often carry no date, says so.
    dates_optional: bool = False


@dataclass(frozen=True)
class RawRow:
    """One data row as the file has it, under the file's column names."""

    line: int
    values: dict


class Reader:
    """How one format is read. Subclasses set the class attributes and write rows()."""

    name: ClassVar[str]  # how a staged upload and a job remember the format: "csv"
    suffixes: ClassVar[tuple[str, ...]]  # a staged upload is saved under the first
    described: ClassVar[str]  # how the unknown-type message names it: ".xlsx (Excel)"
    # Suffixes of a look-alike this reader cannot read, with what to do instead.
    refused: ClassVar[dict[str, str]] = {}
    unit: ClassVar[str] = "line"  # what a problem is placed by: "row" in a spreadsheet
    header_lines: ClassVar[int] = 0  # lines before the first data row, left out of estimates
    # Each record names its own columns (JSON Lines): every row is checked for the required
    # ones, and there is no header to map a column from.
    columns_per_row: ClassVar[bool] = False
    # Suffixes another format also reads, where this reader takes the file if claims() says
    # its content is this format's (a FHIR Bundle is a .json file, as JSON Lines may be).
    sniffed: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def claims(cls, path: Path) -> bool:
        """Whether the file's content is this format's (only asked for a `sniffed` suffix)."""
        return False

    def rows(self, path: Path, date_source: str | None = None,
             ) -> Iterator[Header | RawRow | RowError]:
        """The header, then every data row; `date_source` is the column the mapping takes the
        procedure date from, when known."""
        raise NotImplementedError

    def estimate_rows(self, path: Path) -> int:
        """About how many rows the file holds, before it is read."""
        return count_lines(path)


class TextReader(Reader):
    """A format of UTF-8 text: read() gets the open file."""

    def read(self, handle, date_source: str | None) -> Iterator[Header | RawRow | RowError]:
        raise NotImplementedError

    def rows(self, path, date_source=None):
        # utf-8-sig drops a byte-order mark when there is one and is plain UTF-8 otherwise.
        with open(path, encoding="utf-8-sig", errors="strict", newline="") as handle:
            try:
                yield from self.read(handle, date_source)
            except UnicodeDecodeError as exc:
                line, column = _first_bad_utf8(path)
                raise ImportFormatError(
                    f"{path.name}: not UTF-8 text (line {line}, byte {column} of the line); "
                    "save the file as UTF-8", line=line) from exc


# name -> reader, in the order registered (the unknown-type message lists them so).
READERS: dict[str, type[Reader]] = {}
# name -> the suffix a staged upload of that format is saved under.
FORMAT_SUFFIXES: dict[str, str] = {}


def register(reader: type[Reader]) -> type[Reader]:
    """Class decorator: files ending in one of the reader's suffixes are read by it."""
    READERS[reader.name] = reader
    FORMAT_SUFFIXES[reader.name] = reader.suffixes[0]
    return reader


def reader_named(name: str) -> Reader:
    return READERS[name]()


def file_format(filename: str, path: Path | None = None) -> str:
    """The name of the format that reads this file, or ImportFormatError saying why none.

    With the file at hand (`path`: the upload, staged maybe under a name of ctir's own), its
    content decides first between the formats that share a suffix; then the longest suffix
    that matches the name does (.fhir.json before .json)."""
    name = filename.lower()
    if path is not None:
        for reader in READERS.values():
            if name.endswith(reader.sniffed) and reader.claims(path):
                return reader.name
    matches = [(len(suffix), reader.name) for reader in READERS.values()
               for suffix in reader.suffixes if name.endswith(suffix)]
    if matches:
        return max(matches)[1]
    for reader in READERS.values():
        for suffix, advice in reader.refused.items():
            if name.endswith(suffix):
                raise ImportFormatError(f"{filename}: {advice}")
    *most, last = [reader.described for reader in READERS.values()]
    raise ImportFormatError(f"{filename}: unknown file type; use {', '.join(most)} or {last}")


def reader_for_file(path: Path) -> Reader | None:
    """The reader for a file staged under a suffix of its format (or of one sharing it), if
    it has one: the same choice as file_format's."""
    try:
        return reader_named(file_format(path.name, path))
    except ImportFormatError:
        return None


def count_lines(path: Path) -> int:
    """The file's line breaks (at least 1): a quoted field over several lines makes it a
    little high."""
    lines = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            lines += block.count(b"\n")
    return max(lines, 1)


def repeated_column(header: list[str], unit: str) -> RowError | None:
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
