"""Exports in the formats other tools read: Label Studio JSON, doccano and Prodigy JSON Lines,
and a Hugging Face dataset (Parquet per split and a dataset card, zipped). Each is parsed
back and compared with the database, field by field."""

import datetime
import io
import json
import xml.etree.ElementTree as ET
import zipfile

import pyarrow.parquet as pq
import pytest
import yaml
from django.urls import reverse

from annotation import services
from annotation.exporting import label_names, label_studio_chunks, label_studio_config
from annotation.models import Category, Report
from core.models import JobStatus
from modeling.models import ModelVersion, Prediction
from tests.support import add_reports, add_unlabelled, labelled_rows

FORMATS = ["label-studio.json", "doccano.jsonl", "prodigy.jsonl", "hf.zip"]
SPLITS = ["train", "validation", "test", "unassigned"]


@pytest.fixture
def exported(project):
    """Labelled reports in train, validation and test (every third in Japanese), labelled
    and unlabelled ones without a split, an active model version 2 that predicted the train
    reports and an old version 1 that predicted all of them."""
    services.reports_write(
        project=project, batch=None, user=None, reason="test",
        rows=labelled_rows({"train": 2, "validation": 1, "test": 1}, japanese_every=3))
    add_reports(project, 4)  # labelled, unassigned
    add_unlabelled(project, 2)
    old = ModelVersion.objects.create(project=project, number=1, base_model="x",
                                      status=JobStatus.SUCCEEDED)
    active = ModelVersion.objects.create(project=project, number=2, base_model="x",
                                         status=JobStatus.SUCCEEDED, is_active=True)
    one = Category.objects.get(project=project, code=1)
    for report in Report.objects.filter(project=project):
        Prediction.objects.create(report=report, model_version=old, category=one, margin=0.1,
                                  ms=1, probabilities={"1": 0.55, "2": 0.45})
        if report.split == "train":
            code = report.reference_label.category.code
            Prediction.objects.create(
                report=report, model_version=active, margin=0.8, ms=1,
                category=Category.objects.get(project=project, code=code),
                probabilities={str(code): 0.9, "1" if code != 1 else "2": 0.1})
    return project


def download(client, project, fmt, **params):
    response = client.get(reverse("export_labels", args=[project.slug, fmt]), params)
    assert response.status_code == 200, response.content[:300]
    content = (b"".join(response.streaming_content) if response.streaming
               else response.content)
    return response, content


def reports_by_id(project):
    return {r.pk: r for r in Report.objects.filter(project=project)
            .select_related("patient", "reference_label__category")}


def reference_name(report):
    label = getattr(report, "reference_label", None)
    return label.category.name if label else None


def active_predictions(project):
    return {p.report_id: p for p in Prediction.objects.filter(
        report__project=project, model_version__is_active=True).select_related(
        "category", "model_version")}


def test_it_exports_label_studio_tasks_with_the_reference_label_and_active_prediction(
        login, exported, admin_user):
    response, content = download(login(admin_user), exported, "label-studio.json")
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].endswith('.label-studio.json"')
    tasks = json.loads(content)
    reports, predictions = reports_by_id(exported), active_predictions(exported)
    assert sorted(t["id"] for t in tasks) == sorted(reports)
    assert {t["data"]["split"] for t in tasks} == set(SPLITS)
    for task in tasks:
        report = reports[task["id"]]
        assert task["data"] == {"text": report.text, "accession": report.accession,
                                "procedure_date": report.procedure_date.isoformat(),
                                "split": report.split}
        name = reference_name(report)
        if name is None:
            assert "annotations" not in task
        else:
            assert task["annotations"] == [{"result": [{
                "from_name": "category", "to_name": "text", "type": "choices",
                "value": {"choices": [name]}}]}]
        prediction = predictions.get(report.pk)
        if prediction is None:
            assert "predictions" not in task
        else:
            assert task["predictions"] == [{
                "model_version": "v2", "score": 0.9,
                "result": [{"from_name": "category", "to_name": "text", "type": "choices",
                            "value": {"choices": [prediction.category.name]}}]}]
    assert sum("predictions" in t for t in tasks) == Report.objects.filter(
        project=exported, split="train").count()


def test_the_label_studio_config_names_what_the_tasks_use(login, exported, admin_user):
    _, content = download(login(admin_user), exported, "label-studio.json")
    config = ET.fromstring(label_studio_config(
        Category.objects.filter(project=exported).values_list("code", "name")))
    text, choices = config.find("Text"), config.find("Choices")
    assert text.get("value") == "$text"
    assert (choices.get("name"), choices.get("toName")) == ("category", text.get("name"))
    names = {c.get("value") for c in choices.findall("Choice")}
    assert names == set(Category.objects.filter(project=exported).values_list("name", flat=True))
    for task in json.loads(content):
        for item in task.get("annotations", []) + task.get("predictions", []):
            (result,) = item["result"]
            assert result["from_name"] == choices.get("name")
            assert result["to_name"] == text.get("name")
            assert set(result["value"]["choices"]) <= names


