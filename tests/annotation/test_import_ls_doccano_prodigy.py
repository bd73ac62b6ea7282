"""Imports from annotation tools' exports: Label Studio JSON (and JSON-MIN), doccano and
Prodigy JSON Lines, through the same import service, checks and preview. The files follow
the tools' documented examples (Label Studio's task format, label_studio_sdk's JSON-MIN
converter, doccano's text classification export, Prodigy's db-out), with ctir's categories."""

import datetime
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotation import selectors, services
from annotation.importing.formats import file_format
from annotation.importing.plan import plan_import
from annotation.models import Report

# Label Studio's documented task (docs: "Label Studio JSON format of annotated tasks"), its
# rectangle labels made the Choices of a text classification config.
LS_TASKS = [
    {
        "id": 57,
        "data": {"text": "CT-guided biopsy of the right upper lobe nodule, 18G coaxial.",
                 "accession": "ACC-57", "patient_id": "P1", "procedure_date": "2021-03-05",
                 "split": "train"},
        "created_at": "2021-03-09T21:52:49.513742Z",
        "updated_at": "2021-03-09T22:16:08.746926Z",
        "project": 83,
        "annotations": [
            {"id": "1001", "result": [{"from_name": "category", "id": "Dx_aB91ISN",
                                       "to_name": "text", "type": "choices",
                                       "value": {"choices": ["Lung biopsy"]}}],
             "was_cancelled": False, "ground_truth": False,
             "created_at": "2021-03-09T22:16:08.728353Z",
             "updated_at": "2021-03-09T22:16:08.728378Z",
             "lead_time": 4.288, "result_count": 0, "task": 57, "completed_by": 10},
            # Skipped later: a cancelled annotation never counts.
            {"id": "1002", "result": [{"from_name": "category", "to_name": "text",
                                       "type": "choices", "value": {"choices": ["Drainage"]}}],
             "was_cancelled": True, "created_at": "2021-03-10T08:00:00.000000Z",
             "updated_at": "2021-03-10T08:00:00.000000Z", "task": 57, "completed_by": 11},
        ],
        "predictions": [
            {"created_ago": "3 hours", "model_version": "model 1",
             "result": [{"from_name": "category", "to_name": "text", "type": "choices",
                         "value": {"choices": ["Bone biopsy"]}}]},
        ],
    },
    {
        "id": 58,
        "data": {"text": "Drainage of a hepatic abscess, 10 Fr pigtail left in place.",
                 "accession": "ACC-58", "patient_id": "P1", "procedure_date": "2021-04-01"},
        "annotations": [
            # The latest annotation counts, wherever it is in the list.
            {"id": "1004", "result": [{"from_name": "category", "to_name": "text",
                                       "type": "choices", "value": {"choices": ["1"]}}],
             "was_cancelled": False, "created_at": "2021-04-02T09:00:00Z",
             "updated_at": "2021-04-03T09:00:00Z"},
            {"id": "1003", "result": [{"from_name": "category", "to_name": "text",
                                       "type": "choices",
                                       "value": {"choices": ["Soft-tissue / fat lesion biopsy"]}}],
             "was_cancelled": False, "created_at": "2021-04-02T08:00:00Z",
             "updated_at": "2021-04-02T08:00:00Z"},
        ],
        "predictions": [],
    },
    {
        # No accession or patient: the task id is the accession, the report its own patient.
        "id": 59,
        "data": {"text": "Biopsy of an L2 vertebral body lesion, 11G bone needle.",
                 "date": "2022-01-10"},
        "annotations": [],
        "predictions": [],
    },
]


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def jsonl(records) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def stored(project):
    """Every report of the project, field by field, with its reference label's code."""
    return {r.accession: (r.patient.pseudo_id, r.procedure_date, r.text, r.split,
                          getattr(getattr(r, "reference_label", None), "category", None)
                          and r.reference_label.category.code)
            for r in Report.objects.filter(project=project).select_related(
                "patient", "reference_label__category")}


def errors_of(plan):
    return [str(e) for e in plan.errors]


# --- Label Studio -------------------------------------------------------------------------------

