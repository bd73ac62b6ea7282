"""Seeded synthetic cohort of CT-guided interventional radiology reports.

The cohort mirrors the study design (1605 patients, Aug 2008 - Nov 2024, chronological
train/validation/test split with the published category counts). Reports are built
compositionally: a clinical *case* (site, devices, samples, complications, hard-case
twist) is generated first and then written out by one of several radiologist *styles*,
so that no single stock phrase gives the category away. Labels follow
shared/labeling-guideline.md, hard cases included.

Pure standard library; every random draw goes through one ``random.Random`` instance.
"""

from __future__ import annotations

import datetime
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

STUDY_COUNTS: dict[str, dict[int, int]] = {
    "train": {1: 309, 2: 367, 3: 270, 4: 196},
    "validation": {1: 30, 2: 42, 3: 40, 4: 19},
    "test": {1: 75, 2: 124, 3: 78, 4: 55},
}
SPLITS: tuple[str, ...] = ("train", "validation", "test")
COHORT_START = datetime.date(2008, 8, 1)
COHORT_END = datetime.date(2024, 11, 30)

STYLES: tuple[str, ...] = (
    "structured",
    "terse",
    "narrative",
    "dictated",
    "nonnative",
    "abbreviated",
    "bullets",
    "caps_ris",
    "keyvalue",
    "letter",
)

HARD_CASES: tuple[str, ...] = (
    "complication",
    "tissue_sampled",
    "lung_abscess_drain",
    "biopsy_and_aspiration",
    "negation",
    "aborted",
    "history_other_category",
    "cyst_sclerotherapy",
    "spondylodiscitis",
    "bone_marrow",
)

# Share of hard cases in every split and category; the guideline rules must be seen often
# enough for a model to learn them.
HARD_FRACTION = 0.16

_HARD_WEIGHTS: dict[int, tuple[tuple[str, int], ...]] = {
    1: (
        ("lung_abscess_drain", 3),
        ("biopsy_and_aspiration", 2),
        ("negation", 2),
        ("aborted", 1),
        ("history_other_category", 2),
        ("cyst_sclerotherapy", 2),
        ("complication", 1),
    ),
    2: (
        ("complication", 2),
        ("tissue_sampled", 5),
        ("biopsy_and_aspiration", 2),
        ("negation", 1),
        ("aborted", 1),
        ("history_other_category", 2),
    ),
    3: (
        ("complication", 4),
        ("tissue_sampled", 1),
        ("biopsy_and_aspiration", 1),
        ("negation", 2),
        ("aborted", 2),
        ("history_other_category", 2),
    ),
    4: (
        ("spondylodiscitis", 3),
        ("bone_marrow", 2),
        ("history_other_category", 2),
        ("aborted", 1),
        ("negation", 1),
        ("complication", 1),
        ("tissue_sampled", 1),
        ("biopsy_and_aspiration", 1),
    ),
}


@dataclass(frozen=True)
class CohortRow:
    accession: str
    patient_id: str
    sex: str
    age: int
    procedure_date: datetime.date
    text: str
    label: int
    split: str
    hard_case: str
    style: str = ""


# --------------------------------------------------------------------------- helpers


def _w(rng: random.Random, pairs):
    """Weighted choice from ((value, weight), ...) without relying on dict order."""
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for value, weight in pairs:
        x -= weight
        if x < 0:
            return value
    return pairs[-1][0]


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def _lc(s: str) -> str:
    """Lower-case the first letter unless it starts an acronym ("CT-guided")."""
    if len(s) > 1 and s[1].isupper():
        return s
    return s[:1].lower() + s[1:]


def _sent(s: str) -> str:
    s = s.strip()
    if not s:
        return s
    s = _cap(s)
    return s if s[-1] in ".!?" else s + "."


