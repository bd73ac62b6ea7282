"""Imports from real exports: other column names, explicit date formats, Excel workbooks."""

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotation import services
from annotation.importing.columns import ColumnMapping, guess_mapping
from annotation.importing.plan import plan_import
from annotation.models import Project, Report
from tests.support import XLSX_HEADER, errors_of, write, xlsx

RIS_HEADER = "Accession No,MRN,Gender,Age,Exam Date,Findings,Impression,Ward\n"
RIS_ROWS = [
    "R1,M1,F,61,25/03/2020,Collection in the right flank,Drained: 10 Fr pigtail,3B\n",
    "R2,M2,M,70,03/04/2020,Nodule in the right upper lobe,18G core biopsy,4A\n",
]


def test_it_guesses_common_export_names_and_joins_findings_and_impression():
    mapping = guess_mapping(["Accession No", "MRN", "Gender", "Age", "Exam Date", "Findings",
                             "Impression", "Ward"])
    assert mapping.columns == {
        "accession": ("Accession No",), "patient_id": ("MRN",), "sex": ("Gender",),
        "age": ("Age",), "procedure_date": ("Exam Date",), "text": ("Findings", "Impression")}
    assert mapping.date_format == "iso"
    assert mapping.apply({"Findings": "a", "Impression": "b"})["text"] == (
        "Findings: a\n\nImpression: b")
    assert guess_mapping(["accession", "Report", "Findings"]).source("text") == ("Report",)


def test_day_first_dates_are_refused_until_the_format_is_chosen(project, tmp_path):
    path = write(tmp_path, "ris.csv", RIS_HEADER + "".join(RIS_ROWS))
    plan = plan_import(project, path)
    assert "line 2, column Exam Date (procedure_date): bad date '25/03/2020' (expected " \
           "YYYY-MM-DD); if the file writes dates as DD/MM/YYYY or MM/DD/YYYY, choose that " \
           "date format" in errors_of(plan)
    assert plan.warnings == ["Ignored unknown columns: Ward"]
    # MM/DD/YYYY has no 25th month: the same file is refused, with the line and column.
    mdy = plan_import(project, path, mapping=ColumnMapping(plan.mapping.columns, "mdy"))
    assert errors_of(mdy) == ["line 2, column Exam Date (procedure_date): bad date "
                              "'25/03/2020' (expected MM/DD/YYYY); no such day"]
    result = services.reports_import(
        project=project, path=path, mapping=ColumnMapping(plan.mapping.columns, "dmy"))
    assert result.batch.reports_created == 2
    r2 = Report.objects.get(accession="R2")
    assert r2.procedure_date == datetime.date(2020, 4, 3)  # 3 April, not 4 March
    assert r2.text == "Findings: Nodule in the right upper lobe\n\nImpression: 18G core biopsy"
    assert r2.patient.pseudo_id == "M2" and r2.patient.sex == "M"


def test_the_mapping_of_a_file_that_imported_is_used_for_the_next_one(project, tmp_path):
    first = write(tmp_path, "jan.csv", "Acc,Patient,Sex,Age,When,Body\n"
                  "X1,P1,F,50,03/04/2020,Drainage of a psoas abscess\n")
    mapping = ColumnMapping({"accession": ("Acc",), "patient_id": ("Patient",),
                             "sex": ("Sex",), "age": ("Age",), "procedure_date": ("When",),
                             "text": ("Body",)}, "mdy")
    services.reports_import(project=project, path=first, mapping=mapping)
    project.refresh_from_db()
    assert project.import_mapping == mapping.to_dict()
    second = write(tmp_path, "feb.csv", "Acc,Patient,Sex,Age,When,Body\n"
                   "X2,P2,M,60,02/13/2021,Biopsy of a rib lesion\n")
    plan = plan_import(project, second)
    assert plan.ok, errors_of(plan)
    assert plan.mapping == mapping
    # A file in ctir's own layout is read as ISO again: the format went with "When".
    own = write(tmp_path, "own.csv", "accession,patient_id,sex,age,procedure_date,text\n"
                "X3,P3,F,40,2021-05-06,Biopsy of a rib lesion\n")
    assert plan_import(project, own).ok


