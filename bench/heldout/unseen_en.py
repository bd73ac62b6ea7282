"""Independent held-out English report styles: an evaluation-only proxy for other hospitals.

The classifier is judged on reports written at hospitals other than the one whose wording the
training generator imitates: terse structured exports, English written by non-native writers,
speech-recognition dictations with mis-heard words, quickly typed notes and verbose American
procedure-note templates. This module writes such reports from its own case model and its own
phrase banks, composed without looking at the training generator's vocabulary; only the
shared labelling guideline decided the labels and the hard cases. Scoring a model on these
rows estimates how it transfers to wording it has never seen.

Nothing in training imports this module (a test checks that ``ctir_demo.cohort`` does not
mention it); it is for evaluation only. Pure standard library; every random draw comes from
one ``random.Random(seed)``, so a seed always gives the same rows.
"""

from __future__ import annotations

import datetime
import random
import re
from dataclasses import dataclass, field

from ctir_demo.cohort import CohortRow, _chosen_styles

__all__ = ["UNSEEN_EN_STYLES", "HARD_KINDS", "generate_unseen_english_reports"]

UNSEEN_EN_STYLES: tuple[str, ...] = (
    "asr_dictation",
    "non_native",
    "ris_fields",
    "typo_heavy",
    "us_procedure_note",
)

LABEL_MIX: tuple[tuple[int, float], ...] = ((1, 0.30), (2, 0.30), (3, 0.25), (4, 0.15))
HARD_SHARE = 0.16

# Hard-case kinds and the labels each can carry (the label always follows the guideline).
HARD_KINDS: dict[str, tuple[int, ...]] = {
    "lung_abscess_drainage": (1,),
    "cyst_sclerotherapy": (1,),
    "drainage_with_wall_sample": (1,),
    "aborted_drainage": (1,),
    "negated_biopsy": (1,),
    "bleeding_drain_after_biopsy": (2,),
    "incidental_fluid_in_biopsy": (2,),
    "chest_wall_component": (2,),
    "rib_soft_tissue_mass": (2,),
    "pleural_mass": (2,),
    "transpulmonary_node": (2,),
    "aborted_biopsy": (2, 3, 4),
    "negated_drain": (2, 3),
    "pneumothorax_chest_tube": (3,),
    "history_other_procedure": (1, 2, 3, 4),
    "spondylodiscitis": (4,),
    "bone_marrow": (4,),
}

