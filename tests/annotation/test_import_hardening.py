"""Imports that used to lose rows, crash on confirm, or accept what they should not."""

import pytest

from annotation import services
from annotation.importing.plan import plan_import
from annotation.models import ImportBatch, Report

HEADER = "accession,patient_id,sex,age,procedure_date,text,label,split\n"
ROW = "A{n},P{n},F,50,2020-01-0{n},Drainage of a pelvic collection,1,train\n"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def rejected(project, path):
    with pytest.raises(services.ImportRejected) as exc:
        services.reports_import(project=project, path=path)
    assert Report.objects.count() == 0 and ImportBatch.objects.count() == 0
    return [str(e) for e in exc.value.plan.errors]


# --- item 1: an unbalanced quote must never swallow the rows after it -------------------------

def test_an_unclosed_quote_that_runs_to_the_end_of_the_file_is_rejected(project, tmp_path):
    # text is the last column here, so the runaway field would still give 6 fields.
    content = ("accession,patient_id,sex,age,procedure_date,text\n"
               "A1,P1,F,50,2020-01-01,Drainage\n"
               'A2,P2,F,50,2020-01-02,"Biopsy of rib\n'
               "A3,P3,F,50,2020-01-03,Biopsy of liver\n"
               "A4,P4,F,50,2020-01-04,Biopsy of lung\n")
    errors = rejected(project, write(tmp_path, "q.csv", content))
    assert errors[0].startswith("line 3, column text: the quote opened at character 23 is "
                                "never closed"), errors


def test_a_quote_closed_rows_later_is_rejected_not_swallowed(project, tmp_path):
    content = (HEADER + ROW.format(n=1)
               + 'A2,P2,F,50,2020-01-02,"Biopsy of rib,4,train\n'
               + ROW.format(n=3)
               + 'A4,P4,F,50,2020-01-04,Biopsy of liver",2,test\n')
    errors = rejected(project, write(tmp_path, "q.csv", content))
    assert errors[0].startswith(
        "line 3, column text: the quote opened at character 23 runs on to line 5 and takes in "
        "line 4, which looks like a row of its own"), errors


def test_a_quote_closed_by_the_next_quoted_field_is_rejected(project, tmp_path):
    content = (HEADER + 'A2,P2,F,50,2020-01-02,"Biopsy of rib,4,train\n'
               + 'A3,P3,F,50,2020-01-03,"Biopsy, liver",2,test\n')
    errors = rejected(project, write(tmp_path, "q.csv", content))
    assert errors[0].startswith(
        "line 2, column text: the quote opened at character 23 runs on to line 3, where text "
        "follows the quote at character 23"), errors


def test_a_stray_quote_inside_an_unquoted_field_is_rejected(project, tmp_path):
    content = HEADER + 'A1,P1,F,50,2020-01-01,Biopsy with a 5" needle,4,train\n'
    errors = rejected(project, write(tmp_path, "q.csv", content))
    assert errors[0].startswith("line 2, column text: a quote at character 38 inside an "
                                "unquoted field"), errors


def test_quoted_fields_with_commas_doubled_quotes_and_line_breaks_still_import(project,
                                                                              tmp_path):
    content = (HEADER + 'A1,P1,F,50,2020-01-01,"Biopsy, 11G ""bone"" needle",4,train\n'
               + 'A2,P2,F,50,2020-01-02,"Drainage of a\npelvic collection, 10 Fr",1,\r\n'
               + 'A3,P3,F,50,2020-01-03,"",4,\n'.replace('""', '"Lung biopsy"'))
    plan = plan_import(project, write(tmp_path, "ok.csv", content))
    assert plan.ok, [str(e) for e in plan.errors]
    assert plan.rows == 3
    result = services.reports_import(project=project, path=write(tmp_path, "ok.csv", content))
    assert result.batch.reports_created == 3
    assert Report.objects.get(accession="A1").text == 'Biopsy, 11G "bone" needle'


# --- item 2: what the preview accepts, the database accepts (run on PostgreSQL in CI) ---------

LONG_ID = "P" * 65
CONFIRM_CRASHES = [
    ("patient id longer than the column",
     HEADER + f"A1,{LONG_ID},F,50,2020-01-01,Drainage,1,\n",
     "line 2, column patient_id: patient_id longer than 64 characters"),
    ("NUL byte in the text",
     HEADER + "A1,P1,F,50,2020-01-01,Drain\x00age,1,\n",
     "line 2, column text: a NUL character (U+0000) at character 6"),
    ("NUL byte in the accession",
     HEADER + "A\x001,P1,F,50,2020-01-01,Drainage,1,\n",
     "line 2, column accession: a NUL character (U+0000) at character 2"),
    ("label given as a superscript digit",
     HEADER + "A1,P1,F,50,2020-01-01,Drainage,\u00b2,\n",
     "line 2, column label: unknown category '\u00b2'"),
    ("label given as an Arabic-Indic digit",
     HEADER + "A1,P1,F,50,2020-01-01,Drainage,\u0663,\n",
     "line 2, column label: unknown category '\u0663'"),
]


