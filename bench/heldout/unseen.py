"""Held-out report styles: a proxy for other hospitals' reports, for evaluation only.

Why: the classifier is trained on ``ctir_demo.cohort`` reports, which come in 10 house
styles. A test split of those same styles says little about a report from another
hospital, which lays the page out differently (forms, RIS exports, handover notes) and
names the same things with other words ("tissue sampling", "locking loop catheter",
"infected collection"). This module writes the same clinical cases as the cohort
(``cohort._build_case``: same labels, same hard-case twists) in styles and a vocabulary
the training generator never produces. The drop from the cohort test split to these
reports estimates how much a model leans on house wording.

Rules kept here: the label is the case's label, never re-derived from the text; every
key fact of a hard case (complication managed, negation, abort, tissue sampled, history
of another category) is rendered; the synonym layer only swaps words of the same
meaning and never touches negations. Nothing in ``cohort`` imports this module, so
``generate_cohort`` and ``generate_reports`` (the training data) never see these styles.

Pure standard library; every random draw goes through one ``random.Random`` instance.
"""

from __future__ import annotations

import datetime
import random
import re
from collections.abc import Callable

from ctir_demo.cohort import (
    _AN_RE,
    _SPACES_RE,
    COHORT_END,
    COHORT_START,
    CohortRow,
    _build_case,
    _Case,
    _chosen_styles,
    _extra_rows,
    _w,
)

UNSEEN_STYLES: tuple[str, ...] = (
    "synoptic",
    "impression_first",
    "handover",
    "telegraphic_codes",
    "verbose_academic",
    "british_narrative",
)

# How often each synonym rule fires per report, by style. Different rates make the
# styles differ from each other too, not only from the training styles.
_REWORD_RATE: dict[str, float] = {
    "synoptic": 0.6,
    "impression_first": 0.7,
    "handover": 0.75,
    "telegraphic_codes": 0.55,
    "verbose_academic": 0.9,
    "british_narrative": 0.8,
}

Lexicon = Callable[[str], str]

# --------------------------------------------------------------------- synonym layer