def test_label_studio_json_streams_in_chunks_and_stays_one_array():
    rows = [{"id": i, "text": "x" * 1000, "accession": f"A{i}", "split": "train",
             "procedure_date": datetime.date(2020, 1, 1), "label": 1,
             "predicted": None, "score": None, "model_version": None} for i in range(200)]
    chunks = list(label_studio_chunks(iter(rows), {1: "Drainage"}))
    assert len(chunks) > 1
    assert [t["id"] for t in json.loads("".join(chunks))] == list(range(200))
    assert json.loads("".join(label_studio_chunks(iter([]), {}))) == []


def test_it_exports_doccano_jsonl(login, exported, admin_user):
    response, content = download(login(admin_user), exported, "doccano.jsonl")
    assert response["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in content.decode().splitlines()]
    reports = {r.accession: r for r in reports_by_id(exported).values()}
    assert sorted(line["accession"] for line in lines) == sorted(reports)
    for line in lines:
        report = reports[line["accession"]]
        name = reference_name(report)
        assert line == {"text": report.text, "label": [name] if name else [],
                        "accession": report.accession,
                        "procedure_date": report.procedure_date.isoformat(),
                        "split": report.split}


def test_it_exports_prodigy_jsonl(login, exported, admin_user):
    _, content = download(login(admin_user), exported, "prodigy.jsonl")
    lines = [json.loads(line) for line in content.decode().splitlines()]
    reports = {r.accession: r for r in reports_by_id(exported).values()}
    assert sorted(line["meta"]["accession"] for line in lines) == sorted(reports)
    for line in lines:
        report = reports[line["meta"]["accession"]]
        name = reference_name(report)
        expected = {"text": report.text,
                    "meta": {"accession": report.accession,
                             "procedure_date": report.procedure_date.isoformat(),
                             "split": report.split}}
        if name:
            expected.update(label=name, answer="accept")
        assert line == expected
    assert sum("answer" not in line for line in lines) == 2  # the unlabelled ones


def open_dataset(content):
    archive = zipfile.ZipFile(io.BytesIO(content))
    (folder,) = {name.split("/")[0] for name in archive.namelist()}
    card = archive.read(f"{folder}/README.md").decode()
    _, header, body = card.split("---\n", 2)
    tables = {name.split("/")[-1].removesuffix(".parquet"):
              pq.read_table(io.BytesIO(archive.read(name)))
              for name in archive.namelist() if name.endswith(".parquet")}
    return archive, folder, yaml.safe_load(header), body, tables


def test_it_exports_a_hugging_face_dataset_without_identifiers(login, exported, admin_user):
    response, content = download(login(admin_user), exported, "hf.zip")
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].endswith('.hf.zip"')
    archive, folder, meta, body, tables = open_dataset(content)
    assert sorted(archive.namelist()) == sorted(
        [f"{folder}/README.md"] + [f"{folder}/data/{s}.parquet" for s in SPLITS])

    # The card's YAML: one file per split, the ClassLabel names by category code.
    (config,) = meta["configs"]
    assert config["config_name"] == "default"
    assert {f["split"]: f["path"] for f in config["data_files"]} == {
        s: f"data/{s}.parquet" for s in SPLITS}
    categories = list(Category.objects.filter(project=exported).order_by("code"))
    features = {f["name"]: f["dtype"] for f in meta["dataset_info"]["features"]}
    assert features["label"] == {"class_label": {"names": {
        str(i): c.name for i, c in enumerate(categories)}}}
    assert list(features) == [t.name for t in tables["train"].schema]
    # And the same in each file, as `datasets` writes it into the Parquet schema.
    hf = json.loads(tables["train"].schema.metadata[b"huggingface"])
    assert hf["info"]["features"]["label"] == {
        "names": [c.name for c in categories], "_type": "ClassLabel"}

    reports = reports_by_id(exported)
    index = {c.code: i for i, c in enumerate(categories)}
    for split, table in tables.items():
        assert not {"accession", "patient_id", "procedure_date"} & set(table.column_names)
        rows = table.to_pylist()
        assert sorted(r["report_id"] for r in rows) == sorted(
            pk for pk, r in reports.items() if r.split == split)
        for row in rows:
            report = reports[row["report_id"]]
            label = getattr(report, "reference_label", None)
            assert row == {
                "report_id": report.pk, "sex": report.patient.sex, "age": report.patient.age,
                "text": report.text,
                "label": index[label.category.code] if label else -1,
                "label_code": label.category.code if label else None,
                "label_name": label.category.name if label else None}

    # The card's counts per split and category, its warning and what it left out.
    for i, category in enumerate(categories):
        per_split = [Report.objects.filter(project=exported, split=s,
                                           reference_label__category=category).count()
                     for s in SPLITS]
        assert (f"| {i} | {category.code} | {category.name} | "
                + " | ".join(map(str, per_split)) + f" | {sum(per_split)} |") in body
    assert "| -1 |  | (no reference label) | 0 | 0 | 0 | 2 | 2 |" in body
    assert "may still hold names" in body
    assert "Left out: `accession`, `patient_id`, `procedure_date`" in body