@pytest.mark.parametrize(("case", "content", "expected"), CONFIRM_CRASHES,
                         ids=[c[0] for c in CONFIRM_CRASHES])
def test_the_preview_rejects_what_the_database_would(project, tmp_path, case, content, expected):
    path = write(tmp_path, "x.csv", content)
    plan = plan_import(project, path)
    assert any(str(e).startswith(expected) for e in plan.errors), [str(e) for e in plan.errors]
    errors = rejected(project, path)
    assert any(e.startswith(expected) for e in errors)


JSONL_GOOD = ('{"accession": "J1", "patient_id": "P1", "sex": "F", "age": 50, '
              '"procedure_date": "2020-01-01", "text": "Drainage", "label": 1}\n')
JSONL_CASES = [
    ("nested 200,000 levels deep", JSONL_GOOD + "[" * 200_000 + "]" * 200_000 + "\n",
     "line 2: JSON nested too deeply"),
    ("a lone surrogate in the text", JSONL_GOOD.replace("J1", "J2").replace(
        "Drainage", "Drain\\ud800age"),
     "line 1, column text: a lone surrogate (U+D800) at character 6"),
    ("a NUL escape in the text", JSONL_GOOD.replace("Drainage", "Drain\\u0000age"),
     "line 1, column text: a NUL character (U+0000) at character 6"),
    ("an object where text belongs", JSONL_GOOD.replace('"Drainage"', '{"a": [1]}'),
     "line 1, column text: expected a string or a number, not a JSON object"),
    ("an integer with 5,000 digits", JSONL_GOOD.replace('"age": 50', '"age": ' + "9" * 5000),
     "line 1: not valid JSON"),
    ("a patient id longer than the column", JSONL_GOOD.replace('"P1"', f'"{LONG_ID}"'),
     "line 1, column patient_id: patient_id longer than 64 characters"),
]


@pytest.mark.parametrize(("case", "content", "expected"), JSONL_CASES,
                         ids=[c[0] for c in JSONL_CASES])
def test_the_jsonl_preview_rejects_what_would_crash(project, tmp_path, case, content, expected):
    path = write(tmp_path, "x.jsonl", content)
    plan = plan_import(project, path)
    assert any(str(e).startswith(expected) for e in plan.errors), [str(e) for e in plan.errors]
    rejected(project, path)


def test_confirm_never_crashes_and_never_leaves_the_staged_file(login, project, admin_user,
                                                               settings, tmp_path,
                                                               monkeypatch):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    settings.CTIR_UPLOAD_DIR = tmp_path / "uploads"
    client = login(admin_user)
    url = reverse("import_reports", args=[project.slug])
    good = (HEADER + ROW.format(n=1)).encode()
    preview = client.post(url, {"file": SimpleUploadedFile("ris.csv", good)})
    assert preview.status_code == 200 and preview.context["plan"].ok
    # Whatever the database still refuses (here simulated) is a message, not a 500.
    from django.db import DataError

    def refuse(**kwargs):
        raise DataError("value too long for type character varying(64)")

    monkeypatch.setattr(services, "reports_write", refuse)
    done = client.post(url, {"confirm": "1", "token": preview.context["token"]}, follow=True)
    assert done.status_code == 200
    assert "nothing was imported" in done.content.decode()
    assert list((tmp_path / "uploads").iterdir()) == []
    assert Report.objects.count() == 0


def test_the_command_reports_a_bad_file_without_a_traceback(project, tmp_path):
    from django.core.management import CommandError, call_command

    path = write(tmp_path, "x.jsonl", JSONL_GOOD + "[" * 200_000 + "]" * 200_000 + "\n")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_reports", str(path), "--project", project.slug)


# --- item 3: every stored accession is reachable ----------------------------------------------

ODD_ACCESSIONS = ["2020/123", "..", ".", "a b?c#d", "%2F", "x/../y"]