def test_it_imports_a_label_studio_export_with_the_latest_annotation(project, tmp_path):
    path = write(tmp_path, "project-83-at-2021-04-05.json", json.dumps(LS_TASKS, indent=2))
    assert file_format(path.name, path) == "labelstudio"
    result = services.reports_import(project=project, path=path)
    assert (result.batch.reports_created, result.batch.labels_created) == (3, 2)
    assert stored(project) == {
        "ACC-57": ("P1", datetime.date(2021, 3, 5), LS_TASKS[0]["data"]["text"], "train", 3),
        "ACC-58": ("P1", datetime.date(2021, 4, 1), LS_TASKS[1]["data"]["text"],
                   "unassigned", 1),
        "59": ("59", datetime.date(2022, 1, 10), LS_TASKS[2]["data"]["text"], "unassigned",
               None),
    }
    assert Report.objects.get(accession="ACC-57").reference_label.method == "imported"


def test_its_preview_says_where_each_field_was_found(project, tmp_path):
    path = write(tmp_path, "export.json", json.dumps(LS_TASKS))
    plan = plan_import(project, path)
    assert plan.ok, errors_of(plan)
    assert plan.unit == "task"
    note = next(w for w in plan.warnings if w.startswith("Read as a Label Studio export"))
    assert "(3 tasks)" in note
    assert "accession from data.accession (2), the task id (1)" in note
    assert "procedure date from data.procedure_date (2), data.date (1)" in note
    assert "Not found: sex, age." in note
    assert ("patient id from data.patient_id (1 task without one taken as its own patient)"
            in note)
    assert "Predictions are not imported" in note


def test_the_upload_page_previews_and_imports_a_label_studio_export(
        login, project, admin_user, outsider, settings, tmp_path):
    settings.CTIR_UPLOAD_DIR = tmp_path / "uploads"
    url = reverse("import_reports", args=[project.slug])
    upload = json.dumps(LS_TASKS, indent=2).encode()
    page = login(admin_user).post(url, {"file": SimpleUploadedFile("project-83.json", upload)})
    plan = page.context["plan"]
    assert plan.ok, errors_of(plan)
    assert (plan.unit, plan.new_reports, plan.new_labels) == ("task", 3, 2)
    assert "Read as a Label Studio export (3 tasks)" in page.content.decode()
    page = login(admin_user).post(url, {"token": page.context["token"], "confirm": "1"},
                                  follow=True)
    assert Report.objects.filter(project=project).count() == 3
    assert login(outsider).post(url, {"file": SimpleUploadedFile(
        "project-83.json", upload)}).status_code == 404


def test_it_imports_label_studio_json_min(project, tmp_path):
    # label_studio_sdk's JSON-MIN: the task's fields, the choice under the control's name, one
    # record per annotation, newest first.
    records = [
        {"text": "Pleural effusion drained, 12 Fr.", "accession": "M1",
         "procedure_date": "2020-05-01", "id": 7, "category": "Drainage", "annotator": 2,
         "annotation_id": 12, "created_at": "2020-05-03T10:00:00Z",
         "updated_at": "2020-05-03T10:00:00Z", "lead_time": 3.1},
        {"text": "Pleural effusion drained, 12 Fr.", "accession": "M1",
         "procedure_date": "2020-05-01", "id": 7, "category": "Lung biopsy", "annotator": 1,
         "annotation_id": 11, "created_at": "2020-05-02T10:00:00Z",
         "updated_at": "2020-05-02T10:00:00Z", "lead_time": 5.0},
        {"text": "Iliac crest bone biopsy.", "accession": "M2", "procedure_date": "2020-06-01",
         "id": 8, "category": {"choices": ["Bone biopsy", "Bone biopsy"]}, "annotator": 1,
         "annotation_id": 13, "created_at": "2020-06-02T10:00:00Z",
         "updated_at": "2020-06-02T10:00:00Z", "lead_time": 2.0},
    ]
    path = write(tmp_path, "result.json", json.dumps(records, indent=2))
    services.reports_import(project=project, path=path)
    assert stored(project) == {
        "M1": ("M1", datetime.date(2020, 5, 1), "Pleural effusion drained, 12 Fr.",
               "unassigned", 1),
        "M2": ("M2", datetime.date(2020, 6, 1), "Iliac crest bone biopsy.", "unassigned", 4),
    }


