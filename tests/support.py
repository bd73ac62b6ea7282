"""Helpers the tests share (data, waiting on a worker); fixtures live in tests/conftest.py."""

import datetime
import time

from annotation import services as annotation_services
from annotation.importing.checks import ParsedRow

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
