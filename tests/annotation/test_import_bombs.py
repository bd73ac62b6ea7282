"""Workbooks that would cost more to open than any export: refused from the zip's directory
in well under a second, with a message, on the page, the API and the command; and the
import checks a careless export trips (a repeated column, JSON true, an object inside a
joined text, bytes that are not UTF-8) named by line and column."""

import io
import time
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from annotation.importing.columns import ColumnMapping
from annotation.importing.plan import estimate_rows, plan_import
from annotation.models import Report
from tests.support import XLSX_HEADER, bearer, errors_of, write, xlsx

ROW = ["E1", "P1", "F", 50, "2020-01-01", "CT-guided drainage of a pelvic collection."]


def _with_part(tmp_path, name: str, part: str, payload: bytes) -> "Path":  # noqa: F821
    """A real workbook with one part replaced by `payload` (deflated)."""
    source = xlsx(tmp_path, [XLSX_HEADER, ROW], name="source.xlsx")
    target = tmp_path / name
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(
            target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as new:
        for item in old.infolist():
            new.writestr(item.filename, payload if item.filename == part else old.read(item))
        if part not in old.namelist():  # openpyxl writes inline strings, no sharedStrings
            new.writestr(part, payload)
    return target


def _shared_strings_bomb(tmp_path):
    # 40 MB of one repeated shared string: a few tens of KB on disk.
    body = b"<si><t>" + b"A" * 1000 + b"</t></si>"
    payload = (b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
               b'spreadsheetml/2006/main">' + body * 40_000 + b"</sst>")
    return _with_part(tmp_path, "strings.xlsx", "xl/sharedStrings.xml", payload)


def _sheet_bomb(tmp_path):
    """A first sheet whose XML expands to 60 MB of empty rows."""
    rows = b"".join(b'<row r="%d"/>' % i for i in range(3, 400_000))
    payload = (b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
               b'spreadsheetml/2006/main"><sheetData>' + rows * 8 + b"</sheetData></worksheet>")
    return _with_part(tmp_path, "sheet.xlsx", "xl/worksheets/sheet1.xml", payload)


def test_a_part_compressed_like_a_bomb_is_refused_at_once(project, tmp_path):
    path = _shared_strings_bomb(tmp_path)
    assert path.stat().st_size < 1_000_000
    began = time.perf_counter()
    plan = plan_import(project, path)
    assert time.perf_counter() - began < 5
    [error] = errors_of(plan)
    assert "xl/sharedStrings.xml expands" in error and "decompression bomb" in error
    assert error.startswith("line 0: strings.xlsx: its part")


def test_a_workbook_that_expands_past_the_limit_is_refused(project, tmp_path, settings):
    settings.CTIR_XLSX_MAX_EXPANDED_BYTES = 20 * 1024 * 1024
    settings.CTIR_XLSX_MAX_RATIO = 10_000  # the size alone refuses it
    path = _sheet_bomb(tmp_path)
    [error] = errors_of(plan_import(project, path))
    assert "sheet.xlsx expands to" in error and "workbooks are read up to 20 MB" in error


def test_too_many_cells_on_the_first_sheet_are_refused(project, tmp_path, settings):
    settings.CTIR_XLSX_MAX_CELLS = 30
    path = xlsx(tmp_path, [XLSX_HEADER] + [[f"E{i}", *ROW[1:]] for i in range(10)])
    [error] = errors_of(plan_import(project, path))
    assert "more than 30 cells on the first sheet (row 6)" in error


def test_a_declared_dimension_is_not_padded_out(project, tmp_path):
    """<dimension ref="A1:XFD1048576"> must not make openpyxl pad rows to 16,384 columns."""
    source = xlsx(tmp_path, [XLSX_HEADER, ROW], name="source.xlsx")
    with zipfile.ZipFile(source) as old:
        sheet = old.read("xl/worksheets/sheet1.xml")
    import re

    lying = re.sub(rb'<dimension ref="[^"]+" ?/>', b"", sheet).replace(
        b"<sheetData>", b'<dimension ref="A1:XFD1048576"/><sheetData>')
    assert b"XFD1048576" in lying
    path = _with_part(tmp_path, "lying.xlsx", "xl/worksheets/sheet1.xml", lying)
    began = time.perf_counter()
    plan = plan_import(project, path)
    assert time.perf_counter() - began < 5 and plan.ok and plan.rows == 1
    # The estimate reads what the sheet claims: enough to send it to a worker, never a hang.
    assert estimate_rows(path) == 1_048_576


def test_the_page_the_api_and_the_command_refuse_a_bomb(login, project, admin_user,
                                                        tmp_path, settings):
    settings.CTIR_UPLOAD_DIR = tmp_path / "uploads"
    path = _shared_strings_bomb(tmp_path)
    began = time.perf_counter()
    page = login(admin_user).post(reverse("import_reports", args=[project.slug]), {
        "file": SimpleUploadedFile("ris-export.xlsx", path.read_bytes())})
    assert "ris-export.xlsx: its part xl/sharedStrings.xml expands" in page.content.decode()
    upload = io.BytesIO(path.read_bytes())
    upload.name = "ris-export.xlsx"
    api = bearer(admin_user).post(reverse("api_reports", args=[project.slug]),
                                  {"file": upload}, format="multipart")
    assert api.status_code == 400
    assert "ris-export.xlsx: its part xl/sharedStrings.xml expands" in api.json()["detail"]
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_reports", str(path), "--project", project.slug,
                     "--no-progress", stderr=(err := io.StringIO()))
    assert "decompression bomb" in err.getvalue()
    assert time.perf_counter() - began < 15  # three refusals, each well under 5 s
    assert not Report.objects.exists()