def test_json_min_finds_a_single_choice_control_by_its_name(project, tmp_path):
    records = [{"text": "Drain into a subphrenic collection.", "accession": "N1",
                "procedure_date": "2020-07-01", "modality": "CT", "id": 9, "label": "Drainage",
                "annotator": 1, "annotation_id": 20, "created_at": "2020-07-02T10:00:00Z",
                "updated_at": "2020-07-02T10:00:00Z", "lead_time": 1.0}]
    path = write(tmp_path, "result.json", json.dumps(records))
    services.reports_import(project=project, path=path)
    assert stored(project)["N1"][-1] == 1


def test_a_bad_label_studio_file_imports_nothing_and_names_the_task(project, tmp_path):
    tasks = json.loads(json.dumps(LS_TASKS))
    del tasks[1]["data"]["procedure_date"]
    tasks[2]["annotations"] = [{"result": [
        {"from_name": "category", "to_name": "text", "type": "choices",
         "value": {"choices": ["Lung biopsy", "Drainage"]}}]}]
    tasks[0]["annotations"][0]["result"][0]["value"]["choices"] = ["Liver biopsy"]
    path = write(tmp_path, "export.json", json.dumps(tasks))
    with pytest.raises(services.ImportRejected) as rejected:
        services.reports_import(project=project, path=path)
    errors = errors_of(rejected.value.plan)
    # A task without a date is not a problem (it imports without one), the others are.
    assert not any("procedure" in e for e in errors), errors
    assert ("task 3, column annotations[0].result: task 3 (id 59): several labels "
            "('Lung biopsy', 'Drainage'); a report takes one category") in errors
    assert any(e.startswith("task 1, column label: unknown category 'Liver biopsy'")
               for e in errors)
    assert not Report.objects.filter(project=project).exists()


def test_tasks_without_dates_import_without_them_and_stay_out_of_the_split(
        project, tmp_path):
    tasks = [{"id": n, "data": {"text": f"CT-guided drainage {n}"}, "annotations": []}
             for n in (1, 2)]
    tasks.append({"id": 3, "data": {"text": "Rib biopsy.", "procedure_date": "2020-01-02"}})
    path = write(tmp_path, "export.json", json.dumps(tasks))
    plan = plan_import(project, path)
    assert plan.ok, errors_of(plan)
    assert (plan.new_reports, plan.undated) == (3, 2)
    assert [r["procedure_date"] for r in plan.preview] == [None, None, datetime.date(2020, 1, 2)]
    note = next(w for w in plan.warnings if w.startswith("Read as a Label Studio export"))
    assert ("2 tasks without a procedure date (add data.procedure_date, YYYY-MM-DD, to give "
            "them one)") in note
    assert ("2 reports without a procedure date will be imported without one" in
            " ".join(plan.warnings))
    result = services.reports_import(project=project, path=path)
    assert "2 new reports have no procedure date" in result.message
    assert {a: v[1] for a, v in stored(project).items()} == {
        "1": None, "2": None, "3": datetime.date(2020, 1, 2)}
    # The chronological split takes the dated report only; the others keep theirs.
    assert services.splits_assign(project=project, counts=(1, 0, 0)) == {
        "train": 1, "validation": 0, "test": 0}
    assert {a: v[3] for a, v in stored(project).items()} == {
        "1": "unassigned", "2": "unassigned", "3": "train"}
    assert selectors.undated_count(project) == 2
    with pytest.raises(services.SplitError, match="3 but the project has 1 reports with a "
                                                  "procedure date"):
        services.splits_assign(project=project, counts=(1, 1, 1))