def test_an_excel_workbook_imports_with_date_cells_and_numbers(project, tmp_path):
    path = xlsx(tmp_path, [
        XLSX_HEADER,
        [100234, "P1", "F", 61.0, datetime.datetime(2020, 3, 25), "Drainage of a collection"],
        [None, None, None, None, None, None],
        ["A-2", "P2", "M", 70, "03/04/2020", "Biopsy of a lung nodule"],
    ], sheets=2)
    plan = plan_import(project, path)
    # The text date needs its format; the date cell never does.
    assert errors_of(plan) == [
        "row 4, column Study Date (procedure_date): bad date '03/04/2020' (expected "
        "YYYY-MM-DD); if the file writes dates as DD/MM/YYYY or MM/DD/YYYY, choose that date "
        "format"]
    assert "Read the first sheet, 'Reports'; 1 other sheet ignored" in plan.warnings
    services.reports_import(project=project, path=path,
                            mapping=ColumnMapping(plan.mapping.columns, "dmy"))
    first = Report.objects.get(accession="100234")  # 100234, not 100234.0
    assert first.procedure_date == datetime.date(2020, 3, 25)
    assert first.patient.age == 61
    assert Report.objects.get(accession="A-2").procedure_date == datetime.date(2020, 4, 3)


def test_a_bad_excel_row_imports_nothing_and_names_row_and_column(project, tmp_path):
    path = xlsx(tmp_path, [
        XLSX_HEADER + ["label"],
        ["E1", "P1", "F", 50, datetime.date(2020, 1, 1), "Drainage", 1],
        ["E2", "P2", "F", 45.5, datetime.date(2020, 1, 2), "Biopsy", 9],
        ["E3", "P3", "F", 50, datetime.date(2020, 1, 3), "Biopsy", 2, "stray"],
    ])
    with pytest.raises(services.ImportRejected) as exc:
        services.reports_import(project=project, path=path)
    assert [str(e) for e in exc.value.plan.errors] == [
        "row 3, column Age (age): age '45.5' is not a whole number of years from 0 to 120",
        "row 3, column label: unknown category '9' (known: 1 Drainage, 2 Soft-tissue / fat "
        "lesion biopsy, 3 Lung biopsy, 4 Bone biopsy)",
        "row 4, column H: a value in a column with no name in the header row (the "
        "header has 7 columns)"]
    assert not Report.objects.exists()


def test_a_damaged_workbook_and_old_excel_files_get_a_clear_message(project, tmp_path):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    assert errors_of(plan_import(project, broken))[0].startswith(
        "line 0: not a readable .xlsx workbook")
    old = write(tmp_path, "old.xls", "x")
    assert errors_of(plan_import(project, old)) == [
        "line 0: old.xls: the old Excel format (.xls) cannot be read; save it as .xlsx (Excel "
        "Workbook) or as CSV UTF-8"]


def test_json_lines_with_other_names_are_mapped_too(project, tmp_path):
    path = write(tmp_path, "x.jsonl",
                 '{"Accession No": "J1", "MRN": "P1", "Gender": "F", "Age": 40, '
                 '"Exam Date": "2020-01-02", "Report": "Drainage of a biloma"}\n'
                 '{"Accession No": "J2", "MRN": "P2", "Gender": "F", "Age": 40, '
                 '"Report": "Biopsy"}\n')
    assert errors_of(plan_import(project, path)) == [
        "line 2, column Exam Date (procedure_date): missing column"]


# --- the browser path: preview with the mapping, check again, confirm ---------------------

def test_the_preview_shows_the_guessed_mapping_and_checks_again(login, project, admin_user,
                                                               settings, tmp_path):
    settings.CTIR_UPLOAD_DIR = tmp_path / "uploads"
    client = login(admin_user)
    url = reverse("import_reports", args=[project.slug])
    content = (RIS_HEADER + "".join(RIS_ROWS)).encode()
    preview = client.post(url, {"file": SimpleUploadedFile("ris.csv", content)})
    page = preview.content.decode()
    assert '<option value="Exam Date" selected>' in page
    assert 'name="map_text" value="Findings" checked' in page
    assert "2 problems found; nothing was imported" in page
    assert 'name="confirm"' not in page
    token = preview.context["token"]
    chosen = {"token": token, "remap": "1", "map_accession": "Accession No",
              "map_patient_id": "MRN", "map_sex": "Gender", "map_age": "Age",
              "map_procedure_date": "Exam Date", "map_text": ["Findings", "Impression"],
              "date_format": "dmy"}
    again = client.post(url, chosen)
    assert again.context["plan"].ok, errors_of(again.context["plan"])
    assert b"2</strong> new reports" in again.content
    assert not Report.objects.exists()
    done = client.post(url, {"confirm": "1", "token": again.context["token"]}, follow=True)
    assert b"imported 2 new reports" in done.content
    assert Report.objects.get(accession="R1").procedure_date == datetime.date(2020, 3, 25)
    assert Project.objects.get(pk=project.pk).import_mapping["date_format"] == "dmy"