def test_every_imported_accession_is_listed_and_its_report_page_reachable(login, project,
                                                                         admin_user, tmp_path):
    import re

    from django.urls import reverse

    rows = "".join(f'"{a}",P{i},F,50,2020-01-0{i + 1},Biopsy of rib,4,\n'
                   for i, a in enumerate(ODD_ACCESSIONS))
    services.reports_import(project=project, path=write(tmp_path, "odd.csv", HEADER + rows))
    client = login(admin_user)
    listing = client.get(reverse("reports", args=[project.slug]))
    assert listing.status_code == 200
    links = re.findall(r'<td><a href="([^"]+)">', listing.content.decode())
    assert len(links) == len(ODD_ACCESSIONS)
    for link in links:
        page = client.get(link)
        assert page.status_code == 200, link
    shown = {client.get(link).context["report"].accession for link in links}
    assert shown == set(ODD_ACCESSIONS)
    for name in ("review", "adjudication"):
        assert client.get(reverse(name, args=[project.slug])).status_code == 200


# --- item 9: one text limit, bounded highlighting, upload size, staged files cleaned ----------

def test_one_text_limit_for_csv_and_jsonl(project, tmp_path):
    from annotation.importing.checks import MAX_TEXT_CHARS

    assert MAX_TEXT_CHARS == 100_000
    long_text = "x" * (MAX_TEXT_CHARS + 1)
    expected = "line 2, column text: report text is 100,001 characters; the limit is 100,000"
    csv_file = write(tmp_path, "long.csv", HEADER + ROW.format(n=1).replace(
        "Drainage of a pelvic collection", long_text))
    assert any(e.startswith(expected) for e in rejected(project, csv_file))
    jsonl = write(tmp_path, "long.jsonl", JSONL_GOOD + JSONL_GOOD.replace("J1", "J2").replace(
        "Drainage", long_text))
    assert any(e.startswith(expected) for e in rejected(project, jsonl))
    fits = write(tmp_path, "fits.jsonl", JSONL_GOOD.replace("Drainage", "y" * MAX_TEXT_CHARS))
    assert plan_import(project, fits).ok


def test_a_csv_field_past_the_parser_limit_names_its_line_and_column(project, tmp_path):
    content = HEADER + ROW.format(n=1) + ROW.format(n=2).replace(
        "Drainage of a pelvic collection", "z" * 200_000)
    errors = rejected(project, write(tmp_path, "huge.csv", content))
    assert errors[0].startswith("line 3, column text: a field longer than 131,072 characters; "
                                "report text is limited to 100,000"), errors


def test_a_jsonl_line_past_the_line_limit_is_rejected_without_reading_it_whole(project,
                                                                              tmp_path):
    content = JSONL_GOOD + '{"text": "' + "w" * 2_000_000 + '"}\n' + JSONL_GOOD.replace(
        "J1", "J3")
    plan = plan_import(project, write(tmp_path, "huge.jsonl", content))
    assert [str(e) for e in plan.errors] == [
        "line 2: line longer than 1,000,000 characters (report text is limited to 100,000)"]


def test_highlighting_is_bounded_for_a_huge_stored_text():
    import time

    from annotation.highlight import HIGHLIGHT_CHARS, highlight

    text = "lung <b> " * 1_200_000  # ~10 MB, a match every 9 characters
    started = time.perf_counter()
    html = highlight(text)
    assert time.perf_counter() - started < 2.5
    assert html.count("<mark") == len(range(0, HIGHLIGHT_CHARS - len("lung") + 1, 9))
    assert html.endswith("lung &lt;b&gt; ")
    assert "<b>" not in html


