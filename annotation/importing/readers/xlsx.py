"""Excel workbooks (.xlsx): the first sheet, its first row naming the columns. A workbook is
measured from its zip directory before it is opened, so a decompression bomb is refused in
milliseconds rather than read for minutes."""

import datetime
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from django.conf import settings
from openpyxl.utils import get_column_letter

from ..checks import RowError
from ..formats import Header, ImportFormatError, RawRow, Reader, register, repeated_column

# A part this small is never worth refusing, however well it compresses (styles, themes).
_XLSX_RATIO_FLOOR = 4 * 1024 * 1024
_XLSX_MAX_PARTS = 10_000
_MB = 1024 * 1024
# An xlsx row of a report export is rarely under this many bytes of sheet XML.
_XLSX_ROW_BYTES = 200


@register
class XlsxReader(Reader):
    name = "xlsx"
    suffixes = (".xlsx",)
    described = ".xlsx (Excel)"
    refused = {".xls": "the old Excel format (.xls) cannot be read; save it as .xlsx (Excel "
                       "Workbook) or as CSV UTF-8"}
    unit = "row"

    def rows(self, path: Path, date_source: str | None = None):
        """Rows are numbered as Excel numbers them; date cells arrive as dates, whatever the
        date format chosen."""
        xlsx_check(path)
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # a damaged zip or XML fails in many ways, none of them ours
            raise ImportFormatError(
                f"not a readable .xlsx workbook ({type(exc).__name__}); save it again from "
                "Excel as .xlsx, or as CSV UTF-8") from exc
        try:
            yield from _sheet_rows(path, book)
        finally:
            book.close()

    def estimate_rows(self, path: Path) -> int:
        """Counted from what the workbook expands to, never from its compressed bytes."""
        size = xlsx_check(path)
        return max(size.dimension_rows or 0, size.sheet // _XLSX_ROW_BYTES, 1)


def _sheet_rows(path: Path, book):
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
    if twice := repeated_column(header, "row"):
        yield twice
        return
    note = ""
    if len(book.worksheets) > 1:
        others = len(book.worksheets) - 1
        note = (f"Read the first sheet, {sheet.title!r}; {others} other "
                f"sheet{'s' if others != 1 else ''} ignored")
    yield Header(1, header, note)
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
            yield RowError(number, get_column_letter(extra[0] + 1), (
                f"a value in a column with no name in the header row (the header has "
                f"{len(header)} columns)"), unit="row")
            continue
        values += [""] * (len(header) - len(values))
        yield RawRow(number, dict(zip(header, values, strict=False)))


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