def _size(rng: random.Random, lo: int, hi: int) -> tuple[int, str]:
    mm = rng.randint(lo, hi)
    mm2 = max(lo // 2 + 1, int(mm * rng.uniform(0.55, 0.95)))
    fmt = rng.random()
    if fmt < 0.3:
        text = f"{mm} mm"
    elif fmt < 0.55:
        text = f"{mm / 10:.1f} cm"
    elif fmt < 0.8:
        text = f"{mm} x {mm2} mm"
    elif fmt < 0.93:
        text = f"{mm / 10:.1f} x {mm2 / 10:.1f} cm"
    else:
        text = f"{mm}mm"
    return mm, text


_ORDINALS = {
    1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 5: "5th", 6: "6th",
    7: "7th", 8: "8th", 9: "9th", 10: "10th", 11: "11th", 12: "12th",
}
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight")

_SURNAMES = (
    "Andersson", "Berg", "Chen", "Dahl", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinn",
    "Rossi", "Sato", "Tanaka", "Umar", "Virtanen", "Weber", "Yilmaz", "Zhang", "Holm",
    "Novak", "Silva", "Murphy", "Kaur",
)
_INITIALS = "ABCDEFGHIJKLMNOPRSTUVW"


def _operator(rng: random.Random) -> tuple[str, str]:
    surname = rng.choice(_SURNAMES)
    initial = rng.choice(_INITIALS)
    full = _w(rng, (
        (f"Dr {initial}. {surname}", 3), (f"Dr. {initial} {surname}", 2),
        (f"{initial}. {surname}, MD", 1), (f"{surname} {initial}", 1),
        (f"Dr {surname} (consultant radiologist)", 1),
    ))
    short = f"{initial}{surname[0]}".upper()
    return full, short


def _side(rng: random.Random) -> str:
    return rng.choice(("right", "left"))


def _side_abbr(side: str) -> str:
    return {"right": "R", "left": "L"}.get(side, "")


# --------------------------------------------------------------------------- the case


class _Case:
    """Facts of one procedure, in full sentences and in short fragments."""

    def __init__(self, label: int, age: int, sex: str) -> None:
        self.label = label
        self.age = age
        self.sex = sex
        self.hard = ""
        self.title = ""  # e.g. "CT-guided core biopsy of a right lower lobe nodule"
        self.title_short = ""  # e.g. "CT bx RLL nodule"
        self.target = ""
        self.target_short = ""
        self.side = ""
        self.indication = ""
        self.indication_short = ""
        self.history = ""
        self.history_short = ""
        self.findings: list[str] = []
        self.position = ""
        self.la = ""
        self.sedation = ""
        self.device = ""
        self.access: list[str] = []
        self.sample: list[str] = []
        self.sample_short = ""
        self.key: list[tuple[str, str, str]] = []  # (slot, full, short): must be rendered
        self.compl: list[str] = []
        self.compl_short = "no complications"
        self.dose = ""
        self.dose_short = ""
        self.followup = ""
        self.impression = ""
        self.operator = ""
        self.operator_short = ""
        self.consent = ""
        self.la_short = ""
        self.sedation_short = ""


def _la(rng: random.Random) -> tuple[str, str]:
    drug = _w(rng, (("lidocaine", 6), ("lignocaine", 2), ("xylocaine", 1), ("mepivacaine", 1)))
    conc = rng.choice(("1%", "1%", "2%", "0.5%"))
    ml = rng.choice((5, 8, 10, 10, 12, 15, 20))
    r = rng.random()
    if r < 0.12:
        return "", ""
    if r < 0.25:
        return "Local anaesthesia was given.", "LA"
    if r < 0.6:
        return f"Local anaesthesia with {ml} mL of {conc} {drug}.", f"{drug} {conc} {ml} mL"
    spelled = rng.choice(("anaesthesia", "anesthesia"))
    return (
        f"{_cap(drug)} {conc}, {ml} ml, was infiltrated for local {spelled}.",
        f"LA {drug} {conc} {ml}ml",
    )


def _sedation(rng: random.Random, label: int) -> tuple[str, str]:
    mid = rng.choice((1, 1, 2, 2, 2.5, 3))
    fent = rng.choice((25, 50, 50, 75, 100))
    ga_weight = 2 if label == 1 else 1
    return _w(rng, (
        (("No sedation was given.", "no sedation"), 5),
        (("", ""), 5),
        ((f"Conscious sedation with midazolam {mid} mg IV.", f"midazolam {mid} mg"), 3),
        ((f"Sedation: midazolam {mid} mg and fentanyl {fent} micrograms intravenously.",
          f"midaz {mid} mg/fentanyl {fent} mcg"), 3),
        ((f"Analgesia with oxycodone {rng.choice((2.5, 5))} mg orally beforehand.",
          "oral oxycodone"), 1),
        (("The procedure was performed under general anaesthesia.", "GA"), ga_weight),
    ))


def _dose(rng: random.Random, year: int) -> tuple[str, str]:
    if year < 2012 and rng.random() < 0.6:
        return "", ""
    if rng.random() < 0.25:
        return "", ""
    dlp = rng.randint(90, 1400)
    ctdi = round(rng.uniform(1.5, 18.0), 1)
    unit = _w(rng, (("mGy*cm", 3), ("mGycm", 2), ("mGy cm", 2), ("mGy\u00b7cm", 2)))
    r = rng.random()
    if r < 0.4:
        return f"DLP {dlp} {unit}.", f"DLP {dlp} {unit}"
    if r < 0.7:
        return (
            f"Radiation dose: CTDIvol {ctdi} mGy, DLP {dlp} {unit}.",
            f"CTDIvol {ctdi} mGy, DLP {dlp}",
        )
    return f"Total dose-length product {dlp} {unit}.", f"DLP {dlp}"


def _consent(rng: random.Random) -> str:
    return _w(rng, (
        ("Written informed consent was obtained.", 3),
        ("Risks and benefits were explained and the patient consented.", 2),
        ("Informed consent obtained after discussion of risks including bleeding and infection.",
         1),
        ("WHO checklist and time-out completed.", 1),
        ("Coagulation screen reviewed (INR 1.1, platelets normal).", 1),
        ("", 4),
    ))


def _position_sentence(rng: random.Random, position: str) -> str:
    return _w(rng, (
        (f"The patient was placed {position}.", 3),
        (f"Patient positioned {position} on the CT table.", 2),
        (f"{_cap(position)} position.", 1),
        (f"With the patient {position}, a planning CT was acquired.", 2),
        (f"After a localising scan in the {position} position, the skin entry point was marked.",
         2),
    ))


# ---------------------------------------------------------------- category 3: lung biopsy

_LOBES = (
    ("right upper lobe", "RUL", "right"),
    ("right middle lobe", "RML", "right"),
    ("right lower lobe", "RLL", "right"),
    ("left upper lobe", "LUL", "left"),
    ("lingula", "lingula", "left"),
    ("left lower lobe", "LLL", "left"),
)
_SEGMENTS = {
    "RUL": ("apical", "posterior", "anterior"),
    "RML": ("lateral", "medial"),
    "RLL": ("superior", "posterior basal", "lateral basal", "anterior basal"),
    "LUL": ("apicoposterior", "anterior"),
    "lingula": ("superior lingular", "inferior lingular"),
    "LLL": ("superior", "posterior basal", "lateral basal"),
}
_LUNG_LESIONS = (
    ("solid nodule", 5), ("part-solid nodule", 2), ("ground-glass nodule", 1),
    ("spiculated nodule", 2), ("mass", 3), ("area of consolidation", 1),
    ("cavitating lesion", 1), ("irregular opacity", 1), ("subsolid nodule", 1),
)


def _lung_target(rng: random.Random) -> dict:
    lobe, abbr, side = rng.choice(_LOBES)
    lesion = _w(rng, _LUNG_LESIONS)
    mm, size = _size(rng, 9, 75)
    seg = rng.choice(_SEGMENTS[abbr])
    where = _w(rng, ((f"in the {lobe}", 4), (f"in the {seg} segment of the {lobe}", 2)))
    if abbr == "lingula" and "segment" in where:
        where = f"in the {seg.split()[0]} lingula"
    return {
        "lobe": lobe, "abbr": abbr, "side": side, "lesion": lesion, "mm": mm, "size": size,
        "full": f"{size} {lesion} {where}",
        "short": f"{abbr} {lesion.split()[-1]} {size}",
    }


def _lung_indication(rng: random.Random, t: dict) -> tuple[str, str]:
    suv = round(rng.uniform(2.5, 19.0), 1)
    cancer = rng.choice(("colorectal", "breast", "renal cell", "melanoma", "head and neck",
                         "bladder", "oesophageal"))
    return _w(rng, (
        ((f"Enlarging {t['lesion']} {t['lobe']} on surveillance CT.",
          f"growing {t['abbr']} lesion"), 3),
        (("Suspected primary lung cancer, histology requested by thoracic MDT.",
          "? primary lung ca"), 3),
        ((f"PET-positive {t['lesion']} (SUVmax {suv}).", f"PET+ {t['abbr']} SUV {suv}"), 2),
        ((f"Known {cancer} cancer, new pulmonary nodule: metastasis or second primary?",
          f"{cancer} ca, new pulm nodule"), 2),
        (("Non-resolving consolidation despite antibiotics, ? lymphoma or organising pneumonia.",
          "non-resolving consolidation"), 1),
        (("Tissue for molecular testing (EGFR, ALK, PD-L1) requested.",
          "tissue for EGFR/ALK/PD-L1"), 1),
        (("Heavy smoker with a new lesion on chest radiograph.", "smoker, new lesion"), 1),
    ))


def _lung_case(rng: random.Random, c: _Case) -> dict:
    t = _lung_target(rng)
    c.side = t["side"]
    c.target, c.target_short = t["full"], t["short"]
    c.title = _w(rng, (
        (f"CT-guided core needle biopsy of {t['full']}", 3),
        (f"CT-guided lung biopsy, {t['lobe']}", 2),
        (f"Percutaneous transthoracic biopsy of {t['lobe']} {t['lesion']}", 2),
        (f"CT-guided biopsy of {t['lesion']} {t['abbr']}", 1),
    ))
    c.title_short = _w(rng, (
        (f"CT bx {t['abbr']} {t['lesion'].split()[-1]}", 3),
        (f"CT-guided {t['abbr']} lung bx", 1),
        (f"TTNB {t['abbr']}", 1),
        (f"CT-guided biopsy {t['abbr']} lesion", 2),
    ))
    c.indication, c.indication_short = _lung_indication(rng, t)
    c.position = rng.choice(("prone", "supine", "supine", "prone",
                             f"{'left' if t['side'] == 'right' else 'right'} lateral decubitus"))
    depth = round(rng.uniform(1.5, 9.0), 1)
    aerated = round(rng.uniform(0.0, 4.5), 1)
    c.findings = [
        _w(rng, (
            (f"Planning CT shows a {t['full']}.", 3),
            (f"The {t['lesion']} measures {t['size']}, "
             f"{rng.choice(('abutting the pleura', 'centrally located', 'peripheral'))}.", 2),
            (f"Target: {t['full']}, skin-to-lesion distance {depth} cm.", 2),
        )),
    ]
    if aerated > 0.4 and rng.random() < 0.5:
        c.findings.append(f"The needle path traversed about {aerated} cm of aerated lung.")
    if rng.random() < 0.3:
        c.findings.append(rng.choice((
            "Emphysema along the planned route.",
            "No pleural effusion.",
            "Fissure avoided.",
            "Images were reviewed in lung and mediastinal windows.",
            "Stable mediastinal lymph nodes.",
        )))
    intro = rng.choice((17, 17, 19, 19, 18))
    core = {17: 18, 19: 20, 18: 20}[intro]
    n = rng.randint(1, 5)
    fna = rng.random() < 0.15
    if fna:
        g = rng.choice((20, 22))
        c.device = f"{g}G Chiba FNA"
        passes = "one fine-needle aspiration pass was" if n == 1 else \
            f"{n} fine-needle aspiration passes were"
        c.access = [f"A {g}G Chiba needle was advanced into the lesion under CT guidance "
                    f"and {passes} made."]
        c.sample = [_w(rng, (("Smears and a cell block were sent for cytology.", 2),
                              ("Rapid on-site evaluation confirmed adequate material.", 1)))]
        c.sample_short = f"{n} FNA passes, cytology"
    else:
        system = rng.choice(("coaxial", "coaxial", "semi-automatic", "automated"))
        c.device = f"{intro}G coaxial / {core}G core" if system == "coaxial" else f"{core}G core"
        c.access = [_w(rng, (
            (f"A {intro}G coaxial introducer was advanced to the margin of the lesion and "
             f"{n} {core}G core biops{'ies were' if n > 1 else 'y was'} taken.", 3),
            (f"Using a {core}G {system} biopsy needle through a {intro}G guide, "
             f"{n} core{'s were' if n > 1 else ' was'} obtained.", 2),
            (f"{_cap(_NUMBER_WORDS[n])} {core}-gauge core sample{'s' if n > 1 else ''} "
             f"obtained via {intro}G coaxial needle.", 1),
        ))]
        fixes = rng.choice(("formalin for histology", "formalin", "saline and formalin"))
        c.sample = [f"Samples placed in {fixes}."]
        if rng.random() < 0.25:
            c.sample.append("One core was sent for molecular analysis.")
        if rng.random() < 0.1:
            c.sample.append("An additional core in saline went to microbiology (incl. TB).")
        c.sample_short = f"x{n} cores" if rng.random() < 0.5 else f"{n} cores, histo"
    r = rng.random()
    if r < 0.55:
        c.compl = [rng.choice(("No pneumothorax on the post-procedure scan.",
                               "No immediate complications.",
                               "Post-biopsy CT: no pneumothorax, no haemorrhage.",
                               "Uncomplicated procedure."))]
        c.compl_short = rng.choice(("no PTX", "no compl.", "uncomplicated"))
    elif r < 0.78:
        c.compl = [rng.choice(("Small apical pneumothorax, not requiring treatment.",
                               "Tiny pneumothorax, stable on repeat scan.",
                               "Minimal pneumothorax (<1 cm rim), managed conservatively."))]
        c.compl_short = "small PTX, conservative"
    elif r < 0.92:
        c.compl = ["Minor perilesional haemorrhage along the needle track."]
        c.compl_short = "minor track haemorrhage"
    else:
        c.compl = ["Transient mild haemoptysis which settled with the patient lying "
                   "biopsy side down."]
        c.compl_short = "mild haemoptysis, settled"
    # Realistic lung-biopsy wording that mentions a drain without one being placed.
    if rng.random() < 0.22:
        c.compl.append(rng.choice(("No chest drain was required.",
                                   "Chest drain not needed.",
                                   "A chest drain kit was kept on standby but not used.")))
        c.compl_short += rng.choice((", no drain", ", no chest drain needed"))
    c.followup = _w(rng, (
        ("Chest radiograph after 2 hours; discharge if no pneumothorax.", 3),
        ("Bed rest for 3 hours, CXR at 1 h and 4 h.", 2),
        ("Observation on the day unit; results to the thoracic MDT.", 2),
        ("", 2),
    ))
    c.impression = _w(rng, (
        (f"Technically successful CT-guided biopsy of the {t['lobe']} {t['lesion']}.", 3),
        (f"Uncomplicated CT-guided lung biopsy ({t['abbr']}).", 2),
        (f"Biopsy of {t['abbr']} {t['lesion']} as above; histology to follow.", 2),
    ))
    return t


# ------------------------------------------------- category 2: soft-tissue / fat biopsy

_NODE_STATIONS = (
    ("para-aortic", "retroperitoneum", "supine"),
    ("aortocaval", "retroperitoneum", "supine"),
    ("left para-aortic", "retroperitoneum", "prone"),
    ("retrocrural", "retroperitoneum", "prone"),
    ("mesenteric", "abdomen", "supine"),
    ("external iliac", "pelvis", "supine"),
    ("common iliac", "pelvis", "supine"),
    ("inguinal", "groin", "supine"),
    ("axillary", "axilla", "supine"),
    ("supraclavicular", "neck", "supine"),
    ("porta hepatis", "abdomen", "supine"),
)


def _soft_site(rng: random.Random, kind: str = "") -> dict:
    """A solid lesion in fat or soft-tissue density (abdomen, pelvis, limbs, nodes)."""
    side = _side(rng)
    kind = kind or _w(rng, (("liver", 8), ("pancreas", 3), ("kidney", 3), ("adrenal", 3),
                    ("spleen", 1), ("node", 7), ("mesentery", 1), ("omentum", 2),
                    ("peritoneum", 1), ("retroperitoneum", 2), ("muscle", 2),
                    ("subcutaneous", 1)))
    if kind == "liver":
        seg = rng.choice(("II", "III", "IVa", "IVb", "V", "VI", "VII", "VIII", "6", "7", "5"))
        lesion = rng.choice(("hypodense lesion", "hypovascular mass", "focal lesion",
                             "ring-enhancing lesion", "solid lesion"))
        return {"kind": kind, "side": "right", "lesion": lesion, "organ": "liver",
                "full": f"{lesion} in liver segment {seg}", "short": f"liver seg {seg}",
                "pos": ("supine", "left anterior oblique"),
                "ind": ("? metastasis", "HCC vs cholangiocarcinoma", "new liver lesion",
                        "liver lesion on staging CT")}
    if kind == "pancreas":
        part = rng.choice(("head", "uncinate process", "body", "tail"))
        return {"kind": kind, "side": "", "lesion": "hypoattenuating mass", "organ": "pancreas",
                "full": f"hypoattenuating mass in the pancreatic {part}",
                "short": f"panc {part} mass", "pos": ("supine", "prone"),
                "ind": ("weight loss and obstructive jaundice", "EUS-FNA non-diagnostic",
                        "? pancreatic adenocarcinoma vs autoimmune pancreatitis")}
    if kind == "kidney":
        pole = rng.choice(("upper pole", "lower pole", "interpolar region"))
        return {"kind": kind, "side": side, "lesion": "solid renal mass", "organ": "kidney",
                "full": f"solid mass in the {pole} of the {side} kidney",
                "short": f"{_side_abbr(side)} kidney {pole} mass", "pos": ("prone",),
                "ind": ("indeterminate enhancing renal mass before ablation",
                        "? RCC vs oncocytoma", "renal mass, ? lymphoma")}
    if kind == "adrenal":
        return {"kind": kind, "side": side, "lesion": "adrenal nodule", "organ": "adrenal",
                "full": f"{side} adrenal nodule", "short": f"{_side_abbr(side)} adrenal",
                "pos": ("prone", f"{side} lateral decubitus"),
                "ind": ("staging of known lung cancer, ? adrenal metastasis",
                        "indeterminate adrenal mass, washout not diagnostic",
                        "growing adrenal lesion")}
    if kind == "spleen":
        return {"kind": kind, "side": "left", "lesion": "splenic lesion", "organ": "spleen",
                "full": "solid splenic lesion", "short": "spleen lesion",
                "pos": ("supine", "right lateral decubitus"),
                "ind": ("? lymphoma", "indeterminate splenic lesion")}
    if kind == "node":
        station, region, pos = rng.choice(_NODE_STATIONS)
        s = f"{side} " if region in ("groin", "axilla", "neck", "pelvis") else ""
        return {"kind": kind, "side": side if s else "", "lesion": "enlarged lymph node",
                "organ": "node",
                "full": f"enlarged {s}{station} lymph node",
                "short": f"{s}{station} LN", "pos": (pos,),
                "ind": ("? lymphoma, flow cytometry requested", "nodal recurrence?",
                        "lymphadenopathy of unknown origin", "? metastatic disease")}
    if kind == "omentum":
        return {"kind": kind, "side": "", "lesion": "omental thickening", "organ": "omentum",
                "full": "omental cake", "short": "omental cake", "pos": ("supine",),
                "ind": ("? peritoneal carcinomatosis, ovarian primary suspected",
                        "ascites and omental disease, unknown primary")}
    if kind == "peritoneum":
        return {"kind": kind, "side": side, "lesion": "peritoneal nodule", "organ": "peritoneum",
                "full": f"peritoneal nodule in the {side} paracolic gutter",
                "short": "peritoneal nodule", "pos": ("supine",),
                "ind": ("? peritoneal metastasis",)}
    if kind == "mesentery":
        return {"kind": kind, "side": "", "lesion": "mesenteric mass", "organ": "mesentery",
                "full": "spiculated mesenteric mass", "short": "mesenteric mass",
                "pos": ("supine",), "ind": ("? carcinoid", "? desmoid", "? lymphoma")}
    if kind == "retroperitoneum":
        return {"kind": kind, "side": side, "lesion": "retroperitoneal mass",
                "organ": "retroperitoneum",
                "full": f"{side} retroperitoneal soft-tissue mass",
                "short": "RP mass", "pos": ("prone",),
                "ind": ("? liposarcoma", "? lymphoma", "retroperitoneal fibrosis vs lymphoma")}
    if kind == "muscle":
        muscle = rng.choice(("vastus lateralis", "gluteus maximus", "psoas muscle",
                             "adductor compartment", "paraspinal muscles"))
        return {"kind": kind, "side": side, "lesion": "intramuscular mass", "organ": "muscle",
                "full": f"intramuscular mass in the {side} {muscle}",
                "short": f"{_side_abbr(side)} {muscle} mass",
                "pos": ("prone", "supine"), "ind": ("? soft-tissue sarcoma", "? metastasis")}
    loc = rng.choice(("flank", "back", "anterior abdominal wall", "thigh", "buttock"))
    return {"kind": "subcutaneous", "side": side, "lesion": "subcutaneous nodule",
            "organ": "subcutis",
            "full": f"subcutaneous nodule in the {side} {loc}",
            "short": f"s/c nodule {_side_abbr(side)} {loc}", "pos": ("prone", "supine"),
            "ind": ("? melanoma metastasis", "? lymphoma", "enlarging nodule")}


def _soft_case(rng: random.Random, c: _Case, site: dict | None = None) -> dict:
    s = site or _soft_site(rng)
    c.side = s["side"]
    _, size = _size(rng, 12, 90)
    c.target = f"{size} {s['full']}"
    c.target_short = f"{s['short']} {size}"
    c.title = _w(rng, (
        (f"CT-guided core biopsy of {s['full']}", 3),
        (f"CT-guided percutaneous biopsy, {s['short']}", 1),
        (f"Ultrasound was not feasible; CT-guided biopsy of {s['full']}", 1),
        (f"CT-guided needle biopsy of the {s['lesion']}", 2),
    ))
    c.title_short = _w(rng, ((f"CT bx {s['short']}", 3), (f"CT-guided bx {s['short']}", 2),
                             (f"core bx {s['short']}", 1)))
    ind = rng.choice(s["ind"])
    c.indication = _sent(ind)
    c.indication_short = ind
    c.position = rng.choice(s["pos"])
    c.findings = [_w(rng, (
        (f"Planning CT demonstrates a {size} {s['full']}.", 3),
        (f"The {s['lesion']} measures {size}.", 2),
        (f"Target lesion: {s['full']}, {size}.", 1),
    ))]
    if rng.random() < 0.25:
        c.findings.append(rng.choice((
            "No bone destruction in the adjacent skeleton.",
            "Bone window shows no osseous lesion.",
            "Lung bases clear.",
            "Small volume of free fluid.",
            "No other suspicious lesion in the scanned volume.",
            "Vessels along the route were identified and avoided.",
        )))
    n = rng.randint(2, 6)
    g_intro, g_core = rng.choice(((17, 18), (17, 18), (15, 16), (19, 20), (13, 14)))
    flow = "lymphoma" in ind or "flow" in ind
    if rng.random() < 0.15:
        g = rng.choice((20, 22, 22))
        c.device = f"{g}G FNA"
        c.access = [f"{n} fine-needle aspiration passes were made with a {g}G Chiba needle."]
        c.sample = ["Material sent for cytology, with a cell block."]
        c.sample_short = f"FNA x{n}, cytology"
    else:
        brand = rng.choice(("", "", "Bard Mission ", "Achieve ", "BioPince ", "Temno "))
        c.device = f"{g_intro}G coaxial, {g_core}G {brand.strip() or 'core'}".strip()
        c.access = [_w(rng, (
            (f"Through a {g_intro}G coaxial introducer, {n} {g_core}G cores were obtained "
             f"with a {brand}biopsy gun.", 3),
            (f"{n} cores ({g_core}G) were taken using the coaxial technique.", 2),
            (f"A {g_core}-gauge {brand}core needle was used to take {n} specimens.", 1),
        ))]
        c.sample = [_w(rng, (("Specimens in formalin for histopathology.", 3),
                              ("Cores sent to pathology.", 2),
                              ("All cores were macroscopically adequate.", 1)))]
        c.sample_short = f"{n} cores"
    if flow:
        c.sample.append("One core in RPMI for flow cytometry.")
        c.sample_short += " + flow"
    r = rng.random()
    if r < 0.7:
        c.compl = [rng.choice(("No complications.", "No immediate complication.",
                               "Post-procedure CT: no haematoma.", "Uncomplicated."))]
        c.compl_short = rng.choice(("no compl", "uncomplicated", "no haematoma"))
    elif r < 0.88:
        where = "subcapsular" if s["organ"] in ("liver", "spleen", "kidney") else "small"
        c.compl = [f"A {where} haematoma was seen, stable on a delayed scan."]
        c.compl_short = f"{where} haematoma, stable"
    else:
        c.compl = ["Vasovagal reaction, recovered with fluids and leg elevation."]
        c.compl_short = "vasovagal episode"
    c.followup = _w(rng, (
        ("Bed rest for 4 hours with observations; check haemoglobin.", 2),
        ("Routine post-biopsy observations for 2 hours.", 2),
        ("Results will be discussed at the MDT meeting.", 2),
        ("", 2),
    ))
    c.impression = _w(rng, (
        (f"Successful CT-guided biopsy of the {s['lesion']}.", 3),
        (f"Adequate samples obtained from {s['short']}.", 1),
        (f"Uncomplicated CT-guided biopsy of {s['full']}.", 2),
    ))
    return s


# --------------------------------------------------------------- category 4: bone biopsy


def _bone_site(rng: random.Random, kind: str = "") -> dict:
    side = _side(rng)
    kind = kind or _w(rng, (("spine", 8), ("sacrum", 2), ("pelvis", 4), ("long", 3), ("rib", 2),
                    ("sternum", 1), ("scapula", 1), ("skull", 1)))
    if kind == "spine":
        level = _w(rng, ((f"T{rng.randint(1, 12)}", 5), (f"L{rng.randint(1, 5)}", 5),
                         ("C7", 1)))
        part = rng.choice(("vertebral body", "vertebral body", "pedicle", "posterior elements"))
        approach = "transpedicular" if part != "posterior elements" else "posterolateral"
        if level.startswith("T") and rng.random() < 0.3:
            approach = "costovertebral"
        return {"kind": kind, "side": side, "full": f"{level} {part}", "short": level,
                "pos": ("prone",), "approach": approach}
    if kind == "sacrum":
        part = rng.choice(("S1", "S2", f"{side} sacral ala"))
        return {"kind": kind, "side": side, "full": f"sacrum ({part})", "short": part,
                "pos": ("prone",), "approach": "posterior"}
    if kind == "pelvis":
        part = rng.choice(("iliac bone", "iliac wing", "acetabulum", "superior pubic ramus",
                           "ischium", "iliac crest"))
        return {"kind": kind, "side": side, "full": f"{side} {part}",
                "short": f"{_side_abbr(side)} {part}", "pos": ("prone", "supine"),
                "approach": "direct"}
    if kind == "long":
        part = rng.choice(("proximal femur", "femoral neck", "femoral shaft", "proximal humerus",
                           "proximal tibia", "distal femur"))
        return {"kind": kind, "side": side, "full": f"{side} {part}",
                "short": f"{_side_abbr(side)} {part}", "pos": ("supine",),
                "approach": "lateral"}
    if kind == "rib":
        n = rng.randint(3, 11)
        return {"kind": kind, "side": side, "full": f"{side} {_ORDINALS[n]} rib",
                "short": f"{_side_abbr(side)} rib {n}", "pos": ("prone", "supine", "decubitus"),
                "approach": "tangential"}
    if kind == "sternum":
        part = rng.choice(("manubrium", "sternal body"))
        return {"kind": kind, "side": "", "full": part, "short": part, "pos": ("supine",),
                "approach": "anterior"}
    if kind == "scapula":
        return {"kind": kind, "side": side, "full": f"{side} scapula",
                "short": f"{_side_abbr(side)} scapula", "pos": ("prone",), "approach": "posterior"}
    bone = rng.choice(("parietal", "frontal", "occipital"))
    return {"kind": "skull", "side": side, "full": f"{side} {bone} bone (calvarium)",
            "short": f"{bone} calvarium", "pos": ("prone", "supine"), "approach": "tangential"}


_BONE_LESIONS = (("lytic lesion", 5), ("sclerotic lesion", 3), ("mixed lytic-sclerotic lesion", 2),
                 ("expansile lytic lesion", 1), ("lesion with cortical destruction", 1),
                 ("marrow-replacing lesion", 1))


def _bone_needle(rng: random.Random) -> tuple[str, str]:
    g = rng.choice((8, 10, 11, 11, 13, 13, 14))
    return _w(rng, (
        ((f"{g}G Jamshidi needle", f"{g}G Jamshidi"), 3),
        ((f"{g}G bone biopsy needle", f"{g}G bone needle"), 3),
        ((f"Osteo-Site {g}G bone biopsy needle", f"Osteo-Site {g}G"), 1),
        (("Bonopty 14G coaxial system with eccentric drill", "Bonopty 14G"), 1),
        ((f"battery-powered drill (OnControl) with {g}G needle", f"drill {g}G"), 2),
        ((f"Murphy {g}G trephine", f"Murphy {g}G"), 1),
    ))


def _bone_case(rng: random.Random, c: _Case, site: dict | None = None) -> dict:
    s = site or _bone_site(rng)
    lesion = _w(rng, _BONE_LESIONS)
    c.side = s["side"]
    _, size = _size(rng, 8, 70)
    c.target = f"{size} {lesion} in the {s['full']}"
    c.target_short = f"{s['short']} {lesion.split()[0]}"
    c.title = _w(rng, (
        (f"CT-guided bone biopsy of the {s['full']}", 3),
        (f"CT-guided biopsy of {lesion} in the {s['full']}", 3),
        (f"Percutaneous {s['approach']} biopsy, {s['short']}", 1),
    ))
    c.title_short = _w(rng, ((f"CT bx {s['short']} {lesion.split()[0]}", 3),
                             (f"bone bx {s['short']}", 2), (f"CT-guided bx {s['short']}", 2)))
    primary = rng.choice(("breast", "prostate", "renal", "thyroid", "unknown primary"))
    ind, ind_s = _w(rng, (
        ((f"{_cap(lesion)} on staging CT, ? metastasis from {primary} cancer.",
          f"? {primary} mets"), 3),
        (("Suspected myeloma / plasmacytoma.", "? myeloma"), 2),
        (("Indeterminate bone lesion on MRI, ? primary bone tumour.", "? primary bone tumour"), 2),
        (("PET-avid skeletal lesion, ? lymphoma.", "PET+ bone lesion"), 1),
        (("Pathological fracture, ? underlying malignancy.", "path fracture"), 1),
        (("Re-biopsy for receptor status of bone metastasis.", "receptor status"), 1),
    ))
    c.indication, c.indication_short = ind, ind_s
    c.position = rng.choice(s["pos"])
    c.findings = [_w(rng, (
        (f"Planning CT shows a {size} {lesion} in the {s['full']}.", 3),
        (f"{_cap(lesion)} of the {s['full']}, {size}.", 2),
        (f"The {s['full']} contains a {lesion}.", 1),
    ))]
    if rng.random() < 0.2:
        c.findings.append(rng.choice(("No extraosseous soft-tissue component.",
                                      "Bone windows reviewed.",
                                      "Cortex thinned but intact.",
                                      "Posterior wall of the vertebral body intact.")))
    needle, needle_s = _bone_needle(rng)
    n = rng.randint(1, 4)
    c.device = needle_s
    c.access = [_w(rng, (
        (f"Via a {s['approach']} approach, a {needle} was advanced through the cortex "
         f"into the lesion.", 3),
        (f"The cortex was penetrated with a {needle} and {n} core{'s' if n > 1 else ''} "
         f"obtained.", 3),
        (f"{_cap(s['approach'])} access with {needle}; {n} trephine sample{'s' if n > 1 else ''}.",
         1),
    ))]
    c.sample = [_w(rng, (
        ("Samples sent for histology (decalcification).", 3),
        ("Cores to pathology; one additional sample for microbiology.", 1),
        ("Specimens placed in formalin.", 2),
        (f"{n} core{'s' if n > 1 else ''} of {round(rng.uniform(0.8, 2.5), 1)} cm length.", 1),
    ))]
    c.sample_short = f"x{n} cores"
    r = rng.random()
    if r < 0.8:
        c.compl = [rng.choice(("No complications.", "No immediate complications.",
                               "Uneventful procedure.", "The patient tolerated it well."))]
        c.compl_short = rng.choice(("no compl.", "uneventful", "no complications"))
    elif r < 0.92:
        c.compl = ["Local pain at the puncture site, treated with oral analgesia."]
        c.compl_short = "local pain"
    else:
        c.compl = ["Small haematoma at the puncture site, managed with compression."]
        c.compl_short = "small haematoma, compression"
    c.followup = _w(rng, (("Bed rest 1 hour, then mobilise.", 2),
                          ("Results to the referring oncology team.", 2),
                          ("Analgesia as required.", 1), ("", 3)))
    c.impression = _w(rng, (
        (f"Successful CT-guided biopsy of the {s['full']} {lesion}.", 3),
        (f"Bone biopsy {s['short']} as described, no complication.", 1),
        (f"Adequate cores obtained from the {s['full']}.", 2),
    ))
    s["lesion"] = lesion
    return s


# ------------------------------------------------------------------ category 1: drainage

_COLLECTIONS = (
    # (name, short, position, fluid options, sent, indication)
    ("liver abscess", "liver abscess", ("supine",), ("pus", "purulent fluid", "turbid fluid"),
     "microbiology", ("fever after cholecystectomy", "sepsis, multiloculated hepatic collection",
                      "Klebsiella bacteraemia")),
    ("perinephric abscess", "perinephric abscess", ("prone",), ("pus", "purulent fluid"),
     "culture", ("pyelonephritis not responding to antibiotics",)),
    ("psoas abscess", "psoas abscess", ("prone",), ("thick pus", "purulent material"),
     "microbiology including TB culture", ("back pain and fever", "raised CRP, hip flexion pain")),
    ("pelvic abscess", "pelvic abscess", ("prone", "supine"), ("foul-smelling pus",
                                                              "purulent fluid"),
     "culture", ("fever after anterior resection", "diverticulitis with abscess")),
    ("subphrenic abscess", "subphrenic collection", ("supine",), ("pus", "turbid fluid"),
     "microbiology", ("postoperative fever after splenectomy", "sepsis after gastrectomy")),
    ("appendiceal abscess", "appendiceal abscess", ("supine",), ("pus",), "culture",
     ("perforated appendicitis with abscess",)),
    ("empyema", "empyema", ("supine", "prone"), ("pus", "turbid fluid"), "microbiology",
     ("parapneumonic effusion with septations", "fever and loculated pleural fluid")),
    ("loculated pleural effusion", "loc. pleural effusion", ("prone",),
     ("straw-coloured fluid", "serous fluid", "blood-stained fluid"),
     "cytology and biochemistry", ("dyspnoea, loculated effusion not accessible by ultrasound",)),
    ("loculated ascites", "loculated ascites", ("supine",), ("serous fluid", "cloudy fluid"),
     "cell count and culture", ("abdominal distension, ? SBP",)),
    ("biloma", "biloma", ("supine",), ("bilious fluid", "bile-stained fluid"),
     "bilirubin and culture", ("collection after laparoscopic cholecystectomy",
                               "post-hepatectomy collection")),
    ("urinoma", "urinoma", ("prone",), ("clear yellow fluid",), "creatinine",
     ("collection after partial nephrectomy",)),
    ("lymphocele", "lymphocele", ("supine",), ("clear serous fluid", "straw-coloured fluid"),
     "creatinine and culture", ("after radical prostatectomy, leg swelling",
                                "after renal transplantation, rising creatinine")),
    ("seroma", "seroma", ("supine",), ("serous fluid",), "culture",
     ("symptomatic seroma after hernia repair",)),
    ("haematoma", "haematoma", ("supine", "prone"),
     ("old blood", "haemorrhagic fluid", "altered blood"), "culture",
     ("infected haematoma after surgery?", "enlarging retroperitoneal haematoma, pain")),
    ("peripancreatic collection", "peripancreatic collection", ("supine",),
     ("brown turbid fluid", "necrotic debris and fluid"), "amylase and culture",
     ("infected walled-off necrosis after pancreatitis", "acute necrotic collection, sepsis")),
    ("infected hepatic cyst", "infected liver cyst", ("supine",), ("turbid fluid",),
     "microbiology", ("fever, known polycystic liver disease",)),
    ("perianastomotic abscess", "perianastomotic abscess", ("supine", "prone"), ("pus",),
     "culture", ("anastomotic leak suspected",)),
)


def _drain_case(rng: random.Random, c: _Case, coll: tuple | None = None) -> dict:
    name, short, positions, fluids, sent, inds = coll or rng.choice(_COLLECTIONS)
    side = _side(rng) if name in ("perinephric abscess", "psoas abscess", "empyema",
                                  "loculated pleural effusion", "urinoma", "lymphocele") else ""
    if name in ("liver abscess", "biloma", "infected hepatic cyst"):
        side = "right"
    c.side = side
    where = f"{side} " if side else ""
    _, size = _size(rng, 30, 140)
    c.target = f"{size} {where}{name}"
    c.target_short = f"{_side_abbr(side)} {short}".strip()
    fluid = rng.choice(fluids)
    vol = rng.choice((15, 20, 30, 40, 60, 80, 120, 150, 200, 250, 300, 450, 600, 800))
    aspiration_only = rng.random() < 0.25
    fr = rng.choice((8, 8, 10, 10, 12, 14))
    technique = rng.choice(("Seldinger", "Seldinger", "trocar"))
    if aspiration_only:
        c.title = _w(rng, ((f"CT-guided needle aspiration of {where}{name}", 3),
                           (f"CT-guided aspiration, {where}{name}", 1)))
        c.title_short = f"CT asp {c.target_short}"
        g = rng.choice((18, 18, 19, 20))
        c.device = f"{g}G needle"
        c.access = [f"An {g}G needle was placed into the collection under CT guidance."
                    if g == 18 else
                    f"A {g}G needle was placed into the collection under CT guidance."]
        c.sample = [f"{vol} mL of {fluid} aspirated and sent for {sent}."]
        c.sample_short = f"{vol} mL {fluid}"
        if rng.random() < 0.5:
            c.sample.append(rng.choice(("The collection was aspirated to dryness.",
                                        "Near-complete evacuation on the control scan.")))
    else:
        c.title = _w(rng, (
            (f"CT-guided drainage of {where}{name}", 4),
            (f"CT-guided percutaneous catheter drainage, {where}{name}", 2),
            (f"Insertion of {fr} Fr drain into {where}{name} under CT guidance", 1),
        ))
        c.title_short = _w(rng, ((f"CT drain {c.target_short}", 2),
                                 (f"{fr}Fr pigtail {c.target_short}", 2),
                                 (f"PCD {c.target_short}", 1)))
        c.device = f"{fr} Fr pigtail ({technique})"
        if technique == "trocar":
            c.access = [f"A {fr} Fr locking pigtail catheter was inserted by trocar technique."]
        else:
            c.access = [_w(rng, (
                (f"The collection was punctured with an 18G needle, a 0.035 inch guidewire was "
                 f"placed and, after dilatation, a {fr} Fr pigtail catheter was inserted "
                 f"(Seldinger).", 3),
                (f"Seldinger technique: 18G needle, Amplatz wire, dilators, {fr} Fr "
                 f"multipurpose drainage catheter.", 2),
            ))]
        c.sample = [f"{vol} mL of {fluid} was aspirated; sample sent for {sent}."]
        c.sample_short = f"{vol} mL {fluid}"
        c.sample.append(_w(rng, (
            ("The catheter was secured to the skin and connected to a drainage bag.", 3),
            ("Catheter sutured and left on free drainage.", 2),
            ("Drain fixed with a StatLock device.", 1),
        )))
    ind = rng.choice(inds)
    c.indication = _sent(ind)
    c.indication_short = ind
    c.position = rng.choice(positions)
    c.findings = [_w(rng, (
        (f"Planning CT: {size} {'rim-enhancing ' if 'abscess' in name else ''}"
         f"{where}{name}.", 3),
        (f"A {size} {where}{name} is seen{', containing gas' if rng.random() < 0.3 else ''}.",
         2),
        (f"Collection measuring {size}.", 1),
    ))]
    if rng.random() < 0.2:
        c.findings.append(rng.choice(("Adjacent bowel loops avoided.",
                                      "No bone destruction of the adjacent vertebra.",
                                      "Small bilateral pleural effusions, lung bases otherwise "
                                      "clear.",
                                      "Route chosen to avoid the pleural recess.")))
    r = rng.random()
    if r < 0.8:
        c.compl = [rng.choice(("No complications.", "No immediate complications.",
                               "Uncomplicated.", "Control scan: catheter coiled in the cavity."))]
        c.compl_short = rng.choice(("no compl.", "uncomplicated"))
    elif r < 0.92:
        c.compl = ["Transient rigors after the procedure, treated with antipyretics."]
        c.compl_short = "transient rigors"
    else:
        c.compl = ["Minor bleeding at the skin entry site, stopped with compression."]
        c.compl_short = "minor skin bleeding"
    if aspiration_only:
        c.followup = _w(rng, (("Clinical review; repeat imaging if symptoms recur.", 2),
                              ("Antibiotics as per microbiology.", 2), ("", 1)))
    else:
        c.followup = _w(rng, (
            ("Flush the catheter with 10 mL saline three times daily; record output.", 3),
            ("Repeat CT when output is below 10 mL/day before removal.", 2),
            ("Continue antibiotics; sinogram if output persists.", 1),
            ("", 1),
        ))
    c.impression = _w(rng, (
        (f"Successful CT-guided {'aspiration' if aspiration_only else 'drainage'} of the "
         f"{where}{name}.", 3),
        (f"{_cap(name)} {'aspirated' if aspiration_only else 'drained'}, "
         f"{vol} mL {fluid}.", 2),
    ))
    return {"name": name, "short": short, "side": side, "aspiration_only": aspiration_only,
            "fr": fr, "fluid": fluid, "vol": vol}


# ------------------------------------------------------------------------ hard cases


def _key(c: _Case, slot: str, full: str, short: str) -> None:
    c.key.append((slot, full, short))


def _hard_complication(rng: random.Random, c: _Case, label: int) -> None:
    if label == 3:
        fr = rng.choice((8, 10, 12, 14))
        _lung_case(rng, c)
        c.compl = [rng.choice((
            "Moderate pneumothorax developed during the procedure.",
            "Enlarging pneumothorax on the post-biopsy scan.",
            "Large pneumothorax with desaturation.",
        ))]
        _key(c, "outcome",
             rng.choice((f"An {fr} Fr chest drain was inserted under CT guidance."
                         if fr == 8 else f"A {fr} Fr chest drain was inserted under CT guidance.",
                         f"A {fr} Fr pigtail chest tube was placed, with lung re-expansion.",
                         f"Pneumothorax drained with a {fr} Fr catheter (Seldinger).")),
             f"PTX -> {fr}Fr chest drain")
        c.compl_short = "moderate PTX"
        c.impression = (f"CT-guided lung biopsy ({c.target_short}); pneumothorax treated with "
                        f"chest drain.")
        c.followup = "Chest drain on underwater seal; daily chest radiograph; admit to ward."
        return
    if label == 2:
        _soft_case(rng, c, site=_soft_site(rng, "liver"))
        c.compl = ["Post-biopsy CT showed a perihepatic haematoma with active oozing."]
        _key(c, "outcome",
             rng.choice(("A drain was left in the perihepatic space to monitor bleeding.",
                         "An 8 Fr drain was placed in the haematoma to monitor ongoing "
                         "bleeding.")),
             "bleeding -> drain left")
        c.compl_short = "perihepatic bleed"
        c.impression = "Liver lesion biopsy; bleeding complication managed with a drain."
        c.followup = "Hb 4-hourly, bed rest overnight, surgical team informed."
        return
    if label == 4:
        _bone_case(rng, c, site=_bone_site(rng, "rib"))
        c.compl = ["Small pneumothorax after the rib biopsy, increasing on the control scan."]
        _key(c, "outcome",
             rng.choice(("A small-bore 8 Fr chest drain was inserted.",
                         "Pneumothorax treated with an 8 Fr pleural drain.")),
             "PTX -> 8Fr drain")
        c.compl_short = "PTX"
        return
    # label 1: bleeding during drainage does not change the category either
    info = _drain_case(rng, c)
    if info["aspiration_only"]:
        c.compl = ["The aspirate turned blood-stained; control CT showed a small haematoma."]
        _key(c, "outcome", "Bleeding settled with compression; no drain was left.",
             "bloody aspirate, settled, no drain")
        c.compl_short = "small haematoma"
    else:
        c.compl = ["Haemorrhagic output after insertion; control CT showed a small haematoma "
                   "around the catheter."]
        _key(c, "outcome", "The catheter was clamped for 2 hours and the output cleared.",
             "bloody output, clamped 2 h, cleared")
        c.compl_short = "haemorrhagic output"


def _hard_tissue_sampled(rng: random.Random, c: _Case, label: int) -> None:
    if label == 3:
        # subpleural lesion centred in the lung parenchyma stays a lung biopsy
        t = _lung_case(rng, c)
        _key(c, "technique",
             rng.choice((f"The {t['lesion']} is subpleural and abuts the pleura, but is centred "
                         f"in the lung parenchyma; the sample was taken from its "
                         f"intrapulmonary portion.",
                         "Broad pleural contact, no chest wall invasion; cores taken from the "
                         "lung lesion itself.")),
             "subpleural, centred in lung")
        return
    if label == 4:
        _bone_case(rng, c)
        _key(c, "technique",
             "The lesion has an extraosseous soft-tissue component, but the needle was "
             "deliberately advanced through the cortex and the medullary lesion was sampled.",
             "soft-tissue component present, cortex traversed, intraosseous cores")
        return
    variant = rng.choice(("chest_wall", "bone_soft", "pleura", "mediastinal_node"))
    side = _side(rng)
    sa = _side_abbr(side)
    _, size = _size(rng, 25, 90)
    base_site = {"kind": variant, "side": side, "lesion": "", "organ": "", "full": "",
                 "short": "", "pos": ("prone", "supine"), "ind": ("",)}
    if variant == "chest_wall":
        lobe, abbr, _ = rng.choice([x for x in _LOBES if x[2] == side])
        base_site.update(
            lesion="chest wall component", full=f"{lobe} lung mass invading the chest wall",
            short=f"{abbr} mass, chest wall part",
            ind=("? primary lung cancer with chest wall invasion",
                 "Pancoast tumour?" if abbr in ("RUL", "LUL") else "? lung cancer, rib pain"))
        _soft_case(rng, c, site=base_site)
        c.title = rng.choice((
            f"CT-guided biopsy of the chest wall component of a {lobe} lung mass",
            f"CT-guided biopsy: {abbr} mass sampled via its chest-wall extension",
        ))
        c.title_short = f"CT bx chest wall part of {abbr} mass"
        _key(c, "technique",
             "Cores were taken only from the soft-tissue component infiltrating the chest wall; "
             "aerated lung was not crossed.",
             "sampled chest-wall component only, lung not traversed")
    elif variant == "bone_soft":
        n = rng.randint(3, 10)
        bone = rng.choice((f"{_ORDINALS[n]} rib", "iliac wing", "scapula", "sacrum"))
        base_site.update(lesion="extraosseous soft-tissue mass",
                         full=f"extraosseous soft-tissue mass arising from the {side} {bone}",
                         short=f"soft-tissue mass {sa} {bone}",
                         ind=("? metastasis", "? chondrosarcoma", "? plasmacytoma"))
        _soft_case(rng, c, site=base_site)
        _key(c, "technique",
             rng.choice(("The cortex was not traversed; the soft-tissue component was sampled "
                         "with a soft-tissue core needle.",
                         "Only the extraosseous soft-tissue part was biopsied, no bone needle "
                         "was used and the cortex was not breached.")),
             "cortex not traversed, soft-tissue part")
    elif variant == "pleura":
        what = rng.choice(("pleural mass", "nodular pleural thickening", "pleural thickening"))
        base_site.update(lesion=what, full=f"{side} {what}", short=f"{sa} {what}",
                         ind=("? mesothelioma, asbestos exposure", "? pleural metastases",
                              "recurrent effusion with pleural nodularity"))
        _soft_case(rng, c, site=base_site)
        _key(c, "technique",
             rng.choice((f"Cores were taken tangentially from the {what} without crossing "
                         f"aerated lung.",
                         f"The {what} was sampled; the underlying lung was not biopsied.")),
             f"{what} sampled, lung not biopsied")
    else:
        station = rng.choice(("subcarinal (station 7)", "right paratracheal (4R)",
                              "left hilar (10L)", "AP window (station 5)"))
        lobe, abbr, _ = rng.choice(_LOBES)
        base_site.update(lesion="mediastinal lymph node",
                         full=f"enlarged {station} lymph node", short=f"LN {station}",
                         pos=("prone",),
                         ind=("? lymphoma", "staging, EBUS not possible", "? sarcoidosis"))
        _soft_case(rng, c, site=base_site)
        _key(c, "technique",
             rng.choice((f"A transpulmonary route through the {lobe} was necessary to reach "
                         f"the node.",
                         f"Needle path traversed the {abbr} lung parenchyma to reach the node.")),
             f"transpulmonary route via {abbr}")
        c.compl = [rng.choice(("Small pneumothorax, no treatment needed.", "No pneumothorax."))]
        c.compl_short = "no PTX" if "No" in c.compl[0] else "small PTX"


def _hard_lung_abscess(rng: random.Random, c: _Case) -> None:
    lobe, abbr, side = rng.choice(_LOBES)
    _, size = _size(rng, 35, 110)
    fr = rng.choice((8, 10, 12))
    c.side = side
    c.target = f"{size} lung abscess in the {lobe}"
    c.target_short = f"{abbr} lung abscess"
    c.title = rng.choice((f"CT-guided drainage of {lobe} lung abscess",
                          f"Percutaneous drainage of {abbr} lung abscess, {fr} Fr pigtail",
                          f"CT-guided catheter drainage of a lung abscess ({abbr})"))
    c.title_short = rng.choice((f"CT drain {abbr} lung abscess", f"{fr}Fr pigtail {abbr} abscess"))
    c.indication = rng.choice(("Persistent fever, cavitating lung abscess not responding to "
                               "antibiotics.", "Large lung abscess with air-fluid level."))
    c.indication_short = "lung abscess, failing antibiotics"
    c.position = rng.choice(("prone", "supine", "lateral decubitus"))
    c.findings = [f"Thick-walled {size} cavity with air-fluid level in the {lobe}, "
                  f"broad pleural contact."]
    c.device = f"{fr} Fr pigtail"
    c.access = [f"A {fr} Fr pigtail catheter was placed into the abscess cavity through the "
                f"area of pleural symphysis."]
    vol = rng.choice((40, 60, 90, 120, 180))
    c.sample = [f"{vol} mL of pus aspirated and sent for culture."]
    c.sample_short = f"{vol} mL pus"
    c.compl = [rng.choice(("No pneumothorax.", "Small pneumothorax, no treatment."))]
    c.compl_short = c.compl[0].rstrip(".").lower()
    c.followup = "Flush catheter twice daily; continue IV antibiotics."
    c.impression = f"Successful drainage of {abbr} lung abscess."
    if rng.random() < 0.4:
        _key(c, "technique", "No biopsy of the cavity wall was taken.", "no wall bx")


def _hard_biopsy_and_aspiration(rng: random.Random, c: _Case, label: int) -> None:
    if label == 1:
        _drain_case(rng, c)
        _key(c, "technique",
             rng.choice(("In addition, two 18G cores were taken from the thickened wall of the "
                         "collection to exclude malignancy.",
                         "Because of an irregular nodular wall, a core biopsy of the wall was "
                         "also obtained after drainage.")),
             "+ wall core bx")
        return
    if label == 2:
        _soft_case(rng, c)
        _key(c, "technique",
             rng.choice(("The lesion had a necrotic cystic centre; about 5 mL of fluid was "
                         "incidentally aspirated through the introducer and sent for cytology.",
                         "A few mL of haemorrhagic fluid were aspirated from the necrotic part "
                         "before the cores were taken; no drain was placed.")),
             "incidental small-volume fluid aspirate")
        return
    if label == 3:
        _lung_case(rng, c)
        _key(c, "technique",
             "A small amount of fluid from the necrotic centre of the mass was aspirated "
             "through the coaxial needle before core sampling.",
             "some necrotic fluid aspirated")
        return
    _bone_case(rng, c)
    _key(c, "technique",
         "2 mL of haemorrhagic fluid was aspirated from a cystic component of the bone lesion "
         "and the solid part was then cored.",
         "cystic part aspirated, solid part cored")


def _hard_negation(rng: random.Random, c: _Case, label: int) -> None:
    if label == 1:
        coll = rng.choice([x for x in _COLLECTIONS if x[0] not in ("haematoma",)])
        info = _drain_case(rng, c, coll=coll)
        done = "aspirated" if info["aspiration_only"] else "drained"
        if rng.random() < 0.5:
            _key(c, "technique",
                 f"Biopsy of the adjacent soft-tissue thickening was deferred; the collection "
                 f"was {done}.", f"bx deferred, collection {done}")
        else:
            _key(c, "history", "Biopsy considered but not indicated.", "no bx")
        if info["aspiration_only"]:
            _key(c, "outcome", "No drain was left as the collection was aspirated completely.",
                 "no drain left")
        return
    if label == 3:
        _lung_case(rng, c)
        _key(c, "outcome",
             rng.choice(("No drain was left.", "A drain was not required.",
                         "No pneumothorax, so no chest tube was needed.")),
             "no drain")
        return
    if label == 2:
        _soft_case(rng, c)
        _key(c, "outcome",
             rng.choice(("No fluid collection was found, so no drainage was performed.",
                         "The suspected abscess was a solid lesion on CT; drainage was not "
                         "attempted and the lesion was biopsied.")),
             "no collection -> not drained, biopsied")
        return
    _bone_case(rng, c)
    _key(c, "outcome",
         rng.choice(("No soft-tissue component and no abscess to drain.",
                     "There is no lung involvement; the lesion is purely osseous.")),
         "no abscess, purely osseous")


def _hard_aborted(rng: random.Random, c: _Case, label: int) -> None:
    if label == 3:
        _lung_case(rng, c)
        reason = rng.choice(("persistent coughing", "a pneumothorax developing before sampling",
                             "the patient being unable to hold still"))
        _key(c, "technique",
             f"The procedure was abandoned after placement of the introducer because of "
             f"{reason}; no samples were obtained.", "aborted, no samples")
        c.access = [rng.choice(("A 17G coaxial introducer was advanced towards the lesion.",
                                "The introducer needle was placed in the chest wall."))]
        c.sample, c.sample_short = [], "no samples"
        c.impression = "Aborted CT-guided lung biopsy; re-booking advised."
    elif label == 2:
        _soft_case(rng, c)
        _key(c, "technique",
             "No safe window was found (interposed bowel and vessels); the biopsy was abandoned "
             "before sampling.", "abandoned, no safe route")
        c.access = ["Several needle trajectories were planned on the CT images."]
        c.sample, c.sample_short = [], "not sampled"
        c.impression = "Biopsy not performed due to lack of a safe access route."
    elif label == 4:
        _bone_case(rng, c)
        _key(c, "technique",
             "The patient could not tolerate the prone position and the bone biopsy was "
             "stopped before the cortex was penetrated.", "stopped, pt intolerant")
        c.access = [f"The {c.device} was positioned on the periosteum."]
        c.sample, c.sample_short = [], "no cores"
        c.impression = "Bone biopsy not completed; consider general anaesthesia."
    else:
        _drain_case(rng, c)
        _key(c, "technique",
             rng.choice(("On the planning CT the collection had decreased to under 2 cm, and "
                         "drainage was not performed.",
                         "The catheter could not be advanced safely and the drainage was "
                         "aborted.")),
             "drainage aborted")
        c.access = ["A needle trajectory to the collection was planned."]
        c.sample, c.sample_short = [], "not drained"
        c.impression = "Planned CT-guided drainage not carried out."
    c.compl = ["No complications."]
    c.compl_short = "no compl."


def _hard_history(rng: random.Random, c: _Case, label: int) -> None:
    year = rng.randint(2001, 2023)
    if label == 4:
        _bone_case(rng, c)
        full, short = rng.choice((
            (f"History of lung adenocarcinoma; CT-guided lung biopsy in {year}.",
             f"hx lung ca, lung bx {year}"),
            ("Known lung cancer treated with lobectomy; now new bone lesion.",
             "hx lung ca s/p lobectomy"),
            (f"Previous drainage of a psoas abscess in {year}.", f"prior psoas drain {year}"),
        ))
    elif label == 1:
        _drain_case(rng, c)
        full, short = rng.choice((
            (f"CT-guided biopsy of a pancreatic mass {rng.randint(1, 6)} weeks ago.",
             "recent pancreatic bx"),
            ("Known lung cancer with bone metastases; previous bone biopsy of L2.",
             "lung ca, bone mets, prior bone bx"),
            (f"Liver biopsy in {year} showed metastatic colorectal cancer.",
             f"prior liver bx {year}"),
        ))
    elif label == 3:
        _lung_case(rng, c)
        full, short = rng.choice((
            (f"Previous CT-guided drainage of a right empyema in {year}.",
             f"prior empyema drain {year}"),
            ("Prostate cancer with sclerotic bone metastases.", "prostate ca, bone mets"),
            (f"Adrenal biopsy in {year} was benign.", f"benign adrenal bx {year}"),
        ))
    else:
        _soft_case(rng, c)
        full, short = rng.choice((
            ("Known lung cancer, previously biopsied; bone scan negative.",
             "known lung ca, prior lung bx"),
            (f"Pelvic abscess drained in {year}.", f"pelvic abscess drained {year}"),
            ("Prior bone biopsy of T9 showed myeloma.", "prior T9 bone bx: myeloma"),
        ))
    _key(c, "history", full, short)


def _hard_cyst(rng: random.Random, c: _Case) -> None:
    side = _side(rng)
    organ = rng.choice(("renal", "renal", "hepatic"))
    where = f"{side} kidney" if organ == "renal" else "liver"
    _, size = _size(rng, 40, 120)
    vol = rng.choice((30, 60, 90, 150, 250, 400))
    agent = rng.choice(("ethanol", "96% ethanol", "polidocanol", "tetracycline"))
    c.side = side if organ == "renal" else "right"
    c.target = f"{size} simple cyst of the {where}"
    c.target_short = f"{organ} cyst {_side_abbr(side) if organ == 'renal' else ''}".strip()
    c.title = rng.choice((f"CT-guided aspiration and sclerotherapy of a {organ} cyst",
                          f"Aspiration of symptomatic {where} cyst with {agent} sclerotherapy"))
    c.title_short = f"CT asp + sclero {c.target_short}"
    c.indication = rng.choice(("Flank pain attributed to a large simple cyst.",
                               "Symptomatic cyst compressing the collecting system.",
                               "Recurrent pain, Bosniak I cyst."))
    c.indication_short = "symptomatic cyst"
    c.position = "prone" if organ == "renal" else "supine"
    c.findings = [f"{size} simple cyst of the {where}."]
    c.device = "18G needle / 6 Fr catheter"
    c.access = ["An 18G needle was placed into the cyst and exchanged for a 6 Fr catheter."]
    c.sample = [f"{vol} mL of straw-coloured fluid aspirated (sent for cytology).",
                f"{round(vol * 0.2)} mL of {agent} instilled for 20 minutes, then aspirated; "
                f"the catheter was removed."]
    c.sample_short = f"{vol} mL clear fluid, {agent} sclerotherapy"
    c.compl = ["No complications."]
    c.compl_short = "no compl."
    c.followup = "Ultrasound follow-up in 3 months."
    c.impression = f"Cyst aspiration and {agent} sclerotherapy performed."
    _key(c, "technique", "No biopsy was taken.", "no bx")


def _hard_spondylodiscitis(rng: random.Random, c: _Case) -> None:
    lvl = rng.choice(("T8/9", "T11/12", "L1/2", "L2/3", "L3/4", "L4/5", "L5/S1"))
    needle, needle_s = _bone_needle(rng)
    c.target = f"{lvl} disc and adjacent endplates"
    c.target_short = f"{lvl} disc"
    c.title = rng.choice((f"CT-guided biopsy of {lvl} disc space, suspected spondylodiscitis",
                          f"CT-guided disc and endplate sampling {lvl}",
                          f"CT-guided aspiration/biopsy {lvl} for discitis"))
    c.title_short = f"CT bx {lvl} ? discitis"
    c.indication = rng.choice(("Back pain, fever and raised CRP; MRI suggests spondylodiscitis.",
                               "Blood cultures negative, ? spondylodiscitis, pathogen needed."))
    c.indication_short = "? spondylodiscitis"
    c.position = "prone"
    c.findings = [f"Endplate erosions at {lvl} with loss of disc height."]
    if rng.random() < 0.5:
        c.findings.append("Small paravertebral soft-tissue swelling, no drainable abscess.")
    c.device = needle_s
    c.access = [f"Posterolateral approach; {needle} advanced into the disc and inferior endplate."]
    c.sample = [rng.choice(("Two cores from the endplate and disc; 1 mL of turbid fluid "
                            "aspirated from the disc space, all sent for culture and histology.",
                            "Disc material and bone core sent for microbiology and histology."))]
    c.sample_short = "disc/endplate cores, culture"
    c.compl = ["No complications."]
    c.compl_short = "no compl."
    c.followup = "Withhold antibiotics until cultures are back if clinically possible."
    c.impression = f"CT-guided sampling of {lvl} for suspected spondylodiscitis."


def _hard_marrow(rng: random.Random, c: _Case) -> None:
    side = rng.choice(("right", "left"))
    c.side = side
    c.target = f"{side} posterior iliac crest"
    c.target_short = f"{_side_abbr(side)} post. iliac crest"
    c.title = rng.choice((f"CT-guided bone marrow biopsy, {side} posterior iliac crest",
                          "CT-guided bone marrow aspiration and trephine biopsy",
                          f"Bone marrow trephine ({_side_abbr(side)} iliac crest), CT-guided"))
    c.title_short = rng.choice(("CT BM bx iliac crest", "BMAT under CT"))
    c.indication = rng.choice(("Pancytopenia; obese patient, landmark-guided attempt failed.",
                               "Lymphoma staging.", "Suspected myelodysplasia."))
    c.indication_short = "BM staging"
    c.position = "prone"
    c.findings = ["Normal posterior iliac crest anatomy."]
    c.device = "11G Jamshidi"
    c.access = ["An 11G Jamshidi needle was advanced into the posterior iliac crest."]
    c.sample = ["Marrow aspirate smears and a 2 cm trephine core were obtained."]
    c.sample_short = "aspirate + trephine"
    c.compl = ["No complications."]
    c.compl_short = "no compl."
    c.followup = ""
    c.impression = "Successful CT-guided bone marrow aspiration and trephine."


def _build_case(rng: random.Random, label: int, hard: str, age: int, sex: str,
                year: int) -> _Case:
    c = _Case(label, age, sex)
    c.hard = hard
    if not hard:
        {1: _drain_case, 2: _soft_case, 3: _lung_case, 4: _bone_case}[label](rng, c)
    elif hard == "complication":
        _hard_complication(rng, c, label)
    elif hard == "tissue_sampled":
        _hard_tissue_sampled(rng, c, label)
    elif hard == "lung_abscess_drain":
        _hard_lung_abscess(rng, c)
    elif hard == "biopsy_and_aspiration":
        _hard_biopsy_and_aspiration(rng, c, label)
    elif hard == "negation":
        _hard_negation(rng, c, label)
    elif hard == "aborted":
        _hard_aborted(rng, c, label)
    elif hard == "history_other_category":
        _hard_history(rng, c, label)
    elif hard == "cyst_sclerotherapy":
        _hard_cyst(rng, c)
    elif hard == "spondylodiscitis":
        _hard_spondylodiscitis(rng, c)
    elif hard == "bone_marrow":
        _hard_marrow(rng, c)
    else:  # pragma: no cover - guarded by _HARD_WEIGHTS
        raise ValueError(hard)
    if not c.history and not any(k[0] == "history" for k in c.key):
        c.history, c.history_short = _background_history(rng, label)
    c.la, c.la_short = _la(rng)
    c.sedation, c.sedation_short = _sedation(rng, label)
    c.dose, c.dose_short = _dose(rng, year)
    c.operator, c.operator_short = _operator(rng)
    c.consent = _consent(rng)
    return c


def _background_history(rng: random.Random, label: int) -> tuple[str, str]:
    """Unremarkable comorbidity; sometimes names organs of another category on purpose."""
    return _w(rng, (
        (("", ""), 10),
        (("Anticoagulation (apixaban) paused 48 hours before.", "apixaban paused"), 2),
        (("Type 2 diabetes, hypertension.", "DM2, HTN"), 2),
        (("COPD.", "COPD"), 1),
        (("Previous smoker, history of lung cancer in a first-degree relative.",
          "ex-smoker, FHx lung ca"), 1),
        (("Osteoporosis with old vertebral compression fractures.", "osteoporosis"), 1),
        (("Chronic kidney disease stage 3.", "CKD3"), 1),
        (("Platelets and INR within normal limits.", "coags OK"), 2),
    ))


# ------------------------------------------------------------------------ rendering


def _keys(c: _Case, slot: str, short: bool = False) -> list[str]:
    return [brief if short else full for s, full, brief in c.key if s == slot]


def _history_full(c: _Case) -> list[str]:
    return [x for x in [c.history, *_keys(c, "history")] if x]


_PREP = (
    "Prior imaging was reviewed.",
    "Comparison is made with the diagnostic CT.",
    "The skin was prepared with chlorhexidine and draped in a sterile fashion.",
    "Full aseptic technique.",
    "A radiopaque grid was placed on the skin.",
    "The entry point was chosen to avoid intercostal vessels.",
)
_GUIDE = (
    "Needle position was confirmed with intermittent low-dose CT fluoroscopy.",
    "Needle tip position checked with limited axial scans.",
    "Sequential CT images confirmed the needle tip within the target.",
)
_AFTER = (
    "Haemostasis was achieved with manual compression and a sterile dressing applied.",
    "Sterile dressing applied.",
    "The patient was returned to the ward in a stable condition.",
    "Observations remained stable throughout.",
    "Total procedure time approximately {m} minutes.",
    "Number of CT acquisitions: {k}.",
)


def _technique_full(rng: random.Random, c: _Case) -> list[str]:
    parts = [c.consent, _position_sentence(rng, c.position), c.la, c.sedation]
    parts = [p for p in parts if p]
    if rng.random() < 0.3 and len(parts) > 2:
        parts[-1], parts[-2] = parts[-2], parts[-1]
    if rng.random() < 0.5:
        parts.insert(rng.randint(0, len(parts)), rng.choice(_PREP))
    guide = [rng.choice(_GUIDE)] if rng.random() < 0.4 else []
    return parts + c.access[:1] + guide + c.access[1:] + c.sample + _keys(c, "technique")


def _outcome_full(rng: random.Random, c: _Case) -> list[str]:
    after = []
    if rng.random() < 0.45:
        after.append(rng.choice(_AFTER).format(m=rng.randint(15, 75), k=rng.randint(3, 14)))
    return c.compl + _keys(c, "outcome") + after


_HEADINGS = {
    "indication": ("CLINICAL INDICATION", "INDICATION", "Clinical details", "Clinical history",
                   "Referral question", "REASON FOR EXAM", "Indication", "History"),
    "procedure": ("PROCEDURE", "Procedure", "Examination", "EXAM", "Procedure performed"),
    "technique": ("TECHNIQUE", "Technique", "Description", "PROCEDURE DETAILS", "Method",
                  "Procedure note"),
    "findings": ("FINDINGS", "Findings", "Planning CT", "CT findings"),
    "complications": ("COMPLICATIONS", "Complications", "Post-procedure", "Outcome"),
    "dose": ("RADIATION DOSE", "Dose", "Dose report"),
    "followup": ("PLAN", "Recommendations", "Aftercare", "Post-procedure instructions"),
    "impression": ("IMPRESSION", "Conclusion", "Summary", "CONCLUSION", "Opinion"),
}


def _render_structured(rng: random.Random, c: _Case, caps: bool = False) -> str:
    sections = [
        ("indication", [_sent(c.indication)] + _history_full(c)),
        ("procedure", [_sent(c.title)]),
        ("findings", list(c.findings)),
        ("technique", _technique_full(rng, c)),
        ("complications", _outcome_full(rng, c)),
        ("dose", [c.dose] if c.dose else []),
        ("followup", [c.followup] if c.followup else []),
        ("impression", [c.impression]),
    ]
    if rng.random() < 0.4:  # many departments put findings after the technique
        sections[2], sections[3] = sections[3], sections[2]
    elif rng.random() < 0.3:  # or fold the planning CT into the technique
        sections[3] = ("technique", sections[2][1] + sections[3][1])
        del sections[2]
    inline = rng.random() < 0.55
    upper = caps or rng.random() < 0.4
    lines = []
    for sec, sentences in sections:
        sentences = [s for s in sentences if s]
        if not sentences:
            continue
        if sec in ("followup", "dose") and rng.random() < 0.3:
            continue
        head = rng.choice(_HEADINGS[sec])
        head = head.upper() if upper else head
        body = " ".join(sentences)
        if inline:
            lines.append(f"{head}: {body}")
        else:
            lines.append(f"{head}\n{body}\n")
    if rng.random() < 0.7:
        lines.append(c.operator if rng.random() < 0.7 else f"Reported by {c.operator}")
    text = "\n".join(lines).strip()
    if caps:
        text = _wrap(text.upper(), rng.choice((60, 64, 72)))
        header = rng.choice(("EXAM: CT GUIDED PROCEDURE", "CT INTERVENTION", "RIS REPORT",
                             "CT-GUIDED INTERVENTION  ** FINAL **"))
        text = f"{header}\n{text}\n/{c.operator_short}"
    return text


def _wrap(text: str, width: int) -> str:
    out = []
    for para in text.split("\n"):
        line = ""
        for word in para.split(" "):
            if line and len(line) + 1 + len(word) > width:
                out.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        out.append(line)
    return "\n".join(out)


def _render_narrative(rng: random.Random, c: _Case) -> list[str]:
    """Sentences of a prose report, in reading order."""
    who = _w(rng, ((f"this {c.age}-year-old {'woman' if c.sex == 'F' else 'man'}", 2),
                   ("the patient", 3), (f"a {c.age} y/o {'female' if c.sex == 'F' else 'male'}",
                                        1)))
    opening = _w(rng, (
        (f"{_cap(c.title)} was performed in {who}.", 3),
        (f"{_cap(c.position)} position: {_lc(c.title)} was carried out.", 1),
        (f"Referred for {_lc(c.title)}.", 2),
        (f"{_cap(who)} underwent {_lc(c.title)}.", 2),
    ))
    out = [opening]
    if rng.random() < 0.6:
        out.append(f"Indication: {_lc(c.indication)}"
                   if rng.random() < 0.3 else _sent(c.indication))
    out += _history_full(c)
    out += [s for s in c.findings if rng.random() < 0.8]
    out += _technique_full(rng, c)
    out += _outcome_full(rng, c)
    if c.dose and rng.random() < 0.5:
        out.append(c.dose)
    if c.followup and rng.random() < 0.6:
        out.append(c.followup)
    if rng.random() < 0.5:
        out.append(c.impression)
    return [_sent(s) for s in out if s]


def _paragraphs(rng: random.Random, sentences: list[str]) -> str:
    if len(sentences) > 6 and rng.random() < 0.6:
        cut = rng.randint(2, len(sentences) - 2)
        return " ".join(sentences[:cut]) + "\n\n" + " ".join(sentences[cut:])
    return " ".join(sentences)


_SPEECH_ERRORS = (
    ("pleural", ("plural",)), ("pneumothorax", ("new motor ax", "pneumo thorax", "new motor")),
    ("lesion", ("legion", "lesions")), ("nodule", ("module", "nodules")),
    ("coaxial", ("co-axial", "coax shall")), ("pigtail", ("pig tail",)),
    ("Seldinger", ("sell Dinger", "seldinger")), ("abscess", ("abscesses", "a cess")),
    ("effusion", ("infusion",)), ("lytic", ("lithic",)), ("cores", ("course", "chords")),
    ("haematoma", ("hematoma", "he motoma")), ("ilium", ("ileum",)), ("iliac", ("ileac",)),
    ("lidocaine", ("lido cane",)), ("prone", ("prom",)), ("catheter", ("cath",)),
    ("sedation", ("station",)), ("biopsy", ("biopsies", "by opsy")), ("gauge", ("gage",)),
    ("haemoptysis", ("hemoptysis", "hemop this is")), ("mass", ("mess",)),
    ("lymph node", ("limp node", "lymph note")), ("drainage", ("drain ij",)),
)
_SPEECH_RE = {k: re.compile(r"\b" + re.escape(k) + r"\b", re.I) for k, _ in _SPEECH_ERRORS}


def _dictation_noise(rng: random.Random, text: str) -> str:
    lower = text.lower()
    for word, subs in _SPEECH_ERRORS:
        if word.lower() in lower and rng.random() < 0.45:
            text = _SPEECH_RE[word].sub(lambda m, s=subs: rng.choice(s), text, count=1)
    words = text.split(" ")
    for _ in range(rng.randint(0, 3)):
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 4 and w.isalpha():
            j = rng.randrange(len(w) - 1)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    if rng.random() < 0.3:
        i = rng.randrange(len(words))
        words.insert(i, words[i])
    text = " ".join(words)
    if rng.random() < 0.6:
        text = text.replace(",", "")
    if rng.random() < 0.4:
        text = re.sub(r"\. ([A-Z])(?=[a-z])", lambda m: " " + m.group(1).lower(), text)
    if rng.random() < 0.25:
        text = text.replace(". ", rng.choice((" period ", " full stop ")), 2)
    if rng.random() < 0.2:
        text = text.replace("\n\n", " new paragraph ")
    return text


_ARTICLE_RE = re.compile(r"\b(the|a|an|The|A|An) ")
_NONNATIVE_SUBS = (
    (re.compile(r"^(CT-guided [^.\n]*?|Percutaneous [^.\n]*?) was performed", re.M),
     r"Was performed \1"),
    (re.compile(r"\bNo complications\.?"), None),
    (re.compile(r"\bwas placed (prone|supine)"), r"was put in \1 position"),
    (re.compile(r"\bwere (obtained|taken)"), r"was \1"),
    (re.compile(r"\bWritten informed consent was obtained"),
     "Informed consent was taken from patient"),
    (re.compile(r"\bunder CT guidance"), "under the CT-guidance"),
    (re.compile(r"\bwas inserted"), "was introduced"),
    (re.compile(r"\bsent for"), "sent to"),
)
_NONNATIVE_NOCOMPL = ("Complication was not occurred.", "There was not complications.",
                      "Without complication.", "Any complications were not seen.")


def _nonnative(rng: random.Random, sentences: list[str]) -> str:
    text = "\n".join(sentences)
    for pattern, repl in _NONNATIVE_SUBS:
        if rng.random() < 0.75:
            if repl is None:
                repl = rng.choice(_NONNATIVE_NOCOMPL)
            text = pattern.sub(repl, text)
    text = _ARTICLE_RE.sub(lambda m: "" if rng.random() < 0.7 else m.group(0), text)
    out = [_cap(line) for line in text.split("\n")]
    if rng.random() < 0.3:
        out.insert(0, rng.choice(("Patient was informed about procedure.",
                                  "Procedure was explained to patient and he/she agreed.")))
    return " ".join(out) if rng.random() < 0.5 else "\n".join(out)


_ABBREVIATIONS = (
    (r"\bright upper lobe\b", "RUL"), (r"\bright middle lobe\b", "RML"),
    (r"\bright lower lobe\b", "RLL"), (r"\bleft upper lobe\b", "LUL"),
    (r"\bleft lower lobe\b", "LLL"), (r"\b[Pp]neumothorax\b", "PTX"),
    (r"\b[Tt]he patient\b", "pt"), (r"\b[Pp]atient\b", "pt"), (r"\bwith\b", "w/"),
    (r"\b[Hh]istory of\b", "hx of"), (r"\b[Pp]revious\b", "prev"),
    (r"\bfine-needle aspiration\b", "FNA"), (r"\blymph node\b", "LN"),
    (r"\b[Bb]iopsy\b", "bx"), (r"\b[Bb]iopsies\b", "bxs"), (r"\b[Ll]ocal anaesthesia\b", "LA"),
    (r"\b[Cc]omplications?\b\.?", "compl."), (r"\bhaematoma\b", "haem."),
    (r"\bno\b", "Ø"), (r"(?<!was )(?<!were )(?<!been )\bright\b", "R"),
    (r"(?<!was )(?<!were )(?<!been )(?<!is )(?<!and )\bleft\b", "L"),
    (r"(?<=\d) mL\b", "ml"), (r"\bintravenously\b", "IV"), (r"\bapproximately\b", "approx"),
    (r"\bhistology\b", "histo"), (r"\bmicrobiology\b", "micro"), (r"\bsegment\b", "seg"),
    (r"\bposterior\b", "post."), (r"\banterior\b", "ant."), (r"\bcatheter\b", "cath"),
    (r"\bstatus post\b", "s/p"), (r"\bvertebral body\b", "VB"), (r"\bchest radiograph\b", "CXR"),
    (r"\b and \b", " + "), (r"\bwas\b ", ""), (r"\bwere\b ", ""),
)


def _literal(pattern: str) -> str:
    """A lower-case substring every match contains, to skip patterns cheaply."""
    lit = re.sub(r"\(\?<[!=][^)]*\)", "", pattern)
    lit = re.sub(r"\[(\w)\w\]", lambda m: m.group(1).lower(), lit)
    lit = re.sub(r".\?", "", lit.replace("\\b", ""))
    return lit.lower()


_ABBREVIATION_RES = tuple((re.compile(p), r, _literal(p)) for p, r in _ABBREVIATIONS)


def _abbreviate(rng: random.Random, text: str) -> str:
    lower = text.lower()
    for pattern, repl, literal in _ABBREVIATION_RES:
        if rng.random() < 0.8 and literal in lower:
            text = pattern.sub(repl, text)
    return text


def _short_facts(rng: random.Random, c: _Case) -> list[str]:
    """Telegraphic fragments: title, device, samples, key facts, outcome."""
    parts = [c.title_short]
    if rng.random() < 0.5:
        parts.append(c.indication_short)
    hist = _keys(c, "history", short=True)
    if c.history_short and rng.random() < 0.5:
        hist.insert(0, c.history_short)
    parts += hist
    if rng.random() < 0.5:
        parts.append(c.position)
    if c.la_short and rng.random() < 0.4:
        parts.append(c.la_short)
    parts.append(c.device)
    if c.sample_short:
        parts.append(c.sample_short)
    parts += _keys(c, "technique", short=True)
    parts.append(c.compl_short)
    parts += _keys(c, "outcome", short=True)
    if c.dose_short and rng.random() < 0.3:
        parts.append(c.dose_short)
    return [p for p in parts if p]


def _render_terse(rng: random.Random, c: _Case) -> str:
    parts = _short_facts(rng, c)
    sep = rng.choice((". ", ", ", "; ", ". ", "\n"))
    text = sep.join(parts)
    if rng.random() < 0.5:
        text += "."
    if rng.random() < 0.3:
        text += f" {c.operator_short}"
    return text


def _render_bullets(rng: random.Random, c: _Case) -> str:
    marker = rng.choice(("- ", "* ", "o ", "#"))
    parts = _short_facts(rng, c)
    head = rng.choice((c.title_short.upper(), "CT-guided procedure:", "Procedure summary", ""))
    if head == c.title_short.upper() and rng.random() < 0.5:
        parts = parts[1:]  # the title already says it
    lines = [head] if head else []
    for i, p in enumerate(parts, 1):
        lines.append(f"{i}. {p}" if marker == "#" else marker + p)
    if rng.random() < 0.5:
        lines.append(c.operator)
    return "\n".join(lines)


def _render_keyvalue(rng: random.Random, c: _Case) -> str:
    fields = [
        ("Procedure", c.title),
        ("Indication", c.indication_short),
        ("Side", _cap(c.side) if c.side else "n/a"),
        ("Target", c.target),
        ("Position", c.position),
        ("Anaesthesia", c.la_short or "none"),
        ("Sedation", c.sedation_short or "none"),
        ("Device", c.device),
        ("Samples", c.sample_short or "none"),
        ("Complications", c.compl_short),
        ("Dose", c.dose_short),
        ("Operator", c.operator),
    ]
    notes = _keys(c, "history") + _keys(c, "technique") + _keys(c, "outcome")
    if c.history and rng.random() < 0.5:
        notes.insert(0, c.history)
    if notes:
        fields.insert(rng.randint(2, 9), ("Notes", " ".join(notes)))
    sep = rng.choice((": ", ": ", " = ", ":\t"))
    lines = []
    for k, v in fields:
        if not v:
            continue
        if k not in ("Procedure", "Notes", "Complications", "Device") and rng.random() < 0.2:
            continue
        lines.append(f"{k.upper() if rng.random() < 0.2 else k}{sep}{v}")
    return "\n".join(lines)


def _render_letter(rng: random.Random, c: _Case, date: datetime.date) -> str:
    ref = rng.choice(_SURNAMES)
    title = "Ms" if c.sex == "F" else "Mr"
    lines = [f"Dear Dr {ref},", ""]
    body = [
        f"Thank you for referring {title} X ({c.age}) for "
        f"{_lc(c.title)}, which we performed on {date:%d %B %Y}.",
    ]
    body += _history_full(c)
    body += [s for s in c.findings if rng.random() < 0.6]
    body += _technique_full(rng, c)
    body += _outcome_full(rng, c)
    if c.followup:
        body.append(c.followup)
    lines.append(" ".join(_sent(s) for s in body if s))
    lines += ["", rng.choice(("Kind regards,", "Yours sincerely,", "Best wishes,")), c.operator]
    return "\n".join(lines)


def _render(rng: random.Random, c: _Case, style: str, date: datetime.date) -> str:
    if style == "structured":
        return _render_structured(rng, c)
    if style == "caps_ris":
        return _render_structured(rng, c, caps=True)
    if style == "terse":
        return _render_terse(rng, c)
    if style == "bullets":
        return _render_bullets(rng, c)
    if style == "keyvalue":
        return _render_keyvalue(rng, c)
    if style == "letter":
        return _render_letter(rng, c, date)
    sentences = _render_narrative(rng, c)
    if style == "narrative":
        return _paragraphs(rng, sentences)
    if style == "dictated":
        return _dictation_noise(rng, _paragraphs(rng, sentences))
    if style == "nonnative":
        return _nonnative(rng, sentences)
    if style == "abbreviated":
        keep = [s for s in sentences if not s.startswith(("Written", "Risks", "WHO"))]
        return _abbreviate(rng, " ".join(keep))
    raise ValueError(f"unknown style {style!r}")


# Style weight before 2013 and from 2013 on; a style not named here weighs 1.0 throughout.
# Older RIS exports are all-caps; speech recognition arrives later.
_STYLE_ERA_WEIGHTS = {
    "caps_ris": (1.6, 0.6), "dictated": (0.5, 1.4), "structured": (1.3, 1.3),
    "narrative": (1.3, 1.3),
}


def _style_by_era(rng: random.Random, year: int, styles: tuple[str, ...],
                  era_weights: dict[str, tuple[float, float]]) -> str:
    era = 0 if year < 2013 else 1
    return _w(rng, tuple((s, era_weights.get(s, (1.0, 1.0))[era]) for s in styles))


# ------------------------------------------------------------------------ assembly


def _random_date(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=rng.randint(0, (end - start).days))


def _age(rng: random.Random, label: int) -> int:
    mode = {1: 62, 2: 66, 3: 69, 4: 65}[label]
    return max(18, min(95, round(rng.triangular(18, 95, mode))))


def _pick_hard(rng: random.Random, label: int) -> str:
    return _w(rng, _HARD_WEIGHTS[label])


def _make_text(rng: random.Random, label: int, hard: str, age: int, sex: str,
               date: datetime.date, styles: tuple[str, ...]) -> tuple[str, str]:
    case = _build_case(rng, label, hard, age, sex, date.year)
    style = _style_by_era(rng, date.year, styles, _STYLE_ERA_WEIGHTS)
    text = _render(rng, case, style, date)
    if "a 8" in text or "a 1" in text or "A 8" in text or "A 1" in text:
        n = "N " if style == "caps_ris" else "n "
        text = _AN_RE.sub(lambda m: m.group(1) + n, text)
    return _SPACES_RE.sub(" ", text).strip(), style


_AN_RE = re.compile(r"\b([Aa]) (?=(?:8|8\d|11|18)(?:\D|$))")
_SPACES_RE = re.compile(r"[ \t]*\t[ \t]*| {2,}")


def _patient_ids(rng: random.Random, n: int, width: int = 6, prefix: str = "PT-") -> list[str]:
    seen: set[str] = set()
    out = []
    while len(out) < n:
        pid = f"{prefix}{rng.getrandbits(4 * width):0{width}X}"
        if pid not in seen:
            seen.add(pid)
            out.append(pid)
    return out


# Every generator (English, Japanese, held-out styles) assembles its rows here, so the draws
# from `rng` come in one order and a generator differs only in how it writes the text.

# (rng, label, hard case, age, sex, date, styles) -> (text, style)
TextWriter = Callable[
    [random.Random, int, str, int, str, datetime.date, tuple[str, ...]], tuple[str, str]
]


def _chosen_styles(styles, known: tuple[str, ...], what: str = "styles") -> tuple[str, ...]:
    """The asked-for styles in their canonical order (the order changes the draws)."""
    if styles is None:
        return known
    unknown = sorted(set(styles) - set(known))
    if unknown or not styles:
        raise ValueError(f"unknown or empty {what}: {unknown}")
    return tuple(s for s in known if s in set(styles))


def _cohort_plan(rng: random.Random) -> tuple[list[tuple[str, int, str]], list[datetime.date]]:
    """Dates and (split, label, hard case) per row: the study design, shuffled per split."""
    total = sum(sum(v.values()) for v in STUDY_COUNTS.values())
    dates = sorted(_random_date(rng, COHORT_START, COHORT_END) for _ in range(total))
    plan: list[tuple[str, int, str]] = []
    for split in SPLITS:
        counts = STUDY_COUNTS[split]
        labels: list[int] = []
        hard: list[str] = []
        for label in sorted(counts):
            n = counts[label]
            n_hard = max(1, round(n * HARD_FRACTION + 0.5))
            labels += [label] * n
            hard += [_pick_hard(rng, label) for _ in range(n_hard)] + [""] * (n - n_hard)
        pairs = list(zip(labels, hard, strict=True))
        rng.shuffle(pairs)
        plan += [(split, label, h) for label, h in pairs]
    return plan, dates


def _row(rng: random.Random, write: TextWriter, styles: tuple[str, ...], *, accession: str,
         patient_id: str, date: datetime.date, label: int, hard: str, split: str) -> CohortRow:
    sex = rng.choice(("F", "M"))
    age = _age(rng, label)
    text, style = write(rng, label, hard, age, sex, date, styles)
    return CohortRow(
        accession=accession, patient_id=patient_id, sex=sex, age=age, procedure_date=date,
        text=text, label=label, split=split, hard_case=hard, style=style,
    )


def _cohort_rows(rng: random.Random, write: TextWriter, styles: tuple[str, ...], *,
                 accession_prefix: str, pid_prefix: str = "PT-") -> list[CohortRow]:
    """The 1605 study rows; accession numbers climb by 1-7 within a year, as a RIS's do."""
    plan, dates = _cohort_plan(rng)
    pids = _patient_ids(rng, len(plan), prefix=pid_prefix)
    seq: dict[int, int] = {}
    rows = []
    for (split, label, hard), date, pid in zip(plan, dates, pids, strict=True):
        seq[date.year] = seq.get(date.year, 0) + rng.randint(1, 7)
        rows.append(_row(rng, write, styles, accession=f"{accession_prefix}{date.year}-"
                         f"{seq[date.year]:05d}", patient_id=pid, date=date, label=label,
                         hard=hard, split=split))
    return rows


def _extra_rows(rng: random.Random, n: int, write: TextWriter, styles: tuple[str, ...], *,
                start: datetime.date, end: datetime.date, accession_prefix: str, digits: int,
                pid_prefix: str = "PT-") -> list[CohortRow]:
    """``n`` unassigned rows by date with the study's category mix and hard-case share."""
    if end < start:
        raise ValueError("end before start")
    mix = tuple((label, sum(STUDY_COUNTS[s][label] for s in SPLITS)) for label in (1, 2, 3, 4))
    dates = sorted(_random_date(rng, start, end) for _ in range(n))
    pids = _patient_ids(rng, n, 6 if n <= 1_000_000 else 8, prefix=pid_prefix)
    rows = []
    for i, (date, pid) in enumerate(zip(dates, pids, strict=True), 1):
        label = _w(rng, mix)
        hard = _pick_hard(rng, label) if rng.random() < HARD_FRACTION else ""
        rows.append(_row(rng, write, styles, accession=f"{accession_prefix}{date.year}-"
                         f"{i:0{digits}d}", patient_id=pid, date=date, label=label,
                         hard=hard, split="unassigned"))
    return rows


def generate_cohort(seed: int = 2025) -> list[CohortRow]:
    """The 1605-patient study cohort: chronological splits, exact category counts."""
    return _cohort_rows(random.Random(seed), _make_text, STYLES, accession_prefix="IR")


def generate_reports(
    n: int, seed: int, *, styles: list[str] | None = None,
    start: datetime.date = COHORT_START, end: datetime.date = COHORT_END,
) -> list[CohortRow]:
    """``n`` extra reports with a study-like category mix, split "unassigned", sorted by date."""
    chosen = _chosen_styles(styles, STYLES)
    return _extra_rows(random.Random(seed), n, _make_text, chosen, start=start, end=end,
                       accession_prefix="EXT", digits=max(6, len(str(n))))
