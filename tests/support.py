"""Helpers the tests share (data, API clients, waiting on a worker); fixtures live in
tests/conftest.py."""

import datetime
import os
import time
from pathlib import Path

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import token_create
from annotation import services as annotation_services
from annotation.importing.checks import ParsedRow
from annotation.labeling import services as labeling_services
from annotation.models import Category
from studies import services as studies_services

TEMPLATES = {
    1: [
        "CT-guided drainage of {side} {site} abscess, 10 Fr pigtail left in situ, {v} mL pus.",
        "Aspiration of loculated {site} collection, {v} mL fluid, drain placed.",
    ],
    2: [
        "CT-guided core biopsy of {side} {site} mass, 18G coaxial, {v} cores.",
        "Biopsy of {site} lesion under CT guidance, 16G needle, {v} samples.",
    ],
    3: [
        "CT-guided biopsy of {side} upper lobe lung nodule, {v} cores, small pneumothorax.",
        "Percutaneous lung biopsy of {side} lower lobe mass, 18G, {v} cores.",
    ],
    4: [
        "CT-guided bone biopsy of L{v} vertebral body lytic lesion, 11G bone needle.",
        "Biopsy of {side} iliac bone sclerotic lesion, 13G Jamshidi, {v} cores.",
    ],
}
SITES = ["hepatic", "renal", "pelvic", "adrenal", "psoas", "splenic"]
# The same four procedures as a Japanese department writes them.
JA_TEMPLATES = {
    1: ["CTガイド下{side}{site}膿瘍ドレナージ、{v}Frピッグテール留置、排膿あり。",
        "{site}の被包化液体貯留を穿刺吸引、{v}0mL排液しドレーンを留置した。"],
    2: ["CTガイド下{side}{site}腫瘤の針生検、18G、{v}本採取。",
        "{site}病変に対しCTガイド下生検を施行、16G針で{v}検体。"],
    3: ["CTガイド下{side}肺上葉結節の生検、{v}本採取、少量の気胸。",
        "経皮的肺生検、{side}肺下葉腫瘤、18G、{v}本。"],
    4: ["第{v}腰椎椎体の溶骨性病変にCTガイド下骨生検、11G骨生検針。",
        "{side}腸骨の硬化性病変を骨生検、13Gジャムシディ針、{v}本。"],
}
JA_SITES = ["肝", "腎", "骨盤内", "副腎", "腸腰筋", "脾"]


def labelled_rows(per_split=None, prefix="T", japanese_every=0):
    """Short labelled reports with splits: enough for a tiny model to learn something.

    With ``japanese_every=n`` every n-th report is written in Japanese.
    """
    per_split = per_split or {"train": 8, "validation": 2, "test": 2}
    rows, i = [], 0
    start = datetime.date(2015, 1, 1)
    for split, n in per_split.items():
        for code, templates in TEMPLATES.items():
            for k in range(n):
                japanese = japanese_every and i % japanese_every == 0
                sides, sites = (("左", "右"), JA_SITES) if japanese else (("left", "right"), SITES)
                template = (JA_TEMPLATES[code] if japanese else templates)[k % 2]
                text = template.format(
                    side=sides[k % 2], site=sites[(k + code) % len(sites)], v=k + 2
                )
                rows.append(
                    ParsedRow(
                        line=i,
                        accession=f"{prefix}{i:04d}",
                        patient_id=f"{prefix}P{i:04d}",
                        sex="F",
                        age=60,
                        procedure_date=start + datetime.timedelta(days=i),
                        text=text,
                        label=code,
                        split=split,
                    )
                )
                i += 1
    return rows


def wait_for(predicate, timeout, what, worker):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n" + worker.log_path.read_text()[-3000:])


def project_with_labels(project):
    annotation_services.reports_write(
        project=project, rows=labelled_rows(), batch=None, user=None, reason="test"
    )
    return project


def add_reports(project, n, label=True):
    """n labelled (or, with label=False, unlabelled) reports R0000.. without a split."""
    rows = [
        ParsedRow(
            line=i, accession=f"R{i:04d}", patient_id=f"P{i:04d}", sex="F", age=50,
            # Dates out of insertion order, so the split must sort them.
            procedure_date=datetime.date(2010, 1, 1) + datetime.timedelta(days=(i * 37) % n),
            text=f"report {i}", label=(i % 4) + 1 if label else None, split=None,
        )
        for i in range(n)
    ]
    annotation_services.reports_write(project=project, rows=rows, batch=None, user=None,
                                      reason="test")


def add_unlabelled(project, n, start=0):
    """n unlabelled reports U00000.. in date order, for the labeling queue."""
    rows = [
        ParsedRow(line=i, accession=f"U{i:05d}", patient_id=f"UP{i:05d}", sex="M", age=55,
                  procedure_date=datetime.date(2024, 1, 1) + datetime.timedelta(days=i),
                  text=f"CT-guided biopsy of L{i % 5 + 1} vertebral body, 11G bone needle.",
                  label=None, split=None)
        for i in range(start, start + n)
    ]
    annotation_services.reports_write(project=project, rows=rows, batch=None, user=None,
                                      reason="test")