# (regex, replacements), case-insensitive, applied in this order; a report picks one
# replacement per rule so that its terminology stays consistent. Longer phrases come
# first, and replacements avoid words a later rule would rewrite into nonsense. No rule
# matches "no", "not", "nil" or "without": negations must survive.
_WORD_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"\bunder CT guidance\b", ("with CT control", "using CT navigation",
                                "under computed tomography control")),
    (r"\bCT[- ]guided\b", ("CT-directed", "CT-navigated", "CT-controlled")),
    (r"\bCT drain\b", ("CT evac", "CT cath. evacuation")),
    (r"\bPCD\b", ("perc. evacuation", "perc. cath. evac")),
    (r"\b(?:chest|pleural) (?:drain|tube)\b", ("intercostal catheter", "thoracostomy tube",
                                               "pleural catheter")),
    (r"\b(?:locking )?pigtail\b", ("locking loop", "loop-locking", "self-retaining loop")),
    (r"\bpercutaneous catheter drainage\b", ("percutaneous catheter evacuation",
                                             "catheter placement for evacuation")),
    (r"\bfree drainage\b", ("open flow", "gravity outflow")),
    (r"\bdrainage bag\b", ("collection bag", "outflow bag")),
    (r"\bdrainage catheter\b", ("evacuation catheter", "outflow catheter")),
    (r"\bcatheter drainage\b", ("catheter evacuation", "tube decompression")),
    (r"\bdrainage of\b", ("catheter placement for evacuation of", "percutaneous evacuation of",
                          "catheter decompression of")),
    (r"\bdrainage\b", ("evacuation", "catheter evacuation", "decompression")),
    (r"\bdrainable\b", ("evacuable", "accessible")),
    (r"\bdrained\b", ("evacuated", "decompressed", "emptied")),
    (r"\bto drain\b", ("to evacuate", "to decompress")),
    (r"\bdrain\b", ("catheter", "tube")),
    # Fine-needle aspiration is a biopsy: it must never become an "evacuation".
    (r"\bfine-needle aspiration\b", ("thin-needle aspiration", "fine-needle aspiration")),
    (r"(?<!fine-needle )(?<!thin-needle )(?<!marrow )\baspiration\b",
     ("needle evacuation", "needle decompression", "aspiration")),
    (r"\baspirated\b", ("evacuated", "aspirated")),
    (r"\bbone (?:biopsy )?needle\b", ("trephine needle", "osseous trephine")),
    (r"\bbone (biopsy|lesion|metastas[ie]s|tumour|mets|destruction|windows?|scan|involvement)\b",
     (r"osseous \1", r"skeletal \1")),
    (r"\bbone marrow\b", ("marrow", "haematopoietic marrow")),
    (r"\blung (biopsy|cancer|lesion|mass|abscess|parenchyma|adenocarcinoma|bases|ca|nodule)\b",
     (r"pulmonary \1",)),
    (r"\baerated lung\b", ("aerated parenchyma", "aerated lung tissue")),
    (r"\bre-biopsy\b", ("repeat sampling", "second sampling")),
    (r"\bpost-biopsy\b", ("post-procedure", "post-sampling")),
    (r"\bbiopsy side\b", ("punctured side", "sampled side")),
    (r"\bbiopsy gun\b", ("automated cutting device", "spring-loaded cutting device")),
    (r"\bbiopsy needle\b", ("cutting needle", "sampling needle")),
    (r"\bcore needle biopsy\b", ("tru-cut sampling", "cutting-needle sampling")),
    (r"\bneedle biopsy\b", ("needle sampling", "percutaneous sampling")),
    (r"\bcore biops(?:y|ies)\b", ("core samples", "tru-cut samples")),
    (r"\bbiopsies\b", ("tissue samples", "samples")),
    (r"\bbiopsied\b", ("sampled", "needled")),
    (r"\bbiopsy\b", ("tissue sampling", "sampling")),
    (r"\bbx\b", ("sampling", "samp.", "TS")),
    (r"\bTTNB\b", ("transthoracic needle sampling", "TT sampling")),
    (r"\bBMAT\b", ("marrow aspirate/trephine", "marrow trephine")),
    (r"\blesions\b", ("abnormalities", "foci")),
    (r"\blesion\b", ("abnormality", "focus")),
    (r"\b(solid|part-solid|ground-glass|spiculated|subsolid|pulmonary) nodule\b",
     (r"\1 opacity", r"\1 density")),
    (r"\bnodule\b", ("nodular focus", "small nodular mass")),
    (r"\b(liver|perinephric|psoas|pelvic|subphrenic|appendiceal|perianastomotic|lung) abscess\b",
     (r"infected \1 collection", r"\1 pus collection")),
    (r"\babscess\b", ("infected collection", "pus collection")),
    (r"\bempyema\b", ("pyothorax", "infected pleural collection")),
    (r"\bhaematoma\b", ("hematoma", "blood collection")),
    (r"\bhaemorrhage\b", ("bleeding", "hemorrhage")),
    (r"\bhaemoptysis\b", ("hemoptysis", "coughing of blood")),
    (r"\bvertebral body\b", ("vertebra", "vertebral corpus")),
    (r"\bpneumothorax\b", ("PNX", "pleural air leak")),
    (r"\blymph node\b", ("node", "lymph gland")),
    (r"\blymphadenopathy\b", ("adenopathy", "nodal enlargement")),
    (r"\blytic\b", ("osteolytic", "lucent")),
    (r"\bsclerotic\b", ("osteosclerotic", "blastic")),
    (r"\bhistology\b", ("histopathology", "tissue diagnosis", "pathology")),
    (r"\bmicrobiology\b", ("bacteriology", "microbiological culture")),
    (r"\bcytology\b", ("cytopathology", "cytological assessment")),
    (r"\bNo complications\b", ("No adverse events", "Nil adverse events")),
    (r"\bNo immediate complications?\b", ("No early adverse event", "Nothing untoward")),
    (r"\bcomplications?\b", ("adverse event", "untoward event")),
    (r"\buncomplicated\b", ("event-free", "incident-free")),
    (r"\buneventful\b", ("event-free", "incident-free")),
    (r"\bcoaxial introducer\b", ("guiding cannula", "outer guide cannula")),
    (r"\bintroducer\b", ("guide cannula", "outer cannula")),
    (r"\bSeldinger technique\b", ("over-the-wire technique", "wire-guided technique")),
    (r"\bSeldinger\b", ("over-the-wire", "wire-guided")),
    (r"\btrocar technique\b", ("direct trocar puncture", "one-step trocar method")),
    (r"\bguidewire\b", ("wire", "guiding wire")),
    (r"\bcores\b", ("tissue cylinders", "specimens")),
    (r"\bformalin\b", ("formaldehyde", "formol")),
    (r"\bsent (?:for|to)\b", ("forwarded for", "submitted for", "dispatched for")),
    (r"\bobtained\b", ("procured", "acquired", "secured")),
    (r"\bwas advanced\b", ("was passed", "was navigated")),
    (r"\bwas inserted\b", ("was sited", "was introduced")),
    (r"\bwas placed\b", ("was positioned", "was sited")),
    (r"\bwere taken\b", ("were harvested", "were acquired")),
    (r"\bPlanning CT\b", ("Pre-procedural CT", "Scout CT", "Initial CT")),
    (r"\b(?:shows|demonstrates)\b", ("reveals", "depicts")),
    (r"\bmetastasis\b", ("secondary deposit", "metastatic deposit")),
    (r"\bmetastases\b", ("secondaries", "metastatic deposits")),
    (r"\benlarged\b", ("bulky", "pathologically enlarged")),
    (r"\bsclerotherapy\b", ("sclerosant instillation", "sclerosis")),
    (r"\bspondylodiscitis\b", ("discitis-osteomyelitis", "infectious spondylitis")),
    (r"\b(?:aborted|abandoned)\b", ("discontinued", "terminated early")),
    (r"\bdeferred\b", ("postponed", "held over")),
    (r"\bnot performed\b", ("not carried out", "not undertaken")),
)
_WORD_RES = tuple((re.compile(p, re.I), reps) for p, reps in _WORD_RULES)

