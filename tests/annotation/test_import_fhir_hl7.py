"""Imports from clinical interchange formats: FHIR R4 DiagnosticReports (a Bundle, NDJSON)
and HL7 v2 ORU^R01 messages, through the same import service, checks and preview."""

import base64
import datetime
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.imagingstudy import ImagingStudy
from fhir.resources.R4B.patient import Patient

from annotation import services
from annotation.importing.clinical import REPORT_COLUMNS, age_at
from annotation.importing.formats import file_format
from annotation.importing.plan import plan_import
from annotation.models import Report

ACSN = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                    "code": "ACSN"}]}
MR = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}


def report(id_, accession, **fields) -> DiagnosticReport:
    return DiagnosticReport(id=id_, status="final", code={"text": "CT-guided procedure"},
                            identifier=[{"system": "urn:ris:order", "value": f"ORD-{id_}"},
                                        {"type": ACSN, "value": accession}], **fields)


def fhir_json(resource) -> dict:
    return json.loads(resource.model_dump_json(exclude_none=True))


def errors_of(plan):
    return [str(e) for e in plan.errors]


def bundle_file(tmp_path, name="export.json"):
    """A Bundle as a RIS exports one: a Patient, an ImagingStudy and two reports, one with
    its patient contained and its text in a base64 text/plain presentedForm."""
    patient = Patient(id="p1", gender="female", birthDate="1960-05-02",
                      identifier=[{"system": "urn:ssn", "value": "999-99-9999"},
                                  {"type": MR, "system": "urn:mrn", "value": "MRN-1"}])
    study = ImagingStudy(id="s1", status="available", subject={"reference": "Patient/p1"})
    drainage = report(
        "dr-1", "ACC-1", subject={"reference": "Patient/p1"},
        # 23:30 in Tokyo is still 5 March there: the date is the one the time was written in.
        effectiveDateTime="2021-03-05T23:30:00+09:00",
        conclusion="CT-guided drainage of a hepatic abscess, 10 Fr pigtail.")
    text = "CT-guided biopsy of the right upper lobe nodule.\n18G coaxial, no pneumothorax."
    biopsy = report(
        "dr-2", "ACC-2", subject={"reference": "#pt"},
        contained=[Patient(id="pt", gender="male", birthDate="1950-12-31")],
        effectivePeriod={"start": "2022-01-10T09:00:00Z"},
        presentedForm=[{"contentType": "application/pdf", "data": "JVBERi0xLjQ="},
                       {"contentType": "text/plain; charset=utf-8",
                        "data": base64.b64encode(text.encode()).decode()}])
    bundle = Bundle(type="collection", entry=[
        BundleEntry(fullUrl="urn:uuid:7f0c1d2e-0000-4000-8000-000000000001", resource=patient),
        BundleEntry(resource=study), BundleEntry(resource=drainage),
        BundleEntry(resource=biopsy)])
    path = tmp_path / name
    # Pretty-printed, as most exports are: resourceType first, the rest over many lines.
    path.write_text(json.dumps(fhir_json(bundle), indent=2), encoding="utf-8")
    return path, text


def test_it_imports_a_fhir_bundle_with_its_patients(project, tmp_path):
    path, text = bundle_file(tmp_path)
    result = services.reports_import(project=project, path=path)
    assert result.batch.reports_created == 2
    assert result.plan.warnings == []  # the ImagingStudy is skipped silently
    first = Report.objects.get(project=project, accession="ACC-1")
    assert (first.patient.pseudo_id, first.patient.sex, first.patient.age) == ("MRN-1", "F", 60)
    assert first.procedure_date == datetime.date(2021, 3, 5)
    assert first.text == "CT-guided drainage of a hepatic abscess, 10 Fr pigtail."
    second = Report.objects.get(project=project, accession="ACC-2")
    # No identifier on the contained Patient: the reference's id stands for the patient.
    assert (second.patient.pseudo_id, second.patient.sex, second.patient.age) == ("pt", "M", 71)
    assert second.procedure_date == datetime.date(2022, 1, 10)
    assert second.text == text