def test_a_later_import_fills_in_a_missing_date_and_changes_no_other(project, tmp_path):
    first = [{"id": 1, "data": {"text": "Drainage 1"}},
             {"id": 2, "data": {"text": "Drainage 2", "procedure_date": "2020-05-05"}}]
    services.reports_import(project=project, path=write(tmp_path, "a.json", json.dumps(first)))
    again = [{"id": 1, "data": {"text": "Drainage 1", "procedure_date": "2021-01-01"}},
             {"id": 2, "data": {"text": "Drainage 2", "procedure_date": "2022-02-02"}}]
    path = write(tmp_path, "b.json", json.dumps(again))
    plan = plan_import(project, path)
    assert (plan.new_reports, plan.unchanged, plan.dates_added) == (0, 2, 1)
    assert not plan.changes_nothing
    result = services.reports_import(project=project, path=path)
    assert "1 of them were given the procedure date they lacked" in result.message
    assert {a: v[1] for a, v in stored(project).items()} == {
        "1": datetime.date(2021, 1, 1), "2": datetime.date(2020, 5, 5)}
    assert plan_import(project, path).changes_nothing  # again: nothing left to fill in


def test_the_dashboard_says_how_many_reports_have_no_date(project, tmp_path, login,
                                                          admin_user):
    tasks = [{"id": n, "data": {"text": f"Drainage {n}"}} for n in (1, 2, 3)]
    services.reports_import(project=project, path=write(tmp_path, "a.json", json.dumps(tasks)))
    page = login(admin_user).get(reverse("dashboard", args=[project.slug]))
    assert "3 reports without a procedure date: out of the chronological split" in (
        page.content.decode())


# --- doccano ------------------------------------------------------------------------------------

def test_it_imports_a_doccano_text_classification_export(project, tmp_path):
    # doccano's export: id, text, the example's metadata as its own keys, label a list.
    lines = [
        {"id": 1, "text": "CT-guided core biopsy of a left adrenal mass.", "accession": "D1",
         "procedure_date": "2020-01-05", "label": ["Soft-tissue / fat lesion biopsy"],
         "Comments": []},
        {"id": 2, "text": "Lung nodule biopsy, 20G.", "accession": "D2",
         "procedure_date": "2020-01-06", "label": ["Lung biopsy", "Lung biopsy"],
         "Comments": []},
        {"id": 3, "text": "Drain placed into a psoas abscess.", "accession": "D3",
         "procedure_date": "2020-01-07", "label": [], "Comments": []},
        # An older export: `labels`, a single string, the metadata under `meta`.
        {"id": 4, "text": "Biopsy of a sclerotic rib lesion.", "labels": "Bone biopsy",
         "meta": {"accession": "D4", "Exam Date": "2020-01-08", "MRN": "P9"}},
    ]
    path = write(tmp_path, "all.jsonl", jsonl(lines))
    assert file_format(path.name, path) == "doccano"
    result = services.reports_import(project=project, path=path)
    assert (result.batch.reports_created, result.batch.labels_created) == (4, 3)
    assert stored(project) == {
        "D1": ("D1", datetime.date(2020, 1, 5), lines[0]["text"], "unassigned", 2),
        "D2": ("D2", datetime.date(2020, 1, 6), lines[1]["text"], "unassigned", 3),
        "D3": ("D3", datetime.date(2020, 1, 7), lines[2]["text"], "unassigned", None),
        "D4": ("P9", datetime.date(2020, 1, 8), lines[3]["text"], "unassigned", 4),
    }


def test_a_bad_doccano_file_names_the_line_and_the_field(project, tmp_path):
    lines = [
        {"id": 1, "text": "Adrenal biopsy.", "accession": "D1", "procedure_date": "2020-01-05",
         "label": ["Drainage", "Bone biopsy"]},
        {"id": 2, "text": "Spans, not a category.", "accession": "D2",
         "procedure_date": "2020-01-06", "label": [[0, 5, "ORG"]]},
        {"id": 3, "text": "A date that is none.", "accession": "D3", "label": [],
         "procedure_date": "2020-13-01"},
    ]
    path = write(tmp_path, "doccano.jsonl", jsonl(lines))
    with pytest.raises(services.ImportRejected) as rejected:
        services.reports_import(project=project, path=path)
    errors = errors_of(rejected.value.plan)
    assert ("line 1, column label: several labels ('Drainage', 'Bone biopsy'); a report takes "
            "one category") in errors
    assert any(e.startswith("line 2, column label: labels with offsets") for e in errors)
    # A date may be left out, but one that is given must be a date.
    assert any(e.startswith("line 3, column procedure_date: ") for e in errors), errors
    assert not Report.objects.filter(project=project).exists()