# Abbreviations are case-sensitive and replaced literally (no case matching).
_LITERAL_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"\bPTX\b", ("PNX", "pnx")),
    (r"\bLN\b", ("node", "nd.")),
    (r"\bFNA\b", ("FNAC", "thin-needle asp.")),
    (r"\bcompl\.", ("AE", "adv. ev.")),
    (r"\bhx\b", ("PMH", "bg")),
    (r"\bs/p\b", ("post", "after")),
    (r"\bhisto\b", ("path", "HP")),
)
_LITERAL_RES = tuple((re.compile(p), reps) for p, reps in _LITERAL_RULES)

# Lobes: spelled out where the cohort abbreviates and the other way round.
_LOBE_RE = re.compile(r"\b(right|left) (upper|middle|lower) lobe\b|\b([RL])([UML])L\b")
_LOBE_FORMATS = ("{side} {part} lobe", "{s} {part} lobe", "{st} {p}L", "{side} {p}L")
# A side word before an anatomical word; "was left", "left in situ" are not sides.
_SIDE_RE = re.compile(
    r"(?<!was )(?<!were )(?<!been )(?<!is )(?<!be )\b([Rr]ight|[Ll]eft)\b"
    r"(?= (?!(?:in|on|for|to|with|as|the|a|an|and|or|at|side|untouched|alone|until|after|"
    r"free|open|overnight)\b)[a-z])"
)
_SIDE_FORMATS = ({"right": "R", "left": "L"}, {"right": "Rt", "left": "Lt"},
                 {"right": "rt.", "left": "lt."}, {"right": "right", "left": "left"})
_REPEAT_RE = re.compile(
    r"\b(needle|catheter|core|sampling|tube|collection|percutaneous) \1\b", re.I)
_A_VOWEL_RE = re.compile(r"\b([Aa]) (?=[aeio][a-z])")
_AN_CONSONANT_RE = re.compile(r"\b([Aa])n (?=[b-df-hj-np-tv-z][a-z])")


def _same_case(src: str, rep: str) -> str:
    """Keep the matched text's capitalisation ("Biopsy" -> "Tissue sampling")."""
    if len(src) > 1 and src.isupper():
        return rep.upper()
    if src[:1].isupper():
        return rep[:1].upper() + rep[1:]
    return rep


def _lobe_sub(fmt: str) -> Callable[[re.Match], str]:
    def sub(m: re.Match) -> str:
        if m.group(1):
            side, part = m.group(1), m.group(2)
        else:
            side = "right" if m.group(3) == "R" else "left"
            part = {"U": "upper", "M": "middle", "L": "lower"}[m.group(4)]
        return fmt.format(side=side, part=part, s=side[0].upper(), p=part[0].upper(),
                          st=f"{side[0].upper()}t")
    return sub


