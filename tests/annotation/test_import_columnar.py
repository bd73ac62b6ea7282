"""The column-at-a-time check of a clean CSV (importing.columnar) plans exactly what the row-by-row
check plans, and gives up, leaving nothing staged, on every file where the row-by-row check
finds a problem or could find one (which it then names). PostgreSQL: the column path stages
into PostgreSQL's COPY."""

import dataclasses
from pathlib import Path

import pytest
from django.db import connection, transaction

from annotation import services
from annotation.copy_write import StagedRows
from annotation.importing import columnar
from annotation.importing.columns import ColumnMapping
from annotation.importing.plan import plan_import
from annotation.models import Report

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql",
                                reason="the column path is PostgreSQL's import")

HEADER = "accession,patient_id,sex,age,procedure_date,text,label,split\n"
ROWS = [
    "A1,P1,F,61,2020-01-05,CT-guided drainage of hepatic abscess 10 Fr pigtail,1,train\n",
    "A2,P2,male,70.0,2020-02-05,Biopsy of RUL nodule 18G coaxial,Lung biopsy,TRAIN\n",
    'A3,P1,U,61,2021-03-01,"Biopsy of L2 vertebral body, 11G ""bone"" needle",4,test\n',
    ' A4 ,P3,U,,2021-04-01,"CT-guided biopsy\nof a left adrenal mass\r\n- 18G x3",,\n',
    "A5,P4,F,45,2021-05-01,  Drainage of a pelvic collection  ,DRAINAGE,\n",
]


def _write(tmp_path: Path, text: str, name="ris.csv", bom=False, crlf=False) -> Path:
    path = tmp_path / name
    if crlf:
        text = text.replace("\n", "\r\n").replace("\r\r\n", "\r\n")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def _both(project, path: Path, mapping=None):
    """(the column path's plan and staged rows, the row path's plan and staged rows)."""
    plans = []
    for fast in (True, False):
        with transaction.atomic(), StagedRows() as staged:
            if fast:
                plan = columnar.plan_staged(project, path, path.name, mapping, staged)
            else:
                plan = plan_import(project, path, path.name, mapping, sink=staged.write)
            staged.cursor.execute(f"SELECT line, accession, patient_id, sex, age, "
                                  f"procedure_date, text, label, split FROM {staged.t['staging']}"
                                  " ORDER BY line")
            plans.append((plan, staged.cursor.fetchall()))
            transaction.set_rollback(True)
    return plans


def _same(fast, slow):
    (fast_plan, fast_rows), (slow_plan, slow_rows) = fast, slow
    assert fast_plan is not None, "the column path gave up on a clean file"
    assert slow_plan.ok
    assert dataclasses.asdict(fast_plan) == dataclasses.asdict(slow_plan)
    assert fast_rows == slow_rows


@pytest.mark.parametrize("bom,crlf", [(False, False), (True, False), (False, True)])
def test_a_clean_file_is_planned_and_staged_as_row_by_row(project, tmp_path, bom, crlf):
    path = _write(tmp_path, HEADER + "".join(ROWS), bom=bom, crlf=crlf)
    fast, slow = _both(project, path)
    _same(fast, slow)
    # Lines count the line breaks inside values (A4's text spans three lines).
    assert [r[0] for r in fast[1]] == [2, 3, 4, 5, 8]
    assert fast[0].new_reports == 5 and fast[0].new_labels == 4


def test_a_reimport_with_new_labels_dates_and_other_splits_plans_the_same(project, tmp_path):
    first = _write(tmp_path, HEADER + "".join(ROWS[:3]) + ROWS[4].replace("DRAINAGE", ""))
    services.reports_import(project=project, path=first)
    Report.objects.filter(accession="A5").update(split="validation")
    again = _write(tmp_path, HEADER + "".join(ROWS[:4]) + ROWS[4].replace("DRAINAGE,",
                                                                          "DRAINAGE,train"),
                   name="again.csv")
    fast, slow = _both(project, again)
    _same(fast, slow)
    plan = fast[0]
    # A4 is new, A5's label is new; A5 stays in validation, as the warning says.
    assert (plan.new_reports, plan.unchanged, plan.new_labels) == (1, 4, 1)
    assert plan.splits_not_applied == [(8, "A5", "validation", "train")]
    assert "Split not applied to 1 report already here (line 8" in plan.warnings[-1]


def test_mapped_columns_and_joined_sections_plan_the_same(project, tmp_path):
    text = ("Accession No,MRN,Exam Date,Findings,Impression,Extra\n"
            "X1,M1,03/04/2020,Needle in the liver,Drainage done,\"a,b\"\n"
            "X2,M2,04/04/2020,,Lung nodule biopsy,\n")
    path = _write(tmp_path, text)
    mapping = ColumnMapping({"accession": ("Accession No",), "patient_id": ("MRN",),
                             "procedure_date": ("Exam Date",),
                             "text": ("Findings", "Impression")}, "dmy")
    fast, slow = _both(project, path, mapping)
    _same(fast, slow)
    assert fast[1][0][6] == "Findings: Needle in the liver\n\nImpression: Drainage done"