# --- Prodigy ------------------------------------------------------------------------------------

def test_it_imports_prodigy_textcat_and_choice_answers(project, tmp_path):
    # `prodigy db-out`: binary textcat answers and the choice interface, with Prodigy's hashes.
    lines = [
        {"text": "CT-guided biopsy of a RUL nodule.", "label": "LUNG_BIOPSY",
         "meta": {"accession": "PR1", "patient_id": "P7", "procedure_date": "2019-02-01"},
         "_input_hash": 101, "_task_hash": 1011, "_view_id": "classification",
         "answer": "accept", "_timestamp": 1700000000},
        {"text": "Pigtail into a pelvic collection.", "label": "LUNG_BIOPSY",
         "meta": {"accession": "PR2", "procedure_date": "2019-02-02"},
         "_input_hash": 102, "_task_hash": 1021, "answer": "reject", "_timestamp": 1700000001},
        {"text": "Vertebral biopsy, T11.", "label": "BONE_BIOPSY",
         "meta": {"accession": "PR3", "procedure_date": "2019-02-03"},
         "_input_hash": 103, "_task_hash": 1031, "answer": "ignore", "_timestamp": 1700000002},
        {"text": "Biopsy of a mesenteric node.",
         "options": [{"id": "1", "text": "Drainage"},
                     {"id": "2", "text": "Soft-tissue / fat lesion biopsy"}],
         "accept": ["2"], "meta": {"accession": "PR4", "procedure_date": "2019-02-04"},
         "_input_hash": 104, "_task_hash": 1041, "_view_id": "choice", "answer": "accept",
         "_timestamp": 1700000003},
        # The same text answered again later: the later answer decides, on its own line.
        {"text": "CT-guided biopsy of a RUL nodule.", "label": "LUNG_BIOPSY",
         "meta": {"accession": "PR1", "patient_id": "P7", "procedure_date": "2019-02-01"},
         "_input_hash": 101, "_task_hash": 1012, "answer": "reject", "_timestamp": 1700000010},
        {"text": "CT-guided biopsy of a RUL nodule.", "label": "DRAINAGE",
         "meta": {"accession": "PR1", "patient_id": "P7", "procedure_date": "2019-02-01"},
         "_input_hash": 101, "_task_hash": 1013, "answer": "accept", "_timestamp": 1700000005},
    ]
    path = write(tmp_path, "ir_textcat.jsonl", jsonl(lines))
    assert file_format(path.name, path) == "prodigy"
    plan = plan_import(project, path)
    assert plan.ok, errors_of(plan)
    assert plan.rows == 4  # PR1's three answers are one report, on its latest line
    assert "2 earlier answers to the same texts (_input_hash)" in " ".join(plan.warnings)
    services.reports_import(project=project, path=path)
    assert stored(project) == {
        # Accept LUNG_BIOPSY, accept DRAINAGE, then reject LUNG_BIOPSY: Drainage stands.
        "PR1": ("P7", datetime.date(2019, 2, 1), lines[0]["text"], "unassigned", 1),
        "PR2": ("PR2", datetime.date(2019, 2, 2), lines[1]["text"], "unassigned", None),
        "PR3": ("PR3", datetime.date(2019, 2, 3), lines[2]["text"], "unassigned", None),
        "PR4": ("PR4", datetime.date(2019, 2, 4), lines[3]["text"], "unassigned", 2),
    }


def test_prodigy_without_accessions_takes_the_input_hash(project, tmp_path):
    lines = [{"text": "Drainage of a biloma.", "label": "DRAINAGE", "answer": "accept",
              "meta": {"date": "2018-03-01"}, "_input_hash": -1530009927,
              "_task_hash": -340967702}]
    path = write(tmp_path, "db-out.jsonl", jsonl(lines))
    plan = plan_import(project, path)
    assert plan.ok, errors_of(plan)
    assert "accession from _input_hash (Prodigy's hash of the text)" in " ".join(plan.warnings)
    services.reports_import(project=project, path=path)
    assert stored(project) == {"-1530009927": ("-1530009927", datetime.date(2018, 3, 1),
                                               "Drainage of a biloma.", "unassigned", 1)}


