import datetime

import pytest
from django.db import connection

from annotation import services as annotation_services
from annotation.importing import ParsedRow

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


def labelled_rows(per_split=None, prefix="T"):
    """Short labelled reports with splits: enough for a tiny model to learn something."""
    per_split = per_split or {"train": 8, "validation": 2, "test": 2}
    rows, i = [], 0
    start = datetime.date(2015, 1, 1)
    for split, n in per_split.items():
        for code, templates in TEMPLATES.items():
            for k in range(n):
                text = templates[k % 2].format(
                    side=("left", "right")[k % 2], site=SITES[(k + code) % len(SITES)], v=k + 2
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


@pytest.fixture
def labelled_project(project):
    annotation_services.reports_write(
        project=project, rows=labelled_rows(), batch=None, user=None, reason="test"
    )
    return project


@pytest.fixture(scope="session")
def tiny_base_model(tmp_path_factory):
    from modeling.ml.tiny import make_tiny_base_model

    return make_tiny_base_model(tmp_path_factory.mktemp("tiny") / "bert")


@pytest.fixture
def model_settings(settings, tiny_base_model, tmp_path):
    settings.CTIR_BASE_MODEL = str(tiny_base_model)
    settings.CTIR_MODEL_DIR = tmp_path / "models"
    return settings


def on_postgres() -> bool:
    return connection.vendor == "postgresql"