def test_an_upload_over_the_size_limit_gets_a_clear_message(login, project, admin_user,
                                                           settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    settings.CTIR_UPLOAD_DIR = tmp_path / "uploads"
    settings.CTIR_MAX_UPLOAD_BYTES = 1024
    content = (HEADER + ROW.format(n=1) * 40).encode()
    response = login(admin_user).post(reverse("import_reports", args=[project.slug]),
                                      {"file": SimpleUploadedFile("big.csv", content)})
    assert response.status_code == 413
    assert response.context["form_error"] == (
        "big.csv is 2.5\xa0KB; uploads are limited to 1.0\xa0KB. Split the file, or import it "
        "on the server with manage.py import_reports.")
    assert "plan" not in response.context
    assert not (tmp_path / "uploads").exists() or not list((tmp_path / "uploads").iterdir())


def test_staged_uploads_never_confirmed_are_cleaned_up(login, project, admin_user, settings,
                                                      tmp_path):
    import os
    import time

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    folder = tmp_path / "uploads"
    folder.mkdir()
    settings.CTIR_UPLOAD_DIR = folder
    stale, fresh = folder / "stale.csv", folder / "fresh.csv"
    stale.write_text("x")
    fresh.write_text("x")
    seven_hours_ago = time.time() - 7 * 3600
    os.utime(stale, (seven_hours_ago, seven_hours_ago))
    response = login(admin_user).post(
        reverse("import_reports", args=[project.slug]),
        {"file": SimpleUploadedFile("ris.csv", (HEADER + ROW.format(n=1)).encode())})
    assert response.status_code == 200
    left = {p.name for p in folder.iterdir()}
    assert "stale.csv" not in left and "fresh.csv" in left
    assert len(left) == 2  # fresh.csv and the upload just previewed


# --- item 13: CSV exports never hand a spreadsheet a formula ---------------------------------

@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_export_neutralises_formula_prefixes(prefix):
    import csv
    import io

    from annotation.exporting import csv_lines, jsonl_lines

    rows = [{"accession": prefix + 'HYPERLINK("http://x.invalid","y")', "n": -3, "t": "a=b"}]
    parsed = list(csv.DictReader(io.StringIO("".join(csv_lines(["accession", "n", "t"], rows)))))
    assert parsed[0] == {"accession": "'" + rows[0]["accession"], "n": "-3", "t": "a=b"}
    import json

    exported = json.loads("".join(jsonl_lines(["accession"], rows)))
    assert exported["accession"] == rows[0]["accession"]  # JSON Lines stays verbatim


def test_the_labels_export_neutralises_an_imported_formula(login, project, admin_user, tmp_path):
    from django.urls import reverse

    content = HEADER + '"=HYPERLINK(""http://x.invalid"",""y"")",P1,F,50,2020-01-01,Drainage,1,\n'
    services.reports_import(project=project, path=write(tmp_path, "f.csv", content))
    response = login(admin_user).get(reverse("export_labels", args=[project.slug, "csv"]))
    body = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK" in body and ",=HYPERLINK" not in body and "\n=HYPERLINK" not in body


# --- item 14: accepted ranges, and what an import does not apply is said -----------------------

def one_row(**changes):
    values = {"accession": "A1", "patient_id": "P1", "sex": "F", "age": "50",
              "procedure_date": "2020-01-01", "text": "Drainage", "label": "1", "split": ""}
    values.update(changes)
    return HEADER + ",".join(values[c] for c in HEADER.strip().split(",")) + "\n"


@pytest.mark.parametrize(("changes", "expected"), [
    ({"procedure_date": "0001-01-01"},
     "line 2, column procedure_date: date 0001-01-01 is before 1970-01-01"),
    ({"procedure_date": "2999-01-01"},
     "line 2, column procedure_date: date 2999-01-01 is after today"),
    ({"procedure_date": "2020-W01-1"},
     "line 2, column procedure_date: bad date '2020-W01-1' (expected YYYY-MM-DD)"),
    ({"procedure_date": "2020-001"},
     "line 2, column procedure_date: bad date '2020-001' (expected YYYY-MM-DD)"),
    ({"procedure_date": "２０２０-01-01"},
     "line 2, column procedure_date: bad date"),
    ({"age": "45.9"}, "line 2, column age: age '45.9' is not a whole number of years"),
    ({"age": "4.5e1"}, "line 2, column age: age '4.5e1' is not a whole number of years"),
    ({"age": "\u0664\u0665"}, "line 2, column age: age"),
    ({"age": "121"}, "line 2, column age: age '121' is not a whole number of years from 0 to 120"),
])
def test_values_outside_the_documented_ranges_are_rejected(project, tmp_path, changes,
                                                           expected):
    errors = rejected(project, write(tmp_path, "r.csv", one_row(**changes)))
    assert any(e.startswith(expected) for e in errors), errors


@pytest.mark.parametrize(("age", "stored"), [("45", 45), ("45.0", 45), ("0", 0), ("", None)])
def test_whole_ages_import(project, tmp_path, age, stored):
    services.reports_import(project=project, path=write(tmp_path, "r.csv", one_row(age=age)))
    assert Report.objects.get().patient.age == stored


def test_a_changed_split_for_an_existing_report_is_reported_not_silently_ignored(project,
                                                                                tmp_path):
    services.reports_import(project=project, path=write(tmp_path, "a.csv",
                                                        one_row(split="train")))
    path = write(tmp_path, "b.csv", one_row(split="test"))
    plan = plan_import(project, path)
    assert plan.ok
    assert plan.warnings == [
        "Split not applied to 1 report already here (line 2: accession 'A1' is in train, the "
        "file says test); splits of existing reports change only with manage.py assign_splits"]
    result = services.reports_import(project=project, path=path)
    assert result.batch is None and "split was not applied to 1 of them" in result.message
    assert Report.objects.get().split == "train"
