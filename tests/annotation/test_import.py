import json
from pathlib import Path

import pytest

from annotation import services
from annotation.importing.plan import plan_import
from annotation.models import ImportBatch, Patient, ReferenceLabel, ReferenceLabelChange, Report

HEADER = "accession,patient_id,sex,age,procedure_date,text,label,split\n"
GOOD_ROWS = [
    "A1,P1,F,61,2020-01-05,CT-guided drainage of hepatic abscess 10 Fr pigtail,1,train\n",
    "A2,P2,M,70,2020-02-05,Biopsy of RUL nodule 18G coaxial,Lung biopsy,train\n",
    'A3,P1,F,61,2021-03-01,"Biopsy of L2 vertebral body, 11G bone needle",4,test\n',
    "A4,P3,U,,2021-04-01,CT-guided biopsy of a left adrenal mass,,\n",
]


def write(tmp_path: Path, name: str, text: str, bom=False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def test_it_imports_a_good_csv_with_labels_and_splits(project, tmp_path, admin_user):
    path = write(tmp_path, "ris.csv", HEADER + "".join(GOOD_ROWS), bom=True)
    result = services.reports_import(project=project, path=path, user=admin_user)
    assert result.batch.reports_created == 4
    assert result.batch.labels_created == 3
    assert Patient.objects.filter(project=project).count() == 3
    a2 = Report.objects.get(project=project, accession="A2")
    assert a2.split == "train" and a2.reference_label.category.code == 3
    assert a2.reference_label.method == "imported"
    assert Report.objects.get(accession="A4").split == "unassigned"
    assert not ReferenceLabel.objects.filter(report__accession="A4").exists()
    change = ReferenceLabelChange.objects.get(report=a2)
    assert change.old_category is None and change.new_category.code == 3


def test_it_imports_jsonl_with_japanese_text_round_trip(project, tmp_path):
    text = "CTガイド下肺生検を施行した。右上葉結節、18G。気胸なし。"
    lines = [
        {"accession": "J1", "patient_id": "患者1", "sex": "M", "age": 66,
         "procedure_date": "2019-07-01", "text": text, "label": 3},
        {"accession": "J2", "patient_id": "患者2", "sex": "F", "age": 54,
         "procedure_date": "2019-07-02", "text": "肝膿瘍ドレナージ 8Fr", "label": "Drainage"},
    ]
    path = write(tmp_path, "jp.jsonl", "\n".join(json.dumps(x, ensure_ascii=False) for x in lines))
    services.reports_import(project=project, path=path)
    report = Report.objects.get(accession="J1")
    assert report.text == text
    assert report.patient.pseudo_id == "患者1"
    assert Report.objects.get(accession="J2").reference_label.category.code == 1


def test_reimporting_the_same_file_changes_nothing_and_says_so(project, tmp_path):
    path = write(tmp_path, "ris.csv", HEADER + "".join(GOOD_ROWS))
    services.reports_import(project=project, path=path)
    result = services.reports_import(project=project, path=path)
    assert result.batch is None
    assert "nothing to import" in result.message
    assert "4 reports are already here" in result.message
    assert Report.objects.filter(project=project).count() == 4
    assert ImportBatch.objects.count() == 1
    assert ReferenceLabelChange.objects.count() == 3


def test_it_warns_about_unknown_columns(project, tmp_path):
    path = write(tmp_path, "x.csv", "accession,patient_id,sex,age,procedure_date,text,ward\n"
                 "B1,P9,F,40,2022-01-01,Drainage of psoas abscess,3B\n")
    result = services.reports_import(project=project, path=path)
    assert result.plan.warnings == ["Ignored unknown columns: ward"]


GOOD = "OK1,P7,M,44,2018-05-05,Drainage of a pelvic collection,1,\n"
BAD_CASES = [
    ("missing column", "accession,patient_id,sex,age,text\nA1,P1,F,50,Biopsy\n",
     "line 1, column procedure_date: missing column"),
    ("bad date", HEADER + GOOD + "A1,P1,F,50,2020-13-01,Biopsy of rib,4,\n",
     "line 3, column procedure_date: bad date '2020-13-01' (expected YYYY-MM-DD)"),
    ("unknown category", HEADER + GOOD + "A1,P1,F,50,2020-01-01,Biopsy of rib,9,\n",
     "line 3, column label: unknown category '9'"),
    ("empty text", HEADER + GOOD + "A1,P1,F,50,2020-01-01,  ,4,\n",
     "line 3, column text: empty report text"),
    ("duplicate accession", HEADER + GOOD + "A1,P1,F,50,2020-01-01,Biopsy of rib,4,\n"
     "A1,P2,F,50,2020-01-02,Biopsy of liver,2,\n",
     "line 4, column accession: duplicate accession 'A1' (first on line 3)"),
    ("bad age", HEADER + GOOD + "A1,P1,F,old,2020-01-01,Biopsy of rib,4,\n",
     "line 3, column age: age 'old' is not a whole number"),
    ("bad split", HEADER + GOOD + "A1,P1,F,50,2020-01-01,Biopsy of rib,4,holdout\n",
     "line 3, column split: unknown split 'holdout'"),
    ("multi-line text keeps line numbers", HEADER + '"OK2",P8,F,50,2018-01-01,"two\nlines",1,\n'
     "A1,P1,F,50,2020-01-01,Biopsy of rib,4,holdout\n",
     "line 4, column split: unknown split 'holdout'"),
]


@pytest.mark.parametrize(("case", "content", "expected"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_a_bad_row_imports_nothing_and_names_the_problem(project, tmp_path, case, content,
                                                         expected):
    path = write(tmp_path, "bad.csv", content)
    with pytest.raises(services.ImportRejected) as exc:
        services.reports_import(project=project, path=path)
    messages = [str(e) for e in exc.value.plan.errors]
    assert any(m.startswith(expected) for m in messages), messages
    assert Report.objects.count() == 0
    assert Patient.objects.count() == 0
    assert ImportBatch.objects.count() == 0


def test_every_bad_row_is_listed(project, tmp_path):
    content = HEADER + "A1,P1,F,50,2020-01-01,,4,\nA2,P2,F,50,01/02/2020,Biopsy,2,\n"
    path = write(tmp_path, "bad.csv", content)
    plan = plan_import(project, path)
    assert [str(e).split(":")[0] for e in plan.errors] == [
        "line 2, column text", "line 3, column procedure_date"
    ]


def test_an_existing_accession_with_other_text_is_rejected(project, tmp_path):
    services.reports_import(project=project, path=write(tmp_path, "a.csv", HEADER + GOOD_ROWS[0]))
    changed = GOOD_ROWS[0].replace("hepatic abscess", "renal abscess")
    with pytest.raises(services.ImportRejected) as exc:
        services.reports_import(project=project, path=write(tmp_path, "b.csv", HEADER + changed))
    assert str(exc.value.plan.errors[0]) == (
        "line 2, column text: accession 'A1' already exists with a different text"
    )
    assert "hepatic" in Report.objects.get(accession="A1").text


def test_a_conflicting_label_never_overwrites_the_reference(project, tmp_path):
    services.reports_import(project=project, path=write(tmp_path, "a.csv", HEADER + GOOD_ROWS[0]))
    relabelled = GOOD_ROWS[0].replace(",1,train", ",2,train")
    with pytest.raises(services.ImportRejected) as exc:
        services.reports_import(project=project, path=write(tmp_path, "b.csv",
                                                            HEADER + relabelled))
    assert "already has reference label 1 (imported); the file says 2" in str(
        exc.value.plan.errors[0])
    assert Report.objects.get(accession="A1").reference_label.category.code == 1


def test_a_file_that_is_not_utf8_is_rejected_with_a_message(project, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "A1,P1,F,50,2020-01-01,Biopsie der Läsion,2,\n").encode("latin-1"))
    plan = plan_import(project, path)
    assert not plan.ok
    assert "not UTF-8" in str(plan.errors[0])


def test_a_row_with_the_wrong_number_of_fields_names_its_line(project, tmp_path):
    path = write(tmp_path, "x.csv", HEADER + GOOD_ROWS[0] + "A9,P9,F,50\n")
    plan = plan_import(project, path)
    assert str(plan.errors[0]) == "line 3: 4 fields where the header has 8"


def test_imported_labels_take_reports_out_of_the_labeling_queue(project, tmp_path):
    services.reports_import(project=project, path=write(tmp_path, "a.csv",
                                                        HEADER + "".join(GOOD_ROWS)))
    flags = dict(Report.objects.values_list("accession", "in_queue"))
    assert flags == {"A1": False, "A2": False, "A3": False, "A4": True}
    # A later file that only adds a label to A4 takes it out too.
    labelled = GOOD_ROWS[3].replace(",,\n", ",2,\n")
    services.reports_import(project=project, path=write(tmp_path, "b.csv", HEADER + labelled))
    assert not Report.objects.get(accession="A4").in_queue
