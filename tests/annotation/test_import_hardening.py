"""Imports that used to lose rows, crash on confirm, or accept what they should not."""

import pytest

from annotation import services
from annotation.importing import plan_import
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