def _lexicon(rng: random.Random, rate: float) -> Lexicon:
    """One report's vocabulary: which synonym rules fire and with which replacement."""
    words = [(p, rng.choice(reps)) for p, reps in _WORD_RES if rng.random() < rate]
    literals = [(p, rng.choice(reps)) for p, reps in _LITERAL_RES if rng.random() < rate]
    lobe = rng.choice(_LOBE_FORMATS)
    side = rng.choice(_SIDE_FORMATS) if rng.random() < rate else _SIDE_FORMATS[-1]

    def apply(text: str) -> str:
        for pattern, rep in words:
            text = pattern.sub(lambda m, r=rep: _same_case(m.group(0), m.expand(r)), text)
        for pattern, rep in literals:
            text = pattern.sub(rep, text)
        text = _REPEAT_RE.sub(r"\1", text)  # "needle needle sampling" from two rules
        text = _LOBE_RE.sub(_lobe_sub(lobe), text)
        text = _SIDE_RE.sub(lambda m: _same_case(m.group(1), side[m.group(1).lower()]), text)
        # Synonyms can leave "a abnormality" or "an bulky node" behind.
        text = _A_VOWEL_RE.sub(lambda m: m.group(1) + "n ", text)
        return _AN_CONSONANT_RE.sub(lambda m: m.group(1) + " ", text)

    return apply


# ---------------------------------------------------------------- facts of the case


def _keys(c: _Case, slot: str, short: bool = False) -> list[str]:
    return [brief if short else full for s, full, brief in c.key if s == slot]


def _sentence(s: str) -> str:
    s = s.strip()
    if not s:
        return s
    s = s[:1].upper() + s[1:]
    return s if s[-1] in ".!?" else s + "."


def _lc(s: str) -> str:
    return s if len(s) > 1 and s[1].isupper() else s[:1].lower() + s[1:]


def _title_phrase(c: _Case) -> str:
    """The title as a noun phrase ("Ultrasound was not feasible; CT-guided ..." loses its
    first clause) to embed in a sentence of our own."""
    return c.title.split("; ")[-1]


def _followup(c: _Case) -> str:
    """Aftercare, except a drain's ("flush the catheter") when no drain went in."""
    return "" if c.hard == "aborted" and c.label == 1 else c.followup


def _performed(c: _Case) -> dict[str, bool]:
    """What was actually done, from the case's facts (not its label): a form ticks these.

    A lung biopsy with a chest drain ticks both sampling and catheter; a cyst aspiration
    ticks no catheter left; an aborted session ticks nothing and "completed: no".
    """
    done = c.hard != "aborted"
    catheter = c.label == 1 and "pigtail" in c.device and done
    return {
        "sampling": done and (c.label != 1 or c.hard == "biopsy_and_aspiration"),
        "catheter": catheter,
        "needle_evacuation": done and c.label == 1 and not catheter,
        "fluid_aspirated": done and c.label != 1 and c.hard == "biopsy_and_aspiration",
        "sclerosant": c.hard == "cyst_sclerotherapy",
        "left_in_situ": catheter or (c.hard == "complication" and c.label != 1),
        "completed": done,
    }


_REGIONS = (
    ("Thorax", r"lobe|lingula|lung|pleura|chest wall|rib\b|mediastin|subcarinal|paratracheal|"
               r"hilar|AP window|empyema|sternum|manubrium|scapula|[RL][UML]L\b"),
    ("Spine", r"\b[TLC]\d|\bS[12]\b|sacr|disc\b|vertebr|pedicle|posterior elements"),
    ("Pelvis", r"iliac|pelvi|acetabul|pubic|ischi|inguinal|lymphocele|buttock|gluteus"),
    ("Limb", r"femur|femoral|humerus|tibia|thigh|vastus|adductor|axilla"),
    ("Head/neck", r"skull|calvari|supraclavicular|parietal|frontal|occipital"),
)
_REGION_RES = tuple((name, re.compile(p, re.I)) for name, p in _REGIONS)


def _region(c: _Case) -> str:
    where = f"{c.target} {c.title}"
    for name, pattern in _REGION_RES:
        if pattern.search(where):
            return name
    return "Abdomen"


def _specimens(c: _Case) -> set[str]:
    text = " ".join(c.sample).lower()
    found = set()
    for name, pattern in (("Histopathology", r"histo|formalin|patholog|cores?\b|trephine"),
                          ("Cytopathology", r"cytolog|smear|cell block"),
                          ("Culture", r"microbiolog|culture"),
                          ("Biochemistry", r"creatinine|amylase|bilirubin|biochem|cell count")):
        if re.search(pattern, text):
            found.add(name)
    return found


_NO_EVENT_RE = re.compile(r"^(no |uncomplicated|uneventful|the patient tolerated|control scan|"
                          r"post-[a-z]+ ct: no)", re.I)


