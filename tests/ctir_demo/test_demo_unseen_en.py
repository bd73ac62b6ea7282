"""Held-out English report styles (bench.heldout.unseen_en): evaluation-only proxy.

The rows must be deterministic, spread over every style, keep the guideline's label mix and
hard-case share, write each hard case's key fact in the text, stay diverse, and stay out of
the training generator.
"""

import datetime
import functools
import inspect
import re
from collections import Counter, defaultdict

import pytest

from bench.heldout.unseen_en import (
    HARD_KINDS,
    LABEL_MIX,
    UNSEEN_EN_STYLES,
    generate_unseen_english_reports,
)
from ctir_demo import cohort as cohort_module

N = 1500

LUNG_RE = re.compile(r"lung|lobe|pulmon|lingul|\b[rl][ul]l\b|\brml\b", re.I)
BONE_RE = re.compile(
    r"bone|vertebr|sacr|iliac|rib|femur|stern|scapul|acetab|marrow|disc", re.I)
DRAIN_RE = re.compile(r"drain|aspirat|a spirited|catheter|cath\b|pigtail|pig.tail|collection|"
                      r"abscess|cyst|empyema|effusion|fusion", re.I)
NEG_RE = re.compile(r"\bno\b|\bnot\b|deferred|without|\bnil\b", re.I)
ABORT_RE = re.compile(r"abort|abandon|not ?perf|no ?drainage perf|cancelled|"
                      r"incomplete", re.I)

KEY_FACTS = {
    "lung_abscess_drainage": re.compile(r"abscess", re.I),
    "cyst_sclerotherapy": re.compile(r"ethanol", re.I),
    "drainage_with_wall_sample": re.compile(r"wall|rim", re.I),
    "aborted_drainage": ABORT_RE,
    "negated_biopsy": re.compile(r"no ?biopsy|no ?bx|deferred|no ?tissue", re.I),
    "bleeding_drain_after_biopsy": re.compile(r"drain", re.I),
    "incidental_fluid_in_biopsy": re.compile(r"fluid", re.I),
    "chest_wall_component": re.compile(r"chest.?wall", re.I),
    "rib_soft_tissue_mass": re.compile(r"cortex|extraosseous|extra osseous|outside the bone",
                                       re.I),
    "pleural_mass": re.compile(r"pleura|plural", re.I),
    "transpulmonary_node": re.compile(r"transpulmonary|through the lung", re.I),
    "aborted_biopsy": ABORT_RE,
    "negated_drain": NEG_RE,
    "pneumothorax_chest_tube": re.compile(r"chest ?(drain|tube)|pleural ?cath", re.I),
    "history_other_procedure": re.compile(r"history|hx|previous|prev|planned|may follow|"
                                          r"biopsied", re.I),
    "spondylodiscitis": re.compile(r"disc", re.I),
    "bone_marrow": re.compile(r"marrow", re.I),
}


@functools.cache
def _rows(seed: int = 11):
    return tuple(generate_unseen_english_reports(N, seed))


def test_deterministic_per_seed_and_different_across_seeds():
    a = generate_unseen_english_reports(200, 3)
    b = generate_unseen_english_reports(200, 3)
    c = generate_unseen_english_reports(200, 4)
    assert a == b
    assert [r.text for r in a] != [r.text for r in c]


def test_row_fields():
    rows = _rows()
    assert len(rows) == N
    assert [r.procedure_date for r in rows] == sorted(r.procedure_date for r in rows)
    assert len({r.accession for r in rows}) == N
    for r in rows:
        assert re.fullmatch(r"UEN\d{6}", r.accession)
        assert r.split == "unassigned"
        assert r.sex in ("M", "F") and 18 <= r.age <= 95
        assert datetime.date(2019, 1, 1) <= r.procedure_date <= datetime.date(2024, 12, 31)
        assert r.label in (1, 2, 3, 4)
        assert r.style in UNSEEN_EN_STYLES
        assert r.hard_case == "" or r.hard_case in HARD_KINDS
        assert r.patient_id and r.text.strip()


def test_every_style_gets_a_fair_share():
    counts = Counter(r.style for r in _rows())
    assert set(counts) == set(UNSEEN_EN_STYLES)
    for s in UNSEEN_EN_STYLES:
        assert abs(counts[s] - N / len(UNSEEN_EN_STYLES)) <= 5


def test_styles_argument_is_honoured_and_validated():
    rows = generate_unseen_english_reports(60, 1, styles=["ris_fields", "non_native"])
    assert {r.style for r in rows} == {"ris_fields", "non_native"}
    with pytest.raises(ValueError, match="unseen English styles.*'nope'"):
        generate_unseen_english_reports(10, 1, styles=["ris_fields", "nope"])
    with pytest.raises(ValueError, match="unseen English styles"):
        generate_unseen_english_reports(10, 1, styles=[])
    banned = {"plain", "structured", "terse", "narrative", "bullets", "caps_ris", "templated",
              "dictated", "abbrev", "mixed", "synoptic", "impression_first", "handover",
              "telegraphic_codes", "verbose_academic", "british_narrative", "ris_brackets",
              "procedure_record", "ward_memo", "mixed_english", "checkbox_form"}
    assert not banned & set(UNSEEN_EN_STYLES)


def test_label_mix_within_tolerance():
    counts = Counter(r.label for r in _rows())
    for label, share in LABEL_MIX:
        assert abs(counts[label] / N - share) < 0.04, (label, counts)


def test_hard_case_share_and_kinds():
    rows = _rows()
    hard = [r for r in rows if r.hard_case]
    assert 0.10 <= len(hard) / N <= 0.25
    kinds = Counter(r.hard_case for r in hard)
    assert len(kinds) >= 14
    for r in hard:
        assert r.label in HARD_KINDS[r.hard_case]


def test_each_hard_case_writes_its_key_fact():
    for r in _rows():
        if r.hard_case:
            assert KEY_FACTS[r.hard_case].search(r.text), (r.hard_case, r.style, r.text)


def test_labels_are_consistent_with_the_text():
    for r in _rows():
        if r.label == 3:
            assert LUNG_RE.search(r.text), r.text
        elif r.label == 4:
            assert BONE_RE.search(r.text), r.text
        elif r.label == 1:
            assert DRAIN_RE.search(r.text), r.text
        if r.hard_case == "lung_abscess_drainage":
            assert LUNG_RE.search(r.text) and r.label == 1
        if r.hard_case == "pneumothorax_chest_tube":
            assert r.label == 3


def test_texts_are_diverse():
    rows = _rows()
    dup = N - len({r.text for r in rows})
    assert dup / N < 0.05
    groups = defaultdict(list)
    for r in rows:
        groups[(r.style, r.label)].append(r.text.strip().splitlines()[0])
    for key, firsts in groups.items():
        assert len(set(firsts)) >= min(15, len(firsts) * 0.3), key


def test_styles_look_like_their_kind():
    by_style = defaultdict(list)
    for r in _rows():
        by_style[r.style].append(r.text)
    assert all(t == t.lower() for t in by_style["asr_dictation"])
    assert sum("period" in t or "full stop" in t for t in by_style["asr_dictation"]) > 0.8 * len(
        by_style["asr_dictation"])
    assert all("EXAM:" in t and "COMPL:" in t for t in by_style["ris_fields"])
    assert all("IMPRESSION" in t and "ATTESTATION" in t for t in by_style["us_procedure_note"])


def test_training_generator_does_not_mention_this_module():
    assert "unseen_en" not in inspect.getsource(cohort_module)
