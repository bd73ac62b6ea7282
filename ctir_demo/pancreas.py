"""A second, binary demo task: is this CT report a pretreatment pancreatic cancer?

Yes (1): a pancreatic adenocarcinoma staged before any treatment (diagnosis, staging,
resectability). No (2): everything else on abdominal CT, including the near misses that make
the task worth a model: pancreatic cancer after chemotherapy or resection, pancreatitis,
cystic lesions, a pancreatic mass that is ruled out, and normal pancreas.

Small (240 labelled reports, split by date, and 40 newer unlabelled ones) so seed_demo stays
quick; it proves that nothing in ctir assumes the four categories of the first task. Pure
standard library, one random.Random; a new module so the first cohort's rows never change.
"""

from __future__ import annotations

import datetime
import random

from .cohort import CohortRow

YES, NO = 1, 2
CATEGORIES = [
    (YES, "Pretreatment pancreatic cancer", "Pancreatic adenocarcinoma staged before any "
     "treatment: diagnosis, staging or resectability", "y", "#dc2626"),
    (NO, "No", "Anything else: no pancreatic cancer, or one already treated", "n", "#64748b"),
]
# One paragraph a line: the pages show the guideline with its line breaks.
GUIDELINE = "\n".join([
    "Answer Yes when the report stages a pancreatic cancer that has not been treated yet: a "
    "new pancreatic mass read as adenocarcinoma, staging or resectability before surgery or "
    "neoadjuvant therapy.",
    "Answer No otherwise: no pancreatic mass; pancreatitis; a cystic lesion (IPMN, serous "
    "cystadenoma); a mass that is ruled out; a pancreatic cancer after chemotherapy, "
    "radiotherapy or resection (restaging, follow-up, recurrence).",
    "Negated findings did not happen; history alone does not make a Yes.",
])
COUNTS = {"train": 160, "validation": 30, "test": 50}
YES_SHARE = 0.4
START, END = datetime.date(2019, 1, 1), datetime.date(2024, 6, 30)

_SITES = ["head", "uncinate process", "neck", "body", "tail"]
_VESSELS = ["superior mesenteric vein", "portal vein", "superior mesenteric artery",
            "coeliac axis", "common hepatic artery"]
_OTHER = ["simple cyst in segment 7 of the liver", "small hiatus hernia",
          "colonic diverticulosis without inflammation", "a 4 mm non-obstructing left renal "
          "calculus", "mild degenerative change of the lumbar spine",
          "bilateral small pleural effusions"]


def _yes(rng: random.Random) -> tuple[str, str]:
    site, size = rng.choice(_SITES), rng.randint(15, 48)
    vessel, degrees = rng.choice(_VESSELS), rng.choice([0, 90, 180, 270])
    contact = ("no vascular contact" if degrees == 0 else
               f"{degrees} degrees of contact with the {vessel}")
    resect = ("resectable" if degrees == 0 else "borderline resectable" if degrees <= 180
              else "locally advanced")
    ductal = rng.choice(["upstream dilatation of the main pancreatic duct to 6 mm",
                         "double duct sign", "abrupt cut-off of the pancreatic duct"])
    why = rng.choice(["Staging of newly diagnosed pancreatic adenocarcinoma.",
                      "Painless jaundice; pancreatic mass on ultrasound. Staging before MDT.",
                      "EUS biopsy confirmed adenocarcinoma; treatment not yet started.",
                      "Weight loss and raised CA 19-9. Pancreas protocol CT."])
    findings = (f"Hypoattenuating mass in the pancreatic {site} measuring {size} mm with "
                f"{ductal}. {contact.capitalize()}. No liver metastases. No ascites.")
    impression = (f"Pancreatic {site} mass in keeping with adenocarcinoma, {resect} "
                  "(NCCN), before treatment.")
    return why, findings + "\n" + impression