def _adverse(c: _Case) -> str:
    """The adverse-event box to tick, read from the first complication sentence."""
    first = c.compl[0] if c.compl else ""
    if not first or _NO_EVENT_RE.match(first):
        return "None"
    low = first.lower()
    if "pneumothorax" in low:
        return "PNX"
    if re.search(r"haemat|bleed|haemorrh|ooz|blood|haemoptysis", low):
        return "Bleeding"
    return "Other"


# -------------------------------------------------------------------------- styles

_BOXES = (("[x]", "[ ]"), ("(X)", "( )"), ("[*]", "[ ]"), ("[X]", "[_]"))


def _ticks(box: tuple[str, str], options) -> str:
    on, off = box
    return "  ".join(f"{on if ticked else off} {name}" for name, ticked in options)


def _synoptic_fields(c: _Case, lex: Lexicon, box: tuple[str, str]) -> list[tuple[str, str, bool]]:
    """(field, value, must_keep); must_keep fields carry the title or a key fact."""
    done = _performed(c)
    region, adverse, specimens = _region(c), _adverse(c), _specimens(c)
    fluid = any("aspirat" in s.lower() for s in c.sample + _keys(c, "technique"))
    gen = c.sedation_short == "GA"
    sedated = "midaz" in c.sedation_short
    history = " ".join(h for h in [c.history, *_keys(c, "history")] if h)
    return [
        ("Requested procedure", lex(c.title), True),
        ("Procedure type", _ticks(box, (
            ("Tissue sampling", done["sampling"]), ("Catheter evacuation", done["catheter"]),
            ("Needle evacuation", done["needle_evacuation"]),
            ("Sclerosant", done["sclerosant"]))), True),
        ("Body region", _ticks(box, [(r, r == region) for r in
                                     ("Thorax", "Abdomen", "Pelvis", "Spine", "Limb",
                                      "Head/neck")]), False),
        ("Site (free text)", lex(c.target), True),
        ("Laterality", _ticks(box, (("Right", c.side == "right"), ("Left", c.side == "left"),
                                    ("N/A", not c.side))), False),
        ("Clinical question", lex(c.indication_short), False),
        ("Relevant history", lex(history) or "none recorded", bool(_keys(c, "history"))),
        ("Patient position", c.position, False),
        ("Anaesthesia", _ticks(box, (("Local", bool(c.la)), ("Sedation", sedated),
                                     ("General", gen))), False),
        ("Device(s)", lex(c.device), False),
        ("Procedure completed", _ticks(box, (("Yes", done["completed"]),
                                             ("No", not done["completed"]))), True),
        ("Procedural notes", lex(" ".join(c.access + c.sample + _keys(c, "technique"))), True),
        ("Fluid withdrawn", _ticks(box, (("Yes", fluid), ("No", not fluid))), False),
        ("Specimens", _ticks(box, [(s, s in specimens) for s in
                                   ("Histopathology", "Cytopathology", "Culture",
                                    "Biochemistry")] + [("None", not specimens)]), False),
        ("Catheter/tube left in situ", _ticks(box, (("Yes", done["left_in_situ"]),
                                                    ("No", not done["left_in_situ"]))), False),
        ("Adverse events", _ticks(box, [(a, a == adverse) for a in
                                        ("None", "PNX", "Bleeding", "Other")]), True),
        ("Adverse event details", lex(" ".join(c.compl + _keys(c, "outcome"))), True),
        ("Radiation", c.dose_short, False),
        ("Aftercare", lex(_followup(c)), False),
        ("Operator", c.operator, False),
    ]


def _render_synoptic(rng: random.Random, c: _Case, date: datetime.date) -> str:
    """A checklist form: ticks follow what was done, the free text says what was asked."""
    lex = _lexicon(rng, _REWORD_RATE["synoptic"])
    box = rng.choice(_BOXES)
    layout = rng.choice(("colon", "dots", "stacked"))
    head = rng.choice(("INTERVENTIONAL RADIOLOGY SYNOPTIC RECORD", "IR procedure form v3.2",
                       "CT INTERVENTION - STRUCTURED DATA SET",
                       f"Image-guided procedure checklist ({date:%d/%m/%Y})"))
    lines = [head]
    for field, value, keep in _synoptic_fields(c, lex, box):
        if not value or (not keep and rng.random() < 0.15):
            continue
        if layout == "colon":
            lines.append(f"{field}: {value}")
        elif layout == "dots":
            lines.append(f"{field} {'.' * max(2, 28 - len(field))} {value}")
        else:
            lines.append(f"{field.upper()}\n    {value}")
    return "\n".join(lines)