def test_ndjson_reports_import_with_patients_from_other_lines(project, tmp_path):
    lines = [
        report("n1", "NDJ-1", subject={"reference": "Patient/42"},
               effectiveDateTime="2020-06-01",
               text={"status": "generated", "div": (
                   '<div xmlns="http://www.w3.org/1999/xhtml"><p>Bone biopsy of L2 &amp; '
                   "<b>T12</b>.</p><p>11G needle.</p></div>")}),
        Patient(id="42", gender="other", birthDate="1971"),
        report("n2", "NDJ-2", subject={"reference": "Patient/77"},
               effectiveDateTime="2020-06-02T08:00:00Z", conclusion="Psoas abscess drained."),
    ]
    path = tmp_path / "bulk.ndjson"
    path.write_text("\n".join(r.model_dump_json(exclude_none=True) for r in lines) + "\n",
                    encoding="utf-8")
    assert file_format(path.name, path) == "fhir"
    services.reports_import(project=project, path=path)
    bone = Report.objects.get(accession="NDJ-1")
    assert bone.text == "Bone biopsy of L2 & T12.\n11G needle."
    # Born in 1971, and 1 June: 48 or 49, so the age is left empty rather than guessed.
    assert (bone.patient.pseudo_id, bone.patient.sex, bone.patient.age) == ("42", "O", None)
    other = Report.objects.get(accession="NDJ-2")
    assert (other.patient.pseudo_id, other.patient.sex, other.patient.age) == ("77", "U", None)
    assert other.procedure_date == datetime.date(2020, 6, 2)


def test_content_decides_between_fhir_and_json_lines(tmp_path):
    path, _ = bundle_file(tmp_path, "bundle.json")
    assert file_format("bundle.json", path) == "fhir"
    assert file_format("anything.fhir.json") == "fhir"  # by name, without the file
    one = tmp_path / "one.json"
    one.write_text(report("x", "X1", conclusion="x").model_dump_json(), encoding="utf-8")
    assert file_format("one.json", one) == "fhir"
    # resourceType last, over many lines: still a FHIR document, parsed whole to see it.
    late = tmp_path / "late.json"
    late.write_text(json.dumps({"type": "collection", "resourceType": "Bundle"}, indent=1))
    assert file_format("late.json", late) == "fhir"
    plain = tmp_path / "plain.json"
    plain.write_text('{"accession": "A1", "procedure_date": "2020-01-01", "text": "x"}\n')
    assert file_format("plain.json", plain) == "jsonl"
    assert file_format("plain.jsonl", plain) == "jsonl"
    assert file_format("feed.hl7") == "hl7"


def test_a_bad_diagnostic_report_imports_nothing_and_names_entry_id_and_field(project,
                                                                             tmp_path):
    path, _ = bundle_file(tmp_path)
    bundle = json.loads(path.read_text())
    bundle["entry"][3]["resource"]["effectivePeriod"]["start"] = "2022-13-10"
    bundle["entry"].append({"resource": {**bundle["entry"][2]["resource"], "id": "dr-9",
                                         "subject": "Patient/p1"}})
    path.write_text(json.dumps(bundle))
    with pytest.raises(services.ImportRejected) as rejected:
        services.reports_import(project=project, path=path)
    errors = errors_of(rejected.value.plan)
    assert len(errors) == 2, errors
    assert errors[0].startswith("entry 4, column effectivePeriod.start: DiagnosticReport/dr-2 "
                                "is not valid FHIR R4: ")
    assert "(got '2022-13-10')" in errors[0]
    assert errors[1].startswith("entry 5, column subject: DiagnosticReport/dr-9 is not valid "
                                "FHIR R4: ")
    assert not Report.objects.exists()