def test_a_rejected_answer_without_prodigys_hashes_gives_no_label(project, tmp_path):
    path = write(tmp_path, "db-out.jsonl", jsonl([
        {"text": "Biopsy of a rib lesion.", "label": "DRAINAGE", "answer": "reject",
         "meta": {"accession": "R1", "procedure_date": "2018-03-01"}}]))
    services.reports_import(project=project, path=path)
    assert stored(project) == {"R1": ("R1", datetime.date(2018, 3, 1),
                                      "Biopsy of a rib lesion.", "unassigned", None)}


def test_prodigy_without_dates_says_which_field_to_add(project, tmp_path):
    path = write(tmp_path, "db-out.jsonl", jsonl([
        {"text": "Drainage of a biloma.", "label": "DRAINAGE", "answer": "accept",
         "meta": {"accession": "X1"}}]))
    plan = plan_import(project, path)
    assert plan.ok and plan.undated == 1
    assert ("1 line without a procedure date (add meta.procedure_date, YYYY-MM-DD, to give "
            "it one)") in " ".join(plan.warnings)


# --- recognition --------------------------------------------------------------------------------

def test_plain_json_lines_and_fhir_keep_their_readers(project, tmp_path):
    ctir = write(tmp_path, "ris.jsonl", jsonl([
        {"accession": "J1", "patient_id": "P1", "procedure_date": "2019-07-01",
         "text": "Lung biopsy.", "label": "3"}]))
    assert file_format(ctir.name, ctir) == "jsonl"
    services.reports_import(project=project, path=ctir)
    assert stored(project)["J1"] == ("P1", datetime.date(2019, 7, 1), "Lung biopsy.",
                                     "unassigned", 3)
    bundle = write(tmp_path, "bundle.json", json.dumps({"resourceType": "Bundle",
                                                        "type": "collection", "entry": []}))
    assert file_format(bundle.name, bundle) == "fhir"
    plain_json = write(tmp_path, "reports.json", ctir.read_text())
    assert file_format(plain_json.name, plain_json) == "jsonl"


def test_ctirs_own_exports_are_read_back(project, tmp_path):
    """The Label Studio, doccano and Prodigy files ctir exports (annotation.exporting)
    import again."""
    from annotation.exporting import doccano_record, label_studio_task, prodigy_record
    names = {1: "Drainage", 2: "Soft-tissue / fat lesion biopsy", 3: "Lung biopsy",
             4: "Bone biopsy"}
    row = {"id": 5, "accession": "E1", "procedure_date": datetime.date(2020, 2, 2),
           "split": "test", "text": "Drainage of an empyema.", "label": 1, "predicted": 2,
           "score": 0.7, "model_version": 3}
    ls = write(tmp_path, "ct-ir.label-studio.json", json.dumps([label_studio_task(row, names)]))
    services.reports_import(project=project, path=ls)
    doccano = write(tmp_path, "ct-ir.doccano.jsonl", jsonl([doccano_record(
        {**row, "accession": "E2", "label": 4}, names)]))
    services.reports_import(project=project, path=doccano)
    prodigy = write(tmp_path, "ct-ir.prodigy.jsonl", jsonl([prodigy_record(
        {**row, "accession": "E3", "label": 3, "text": "Lung biopsy, 18G."}, names)]))
    services.reports_import(project=project, path=prodigy)
    undated = {**row, "accession": "E4", "procedure_date": None, "split": "unassigned"}
    services.reports_import(project=project, path=write(
        tmp_path, "undated.label-studio.json", json.dumps([label_studio_task(undated, names)])))
    assert stored(project) == {
        "E1": ("E1", datetime.date(2020, 2, 2), "Drainage of an empyema.", "test", 1),
        "E2": ("E2", datetime.date(2020, 2, 2), "Drainage of an empyema.", "test", 4),
        "E3": ("E3", datetime.date(2020, 2, 2), "Lung biopsy, 18G.", "test", 3),
        "E4": ("E4", None, "Drainage of an empyema.", "unassigned", 1),
    }