SURNAMES = (
    "Novak", "Kowalski", "Haddad", "Okafor", "Lindqvist", "Moreau", "Rossi", "Tanaka",
    "Schneider", "Papadopoulos", "Ivanova", "Fernandez", "Chen", "Singh", "Oyelaran",
    "Becker", "Jansen", "Horvath", "Costa", "Murphy", "Yilmaz", "Nguyen", "Kim", "Silva",
)

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def _words(n: int) -> str:
    """Spell a number 0..9999 the way a dictating radiologist says it."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + _words(rest))
    rest = n % 1000
    return _words(n // 1000) + " thousand" + ("" if rest == 0 else " " + _words(rest))


# --------------------------------------------------------------------------- case model


@dataclass
class _Case:
    label: int
    kind: str
    target: str  # neutral English noun phrase of what is treated/sampled
    abbr: str  # short upper-case form for terse styles
    region: str  # CHEST / ABDOMEN / PELVIS / SPINE / MSK
    side: str
    size_mm: int
    position: str
    route: str
    indication: str
    proc: str  # drain | aspirate | core | fna | bone | marrow
    gauge: int = 18
    coax: int = 17
    cores: int = 3
    french: int = 8
    volume: int = 0
    fluid: str = ""
    sedation: str = "local"
    lidocaine_ml: int = 10
    midazolam_mg: float = 0.0
    fentanyl_ug: int = 0
    dlp: int = 300
    complication: str = "none"
    facts: list[str] = field(default_factory=list)  # hard-case key facts, neutral English
    aborted: bool = False
    codes: tuple[str, ...] = ()
    operator: str = ""
    lung_crossed: bool = False


def _side(rng: random.Random) -> str:
    return rng.choice(("right", "left"))


def _s(side: str) -> str:
    return "R" if side == "right" else "L"


_LOBES = (
    ("right upper lobe", "RUL", "right"),
    ("right middle lobe", "RML", "right"),
    ("right lower lobe", "RLL", "right"),
    ("left upper lobe", "LUL", "left"),
    ("lingula", "LINGULA", "left"),
    ("left lower lobe", "LLL", "left"),
)


def _drain_site(rng: random.Random) -> dict:
    side = _side(rng)
    seg = rng.choice(("IV", "V", "VI", "VII", "VIII"))
    sites = (
        dict(target=f"abscess in liver segment {seg}", abbr=f"LIVER ABSCESS SEG {seg}",
             region="ABDOMEN", side="right", position="supine",
             route=rng.choice(("right intercostal", "right subcostal", "anterior subcostal")),
             fluid=("purulent", "thick yellow pus", "brownish pus"),
             indication=("fever and rigors, liver abscess on CT",
                         "septic after cholangitis, hepatic abscess",
                         "pyogenic liver abscess not improving on antibiotics")),
        dict(target=f"{side} renal abscess", abbr=f"{_s(side)} RENAL ABSCESS",
             region="ABDOMEN", side=side, position="prone", route="posterior",
             fluid=("purulent", "pus"),
             indication=("pyelonephritis with abscess formation", "flank pain and fever")),
        dict(target=f"{side} psoas abscess", abbr=f"{_s(side)} PSOAS ABSCESS",
             region="ABDOMEN", side=side, position="prone", route="posterior paravertebral",
             fluid=("purulent", "thick pus", "cloudy"),
             indication=("back pain, fever, psoas collection on CT",
                         "psoas abscess, rising CRP")),
        dict(target=f"{side} subphrenic collection", abbr=f"{_s(side)} SUBPHRENIC COLLECTION",
             region="ABDOMEN", side=side, position="supine",
             route=rng.choice(("anterior subcostal", "lateral intercostal")),
             fluid=("turbid", "purulent", "serosanguinous"),
             indication=("fever after laparotomy", "postoperative subphrenic abscess")),
        dict(target="pelvic abscess", abbr="PELVIC ABSCESS", region="PELVIS", side="",
             position="prone", route=rng.choice(("transgluteal", "left transgluteal",
                                                 "right transgluteal")),
             fluid=("foul-smelling pus", "purulent", "feculent"),
             indication=("perforated diverticulitis with pelvic abscess",
                         "collection after anterior resection", "pelvic sepsis")),
        dict(target=f"{side} empyema", abbr=f"{_s(side)} EMPYEMA", region="CHEST",
             side=side, position=rng.choice(("supine", "lateral decubitus", "prone")),
             route="intercostal", fluid=("purulent", "turbid", "thick pus"),
             indication=("pneumonia with loculated pleural collection",
                         "empyema, pleural fluid pH low")),
        dict(target=f"loculated {side} pleural effusion",
             abbr=f"{_s(side)} LOCULATED PLEURAL EFFUSION", region="CHEST", side=side,
             position=rng.choice(("supine", "lateral decubitus")), route="intercostal",
             fluid=("straw-coloured", "serous", "blood-stained"),
             indication=("dyspnoea, loculated effusion not amenable to ultrasound",
                         "malignant effusion with loculations")),
        dict(target="biloma in the gallbladder fossa", abbr="BILOMA GB FOSSA",
             region="ABDOMEN", side="right", position="supine", route="right subcostal",
             fluid=("bilious", "green bile-stained"),
             indication=("bile leak after laparoscopic cholecystectomy",)),
        dict(target=f"urinoma next to the {side} kidney", abbr=f"{_s(side)} PERIRENAL URINOMA",
             region="ABDOMEN", side=side, position="prone", route="posterior",
             fluid=("clear yellow", "urine-like"),
             indication=("after partial nephrectomy, perirenal collection",)),
        dict(target=f"{side} pelvic lymphocele", abbr=f"{_s(side)} PELVIC LYMPHOCELE",
             region="PELVIS", side=side, position="supine", route="anterior",
             fluid=("clear serous", "straw-coloured"),
             indication=("leg swelling after pelvic lymphadenectomy",
                         "symptomatic lymphocele after prostatectomy")),
        dict(target="peripancreatic fluid collection", abbr="PERIPANCREATIC COLLECTION",
             region="ABDOMEN", side="", position="supine",
             route=rng.choice(("anterior", "left anterolateral", "left retroperitoneal")),
             fluid=("turbid brown", "dark necrotic", "cloudy"),
             indication=("necrotising pancreatitis, infected collection suspected",
                         "acute pancreatitis with enlarging collection")),
        dict(target=f"loculated ascites in the {side} flank",
             abbr=f"LOCULATED ASCITES {_s(side)} FLANK", region="ABDOMEN", side=side,
             position="supine", route="anterolateral",
             fluid=("clear yellow", "slightly turbid"),
             indication=("tense loculated ascites, ultrasound window poor",)),
        dict(target=f"{side} retroperitoneal hematoma", abbr=f"{_s(side)} RP HEMATOMA",
             region="ABDOMEN", side=side, position="prone", route="posterior",
             fluid=("old blood", "dark haemorrhagic"),
             indication=("infected hematoma suspected after anticoagulation",)),
        dict(target="postoperative seroma in the abdominal wall", abbr="ABD WALL SEROMA",
             region="ABDOMEN", side="", position="supine", route="anterior",
             fluid=("serous", "straw-coloured"),
             indication=("painful seroma after hernia repair",)),
    )
    return dict(rng.choice(sites))


def _soft_site(rng: random.Random) -> dict:
    side = _side(rng)
    seg = rng.choice(("II", "III", "IV", "V", "VI", "VII", "VIII"))
    part = rng.choice(("head", "body", "tail"))
    sites = (
        dict(target=f"hypodense lesion in liver segment {seg}", abbr=f"LIVER LESION SEG {seg}",
             region="ABDOMEN", side="right", position="supine",
             route=rng.choice(("right intercostal", "subcostal", "anterior")),
             indication=("liver metastasis suspected, primary unknown",
                         "new liver lesion in colon cancer follow-up",
                         "hepatic mass, HCC versus metastasis")),
        dict(target=f"mass in the pancreatic {part}", abbr=f"PANCREAS {part.upper()} MASS",
             region="ABDOMEN", side="", position=rng.choice(("supine", "prone")),
             route=rng.choice(("anterior", "anterior transhepatic", "posterior left")),
             indication=("pancreatic mass, EUS not possible", "weight loss and raised CA 19-9")),
        dict(target=f"solid {side} renal mass", abbr=f"{_s(side)} RENAL MASS",
             region="ABDOMEN", side=side, position="prone", route="posterior",
             indication=("enhancing renal mass, histology before ablation",
                         "renal mass in patient unfit for surgery")),
        dict(target=f"{side} adrenal nodule", abbr=f"{_s(side)} ADRENAL NODULE",
             region="ABDOMEN", side=side, position="prone", route="posterior",
             indication=("adrenal nodule in lung cancer staging",
                         "indeterminate adrenal mass, phaeochromocytoma excluded")),
        dict(target="para-aortic lymph node", abbr="PARAAORTIC LN", region="ABDOMEN", side="",
             position="prone", route="left paravertebral",
             indication=("retroperitoneal lymphadenopathy, lymphoma suspected",
                         "enlarging node, recurrence?")),
        dict(target=f"{side} external iliac lymph node", abbr=f"{_s(side)} EXT ILIAC LN",
             region="PELVIS", side=side, position="supine", route="anterior",
             indication=("pelvic lymphadenopathy, cervical cancer history",
                         "enlarged pelvic node, lymphoma?")),
        dict(target="mesenteric mass", abbr="MESENTERIC MASS", region="ABDOMEN", side="",
             position="supine", route="anterior",
             indication=("mesenteric mass, carcinoid versus lymphoma",)),
        dict(target="omental cake", abbr="OMENTAL CAKE", region="ABDOMEN", side="",
             position="supine", route="anterior",
             indication=("peritoneal carcinomatosis, primary unknown", "ascites and omental "
                         "thickening, ovarian cancer?")),
        dict(target="peritoneal nodule", abbr="PERITONEAL NODULE", region="ABDOMEN", side="",
             position="supine", route="anterior",
             indication=("peritoneal deposits, primary unknown",)),
        dict(target=f"{side} psoas muscle mass", abbr=f"{_s(side)} PSOAS MASS",
             region="ABDOMEN", side=side, position="prone", route="posterior paravertebral",
             indication=("solid enhancing psoas mass, sarcoma?",)),
        dict(target=f"soft-tissue mass in the {side} thigh", abbr=f"{_s(side)} THIGH MASS",
             region="MSK", side=side, position="supine", route="anterolateral",
             indication=("deep thigh mass, sarcoma protocol", "enlarging intramuscular mass")),
        dict(target=f"subcutaneous nodule in the {side} flank", abbr=f"{_s(side)} SC NODULE",
             region="MSK", side=side, position=rng.choice(("prone", "lateral decubitus")),
             route="direct lateral", indication=("melanoma history, new subcutaneous nodule",)),
        dict(target="splenic lesion", abbr="SPLENIC LESION", region="ABDOMEN", side="left",
             position="supine", route="left intercostal",
             indication=("solitary splenic lesion, lymphoma?",)),
        dict(target="anterior mediastinal mass", abbr="ANT MEDIASTINAL MASS", region="CHEST",
             side="", position="supine", route="left parasternal",
             indication=("anterior mediastinal mass, thymoma versus lymphoma",)),
    )
    return dict(rng.choice(sites))


def _lung_site(rng: random.Random) -> dict:
    lobe, abbr, side = rng.choice(_LOBES)
    kind = rng.choice(("solid nodule", "part-solid nodule", "ground-glass nodule",
                       "spiculated mass", "mass", "area of persistent consolidation"))
    short = {"solid nodule": "NODULE", "part-solid nodule": "PART-SOLID NODULE",
             "ground-glass nodule": "GGN", "spiculated mass": "SPICULATED MASS",
             "mass": "MASS", "area of persistent consolidation": "CONSOLIDATION"}[kind]
    return dict(
        target=f"{kind} in the {lobe}", abbr=f"{abbr} {short}", region="CHEST", side=side,
        position=rng.choice(("prone", "supine", "lateral decubitus")),
        route=rng.choice(("posterior", "anterior", "lateral", "posterolateral")),
        indication=rng.choice((
            "growing nodule on follow-up CT", "PET-avid lung lesion",
            "suspected primary lung cancer", "lung lesion in patient with breast cancer",
            "smoker, new pulmonary mass", "non-resolving consolidation, rule out malignancy",
        )),
        lobe=lobe, lobe_abbr=abbr,
    )


def _bone_site(rng: random.Random) -> dict:
    side = _side(rng)
    lvl = rng.choice(("L1", "L2", "L3", "L4", "L5"))
    tlvl = rng.choice(("T6", "T7", "T8", "T9", "T10", "T11", "T12"))
    rib = rng.choice(("5th", "6th", "7th", "8th", "9th"))
    look = rng.choice(("lytic", "sclerotic", "mixed lytic-sclerotic", "expansile lytic"))
    sites = (
        dict(target=f"{look} lesion in the {lvl} vertebral body",
             abbr=f"{lvl} VERTEBRAL BODY LESION", region="SPINE", side="", position="prone",
             route=rng.choice(("transpedicular", "left transpedicular",
                               "right transpedicular", "posterolateral"))),
        dict(target=f"{look} lesion in the {tlvl} vertebral body",
             abbr=f"{tlvl} VERTEBRA LESION", region="SPINE", side="", position="prone",
             route=rng.choice(("transpedicular", "costovertebral"))),
        dict(target=f"{look} lesion of the sacrum", abbr="SACRAL LESION", region="PELVIS",
             side="", position="prone", route="posterior"),
        dict(target=f"{look} lesion in the {side} iliac bone", abbr=f"{_s(side)} ILIAC LESION",
             region="PELVIS", side=side, position="prone", route="posterior"),
        dict(target=f"{look} lesion of the {side} {rib} rib", abbr=f"{_s(side)} {rib} RIB",
             region="CHEST", side=side, position=rng.choice(("prone", "lateral decubitus")),
             route="tangential"),
        dict(target=f"{look} lesion in the {side} proximal femur",
             abbr=f"{_s(side)} PROX FEMUR LESION", region="MSK", side=side, position="supine",
             route="lateral"),
        dict(target=f"{look} lesion of the sternum", abbr="STERNAL LESION", region="CHEST",
             side="", position="supine", route="anterior"),
        dict(target=f"{look} lesion in the {side} acetabulum", abbr=f"{_s(side)} ACETABULUM",
             region="PELVIS", side=side, position=rng.choice(("prone", "supine")),
             route="posterior"),
        dict(target=f"{look} lesion of the {side} scapula", abbr=f"{_s(side)} SCAPULA",
             region="MSK", side=side, position="prone", route="posterior"),
    )
    d = dict(rng.choice(sites))
    d["indication"] = rng.choice((
        "bone lesion, metastasis versus myeloma", "known breast cancer, new bone lesion",
        "prostate cancer, sclerotic bone lesion", "unknown primary with bone metastases",
        "pain and lytic bone lesion on CT", "suspected lymphoma of bone",
    ))
    return d


_CODES = {
    "drain_abd": ("49405", "49406"), "drain_pelvis": ("49406", "49407"),
    "drain_chest": ("32557",), "cyst": ("50390",), "liver": ("47000", "77012"),
    "soft": ("49180", "77012"), "node": ("38505", "77012"), "muscle": ("20206", "77012"),
    "lung": ("32408",), "pleura": ("32400", "77012"), "bone_deep": ("20225", "77012"),
    "bone_sup": ("20220", "77012"), "marrow": ("38221", "77012"), "disc": ("62267", "77012"),
}


def _build_case(rng: random.Random, label: int, kind: str) -> _Case:
    if label == 1:
        site = _drain_site(rng)
    elif label == 2:
        site = _soft_site(rng)
    elif label == 3:
        site = _lung_site(rng)
    else:
        site = _bone_site(rng)
    if kind == "lung_abscess_drainage":
        lobe, abbr, side = rng.choice(_LOBES)
        site = dict(target=f"lung abscess in the {lobe}", abbr=f"{abbr} LUNG ABSCESS",
                    region="CHEST", side=side, position=rng.choice(("prone", "supine")),
                    route="intercostal", fluid=("purulent", "thick foul pus"),
                    indication=("cavitating lung abscess not responding to antibiotics",))
    elif kind == "cyst_sclerotherapy":
        side = _side(rng)
        organ = rng.choice((f"{side} renal", "hepatic"))
        site = dict(target=f"symptomatic {organ} cyst", abbr=f"{organ.upper()} CYST",
                    region="ABDOMEN", side=side, position="prone" if "renal" in organ
                    else "supine", route="posterior" if "renal" in organ else "intercostal",
                    fluid=("straw-coloured", "clear serous"),
                    indication=("large simple cyst causing pain",))
    elif kind == "pleural_mass":
        side = _side(rng)
        site = dict(target=f"{side} pleural mass", abbr=f"{_s(side)} PLEURAL MASS",
                    region="CHEST", side=side, position=rng.choice(("prone", "supine")),
                    route="intercostal",
                    indication=("nodular pleural thickening, mesothelioma?",
                                "asbestos exposure, pleural mass"))
    elif kind == "transpulmonary_node":
        lobe, _abbr, side = rng.choice(_LOBES)
        station = rng.choice(("subcarinal", f"{side} hilar", "right lower paratracheal",
                              "aortopulmonary window"))
        site = dict(target=f"{station} lymph node", abbr=f"{station.upper()} LN",
                    region="CHEST", side=side, position="prone", route="transpulmonary",
                    indication=("mediastinal lymphadenopathy, EBUS not diagnostic",),
                    lobe=lobe)
    elif kind == "chest_wall_component":
        lobe, abbr, side = rng.choice(_LOBES)
        site = dict(target=f"chest-wall component of the {lobe} mass",
                    abbr=f"CHEST WALL COMPONENT {abbr} MASS", region="CHEST", side=side,
                    position=rng.choice(("prone", "lateral decubitus")), route="direct",
                    indication=("peripheral lung mass invading the chest wall",), lobe=lobe)
    elif kind == "rib_soft_tissue_mass":
        side = _side(rng)
        rib = rng.choice(("5th", "6th", "7th", "8th"))
        site = dict(target=f"extraosseous soft-tissue mass arising from the {side} {rib} rib",
                    abbr=f"{_s(side)} {rib} RIB SOFT TISSUE MASS", region="CHEST", side=side,
                    position="prone", route="tangential",
                    indication=("rib lesion with large soft-tissue component",))
    elif kind == "spondylodiscitis":
        lvl = rng.choice(("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1", "T11-T12"))
        site = dict(target=f"{lvl} disc and adjacent vertebral endplates",
                    abbr=f"{lvl} DISC/ENDPLATES", region="SPINE", side="", position="prone",
                    route="posterolateral",
                    indication=("suspected spondylodiscitis, blood cultures negative",
                                "back pain, fever, MRI shows discitis"))
    elif kind == "bone_marrow":
        side = _side(rng)
        site = dict(target=f"{side} posterior iliac crest bone marrow",
                    abbr=f"{_s(side)} ILIAC CREST MARROW", region="PELVIS", side=side,
                    position="prone", route="posterior",
                    indication=("pancytopenia, marrow infiltration?",
                                "lymphoma staging, obese patient, landmark attempt failed"))
    elif kind == "bleeding_drain_after_biopsy":
        seg = rng.choice(("V", "VI", "VII", "VIII"))
        site = dict(target=f"hypodense lesion in liver segment {seg}",
                    abbr=f"LIVER LESION SEG {seg}", region="ABDOMEN", side="right",
                    position="supine", route="right intercostal",
                    indication=("liver lesions, metastases?",))

    indication = site["indication"]
    if isinstance(indication, tuple):
        indication = rng.choice(indication)
    fluid = site.get("fluid", "")
    if isinstance(fluid, tuple):
        fluid = rng.choice(fluid)

    proc = {1: "drain", 2: "core", 3: "core", 4: "bone"}[label]
    if label == 1 and rng.random() < 0.25 and kind not in ("aborted_drainage",
                                                            "lung_abscess_drainage"):
        proc = "aspirate"
    if kind == "cyst_sclerotherapy":
        proc = "aspirate"
    if label == 2 and rng.random() < 0.2:
        proc = "fna"
    if kind == "bone_marrow":
        proc = "marrow"

    c = _Case(
        label=label, kind=kind, target=site["target"], abbr=site["abbr"],
        region=site["region"], side=site.get("side", ""),
        size_mm=rng.randint(8, 35) if label == 3 else rng.randint(15, 90),
        position=site["position"], route=site["route"], indication=indication, proc=proc,
        fluid=fluid, operator=rng.choice(SURNAMES),
    )
    if label == 1:
        c.french = rng.choice((6, 8, 8, 10, 10, 12, 14))
        c.volume = rng.choice((15, 20, 30, 40, 60, 80, 120, 150, 200, 350, 500))
        c.gauge = rng.choice((18, 19, 20, 21))
    elif label in (2, 3):
        c.gauge = rng.choice((16, 18, 18, 20)) if proc == "core" else rng.choice((20, 22, 22))
        c.coax = c.gauge - 1 if proc == "core" else 19
        c.cores = rng.randint(1, 5) if proc == "core" else rng.randint(2, 5)
    else:
        c.gauge = rng.choice((8, 10, 11, 11, 13))
        c.coax = c.gauge
        c.cores = rng.randint(1, 4)
    c.sedation = rng.choices(("local", "moderate", "general"), (0.5, 0.42, 0.08))[0]
    c.lidocaine_ml = rng.choice((5, 8, 10, 10, 15, 20))
    if c.sedation == "moderate":
        c.midazolam_mg = rng.choice((1.0, 2.0, 2.0, 3.0))
        c.fentanyl_ug = rng.choice((25, 50, 50, 75, 100))
    c.dlp = rng.randint(90, 1400)
    c.lung_crossed = label == 3 or kind == "transpulmonary_node"

    comps = ["none"] * 8
    if label == 3:
        comps += ["small_ptx", "small_ptx", "hemoptysis", "alveolar_bleed"]
    elif label == 2:
        comps += ["minor_hematoma", "vasovagal"]
    elif label == 4:
        comps += ["pain"]
    else:
        comps += ["pain", "transient_bacteraemia"]
    c.complication = rng.choice(comps)

    codes: tuple[str, ...]
    if label == 1:
        codes = _CODES["drain_chest" if c.region == "CHEST" else
                      "drain_pelvis" if c.region == "PELVIS" else "drain_abd"][:1]
        if kind == "cyst_sclerotherapy" and "renal" in c.target:
            codes = _CODES["cyst"]
    elif label == 2:
        t = c.target
        key = ("liver" if "liver" in t else "node" if "node" in t else
               "muscle" if "muscle" in t or "thigh" in t else "soft")
        codes = _CODES[key]
    elif label == 3:
        codes = _CODES["lung"]
    else:
        codes = _CODES["bone_sup" if c.region in ("CHEST",) else "bone_deep"]
    c.codes = codes
    _hard_facts(rng, c)
    return c


def _hard_facts(rng: random.Random, c: _Case) -> None:
    """Fill the neutral-English key facts that make the case hard (guideline rules)."""
    k = c.kind
    if k == "pneumothorax_chest_tube":
        c.complication = "ptx_drained"
        c.facts.append(rng.choice((
            f"a moderate pneumothorax developed after the biopsy and {_an(c.french)} {c.french} Fr "
            "chest "
            "drain was inserted, with re-expansion of the lung",
            f"post-biopsy CT showed an enlarging pneumothorax, so {_an(c.french)} {c.french} Fr "
            "pleural "
            "catheter was placed and connected to an underwater seal",
            f"pneumothorax after the biopsy, symptomatic, treated with {_an(c.french)} "
            f"{c.french} Fr chest "
            "tube in the same session",
        )))
    elif k == "bleeding_drain_after_biopsy":
        c.complication = "bleed_drained"
        c.facts.append(rng.choice((
            f"after the biopsy a perihepatic hematoma was seen and a {c.french} Fr drain was "
            "left in the perihepatic space",
            f"bleeding along the needle tract after the biopsy; a {c.french} Fr drainage "
            "catheter was placed next to the liver to monitor it",
        )))
    elif k == "negated_drain":
        if c.label == 3:
            c.complication = rng.choice(("small_ptx", "none"))
            c.facts.append(rng.choice((
                "no chest drain was needed",
                "no chest tube was inserted",
                "drainage was not required; no catheter was left",
            )))
        else:
            c.facts.append(rng.choice((
                "no drain was placed",
                "no catheter was left in situ",
                "drainage was not performed; no drain was left",
            )))
    elif k == "negated_biopsy":
        c.facts.append(rng.choice((
            "no biopsy was taken",
            "biopsy of the wall was deferred",
            "no tissue sample was obtained, fluid only",
        )))
    elif k == "aborted_biopsy":
        c.aborted = True
        c.complication = "none"
        reason = rng.choice((
            "the lesion could not be reached safely between the vessels",
            "the patient could not keep still or hold the position",
            "the lesion was no longer visible on the planning scan",
            "the patient withdrew consent on the table",
        ))
        if c.label == 3:
            reason = rng.choice((reason, "a pneumothorax developed before the needle reached "
                                 "the lesion"))
        c.facts.append(rng.choice((
            f"the biopsy was abandoned because {reason}; no sample was obtained",
            f"procedure aborted: {reason}. Biopsy not performed",
            f"the biopsy was not performed because {reason}",
        )))
    elif k == "aborted_drainage":
        c.aborted = True
        c.complication = "none"
        reason = rng.choice((
            "the collection was too small and septated on the planning scan",
            "the collection had largely resolved since the diagnostic CT",
            "there was no safe window because of bowel interposition",
        ))
        c.facts.append(rng.choice((
            f"drainage was abandoned because {reason}; no catheter was placed",
            f"procedure aborted: {reason}. No drainage performed",
        )))
    elif k == "lung_abscess_drainage":
        c.facts.append(rng.choice((
            f"the abscess cavity was drained with a {c.french} Fr pigtail catheter",
            f"a {c.french} Fr pigtail drain was left in the abscess cavity",
        )))
    elif k == "cyst_sclerotherapy":
        ml = rng.choice((10, 15, 20, 30))
        c.facts.append(rng.choice((
            f"the cyst was aspirated to dryness and {ml} mL of 96% ethanol was instilled for "
            "sclerotherapy, then aspirated after 20 minutes",
            f"after complete aspiration of the cyst, ethanol sclerotherapy with {ml} mL",
        )))
    elif k == "drainage_with_wall_sample":
        c.facts.append(rng.choice((
            "the collection was drained as planned; in addition one core of the thickened wall "
            "was taken",
            "after aspiration of the collection an 18G core of its enhancing rim was also sent "
            "for histology",
        )))
    elif k == "incidental_fluid_in_biopsy":
        c.facts.append(rng.choice((
            "a few mL of necrotic fluid were incidentally aspirated from the centre of the "
            "solid mass and sent for cytology; cores were taken from the solid enhancing part",
            "small amount of fluid came back through the introducer during the biopsy; solid "
            "cores were obtained from the enhancing wall of the mass",
        )))
    elif k == "chest_wall_component":
        c.facts.append(rng.choice((
            "the needle was placed in the chest-wall component of the mass; the lung "
            "parenchyma was not traversed",
            "only the extrapulmonary chest-wall part of the tumour was sampled; the aerated "
            "lung was not crossed",
        )))
    elif k == "rib_soft_tissue_mass":
        c.facts.append(rng.choice((
            "the soft-tissue mass outside the bone was sampled; the cortex was not traversed",
            "cores were taken from the extraosseous component only, without entering the rib",
        )))
    elif k == "pleural_mass":
        c.facts.append(rng.choice((
            "cores taken from the pleural mass; the underlying lung was not entered",
            "the pleural thickening was sampled tangentially",
        )))
    elif k == "transpulmonary_node":
        c.facts.append(rng.choice((
            "transpulmonary route: the needle crossed aerated lung to reach the node",
            "the node was reached through the lung (transpulmonary route); the lung itself "
            "was not sampled",
        )))
    elif k == "history_other_procedure":
        if c.label == 1:
            hist = rng.choice((
                "history of CT-guided liver biopsy last year (adenocarcinoma)",
                "previous lung biopsy in 2018",
                "a bone biopsy of the spine is planned for later",
            ))
        elif c.label == 2:
            hist = rng.choice((
                "history of drainage of a pelvic abscess two years ago",
                "previous CT-guided lung biopsy, non-diagnostic",
                "vertebral biopsy may follow if this is inconclusive",
            ))
        elif c.label == 3:
            hist = rng.choice((
                f"history of {c.side} empyema treated with drainage",
                "previous bone biopsy of L3 showed myeloma",
                "a liver lesion was biopsied in 2020",
            ))
        else:
            hist = rng.choice((
                "history of lung cancer diagnosed by CT-guided lung biopsy",
                "previous psoas abscess drainage",
                "liver biopsy is planned if this biopsy is negative",
            ))
        c.facts.append(hist)
    elif k == "spondylodiscitis":
        c.facts.append(rng.choice((
            "samples were taken from the disc space and the endplates for microbiology and "
            "histology",
            "the needle was passed into the disc; aspirate and bone cores from the endplate "
            "sent for culture",
        )))
    elif k == "bone_marrow":
        c.facts.append(rng.choice((
            "bone marrow aspirate and trephine core obtained from the iliac crest",
            "marrow aspirate smears and a trephine core of the iliac bone were taken",
        )))


# --------------------------------------------------------------------------- shared pieces

_COMPL_NEUTRAL = {
    "none": "no immediate complication",
    "small_ptx": "small apical pneumothorax, stable on the control scan, no treatment needed",
    "hemoptysis": "minor hemoptysis that settled spontaneously",
    "alveolar_bleed": "small perilesional alveolar haemorrhage on the control scan",
    "minor_hematoma": "small hematoma along the needle tract, no intervention",
    "vasovagal": "brief vasovagal episode, recovered with fluids",
    "pain": "procedural pain managed with analgesia",
    "transient_bacteraemia": "rigors after the procedure, blood cultures taken",
    "ptx_drained": "pneumothorax, treated with a chest drain as described",
    "bleed_drained": "tract bleeding, drain left as described",
}


def _proc_phrase(c: _Case, rng: random.Random) -> str:
    if c.proc == "drain":
        return rng.choice(("drainage", "catheter drainage", "percutaneous drainage",
                           "drain insertion"))
    if c.proc == "aspirate":
        return rng.choice(("aspiration", "needle aspiration", "percutaneous aspiration"))
    if c.proc == "fna":
        return rng.choice(("fine needle aspiration biopsy", "FNA biopsy", "fine-needle biopsy"))
    if c.proc == "marrow":
        return rng.choice(("bone marrow biopsy", "bone marrow aspiration and trephine"))
    if c.proc == "bone":
        return rng.choice(("bone biopsy", "core biopsy", "bone core biopsy"))
    return rng.choice(("core biopsy", "biopsy", "core needle biopsy", "percutaneous biopsy"))


def _an(n: int) -> str:
    """The article a speaker uses before a spoken number ("an 11", "a 10")."""
    return "an" if n in (8, 11, 18) or 80 <= n < 90 else "a"


def _is_drain(c: _Case) -> bool:
    return c.proc in ("drain", "aspirate")


# --------------------------------------------------------------------------- asr_dictation

_ASR_SWAPS = (
    (r"\bpleural\b", ("plural", "plural", "pleural")),
    (r"\beffusion\b", ("a fusion", "effusion", "infusion")),
    (r"\bpneumothorax\b", ("new ma thorax", "numo thorax", "new mo thorax", "pneumothorax")),
    (r"\bnodule\b", ("module", "nodule", "nodule")),
    (r"\bnecrotic\b", ("narcotic", "necrotic")),
    (r"\bpsoas\b", ("so as", "sew as", "psoas")),
    (r"\bcoaxial\b", ("co axial", "coaxial")),
    (r"\bpigtail\b", ("pig tail", "pigtail")),
    (r"\bSeldinger\b", ("sell dinger", "seldinger")),
    (r"\blidocaine\b", ("lido cane", "lidocaine")),
    (r"\bmidazolam\b", ("mid as a lamb", "midazolam")),
    (r"\bfentanyl\b", ("fenton ill", "fentanyl")),
    (r"\bformalin\b", ("for mellon", "formalin")),
    (r"\bhematoma\b", ("he ma toma", "hematoma")),
    (r"\bsubphrenic\b", ("sub frenic", "subphrenic")),
    (r"\bempyema\b", ("empire ma", "emp iema", "empyema")),
    (r"\bpurulent\b", ("pure lent", "purulent")),
    (r"\baspirated\b", ("a spirited", "aspirated", "aspirated")),
    (r"\badrenal\b", ("a renal", "adrenal")),
    (r"\bcortex\b", ("core tex", "cortex")),
    (r"\bcores\b", ("course", "cores", "cores")),
    (r"\bloculated\b", ("low culated", "loculated")),
    (r"\bascites\b", ("a sight ease", "ascites")),
    (r"\burinoma\b", ("your in oma", "urinoma")),
    (r"\blymphocele\b", ("limp o seal", "lymphocele")),
    (r"\bseroma\b", ("sir oma", "seroma")),
    (r"\bmediastinal\b", ("media steinal", "mediastinal")),
    (r"\bmediastinum\b", ("media stymie num", "mediastinum")),
    (r"\bperipancreatic\b", ("peri pan creatic", "peripancreatic")),
    (r"\bhemoptysis\b", ("him optisis", "hemoptysis")),
    (r"\bsclerotherapy\b", ("sclero therapy", "sclerotherapy")),
    (r"\bspondylodiscitis\b", ("spondylo discitis", "spondylodiscitis")),
    (r"\btrephine\b", ("tree fine", "trephine")),
    (r"\bgauge\b", ("gage", "gauge", "gauge")),
    (r"\bilium\b", ("ileum",)),
    (r"\bomental\b", ("oh mental", "omental")),
    (r"\bhilar\b", ("high lar", "hilar")),
    (r"\bbiloma\b", ("bi loma", "biloma")),
    (r"\bsubcarinal\b", ("sub carinal", "subcarinal")),
    (r"\bintercostal\b", ("inter costal", "intercostal")),
    (r"\bperihepatic\b", ("peri hepatic", "perihepatic")),
    (r"\bextraosseous\b", ("extra osseous", "extraosseous")),
)


def _asr_number(m: re.Match) -> str:
    s = m.group(0)
    if "." in s:
        a, b = s.split(".")
        return _words(int(a)) + " point " + " ".join(_ONES[int(d)] for d in b)
    return _words(int(s))


def _asr_transform(text: str, rng: random.Random) -> str:
    for pat, alts in _ASR_SWAPS:
        text = re.sub(pat, lambda _m, alts=alts: rng.choice(alts), text, flags=re.I)
    text = re.sub(r"\b(\d+)\s*Fr\b", r"\1 french", text)
    text = re.sub(r"\b(\d+)G\b", r"\1 gauge", text)
    text = re.sub(r"\bmL\b", "milliliters", text)
    text = re.sub(r"\bmm\b", rng.choice(("millimeter", "millimeters", "mm")), text)
    text = text.replace("%", " percent")
    text = re.sub(r"\b\d+(?:\.\d+)?\b", _asr_number, text)
    text = text.replace("CT-guided", rng.choice(("ct guided", "c t guided", "cat scan guided")))
    text = text.replace("-", " ")
    text = re.sub(r"\b([TLS])(\d+)\b", lambda m: m.group(1) + " " + _words(int(m.group(2))),
                  text)
    return text.lower()


def _spoken_punct(sentences: list[str], rng: random.Random) -> str:
    out: list[str] = []
    for i, s in enumerate(sentences):
        s = s.strip().rstrip(".")
        if rng.random() < 0.3:
            s = s.replace(", ", " comma ", 1)
        if i == len(sentences) - 1:
            end = rng.choice((" period", " period end of dictation", " period thank you",
                              " full stop", ""))
        else:
            end = rng.choice((" period", " period", " period", " full stop", " period new "
                              "paragraph", "", " next line"))
        out.append(s + end)
    joiner = " " if rng.random() < 0.5 else "\n"
    text = joiner.join(out)
    if joiner == " " and rng.random() < 0.4:
        text = text.replace(" new paragraph ", " new paragraph\n")
    return text


def _render_asr(c: _Case, rng: random.Random) -> str:
    proc = _proc_phrase(c, rng)
    sents: list[str] = []
    opener = rng.choice((
        f"this is doctor {c.operator} dictating a CT-guided {proc} of the {c.target}",
        f"dictation for CT-guided {proc} {c.target}",
        f"procedure colon CT-guided {proc} of {c.target}",
        f"okay this is a CT-guided {proc} of the {c.target}",
        f"CT-guided {proc} of the {c.target} dictated by doctor {c.operator}",
        f"exam CT-guided {proc} target {c.target}",
    ))
    sents.append(opener)
    if c.kind == "history_other_procedure":
        sents.append(rng.choice(("history ", "clinical history colon ")) + c.facts[0]
                     + ", " + c.indication)
    else:
        sents.append(rng.choice(("indication ", "clinical indication colon ", "the indication "
                                 "is ", "reason for exam ")) + c.indication)
    if rng.random() < 0.6:
        sents.append(rng.choice((
            "risks and benefits were discussed and written consent was obtained",
            "informed consent obtained after discussion of bleeding infection and "
            "pneumothorax",
            "consent was signed on the ward",
        )))
    sed = {
        "local": f"under local anaesthesia with {c.lidocaine_ml} mL of 1% lidocaine",
        "moderate": f"under moderate sedation with {c.midazolam_mg:g} mg midazolam and "
                    f"{c.fentanyl_ug} micrograms fentanyl plus local lidocaine",
        "general": "under general anaesthesia given by the anaesthetic team",
    }[c.sedation]
    sents.append(f"the patient was placed {c.position} and after a planning scan the "
                 f"{c.route} approach was chosen, {sed}")
    if c.aborted:
        sents.append(c.facts[0])
    elif _is_drain(c):
        gauge = f"{c.gauge} gauge"
        if rng.random() < 0.3:
            gauge = f"{c.gauge + 1} gauge scratch that {c.gauge} gauge"
        if c.proc == "drain":
            fr = f"{c.french} french"
            if rng.random() < 0.25:
                fr = f"{c.french + 2} french scratch that {c.french} french"
            sents.append(rng.choice((
                f"a {gauge} needle was advanced into the collection then over a wire using "
                f"Seldinger technique a {fr} pigtail drain was placed",
                f"using trocar technique a {fr} locking pigtail catheter was inserted into the "
                f"collection and its position confirmed on CT",
            )))
        else:
            sents.append(f"a {gauge} needle was advanced into the collection under CT guidance")
        sents.append(rng.choice((
            f"{c.volume} mL of {c.fluid} fluid was aspirated and sent for culture",
            f"we aspirated {c.volume} mL {c.fluid} fluid, sample to microbiology",
        )))
        if c.proc == "drain":
            sents.append(rng.choice(("the drain was sutured to the skin and connected to a bag",
                                     "catheter fixed to skin, free drainage")))
        else:
            sents.append(rng.choice(("no catheter was left, needle removed",
                                     "needle aspiration only")))
        sents += [f for f in c.facts if c.kind != "history_other_procedure"]
    else:
        cores = str(c.cores)
        if rng.random() < 0.25:
            cores = f"{c.cores + 1} scratch that {c.cores}"
        if c.proc == "bone":
            sents.append(f"{_an(c.gauge)} "
                         f"{c.gauge} gauge bone biopsy needle was advanced through the cortex "
                         f"into the lesion and {cores} bone cores were obtained")
        elif c.proc == "fna":
            sents.append(f"{cores} fine needle passes were made into the lesion with "
                         f"{_an(c.gauge)} {c.gauge} gauge needle, slides and cytology fluid "
                         "prepared")
        elif c.proc == "marrow":
            sents.append(f"{_an(c.gauge)} "
                         f"{c.gauge} gauge bone marrow needle was advanced into the iliac "
                         "bone")
        else:
            sents.append(rng.choice((
                f"a {c.coax} gauge coaxial needle was placed at the edge of the lesion and "
                f"{cores} cores were taken with {_an(c.gauge)} {c.gauge} gauge biopsy gun",
                f"through a {c.coax} gauge coaxial introducer {cores} core samples were "
                f"obtained, lesion measures {c.size_mm} mm",
            )))
        if c.label == 3:
            sents.append(rng.choice(("the pleura was crossed once", "single pleural pass",
                                     "the lung was entered once through the pleura")))
        sents += [f for f in c.facts if c.kind != "history_other_procedure"]
        sents.append(rng.choice(("samples in formalin to pathology",
                                 "specimens sent to histopathology")))
    sents.append("complications " + _COMPL_NEUTRAL[c.complication])
    if rng.random() < 0.5:
        sents.append(f"dose length product {c.dlp} milligray centimeter")
    sents.append(rng.choice((
        "the patient left the department in stable condition",
        "patient back to ward stable with routine observations",
        "bed rest for four hours",
    )))
    return _asr_transform(_spoken_punct(sents, rng), rng)


# --------------------------------------------------------------------------- non_native

_NN_SEDATION = {
    "local": ("Local anesthesia by xylocaine 1% {ml}ml was done.",
              "Under local anesthesia of lidocaine {ml}ml,"),
    "moderate": ("Sedation was made by midazolam {mid}mg and fentanyl {fen}ug, and local "
                 "anesthesia.", "Under sedation (midazolam {mid}mg, fentanyl {fen}mcg),"),
    "general": ("Procedure was done in general anesthesia.", "Under general anesthesia,"),
}


def _nn_target(t: str, rng: random.Random) -> str:
    if rng.random() < 0.6:
        t = re.sub(r"^(the )", "", t)
        t = t.replace(" in the ", " in ").replace(" of the ", " of ")
    return t


def _render_non_native(c: _Case, rng: random.Random) -> str:
    tgt = _nn_target(c.target, rng)
    lines: list[str] = []
    if _is_drain(c):
        title = rng.choice((
            f"CT guided drainage for {tgt}", f"Drainage of {tgt} under CT guide",
            f"Puncture and drainage for {tgt} by CT", f"CT-guided aspiration for {tgt}",
        ))
    elif c.label == 3:
        title = rng.choice((
            f"CT guided lung biopsy for {tgt}", f"Percutaneous needle biopsy to {tgt}",
            f"CT-guided puncture to lung tumor ({tgt})", f"Lung biopsy under CT guide, {tgt}",
        ))
    elif c.label == 4:
        title = rng.choice((
            f"CT guided bone biopsy for {tgt}", f"Bone biopsy to {tgt} under CT guide",
            f"Puncture biopsy of bone, {tgt}",
        ))
    else:
        title = rng.choice((
            f"CT guided biopsy for {tgt}", f"Needle biopsy to {tgt} under CT guide",
            f"Percutaneous biopsy of {tgt} by CT guidance", f"CT guide puncture of {tgt}",
        ))
    lines.append(title)
    if rng.random() < 0.5:
        lines.append(f"Operator: Dr. {c.operator}" + rng.choice(("", ", assisted by resident")))
    hist = c.facts[0] if c.kind == "history_other_procedure" else ""
    lines.append(rng.choice(("Purpose: ", "Indication: ", "Reason: ", "Objective: "))
                 + c.indication[0].upper() + c.indication[1:] + "."
                 + (f" Past history: {re.sub(r'^history of ', '', hist)}." if hist else ""))
    body: list[str] = []
    body.append(rng.choice((
        f"Patient was put in {c.position} position on CT table.",
        f"Patient position was {c.position}.",
        f"We make patient {c.position} position.",
    )))
    body.append(rng.choice((
        f"After plain CT for planning, puncture route was decided from {c.route} side.",
        f"Route of puncture was {c.route}, decided by CT.",
        f"We decided {c.route} approach by the planning scan.",
    )))
    sed = rng.choice(_NN_SEDATION[c.sedation]).format(
        ml=c.lidocaine_ml, mid=f"{c.midazolam_mg:g}", fen=c.fentanyl_ug)
    if c.aborted:
        body.append(sed if sed.endswith(".") else sed + " procedure was started.")
        body.append(c.facts[0][0].upper() + c.facts[0][1:] + ".")
    elif _is_drain(c):
        if c.proc == "drain":
            step = rng.choice((
                f"puncture was done to the collection with {c.gauge}G needle and drainage tube "
                f"{c.french}Fr was inserted by Seldinger.",
                f"{c.french}Fr pig-tail catheter was inserted to cavity by trocar method.",
                f"drainage tube ({c.french}Fr) was placed into {tgt} by Seldinger method.",
            ))
        else:
            step = rng.choice((
                f"puncture was done to the collection by {c.gauge}G needle, only aspiration.",
                f"{c.gauge}G needle was inserted to the cyst/collection and aspiration was done.",
            ))
        body.append((sed + " " + step) if not sed.endswith(".") else sed + " "
                    + step[0].upper() + step[1:])
        body.append(rng.choice((
            f"{c.fluid.capitalize()} fluid {c.volume}ml was aspirated and sent to culture "
            "examination.",
            f"Totally {c.volume}ml of {c.fluid} content was drained out.",
            f"We could aspirate {c.volume}ml {c.fluid} fluid. Bacterial culture was submitted.",
        )))
        if c.proc == "drain":
            body.append(rng.choice(("Tube was fixed on skin by suture.",
                                    "Catheter was fixed with suture and connected to bag.")))
        body += [f[0].upper() + f[1:] + "." for f in c.facts if not hist]
    else:
        if c.proc == "bone":
            step = rng.choice((
                f"bone needle {c.gauge}G was inserted through cortex to lesion, and {c.cores} "
                "specimens were taken.",
                f"by {c.gauge}G bone biopsy needle we penetrated cortex and took {c.cores} "
                "cores.",
            ))
        elif c.proc == "fna":
            step = rng.choice((
                f"aspiration cytology was done to {tgt} by {c.gauge}G needle for {c.cores} "
                "times.",
                f"fine needle {c.gauge}G was punctured to lesion, {c.cores} passes for cytology.",
            ))
        elif c.proc == "marrow":
            step = f"{c.gauge}G marrow needle was inserted to iliac bone."
        else:
            step = rng.choice((
                f"puncture was done to {tgt} with {c.gauge}G needle by coaxial method "
                f"({c.coax}G outer).",
                f"{c.coax}G introducer needle was advanced to lesion, and biopsy was done by "
                f"{c.gauge}G automatic gun for {c.cores} times.",
                f"we punctured to lesion (size {c.size_mm}mm) with {c.gauge}G cutting needle.",
            ))
        body.append((sed + " " + step) if not sed.endswith(".") else sed + " "
                    + step[0].upper() + step[1:])
        if c.proc not in ("bone", "marrow", "fna"):
            body.append(rng.choice((
                f"Totally {c.cores} specimens were taken and were fixed by formalin.",
                f"Specimen {c.cores} pieces, sent to pathology.",
                f"Tissue was obtained enough ({c.cores} cores).",
            )))
        body += [f[0].upper() + f[1:] + "." for f in c.facts if not hist]
    comp = {
        "none": rng.choice(("There was no complication happened.", "No complication.",
                            "Complication was not occurred.")),
        "small_ptx": "Minor pneumothorax was appeared, we observe it, no treatment.",
        "hemoptysis": "Patient had little hemoptysis, it was stopped soon.",
        "alveolar_bleed": "Small bleeding in lung around lesion was seen on CT after.",
        "minor_hematoma": "Small hematoma was appeared on the puncture route, no treatment.",
        "vasovagal": "Patient had vagal reflex, recovered by infusion.",
        "pain": "Patient complained pain, analgesic was given.",
        "transient_bacteraemia": "After procedure patient had shivering, blood culture done.",
        "ptx_drained": "Pneumothorax was treated by chest tube as above.",
        "bleed_drained": "Bleeding was managed, drain was kept as above.",
    }[c.complication]
    body.append(comp)
    body.append(rng.choice((
        "Patient returned to ward in stable condition.",
        "We have finished procedure without problem.",
        "Patient went back to ward by stretcher. Bed rest 3 hours.",
        "Vital was stable during procedure.",
    )))
    if rng.random() < 0.4:
        body.append(f"DLP {c.dlp} mGy*cm.")
    lines.append(" ".join(body) if rng.random() < 0.6 else "\n".join(body))
    text = "\n".join(lines)
    # Article dropping typical of writers whose language has no articles.
    text = re.sub(r"\b[Tt]he (?=[a-z])", lambda m: "" if rng.random() < 0.5 else m.group(0),
                  text)
    return text


# --------------------------------------------------------------------------- ris_fields


def _ris_exam(c: _Case) -> str:
    if _is_drain(c):
        verb = "DRAINAGE" if c.proc == "drain" else "ASPIRATION"
        return f"CT GUIDED {verb} {c.region}"
    if c.proc == "marrow":
        return "CT GUIDED BONE MARROW BX"
    if c.label == 4:
        return "CT GUIDED BONE BX"
    if c.label == 3:
        return "CT GUIDED LUNG BX"
    if c.kind == "chest_wall_component":
        return "CT GUIDED BX CHEST"
    return f"CT GUIDED BX {c.region}"


def _ris_upper(s: str) -> str:
    s = s.upper()
    for a, b in ((" WITH ", " W/ "), (" WITHOUT ", " W/O "), ("BIOPSY", "BX"),
                 ("PNEUMOTHORAX", "PTX"), ("LYMPH NODE", "LN"), ("APPROXIMATELY", "APPROX"),
                 ("CATHETER", "CATH"), ("SAMPLE", "SPEC")):
        s = s.replace(a, b)
    return s


def _render_ris(c: _Case, rng: random.Random) -> str:
    sep = rng.choice((" | ", "|", " ; "))
    acc = rng.randint(10**7, 10**8 - 1)
    order = rng.choice(("CTIR", "IRCT", "CTG", "XIR")) + str(rng.randint(10, 99))
    head = [f"ACC:{acc}", f"ORD:{order}", f"EXAM:{_ris_exam(c)}"]
    if rng.random() < 0.6:
        head.append("CPT:" + ",".join(c.codes))
    rng.shuffle(head)
    lines = [sep.join(head)]
    if rng.random() < 0.5:
        lines.append(f"OBR|1|{acc}|{order}^{_ris_exam(c)}|||{rng.choice(('R', 'S'))}|")
    lines.append(f"TARGET: {c.abbr}" + (f" ({c.size_mm}MM)" if rng.random() < 0.5 else ""))
    ind = _ris_upper(c.indication)
    if c.kind == "history_other_procedure":
        ind += "; HX: " + _ris_upper(c.facts[0])
    lines.append(rng.choice(("INDICATION: ", "CLIN HX: ", "REASON: ", "DX/INDIC: ")) + ind)
    if rng.random() < 0.5:
        lines.append("CONSENT: " + rng.choice(("WRITTEN, SIGNED", "Y", "OBTAINED/RISKS DISC")))
    sed = {"local": f"LOCAL LIDO 1% {c.lidocaine_ml}ML",
           "moderate": f"MOD SED MIDAZ {c.midazolam_mg:g}MG/FENT {c.fentanyl_ug}UG",
           "general": "GA (ANESTH)"}[c.sedation]
    lines.append(f"POS: {c.position.upper()}{sep}APPROACH: {c.route.upper()}{sep}ANES: {sed}")
    if c.aborted:
        lines.append("STATUS: " + rng.choice(("ABORTED", "INCOMPLETE", "CANCELLED ON TABLE")))
        lines.append("COMMENT: " + _ris_upper(c.facts[0]))
    elif _is_drain(c):
        dev = (f"{c.french}FR PIGTAIL" + rng.choice(("", " LOCKING", " (SELDINGER)", " TROCAR"))
               if c.proc == "drain" else f"{c.gauge}G NEEDLE, ASP ONLY")
        lines.append(f"DEVICE: {dev}")
        lines.append(f"OUTPUT: {c.volume}ML {c.fluid.upper()}{sep}"
                     + rng.choice(("MICRO: SENT", "C&S SENT", "CULT: Y")))
        for f in c.facts:
            if c.kind != "history_other_procedure":
                lines.append(rng.choice(("NOTE: ", "ADDL: ", "COMMENT: ")) + _ris_upper(f))
        if c.proc == "drain":
            lines.append("CATH: " + rng.choice(("SUTURED, TO BAG", "LEFT IN SITU, GRAVITY")))
    else:
        if c.proc == "bone":
            dev = f"{c.gauge}G BONE NEEDLE" + rng.choice(("", " + DRILL", " TRANSCORTICAL"))
        elif c.proc == "marrow":
            dev = f"{c.gauge}G MARROW NEEDLE"
        elif c.proc == "fna":
            dev = f"{c.gauge}G FNA"
        else:
            dev = f"{c.coax}G COAX / {c.gauge}G CNB"
        lines.append(f"DEVICE: {dev}{sep}SPEC: {c.cores}"
                     + rng.choice((" CORES", "X", " PASS(ES)")) + sep
                     + rng.choice(("PATH: FORMALIN", "HISTO", "PATH+MICRO")))
        for f in c.facts:
            if c.kind != "history_other_procedure":
                lines.append(rng.choice(("NOTE: ", "ADDL: ", "COMMENT: ")) + _ris_upper(f))
    comp = {"none": rng.choice(("NONE", "NIL", "NONE IMMED")),
            "small_ptx": "SMALL PTX, NO TX", "hemoptysis": "MINOR HEMOPTYSIS, SELF-LIM",
            "alveolar_bleed": "PERILESIONAL HEMORRHAGE, MINOR",
            "minor_hematoma": "SMALL TRACT HEMATOMA", "vasovagal": "VASOVAGAL, RESOLVED",
            "pain": "PAIN, ANALGESIA", "transient_bacteraemia": "RIGORS, BC SENT",
            "ptx_drained": "PTX -> CHEST DRAIN (SEE NOTE)",
            "bleed_drained": "TRACT BLEED -> DRAIN (SEE NOTE)"}[c.complication]
    lines.append(f"COMPL: {comp}")
    if rng.random() < 0.7:
        lines.append(f"DOSE: DLP {c.dlp} MGY*CM" + (f"{sep}CTDIVOL {rng.randint(3, 25)} MGY"
                                                   if rng.random() < 0.5 else ""))
    lines.append(f"RAD: {c.operator.upper()}" + rng.choice(("", " MD", "/SIGNED", " (ATT)")))
    if rng.random() < 0.4:
        tail = lines[2:-1]
        rng.shuffle(tail)
        lines = lines[:2] + tail + lines[-1:]
    return "\n".join(lines)


# --------------------------------------------------------------------------- typo_heavy

_ABBREV = (
    (r"\bbiopsy\b", ("bx", "bx", "biopsy")), (r"\bpneumothorax\b", ("ptx", "ptx", "pntx")),
    (r"\bpatient\b", ("pt", "pt", "pat")), (r"\bwith\b", ("w/", "w", "with")),
    (r"\bcatheter\b", ("cath", "catheter")), (r"\bno complication\w*\b", ("no compl", "nil")),
    (r"\blymph node\b", ("LN", "ln", "node")), (r"\bright\b", ("R", "rt", "right")),
    (r"\bleft\b", ("L", "lt", "left")), (r"\bsegment\b", ("seg", "s")),
    (r"\bpigtail\b", ("pig-tail", "pigtail", "pig tail")), (r"\blocal anaesthesia\b", ("LA",)),
    (r"\bapproximately\b", ("approx", "~")),
)
_PROTECT = re.compile(
    r"lung|lobe|pulm|lingul|bone|vertebr|sacr|iliac|rib|femur|stern|scapul|acetab|marrow|"
    r"disc|no|not|nil|without|abort|abandon|drain|aspirat|abscess|cyst|ethanol|pleura|"
    r"chest|wall|node|tube|cortex|endplate|history|hx|prev|plan|empyema|collection|fluid|tissue|perform|cath|biops|"
    r"^\d", re.I)


def _typo_word(w: str, rng: random.Random) -> str:
    if len(w) < 4 or _PROTECT.search(w) or not w.isalpha():
        return w
    i = rng.randrange(1, len(w) - 1)
    op = rng.random()
    if op < 0.35:
        return w[:i] + w[i + 1] + w[i] + w[i + 2:]
    if op < 0.6:
        return w[:i] + w[i] + w[i:]
    if op < 0.85:
        return w[:i] + w[i + 1:]
    keys = "qwertyuiopasdfghjklzxcvbnm"
    return w[:i] + rng.choice(keys) + w[i + 1:]


def _typo_transform(text: str, rng: random.Random, rate: float) -> str:
    for pat, alts in _ABBREV:
        text = re.sub(pat, lambda _m, alts=alts: rng.choice(alts), text, flags=re.I)
    out = []
    for tok in re.split(r"(\s+)", text):
        if tok.strip() and rng.random() < rate:
            tok = _typo_word(tok, rng)
        out.append(tok)
    text = "".join(out)
    text = re.sub(r"(?<=\w) (?=\w)", lambda m: "" if rng.random() < 0.03 else " ", text)
    text = re.sub(r"\. (?=\w)", lambda m: "." if rng.random() < 0.3 else ". ", text)
    return text.lower() if rng.random() < 0.7 else text


def _render_typo(c: _Case, rng: random.Random) -> str:
    proc = _proc_phrase(c, rng).replace("core needle biopsy", "cnb").replace(
        "fine needle aspiration biopsy", "fna")
    parts: list[str] = []
    parts.append(rng.choice((
        f"CT guided {proc} {c.target}",
        f"ct {proc} of {c.target}",
        f"{proc} under CT - {c.target}",
        f"CT-{proc}: {c.target}",
    )) + rng.choice(("", f" ({c.size_mm}mm)", f", dr {c.operator}")))
    hist = c.facts[0] if c.kind == "history_other_procedure" else ""
    parts.append(rng.choice(("ind: ", "indication ", "why: ", "")) + c.indication
                 + (f". hx {hist}" if hist else ""))
    sed = {"local": rng.choice((f"local anaesthesia {c.lidocaine_ml}ml lido 1%", "LA only")),
           "moderate": f"sedation midaz {c.midazolam_mg:g} + fent {c.fentanyl_ug}",
           "general": "GA"}[c.sedation]
    parts.append(f"{c.position}, {c.route} approach, {sed}")
    if c.aborted:
        parts.append(c.facts[0])
    elif _is_drain(c):
        if c.proc == "drain":
            parts.append(rng.choice((
                f"{c.french}F pigtail placed seldinger",
                f"{c.french} fr drain in via trocar",
                f"{c.gauge}g needle then wire, {c.french}fr pigtail catheter",
            )))
        else:
            parts.append(f"{c.gauge}g needle, aspiration only, no cath left")
        parts.append(rng.choice((f"{c.volume}ml {c.fluid} aspirated, sent micro",
                                 f"drained {c.volume} ml {c.fluid}, c+s sent")))
        parts += [f for f in c.facts if not hist]
    else:
        if c.proc == "bone":
            parts.append(f"{c.gauge}g bone needle thru cortex, {c.cores} cores")
        elif c.proc == "marrow":
            parts.append(f"{c.gauge}g jamshidi into iliac bone")
        elif c.proc == "fna":
            parts.append(f"{c.gauge}g fna x{c.cores} passes, cytology")
        else:
            parts.append(rng.choice((f"{c.coax}g coax, {c.gauge}g cnb x{c.cores}",
                                     f"{c.cores} cores w {c.gauge}g gun via {c.coax}g coax")))
        parts += [f for f in c.facts if not hist]
        if rng.random() < 0.6:
            parts.append(rng.choice(("to path", "formalin, to histo", "samples to lab")))
    parts.append({
        "none": rng.choice(("no complications", "no compl", "uneventful")),
        "small_ptx": "small pneumothorax on post scan, obs only",
        "hemoptysis": "minor haemoptysis, settled",
        "alveolar_bleed": "small perilesional bleed on ct",
        "minor_hematoma": "small haematoma at tract",
        "vasovagal": "vasovagal, ok after fluids",
        "pain": "pain, analgesia given",
        "transient_bacteraemia": "rigors post, bc taken",
        "ptx_drained": "pneumothorax drained as above",
        "bleed_drained": "bleed, drain left as above",
    }[c.complication])
    if rng.random() < 0.5:
        parts.append(rng.choice(("back to ward", "obs 4h", "bedrest 2h then home",
                                 "cxr at 4h")))
    if rng.random() < 0.3:
        parts.append(f"dlp {c.dlp}")
    joiner = rng.choice((". ", "\n", "; ", ". "))
    return _typo_transform(joiner.join(parts), rng, rate=rng.uniform(0.05, 0.14))


# --------------------------------------------------------------------------- us_procedure_note


def _render_us(c: _Case, rng: random.Random) -> str:
    proc = _proc_phrase(c, rng)
    title = rng.choice((
        f"CT-guided {proc} of {c.target}",
        f"CT-guided percutaneous {proc}, {c.target}",
        f"Computed tomography guided {proc} of the {c.target}",
    ))
    sec: list[tuple[str, str]] = []
    sec.append(("PROCEDURE", title + "."))
    if rng.random() < 0.5:
        sec.append(("ATTENDING", f"Dr. {c.operator}, MD" + rng.choice((
            "", f"; Fellow: Dr. {rng.choice(SURNAMES)}, MD"))))
    ind = c.indication[0].upper() + c.indication[1:] + "."
    if c.kind == "history_other_procedure":
        ind += " Relevant history: " + c.facts[0] + "."
    sec.append((rng.choice(("INDICATION", "CLINICAL INDICATION", "HISTORY")), ind))
    sec.append(("CONSENT", rng.choice((
        "The risks, benefits, and alternatives of the procedure, including bleeding, infection, "
        "and injury to adjacent structures, were discussed with the patient, and written "
        "informed consent was obtained.",
        "Informed consent was obtained from the patient after a detailed discussion of risks "
        "and benefits. All questions were answered.",
        "Written informed consent was obtained from the patient's health care proxy.",
    ))))
    if rng.random() < 0.6:
        sec.append(("TIME-OUT", "A universal protocol time-out was performed to confirm the "
                    "correct patient, procedure, and site."))
    sed = {
        "local": f"Local anesthesia only: {c.lidocaine_ml} mL of 1% lidocaine.",
        "moderate": f"Moderate (conscious) sedation with {c.midazolam_mg:g} mg of midazolam and "
                    f"{c.fentanyl_ug} mcg of fentanyl administered intravenously by a "
                    "radiology nurse under my direct supervision, with continuous monitoring of "
                    f"heart rate, blood pressure, and oxygen saturation. Intraservice time: "
                    f"{rng.randint(15, 60)} minutes.",
        "general": "General anesthesia was administered by the Department of Anesthesiology.",
    }[c.sedation]
    sec.append(("SEDATION" if rng.random() < 0.6 else "ANESTHESIA", sed))
    tech = [
        f"The patient was placed in the {c.position} position on the CT table. A limited "
        "noncontrast CT was obtained for planning and "
        f"{'an' if c.route[0] in 'aeiou' else 'a'} {c.route} approach was selected. The "
        "skin was prepped and draped in the usual sterile fashion.",
    ]
    if c.aborted:
        tech.append(c.facts[0][0].upper() + c.facts[0][1:] + ".")
    elif _is_drain(c):
        if c.proc == "drain":
            tech.append(rng.choice((
                f"Under intermittent CT guidance, {_an(c.gauge)} "
                f"{c.gauge}-gauge needle was advanced into "
                f"the collection. A guidewire was placed and, after serial dilation, a "
                f"{c.french} French multipurpose locking pigtail drainage catheter was "
                "positioned within the collection.",
                f"Using trocar technique, a {c.french} French locking pigtail catheter was "
                "advanced into the collection under CT guidance; the loop was formed and "
                "locked.",
            )))
        else:
            tech.append(f"Under CT guidance, {_an(c.gauge)} "
                        f"{c.gauge}-gauge needle was advanced into the "
                        "collection and the contents were aspirated. No catheter was placed.")
        tech.append(f"Approximately {c.volume} mL of {c.fluid} fluid was aspirated; a sample "
                    "was sent for Gram stain and culture.")
        tech += [f[0].upper() + f[1:] + "." for f in c.facts
                 if c.kind != "history_other_procedure"]
        if c.proc == "drain":
            tech.append("The catheter was secured to the skin with a StatLock device and "
                        "attached to bulb suction." if rng.random() < 0.5 else
                        "The catheter was sutured in place and connected to gravity drainage.")
    else:
        if c.proc == "bone":
            tech.append(f"Under CT guidance, {_an(c.gauge)} "
                        f"{c.gauge}-gauge bone biopsy needle was advanced "
                        f"through the cortex into the lesion. {c.cores} core specimens were "
                        "obtained" + rng.choice((" using a powered drill.", ".")))
        elif c.proc == "fna":
            tech.append(f"Under intermittent CT guidance, {c.cores} fine-needle aspiration "
                        f"passes were made into the {c.size_mm} mm lesion using "
                        f"{_an(c.gauge)} {c.gauge}-gauge needle. Smears and a cell block were "
                        "prepared for cytopathology.")
        elif c.proc == "marrow":
            tech.append(f"Under CT guidance, {_an(c.gauge)} "
                        f"{c.gauge}-gauge bone marrow needle was advanced "
                        "into the iliac bone.")
        else:
            tech.append(f"Under intermittent CT guidance, a {c.coax}-gauge coaxial introducer "
                        f"needle was advanced to the margin of the {c.size_mm} mm lesion. "
                        f"{c.cores} x {c.gauge}-gauge core specimens were obtained"
                        + rng.choice((" and placed in formalin.", ", with on-site cytology "
                                      "confirming adequacy.", " and sent to pathology.")))
        tech += [f[0].upper() + f[1:] + "." for f in c.facts
                 if c.kind != "history_other_procedure"]
        if c.label == 3 and rng.random() < 0.5:
            tech.append("The coaxial needle was removed and the patient was placed puncture-"
                        "side down.")
    sec.append(("TECHNIQUE" if rng.random() < 0.7 else "DESCRIPTION OF PROCEDURE",
                " ".join(tech)))
    if rng.random() < 0.6:
        sec.append(("FINDINGS", rng.choice((
            f"Planning CT demonstrates the {c.target}, measuring up to {c.size_mm} mm.",
            f"Redemonstration of the {c.target}.",
            "Post-procedure images as above.",
        ))))
    if rng.random() < 0.5 and not c.aborted:
        spec = ("Fluid for culture." if _is_drain(c) else "Core specimens to surgical "
                "pathology.")
        sec.append(("SPECIMENS", spec))
    if rng.random() < 0.5:
        sec.append(("ESTIMATED BLOOD LOSS", rng.choice(("Minimal.", "Less than 5 mL.", "None."))))
    sec.append(("COMPLICATIONS", {
        "none": rng.choice(("None immediate.", "No immediate complications.", "None.")),
        "small_ptx": "Small pneumothorax, stable on post-procedure imaging; no intervention "
                     "required.",
        "hemoptysis": "Minor self-limited hemoptysis.",
        "alveolar_bleed": "Small perilesional pulmonary hemorrhage.",
        "minor_hematoma": "Small hematoma along the needle tract, no intervention.",
        "vasovagal": "Transient vasovagal reaction, resolved with IV fluids.",
        "pain": "Procedural pain controlled with oral analgesia.",
        "transient_bacteraemia": "Post-procedure rigors; blood cultures drawn.",
        "ptx_drained": "Pneumothorax, managed as described above.",
        "bleed_drained": "Tract bleeding, managed as described above.",
    }[c.complication]))
    if rng.random() < 0.5:
        sec.append(("RADIATION DOSE", f"DLP {c.dlp} mGy-cm."))
    lead = title if title.startswith("CT") else title[0].lower() + title[1:]
    imp = [rng.choice(("Technically successful ", "Successful ")) + lead + "."
           if not c.aborted else "Unsuccessful attempt; see technique."]
    if c.kind in ("pneumothorax_chest_tube", "bleeding_drain_after_biopsy", "negated_drain",
                  "negated_biopsy") and rng.random() < 0.6:
        imp.append(c.facts[0][0].upper() + c.facts[0][1:] + ".")
    imp.append(rng.choice(("Follow-up of pathology per the referring team.",
                           "Routine post-procedure care; results to the referring service.",
                           "Drain care instructions given." if c.proc == "drain"
                           else "Bed rest for 2 hours.")))
    sec.append(("IMPRESSION", "\n".join(f"{i + 1}. {s}" for i, s in enumerate(imp))))
    sec.append(("ATTESTATION", rng.choice((
        f"I, Dr. {c.operator}, was present for and performed the entire procedure.",
        f"Attending attestation: Dr. {c.operator} was present for all key portions of the "
        "procedure.",
        "I personally performed the procedure and reviewed the images.",
    ))))
    colon = rng.choice((": ", ":\n"))
    return "\n\n".join(f"{h}{colon}{b}" for h, b in sec)


_RENDERERS = {
    "asr_dictation": _render_asr,
    "non_native": _render_non_native,
    "ris_fields": _render_ris,
    "typo_heavy": _render_typo,
    "us_procedure_note": _render_us,
}


# --------------------------------------------------------------------------- public API


def generate_unseen_english_reports(n: int, seed: int, *, styles=None) -> list[CohortRow]:
    """``n`` evaluation-only reports in held-out English styles, sorted by date.

    Labels follow the guideline mix (drainage 30 %, soft-tissue biopsy 30 %, lung 25 %,
    bone 15 %); about 16 % are hard cases named in ``hard_case``. Styles cycle in a
    shuffled order so each gets a fair share.
    """
    chosen = _chosen_styles(styles, UNSEEN_EN_STYLES, "unseen English styles")
    rng = random.Random(seed)
    labels = [lab for lab, _ in LABEL_MIX]
    weights = [w for _, w in LABEL_MIX]
    start = datetime.date(2019, 1, 1)
    span = (datetime.date(2024, 12, 31) - start).days
    style_seq: list[str] = []
    drafts = []
    for i in range(n):
        if i % len(chosen) == 0:
            style_seq = list(chosen)
            rng.shuffle(style_seq)
        style = style_seq[i % len(chosen)]
        label = rng.choices(labels, weights)[0]
        kind = ""
        if rng.random() < HARD_SHARE:
            kind = rng.choice([k for k, labs in HARD_KINDS.items() if label in labs])
        case = _build_case(rng, label, kind)
        text = _RENDERERS[style](case, rng)
        lo, hi = (40, 88) if label in (3, 4) else (22, 86)
        drafts.append((
            start + datetime.timedelta(days=rng.randint(0, span)),
            f"{rng.randint(10**7, 10**8 - 1)}", rng.choice(("M", "F")), rng.randint(lo, hi),
            text, label, kind, style,
        ))
    drafts.sort(key=lambda d: d[0])
    return [
        CohortRow(accession=f"UEN{i:06d}", patient_id=pid, sex=sex, age=age,
                  procedure_date=date, text=text, label=label, split="unassigned",
                  hard_case=kind, style=style)
        for i, (date, pid, sex, age, text, label, kind, style) in enumerate(drafts, start=1)
    ]