def test_a_repeated_column_is_refused_with_both_positions(project, tmp_path):
    path = write(tmp_path, "twice.csv", "accession,patient_id,sex,age,procedure_date,text,text\n"
                 "A1,P1,F,40,2021-05-06,Biopsy,Drainage\n")
    assert errors_of(plan_import(project, path)) == [
        "line 1, column text: column 'text' appears twice in the header (columns F and G); "
        "rename or remove one"]
    book = xlsx(tmp_path, [XLSX_HEADER + ["Report"], ROW + ["x"]], name="twice.xlsx")
    assert "column 'Report' appears twice in the header (columns F and G)" in errors_of(
        plan_import(project, book))[0]


def test_json_lines_true_repeated_keys_and_nested_sections_are_refused(project, tmp_path):
    good = '"patient_id": "P1", "sex": "F", "age": 40, "procedure_date": "2021-05-06"'
    path = write(tmp_path, "odd.jsonl", "\n".join([
        '{"accession": true, ' + good + ', "text": "Biopsy"}',
        '{"accession": "A2", ' + good + ', "text": "Biopsy", "text": "Drainage"}',
    ]) + "\n")
    sections = write(tmp_path, "sections.jsonl", "\n".join([
        '{"accession": "A3", ' + good + ', "Findings": {"a": 1}, "Impression": "ok"}',
    ]) + "\n")
    mapping = ColumnMapping({"accession": ("accession",), "patient_id": ("patient_id",),
                             "sex": ("sex",), "age": ("age",),
                             "procedure_date": ("procedure_date",),
                             "text": ("text",)})
    errors = errors_of(plan_import(project, path, mapping=mapping))
    assert "line 1, column accession: expected a string or a number, not true" in errors
    assert "line 2, column text: key 'text' appears twice in this object; keep one" in errors
    joined = ColumnMapping({**mapping.columns, "text": ("Findings", "Impression")})
    errors = errors_of(plan_import(project, sections, mapping=joined))
    assert ("line 1, column Findings: expected a string or a number, not a JSON object"
            in errors)


def test_bytes_that_are_not_utf8_are_named_by_line(project, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"accession,patient_id,sex,age,procedure_date,text\n"
                     b"A1,P1,F,40,2021-05-06,Biopsy\n"
                     b"A2,P2,M,41,2021-05-07,Drainage of the caf\xe9 collection\n")
    [error] = errors_of(plan_import(project, path, filename="ris.csv"))
    byte = len(b"A2,P2,M,41,2021-05-07,Drainage of the caf") + 1
    assert error == (f"line 3: ris.csv: not UTF-8 text (line 3, byte {byte} of the line); save "
                     "the file as UTF-8")