def test_a_fhir_report_without_text_or_date_names_what_is_missing(project, tmp_path):
    lines = [report("ok", "OK-1", subject={"reference": "Patient/1"},
                    effectiveDateTime="2020-01-01", conclusion="Drainage."),
             report("bare", "B-1", subject={"reference": "Patient/2"},
                    effectiveDateTime="2020-01")]
    path = tmp_path / "reports.ndjson"
    path.write_text("\n".join(r.model_dump_json() for r in lines) + "\n{not json\n")
    plan = plan_import(project, path)
    assert errors_of(plan) == [
        "line 2, column effectiveDateTime: DiagnosticReport/bare: '2020-01' names no day; "
        "the procedure date needs one",
        "line 2, column conclusion: DiagnosticReport/bare: no report text: no conclusion, no "
        "text/plain presentedForm with data and no narrative (text.div)",
        "line 3: not valid JSON (column 2: Expecting property name enclosed in double quotes)",
    ]


# --- HL7 v2 -----------------------------------------------------------------------------------

# After the ORU^R01 example of python-hl7's documentation, as a radiology result.
ORU = [
    "MSH|^~\\&|GHH RIS|ELAB-3|CTIR|BLDG4|202402150930||ORU^R01|CNTRL-3456|P|2.4",
    "PID|||555-44-4444^^^SSA^SS~MRN-88^^^GHH^MR||EVERYWOMAN^EVE^E^^^^L|JONES|19620320|F",
    "OBR|1|845439^GHH OE|1045813^GHH RIS|71250^CT CHEST GUIDED BIOPSY|||202402150730",
    "OBX|1|TX|18782-3^RADIOLOGY STUDY OBSERVATION||CT-guided biopsy of a RUL nodule\\.br\\"
    "18G \\T\\ 20G coaxial \\F\\ 3 passes||||||F",
    "OBX|2|TX|19005-8^RADIOLOGY IMPRESSION||No pneumothorax \\S\\ stable\\E\\ \\R\\ done||||||F",
    "OBX|3|CE|LOINC^CODE||C34.1^Lung^I10||||||F",
]
SECOND = [
    "MSH|^~\\&|GHH RIS|ELAB-3|CTIR|BLDG4|202403010800||ORU^R01|CNTRL-3457|P|2.4",
    "PID|||MRN-90^^^GHH^MR||DOE^JOHN||1955|M",
    "OBR|1|845440^GHH OE||72192^CT PELVIS DRAINAGE|||20240301074500+0100",
    "OBX|1|TX|18782-3^RADIOLOGY STUDY OBSERVATION||Pelvic collection drained, 8 Fr.||||||F",
]


def hl7_file(tmp_path, *messages, name="feed.hl7", separator="\r"):
    path = tmp_path / name
    path.write_text("".join(separator.join(m) + separator for m in messages), encoding="utf-8")
    return path


@pytest.mark.parametrize("separator", ["\r", "\n", "\r\n"])
def test_it_imports_hl7_oru_messages_with_escapes_decoded(project, tmp_path, separator):
    path = hl7_file(tmp_path, ORU, SECOND, separator=separator)
    result = services.reports_import(project=project, path=path)
    assert result.batch.reports_created == 2
    biopsy = Report.objects.get(accession="1045813")
    assert biopsy.text == ("CT-guided biopsy of a RUL nodule\n18G & 20G coaxial | 3 passes\n"
                           "No pneumothorax ^ stable\\ ~ done")
    assert biopsy.procedure_date == datetime.date(2024, 2, 15)
    assert (biopsy.patient.pseudo_id, biopsy.patient.sex, biopsy.patient.age) == (
        "MRN-88", "F", 61)
    # No OBR-3: the placer order number; a birth year alone leaves the age open.
    drainage = Report.objects.get(accession="845440")
    assert drainage.procedure_date == datetime.date(2024, 3, 1)
    assert (drainage.patient.pseudo_id, drainage.patient.sex, drainage.patient.age) == (
        "MRN-90", "M", None)
    assert drainage.text == "Pelvic collection drained, 8 Fr."