def _no(rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(["treated", "resected", "pancreatitis", "ipmn", "ruled_out", "normal",
                       "normal"])
    site, size = rng.choice(_SITES), rng.randint(12, 40)
    other = rng.choice(_OTHER)
    if kind == "treated":
        why = "Pancreatic adenocarcinoma after 6 cycles of FOLFIRINOX. Restaging."
        text = (f"Ill-defined pancreatic {site} mass now {size} mm, smaller than before "
                f"chemotherapy. Treatment response; no new metastases.")
    elif kind == "resected":
        why = rng.choice(["Follow-up after Whipple procedure for pancreatic cancer.",
                          "Distal pancreatectomy for adenocarcinoma two years ago."])
        text = ("Postsurgical change of the pancreatic bed. No soft tissue to suggest local "
                f"recurrence. {other.capitalize()}.")
    elif kind == "pancreatitis":
        why = "Epigastric pain, raised lipase."
        text = ("Diffuse pancreatic enlargement with peripancreatic fat stranding and fluid. "
                "No necrosis. Acute interstitial oedematous pancreatitis. No focal mass.")
    elif kind == "ipmn":
        why = "Incidental pancreatic cyst, surveillance."
        text = (f"{size // 2} mm cystic lesion in the pancreatic {site} communicating with a "
                "side branch, in keeping with branch-duct IPMN. No enhancing nodule. No "
                "solid mass.")
    elif kind == "ruled_out":
        why = "Question of pancreatic mass on ultrasound."
        text = (f"Focal fatty sparing of the pancreatic {site}; no pancreatic mass, no ductal "
                "dilatation. No evidence of malignancy.")
    else:
        why = rng.choice(["Right iliac fossa pain.", "Haematuria.", "Abdominal pain.",
                          "Follow-up of colorectal cancer."])
        text = f"The pancreas is normal. {other.capitalize()}. No lymphadenopathy."
    return why, text


def _write_up(rng: random.Random, why: str, body: str) -> str:
    style = rng.choice(["structured", "narrative", "terse"])
    findings, _, impression = body.partition("\n")
    impression = impression or findings.split(". ")[-1]
    if style == "structured":
        return (f"CT ABDOMEN AND PELVIS WITH CONTRAST\nClinical information: {why}\n"
                f"Findings: {findings}\nImpression: {impression}")
    if style == "narrative":
        return f"{why} Contrast-enhanced CT of the abdomen. {findings} {impression}"
    return f"CT abdo. {why} {findings.lower()}"


def generate_pancreas_cohort(seed: int = 2025, counts: dict[str, int] | None = None,
                             start: datetime.date = START, end: datetime.date = END,
                             prefix: str = "PC") -> list[CohortRow]:
    """Labelled reports split by date: every train report before every validation one."""
    rng = random.Random(seed)
    counts = counts or COUNTS
    total = sum(counts.values())
    days = (end - start).days
    dates = sorted(start + datetime.timedelta(days=rng.randrange(days)) for _ in range(total))
    splits = [split for split, n in counts.items() for _ in range(n)]
    rows = []
    for i, (date, split) in enumerate(zip(dates, splits, strict=True)):
        # Both answers in every split, whatever the draw: a tiny split could miss one.
        label = YES if (i % 5 < 2 if split != "train" else rng.random() < YES_SHARE) else NO
        why, body = (_yes if label == YES else _no)(rng)
        rows.append(CohortRow(
            accession=f"{prefix}{i + 1:05d}", patient_id=f"{prefix}P{i + 1:05d}",
            sex=rng.choice("FM"), age=rng.randint(38, 88), procedure_date=date,
            text=_write_up(rng, why, body), label=label, split=split, hard_case=""))
    return rows


def generate_pancreas_reports(n: int, seed: int, start: datetime.date,
                              end: datetime.date) -> list[CohortRow]:
    """Newer reports, unlabelled and without a split: the labeling queue of the demo."""
    rows = generate_pancreas_cohort(seed, {"unassigned": n}, start, end, prefix="PCX")
    return rows