def bearer(user) -> APIClient:
    """An API client that sends a fresh personal token of user's."""
    _, raw = token_create(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def row(i, **overrides):
    """One report as the API's batch import takes it (a JSON object)."""
    return {"accession": f"API{i}", "patient_id": f"AP{i}", "sex": "F", "age": 61,
            "procedure_date": "2021-03-04", "text": f"CT-guided drainage number {i}",
            "label": "1", **overrides}


# --- Importing files ---------------------------------------------------------------------

def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(plan):
    return [str(e) for e in plan.errors]


def xlsx(tmp_path, rows, name="export.xlsx", sheets=1):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Reports"
    for row in rows:
        sheet.append(row)
    for i in range(1, sheets):
        book.create_sheet(f"Other {i}")
    path = tmp_path / name
    book.save(path)
    return path


XLSX_HEADER = ["Accession Number", "Patient ID", "Sex", "Age", "Study Date", "Report"]

CSV_HEADER = "accession,patient_id,sex,age,procedure_date,text,label\n"


def rows_csv(n: int, start: int = 0) -> str:
    return CSV_HEADER + "".join(
        f"B{i:05d},BP{i:05d},F,50,2020-01-{i % 28 + 1:02d},CT-guided drainage {i},1\n"
        for i in range(start, start + n))


def preview(client, project, text: str, name="big.csv"):
    url = reverse("import_reports", args=[project.slug])
    response = client.post(url, {"file": SimpleUploadedFile(name, text.encode())})
    assert response.context["plan"].ok, response.context["plan"].errors
    return url, response.context["token"]


# --- Labeling and reader studies ----------------------------------------------------------

def served(report, user, **kw):
    return labeling_services.ServedReport(
        report_id=report.pk, user_id=user.pk,
        served_at=timezone.now() - datetime.timedelta(seconds=5), **kw)


def answer(project, user, code, report=None):
    report = report or labeling_services.queue_next(project=project, user=user)
    category = Category.objects.get(project=project, code=code)
    return labeling_services.annotation_submit(served=served(report, user), user=user,
                                               category=category, active_ms=1500)


def answer_all(study, project, wrong_for=None):
    """Every reader answers every case; the named reader is wrong on their first two."""
    for session in study.readers.all():
        for position in range(len(session.order)):
            session, case, _ = studies_services.study_serve(session=session)
            truth = case.report.reference_label.category.code
            wrong = session.user.username == wrong_for and position < 2
            studies_services.study_answer(
                session=session, position=position,
                category=Category.objects.get(project=project,
                                              code=(truth % 4) + 1 if wrong else truth),
                active_ms=3000, page=session.page)


# --- Models ---------------------------------------------------------------------------------

TINY = {"epochs": 1, "seeds": 1, "max_length": 64}


def train(project, **kw):
    """Train a version of project with the TINY recipe, here and now (no worker)."""
    from modeling import jobs  # pulls in torch: only the tests that train pay for it
    from modeling import services as modeling_services

    version = modeling_services.model_version_create(project=project, recipe=TINY,
                                                     enqueue=False, **kw)
    return jobs.train_version(version.pk)


def metrics_block(accuracy, n=100):
    """A model's metrics on one split of n reports at the given accuracy."""
    correct = round(accuracy * n)
    return {"n": n, "correct": correct, "accuracy": correct / n, "accuracy_ci": [0.9, 1.0],
            "macro_f1": accuracy, "labels": [1, 2], "confusion": [[correct, 0], [n - correct, 0]],
            "per_category": {"1": {"recall": 1.0}, "2": {"recall": 0.0}}}


CANDIDATE_METRICS = {
    "served": "tfidf",
    "validation": metrics_block(0.97), "test": metrics_block(0.96),
    "candidates": {
        "bert": {"validation": metrics_block(0.31), "test": metrics_block(0.29),
                 "ece_validation": 0.4, "ece_test": 0.41, "temperature": 1.7},
        "tfidf": {"validation": metrics_block(0.97), "test": metrics_block(0.96),
                  "ece_validation": 0.02, "ece_test": 0.025, "temperature": 0.8},
        "ensemble": {"validation": metrics_block(0.93), "test": metrics_block(0.94),
                     "ece_validation": 0.05, "ece_test": 0.06, "temperature": None,
                     "bert_weight": 0.25},
    },
    "coverage": {"poor": True, "unk_rate": 0.31, "chars_per_token": 1.0,
                 "warning": "The base model's tokenizer reads these reports poorly: 31% ..."},
}


# --- Browser ------------------------------------------------------------------------------

def shot(page, name):
    """With CTIR_SCREENSHOTS=<folder>, keep a screenshot of the page there."""
    folder = os.environ.get("CTIR_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