def test_a_bad_hl7_message_imports_nothing_and_names_message_and_field(project, tmp_path):
    bad = [SECOND[0], SECOND[1].replace("|M", "|Q"), SECOND[2].replace("20240301074500+0100",
                                                                       "2024-03-01"), SECOND[3]]
    ack = ["MSH|^~\\&|CTIR|BLDG4|GHH RIS|ELAB-3|202403010801||ACK|A1|P|2.4", "MSA|AA|CNTRL-1"]
    path = hl7_file(tmp_path, ORU, ack, bad)
    with pytest.raises(services.ImportRejected) as rejected:
        services.reports_import(project=project, path=path)
    assert errors_of(rejected.value.plan) == [
        "message 3, column OBR-7: '2024-03-01' is not an HL7 date/time (YYYYMMDD[HHMM[SS]])",
        "message 3, column PID-8: unknown sex 'Q' (HL7 uses F, M, O, U, A or N)",
    ]
    assert not Report.objects.exists()


def test_a_file_that_is_not_hl7_is_refused_as_a_whole(project, tmp_path):
    path = tmp_path / "notes.hl7"
    path.write_text("PID|||1\rOBR|1|2|3\r")
    assert errors_of(plan_import(project, path)) == [
        "line 0: a PID segment on line 1, before any MSH; an HL7 v2 file holds messages, "
        "each starting at its MSH segment"]


# --- the page and the command choose the reader alike ----------------------------------------

def test_the_upload_preview_shows_an_hl7_files_columns(login, project, admin_user, settings,
                                                       tmp_path):
    settings.CTIR_UPLOAD_DIR = tmp_path / "uploads"
    client = login(admin_user)
    url = reverse("import_reports", args=[project.slug])
    content = hl7_file(tmp_path, ORU, SECOND).read_bytes()
    preview = client.post(url, {"file": SimpleUploadedFile("feed.hl7", content)})
    plan = preview.context["plan"]
    assert plan.ok, errors_of(plan)
    assert plan.columns == REPORT_COLUMNS
    assert plan.unit == "message"
    page = preview.content.decode()
    for column in REPORT_COLUMNS:
        assert f'<option value="{column}" selected>' in page or (
            f'name="map_text" value="{column}" checked' in page)
    assert [row["accession"] for row in plan.preview] == ["1045813", "845440"]
    done = client.post(url, {"confirm": "1", "token": preview.context["token"]}, follow=True)
    assert b"imported 2 new reports" in done.content
    assert Report.objects.filter(project=project).count() == 2


def test_a_fhir_bundle_named_json_is_read_as_fhir_on_the_page_and_by_the_command(
        login, project, admin_user, settings, tmp_path):
    settings.CTIR_UPLOAD_DIR = tmp_path / "uploads"
    path, _ = bundle_file(tmp_path)
    preview = login(admin_user).post(reverse("import_reports", args=[project.slug]), {
        "file": SimpleUploadedFile("export.json", path.read_bytes())})
    plan = preview.context["plan"]
    assert plan.ok, errors_of(plan)
    assert (plan.columns, plan.unit, plan.new_reports) == (REPORT_COLUMNS, "entry", 2)
    out = io.StringIO()
    call_command("import_reports", str(path), "--project", project.slug, "--no-progress",
                 "--map", "text=text", stdout=out)
    assert "imported 2 new reports" in out.getvalue()
    with pytest.raises(CommandError, match="has no column 'Findings'"):
        call_command("import_reports", str(path), "--project", project.slug,
                     "--map", "text=Findings")


def test_an_age_is_left_empty_where_a_partial_birth_date_leaves_it_open():
    on = datetime.date(2020, 6, 1)
    assert age_at(on, 1960, 5, 2) == 60
    assert age_at(on, 1960, 6, 2) == 59
    assert age_at(on, 1960, 1) == 60  # born in January: 60 whichever day
    assert age_at(on, 1960, 6) == ""  # born in June: 59 or 60
    assert age_at(on, 1960) == ""