def test_identifiers_are_in_the_dataset_only_when_asked_for(login, exported, admin_user):
    _, content = download(login(admin_user), exported, "hf.zip", identifiers="1")
    _, _, meta, body, tables = open_dataset(content)
    reports = reports_by_id(exported)
    for table in tables.values():
        for row in table.to_pylist():
            report = reports[row["report_id"]]
            assert (row["accession"], row["patient_id"], row["procedure_date"]) == (
                report.accession, report.patient.pseudo_id, report.procedure_date)
    assert {"accession", "patient_id", "procedure_date"} <= {
        f["name"] for f in meta["dataset_info"]["features"]}
    assert "This export includes identifiers: `accession`, `patient_id`" in body
    assert "Left out" not in body
    # The checkbox's value off is the same as leaving it out.
    _, content = download(login(admin_user), exported, "hf.zip", identifiers="0")
    assert "patient_id" not in open_dataset(content)[4]["train"].column_names


def test_an_identifiers_value_other_than_0_or_1_is_a_bad_request(login, project, admin_user):
    response = login(admin_user).get(reverse("export_labels", args=[project.slug, "hf.zip"]),
                                     {"identifiers": "yes"})
    assert response.status_code == 400
    assert "identifiers" in response.content.decode()


def test_a_dataset_names_only_the_splits_it_has(login, project, admin_user):
    services.reports_write(project=project, batch=None, user=None, reason="test",
                           rows=labelled_rows({"train": 1, "test": 1}))
    _, content = download(login(admin_user), project, "hf.zip")
    _, _, meta, _, tables = open_dataset(content)
    assert set(tables) == {"train", "test"}
    assert [f["split"] for f in meta["configs"][0]["data_files"]] == ["train", "test"]
    assert tables["train"].num_rows == 4


def test_an_empty_project_exports_valid_files(login, project, admin_user):
    client = login(admin_user)
    assert json.loads(download(client, project, "label-studio.json")[1]) == []
    assert download(client, project, "doccano.jsonl")[1] == b""
    _, _, meta, _, tables = open_dataset(download(client, project, "hf.zip")[1])
    assert tables["train"].num_rows == 0


def test_categories_that_share_a_name_are_told_apart_by_code():
    assert label_names([(1, "Biopsy"), (2, "Biopsy"), (3, "Drainage")]) == {
        1: "Biopsy (code 1)", 2: "Biopsy (code 2)", 3: "Drainage"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_requires_login(client, project, fmt):
    response = client.get(reverse("export_labels", args=[project.slug, fmt]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_outsider_gets_404(login, exported, outsider, fmt):
    response = login(outsider).get(reverse("export_labels", args=[exported.slug, fmt]))
    assert response.status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("role", ["reader", "annotator"])
def test_a_reader_or_annotator_gets_403(request, login, exported, fmt, role):
    user = request.getfixturevalue(role)
    response = login(user).get(reverse("export_labels", args=[exported.slug, fmt]))
    assert response.status_code == 403


def test_an_unknown_format_is_404(login, project, admin_user):
    for fmt in ("xml", "hf.json", "parquet"):
        response = login(admin_user).get(reverse("export_labels", args=[project.slug, fmt]))
        assert response.status_code == 404


def test_the_dashboard_links_every_format(login, project, admin_user):
    page = login(admin_user).get(reverse("dashboard", args=[project.slug])).content.decode()
    for fmt in ["csv", "jsonl", *FORMATS]:
        assert reverse("export_labels", args=[project.slug, fmt]) in page
    assert 'name="identifiers" value="1"' in page


@pytest.mark.parametrize("fmt", ["label-studio.json", "doccano.jsonl", "prodigy.jsonl"])
def test_the_command_writes_what_the_page_downloads(login, exported, admin_user, tmp_path,
                                                    fmt):
    from django.core.management import call_command

    out = tmp_path / f"export.{fmt}"
    call_command("export_labels", "--project", exported.slug, "--format", fmt, "-o", str(out))
    _, content = download(login(admin_user), exported, fmt)
    assert out.read_text(encoding="utf-8") == content.decode()


def test_the_command_writes_the_dataset_zip(exported, tmp_path):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--output"):
        call_command("export_labels", "--project", exported.slug, "--format", "hf.zip")
    out = tmp_path / "ct-ir.hf.zip"
    call_command("export_labels", "--project", exported.slug, "--format", "hf.zip",
                 "-o", str(out))
    _, folder, meta, _, tables = open_dataset(out.read_bytes())
    assert folder == "ct-ir" and sum(t.num_rows for t in tables.values()) == \
        Report.objects.filter(project=exported).count()