def _render_impression_first(rng: random.Random, c: _Case, date: datetime.date) -> str:
    """Conclusion first, then how it was done, then why (the history) last."""
    lex = _lexicon(rng, _REWORD_RATE["impression_first"])
    heads = (rng.choice(("KEY RESULT", "Diagnostic conclusion", "Bottom line", "In brief",
                         "Result")),
             rng.choice(("Procedural course", "How it was done", "Technique and course",
                         "PROCEDURE LOG")),
             rng.choice(("Background (for the record)", "Referral details",
                         "Clinical context", "WHY REFERRED")))
    course = [f"{c.title} on {date:%d %b %Y}", c.position and f"{c.position} position",
              c.la, c.sedation, *c.findings, *c.access, *c.sample, *_keys(c, "technique"),
              *c.compl, *_keys(c, "outcome"), c.dose]
    background = [c.indication, c.history, *_keys(c, "history")]
    blocks = [[c.impression], course, background]
    numbered = rng.random() < 0.4
    out = []
    for i, (head, block) in enumerate(zip(heads, blocks, strict=True), 1):
        body = " ".join(_sentence(lex(s)) for s in block if s)
        if not body:
            continue
        label = f"{i}) {head}" if numbered else head
        out.append(f"{label}: {body}" if rng.random() < 0.5 else f"{label}\n{body}")
    sign = rng.choice((f"Validated electronically by {c.operator}.", c.operator,
                       f"-- {c.operator_short}"))
    return "\n\n".join(out) + "\n" + sign


def _render_handover(rng: random.Random, c: _Case, date: datetime.date) -> str:
    """A short ward handover in the first person plural, with "pt" and "you"."""
    lex = _lexicon(rng, _REWORD_RATE["handover"])
    ward = rng.choice(("4B", "ward 12", "SAU", "AMU", "day unit", "HDU", "F3"))
    who = rng.choice(("your pt", "the pt", f"your {c.age}{c.sex}"))
    verb = rng.choice(("We performed", "We did", "We carried out")) \
        if c.hard != "aborted" else rng.choice(("We attempted", "We tried"))
    lines = [rng.choice((f"IR handover to {ward}:", "Hi all,", f"For {ward} team -",
                         "Handover note (IR):")),
             f"{verb} {lex(_lc(_title_phrase(c)))} on {who} "
             f"{rng.choice(('today', 'this am', 'this pm'))}."]
    if rng.random() < 0.6:
        lines.append(f"Reason: {lex(c.indication_short)}.")
    lines += [_sentence(lex(h)) for h in [c.history_short, *_keys(c, "history")] if h]
    kit = f"We used {lex(c.device)}"
    lines.append(kit + (f", {lex(c.sample_short)}." if c.sample_short else "."))
    lines += [_sentence(lex(k)) for k in _keys(c, "technique")]
    if _adverse(c) == "None":
        lines.append(rng.choice(("Pt tolerated well.", "Pt tolerated it fine, nothing untoward.",
                                 "No issues during the procedure.")))
        lines += [_sentence(lex(s)) for s in c.compl[1:]]
    else:
        lines += [_sentence(lex(s)) for s in c.compl]
    lines += [_sentence(lex(k)) for k in _keys(c, "outcome")]
    if _followup(c):
        lines.append(f"{rng.choice(('Please:', 'For you:', 'Ward to action:'))} "
                     f"{lex(_followup(c))}")
    lines.append(rng.choice((f"Any worries bleep IR on {rng.randint(1000, 9999)}.",
                             "Give us a call if concerned.", "Thanks!")) + f" {c.operator_short}")
    text = re.sub(r"\b[Tt]he patient\b", "pt", "\n".join(lines))
    return text if rng.random() < 0.5 else text.replace("\n", " ")


def _code_fields(rng: random.Random, c: _Case, lex: Lexicon,
                 date: datetime.date) -> list[tuple[str, str]]:
    title = c.title if rng.random() < 0.5 else c.title_short
    hist = [c.history_short, *_keys(c, "history", short=True)]
    return [
        ("PROC", lex(title)),
        ("CODE", f"CTI{rng.randint(100, 999)}"),
        ("DT", f"{date:%Y%m%d}"),
        ("SITE", lex(c.target_short)),
        ("LAT", {"right": "R", "left": "L"}.get(c.side, "NA")),
        ("IND", lex(c.indication_short)),
        ("HX", "; ".join(lex(h) for h in hist if h)),
        ("POS", c.position),
        ("LA", c.la_short),
        ("SED", c.sedation_short),
        (rng.choice(("NEEDLE", "DEVICE", "INSTR")), lex(c.device)),
        ("SPEC", lex(c.sample_short) or "NONE"),
        ("TECH", "; ".join(lex(k) for k in _keys(c, "technique", short=True))),
        ("COMPL", lex(c.compl_short)),
        ("NOTE", "; ".join(lex(k) for k in _keys(c, "outcome", short=True))),
        ("DOSE", c.dose_short),
        ("RAD", c.operator_short),
    ]