BAD = {
    "a quote inside an unquoted field": ROWS[0].replace("hepatic", 'hep"atic'),
    "text after a closing quote": 'A9,P9,F,50,2020-01-01,"Biopsy"x,,\n',
    "a quote never closed": 'A9,P9,F,50,2020-01-01,"Biopsy,,\n',
    "a row swallowed by an open quote": ('A9,P9,F,50,2020-01-01,"Biopsy,,\n'
                                         'A10,P9,F,50,2020-01-02,Drainage",,\n'),
    "a blank line (skipped row by row)": "\n",
    "a duplicate accession": ROWS[0],
    "a bad date": ROWS[0].replace("A1,P1,F,61,2020-01-05", "A9,P9,F,61,2020-13-05"),
    "a date after today": ROWS[0].replace("A1,", "A9,").replace("2020-01-05", "2999-01-01"),
    "an unknown sex": ROWS[0].replace("A1,P1,F", "A9,P9,X"),
    "an age out of range": ROWS[0].replace("A1,P1,F,61", "A9,P9,F,121"),
    "an unknown label": ROWS[0].replace("A1,", "A9,").replace(",1,train", ",7,train"),
    "an unknown split": ROWS[0].replace("A1,", "A9,").replace(",train", ",later"),
    "an empty text": "A9,P9,F,50,2020-01-01,  ,,\n",
    "a patient of two sexes": ROWS[0].replace("A1,P1,F", "A9,P1,M"),
    "a NUL character": ROWS[0].replace("A1,", "A9,").replace("hepatic", "hep\x00atic"),
    "a carriage return alone": ROWS[0].replace("A1,", "A9,").replace("hepatic", "hep\ratic"),
    "too few fields": "A9,P9,F,50,2020-01-01\n",
    "a date on a later line of a text": ('A9,P9,F,50,2020-01-01,"Biopsy\nCompared with '
                                         '2019-12-01",,\n'),
}


@pytest.mark.parametrize("problem", [*BAD, "a last line ended by a carriage return"])
def test_it_gives_up_where_row_by_row_finds_or_may_find_a_problem(project, tmp_path, problem):
    tail = BAD.get(problem, ROWS[0].replace("A1,", "A9,").replace("\n", "\r"))
    path = _write(tmp_path, HEADER + "".join(ROWS) + tail)
    with transaction.atomic(), StagedRows() as staged:
        assert columnar.plan_staged(project, path, path.name, None, staged) is None
        staged.cursor.execute(f"SELECT count(*) FROM {staged.t['staging']}")
        assert staged.cursor.fetchone()[0] == 0  # nothing left for the row path to repeat
        transaction.set_rollback(True)


def test_a_later_field_that_reads_as_a_row_of_its_own_is_left_to_row_by_row(project,
                                                                           tmp_path):
    # Read alone, the record's last line '","Compared, 2023-12-01, ..."' has a date where
    # the header has one (the quotes that close the text and open the comment swap roles):
    # the row path refuses the file, so the column path must not take it.
    path = _write(tmp_path, 'accession,procedure date,text,comment\n'
                            'A1,2024-01-05,"CT chest: no nodule.\n'
                            '","Compared, 2023-12-01, stable, unchanged"\n'
                            'A2,2024-01-06,Normal.,\n')
    assert not plan_import(project, path).ok
    with transaction.atomic(), StagedRows() as staged:
        assert columnar.plan_staged(project, path, path.name, None, staged) is None
        transaction.set_rollback(True)


def test_a_file_that_differs_from_what_is_stored_is_left_to_row_by_row(project, tmp_path):
    services.reports_import(project=project, path=_write(tmp_path, HEADER + ROWS[0]))
    for changed in (ROWS[0].replace("pigtail", "catheter"), ROWS[0].replace(",1,", ",2,"),
                    ROWS[1].replace("P2,male", "P1,male")):
        path = _write(tmp_path, HEADER + changed, name="changed.csv")
        with transaction.atomic(), StagedRows() as staged:
            assert columnar.plan_staged(project, path, path.name, None, staged) is None
            transaction.set_rollback(True)


def test_an_import_of_a_bad_file_names_the_problem_and_writes_nothing(project, tmp_path):
    # End to end: the column path gives up, the row path names the line and column.
    path = _write(tmp_path, HEADER + "".join(ROWS) + BAD["an unknown sex"])
    with pytest.raises(services.ImportRejected) as refused:
        services.reports_import(project=project, path=path)
    assert [str(e) for e in refused.value.plan.errors] == [
        "line 9, column sex: unknown sex 'X' (use F, M, O or U)"]
    assert not Report.objects.filter(project=project).exists()


def test_a_file_of_another_format_is_left_to_its_reader(project, tmp_path):
    path = _write(tmp_path, '{"accession": "J1"}\n', name="reports.jsonl")
    with transaction.atomic(), StagedRows() as staged:
        assert columnar.plan_staged(project, path, path.name, None, staged) is None
        assert columnar.plan_staged(project, path, "reports.docx", None, staged) is None
        transaction.set_rollback(True)