def test_a_mapping_naming_a_column_the_file_lacks_is_a_bad_request(login, project, admin_user,
                                                                  settings, tmp_path):
    settings.CTIR_UPLOAD_DIR = tmp_path / "uploads"
    client = login(admin_user)
    url = reverse("import_reports", args=[project.slug])
    preview = client.post(url, {"file": SimpleUploadedFile(
        "ris.csv", (RIS_HEADER + RIS_ROWS[0]).encode())})
    response = client.post(url, {"token": preview.context["token"], "remap": "1",
                                 "map_accession": "Nope", "date_format": "dmy"})
    assert response.status_code == 400
    assert "map_accession: &#x27;Nope&#x27; is not a column of this file" in (
        response.content.decode())
    odd = client.post(url, {"token": preview.context["token"], "remap": "1",
                            "date_format": "ydm"})
    assert odd.status_code == 400


def test_an_excel_upload_is_previewed_row_by_row(login, project, admin_user, settings,
                                                 tmp_path):
    settings.CTIR_UPLOAD_DIR = tmp_path / "uploads"
    path = xlsx(tmp_path, [XLSX_HEADER, ["E1", "P1", "F", 50, "2020-01-01", ""]])
    response = login(admin_user).post(reverse("import_reports", args=[project.slug]), {
        "file": SimpleUploadedFile("export.xlsx", path.read_bytes())})
    page = response.content.decode()
    assert "<th>Row</th>" in page
    assert "empty report text" in page and "Report (text)" in page


# --- the command line -----------------------------------------------------------------------

def test_the_command_takes_a_mapping_and_a_date_format(project, tmp_path):
    path = write(tmp_path, "ris.csv", "Acc,Patient,Sex,Age,Exam Date,Findings,Impression\n"
                 "C1,P1,F,61,03/04/2020,Collection,Drained\n")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_reports", str(path), "--project", project.slug,
                     stderr=io.StringIO())
    out = io.StringIO()
    call_command("import_reports", str(path), "--project", project.slug, "--map",
                 "accession=Acc", "--map", "patient_id=Patient", "--map",
                 "text=Impression+Findings", "--date-format", "mdy", stdout=out)
    assert "imported 1 new reports" in out.getvalue()
    assert ("Columns read: accession <- Acc, patient_id <- Patient, sex <- Sex, age <- Age, "
            "procedure_date <- Exam Date, text <- Impression + Findings; dates MM/DD/YYYY"
            ) in out.getvalue()
    report = Report.objects.get(accession="C1")
    assert report.procedure_date == datetime.date(2020, 3, 4)
    assert report.text == "Impression: Drained\n\nFindings: Collection"  # in the order given
    with pytest.raises(CommandError, match="has no column 'Nope'"):
        call_command("import_reports", str(path), "--project", project.slug, "--map",
                     "accession=Nope")
    with pytest.raises(CommandError, match="expected FIELD=COLUMN"):
        call_command("import_reports", str(path), "--project", project.slug, "--map",
                     "ward=Acc")


def test_a_ris_export_without_patient_sex_or_age_imports(login, project, admin_user, settings,
                                                         tmp_path):
    """The audit's export: no age column (nor sex, nor patient id) could not be imported in
    the browser at all, and the preview showed None in every field."""
    settings.CTIR_UPLOAD_DIR = tmp_path / "uploads"
    ris = ("Accession No,Exam Date,Report\n"
           "R1,2020-03-25,CT-guided drainage of a pelvic collection\n"
           "R2,2020-04-03,CT-guided biopsy of a right upper lobe nodule\n")
    client = login(admin_user)
    url = reverse("import_reports", args=[project.slug])
    page = client.post(url, {"file": SimpleUploadedFile("ris.csv", ris.encode())})
    plan = page.context["plan"]
    assert plan.ok, plan.errors
    html = page.content.decode()
    assert "None" not in html.split('id="preview"')[1]
    assert "— not in this file —" in html
    assert any("No age column" in w for w in plan.warnings)
    assert any("each report is taken as its own patient" in w for w in plan.warnings)
    client.post(url, {"confirm": "1", "token": page.context["token"]})
    from annotation.models import Report

    r1 = Report.objects.get(accession="R1")
    assert r1.patient.pseudo_id == "R1" and r1.patient.sex == "U" and r1.patient.age is None
    assert Report.objects.count() == 2