def _render_telegraphic_codes(rng: random.Random, c: _Case, date: datetime.date) -> str:
    """A RIS/vendor export: segment codes and pipes, short fragments, often upper case."""
    lex = _lexicon(rng, _REWORD_RATE["telegraphic_codes"])
    fields = [(k, v) for k, v in _code_fields(rng, c, lex, date) if v]
    layout = rng.choice(("lines", "one_line", "obx"))
    if layout == "lines":
        text = "\n".join(f"{k}|{v}|" for k, v in fields)
    elif layout == "one_line":
        text = "|".join(f"{k}|{v}" for k, v in fields)
    else:
        text = "\n".join(f"OBX|{i}|{k}^{v}" for i, (k, v) in enumerate(fields, 1))
    if rng.random() < 0.5:
        text = f"MSH|^~\\&|RIS|IR|{date:%Y%m%d}{rng.randint(700, 1900):04d}|ORU^R01\n{text}"
    return text.upper() if rng.random() < 0.6 else text


def _render_verbose_academic(rng: random.Random, c: _Case, date: datetime.date) -> str:
    """Long-winded impersonal prose with its own connectives and Latinate vocabulary."""
    lex = _lexicon(rng, _REWORD_RATE["verbose_academic"])

    def low(x: str) -> str:  # reword first, so a connective can lead the sentence
        return _lc(lex(x))

    person = "lady" if c.sex == "F" else "gentleman"
    s = [f"The patient, a {c.age}-year-old {person}, was referred to the interventional "
         f"radiology service for {low(_title_phrase(c))}."]
    if c.indication:
        s.append(f"The clinical question posed by the referring team was as follows: "
                 f"{low(c.indication)}")
    s += [f"Pertinent antecedent history: {low(h)}" for h in [c.history, *_keys(c, "history")]
          if h]
    s.append(rng.choice((
        "Following a detailed discussion of the attendant risks, benefits and alternatives, "
        "informed consent was documented.",
        "The nature of the intervention and its potential sequelae were explained at length.")))
    s.append(f"The intervention was undertaken with the patient {c.position}, in accordance with "
             f"departmental protocol and under strict aseptic precautions.")
    s += [lex(x) for x in (c.la, c.sedation) if x]
    s += [f"On pre-procedural imaging, {low(f)}" if i == 0 else lex(f)
          for i, f in enumerate(c.findings)]
    s += [f"{'Subsequently' if i == 0 else 'Thereafter'}, {low(a)}"
          for i, a in enumerate(c.access)]
    s += [lex(x) for x in c.sample]
    s += [f"It should be emphasised that {low(k)}" for k in _keys(c, "technique")]
    s += [f"With regard to adverse events: {low(x)}" if i == 0 else lex(x)
          for i, x in enumerate(c.compl)]
    s += [f"Furthermore, {low(k)}" for k in _keys(c, "outcome")]
    if c.dose:
        s.append(f"The recorded exposure was as follows: {_lc(c.dose)}")
    s.append(f"In summary, {low(c.impression)}")
    if _followup(c):
        s.append(f"The following aftercare is recommended: {low(_followup(c))}")
    sentences = [_sentence(x) for x in s]
    cut = sorted(rng.sample(range(2, len(sentences) - 1), 2)) if len(sentences) > 6 else []
    paras = [" ".join(p) for p in _chunks(sentences, cut)]
    return "\n\n".join(paras) + f"\n\nElectronically authorised by {c.operator}."


def _chunks(items: list[str], cuts: list[int]) -> list[list[str]]:
    bounds = [0, *cuts, len(items)]
    return [items[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


# "The collection was punctured with ..." -> "I punctured the collection with ...".
# Only operator actions, and only sentences that start with an article: "No drain was
# left" and other negations never match.
_FIRST_PERSON_RE = re.compile(
    r"^(A|An|The) ([^.;]*?) (?:was|were) (advanced|placed|inserted|introduced|positioned|"
    r"punctured|secured|taken|made|aspirated|instilled|penetrated|clamped|abandoned) "
)


def _first_person(sentence: str) -> str:
    return _FIRST_PERSON_RE.sub(
        lambda m: f"I {m.group(3)} {m.group(1).lower()} {m.group(2)} ", sentence, count=1)


def _render_british_narrative(rng: random.Random, c: _Case, date: datetime.date) -> str:
    """An operator's first-person note ("I sited ..."), British spelling and idiom."""
    lex = _lexicon(rng, _REWORD_RATE["british_narrative"])
    him, he = ("her", "she") if c.sex == "F" else ("him", "he")
    who = f"this {c.age}-year-old {'woman' if c.sex == 'F' else 'man'}"
    s = [rng.choice((f"I was asked to undertake {_lc(_title_phrase(c))} on {who}.",
                     f"Seen on the IR list today for {_lc(_title_phrase(c))}.",
                     f"{'Mrs' if c.sex == 'F' else 'Mr'} X attended for {_lc(_title_phrase(c))}."))]
    if c.indication and rng.random() < 0.7:
        s.append(f"The question from the referring team: {_lc(c.indication)}")
    s += [h for h in [c.history, *_keys(c, "history")] if h]
    s.append(rng.choice((f"I went through the risks with {him} and {he} was happy to proceed.",
                         f"Having reviewed the previous imaging, I consented {him} in the "
                         f"usual way.")))
    s.append(f"Whilst {he} lay {c.position}, the skin was cleaned and draped.")
    s += [x for x in (c.la, c.sedation) if x]
    s += c.findings
    s += [_first_person(a) for a in c.access]
    s += c.sample + _keys(c, "technique")
    s += c.compl + [_first_person(k) for k in _keys(c, "outcome")]
    if _followup(c):
        s.append(f"Plan: {_lc(_followup(c))}")
    body = " ".join(_sentence(lex(x)) for x in s)
    sign = c.operator if "(" in c.operator else rng.choice((
        f"{c.operator}, Consultant Interventional Radiologist", f"{c.operator} (IR SpR)",
        c.operator))
    return f"{body}\n{sign}"


_RENDERERS: dict[str, Callable[[random.Random, _Case, datetime.date], str]] = {
    "synoptic": _render_synoptic,
    "impression_first": _render_impression_first,
    "handover": _render_handover,
    "telegraphic_codes": _render_telegraphic_codes,
    "verbose_academic": _render_verbose_academic,
    "british_narrative": _render_british_narrative,
}


def _render_unseen(rng: random.Random, c: _Case, style: str, date: datetime.date) -> str:
    if style not in _RENDERERS:
        raise ValueError(f"unknown unseen style {style!r}")
    text = _RENDERERS[style](rng, c, date)
    if "a 8" in text or "a 1" in text or "A 8" in text or "A 1" in text:
        # "a 8 Fr" -> "an 8 Fr", as cohort does; "N" in upper-case exports.
        text = _AN_RE.sub(lambda m: m.group(1) + ("N " if m.group(1) == "A" and
                                                  text.isupper() else "n "), text)
    return _SPACES_RE.sub(" ", text).strip()


# ------------------------------------------------------------------------ assembly


def held_out_reports(n: int, seed: int, render: Callable, styles, all_styles: tuple[str, ...],
                     what: str, accession_prefix: str) -> list[CohortRow]:
    """``n`` rows of the cohort's cases, each rendered by ``render(rng, case, style, date)``
    in one of ``styles`` (default: all of ``all_styles``); shared by the held-out modules."""
    chosen = _chosen_styles(styles, all_styles, what)

    def text(rng: random.Random, label: int, hard: str, age: int, sex: str,
             date: datetime.date, styles: tuple[str, ...]) -> tuple[str, str]:
        case = _build_case(rng, label, hard, age, sex, date.year)
        style = _w(rng, tuple((s, 1) for s in styles))
        return render(rng, case, style, date), style

    return _extra_rows(random.Random(seed), n, text, chosen, start=COHORT_START,
                       end=COHORT_END, accession_prefix=accession_prefix, digits=6)


def generate_unseen_reports(n: int, seed: int, *, styles=None) -> list[CohortRow]:
    """``n`` evaluation-only reports in held-out styles, split "unassigned", sorted by date.

    Same category mix and hard-case share as ``cohort.generate_reports``; only the
    rendering differs. Never use these rows for training.
    """
    return held_out_reports(n, seed, _render_unseen, styles, UNSEEN_STYLES, "unseen styles",
                            "UNS")
