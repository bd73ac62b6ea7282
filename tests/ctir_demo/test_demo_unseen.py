"""Held-out report styles (bench.heldout.unseen): evaluation-only proxy for other hospitals.

They must keep the labels and hard-case facts of the cohort's cases, stay out of the
training generator, and read clearly unlike the 10 training styles.
"""

import datetime
import functools
import inspect
import random
import re
from collections import Counter

import pytest

from bench.heldout import unseen
from bench.heldout.unseen import (
    UNSEEN_STYLES,
    _lexicon,
    _performed,
    _render_unseen,
    generate_unseen_reports,
)
from ctir_demo import cohort as cohort_module
from ctir_demo.cohort import (
    HARD_FRACTION,
    STYLES,
    CohortRow,
    _build_case,
    generate_cohort,
    generate_reports,
)
from tests.demo_checks import accuracy, keyword_rule, labels_by_hard_case

DATE = datetime.date(2020, 5, 1)


@functools.lru_cache(maxsize=4)
def unseen_rows(n: int = 1500, seed: int = 2025) -> tuple[CohortRow, ...]:
    return tuple(generate_unseen_reports(n, seed))


@functools.lru_cache(maxsize=1)
def cohort_trigrams() -> frozenset:
    grams: set = set()
    for r in generate_cohort():
        grams |= trigrams(r.text)
    return frozenset(grams)


def trigrams(text: str) -> set:
    words = text.lower().split()
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def seen_share(rows) -> float:
    """Mean share of a report's word 3-grams that also occur in the training cohort."""
    grams = cohort_trigrams()
    shares = [len(g & grams) / len(g) for g in (trigrams(r.text) for r in rows) if g]
    return sum(shares) / len(shares)


def synonym_keyword_rule(text: str) -> int:
    """The same rule, told about the synonyms the unseen styles use."""
    text = text.lower()
    if re.search(r"drain|evacuat|aspirat|catheter", text) and not re.search(r"biops|sampl", text):
        return 1
    if re.search(r"lung|pulmon|lobe", text):
        return 3
    if re.search(r"bone|osseous|vertebr|\brib\b", text):
        return 4
    return 2


def test_it_is_deterministic_per_seed():
    assert generate_unseen_reports(80, 3) == generate_unseen_reports(80, 3)
    a = [r.text for r in generate_unseen_reports(80, 3)]
    b = [r.text for r in generate_unseen_reports(80, 4)]
    assert sum(x != y for x, y in zip(a, b, strict=True)) > 75


def test_it_uses_every_unseen_style():
    used = Counter(r.style for r in unseen_rows())
    assert set(used) == set(UNSEEN_STYLES)
    assert len(UNSEEN_STYLES) >= 5
    assert min(used.values()) > 0.08 * 1500


def test_it_honours_the_styles_argument():
    rows = generate_unseen_reports(40, 8, styles=["handover", "synoptic"])
    assert {r.style for r in rows} == {"handover", "synoptic"}
    for bad in (["terse"], ["sonnet"], []):
        with pytest.raises(ValueError):
            generate_unseen_reports(10, 8, styles=bad)


def test_it_keeps_unseen_styles_out_of_the_training_data():
    assert not set(UNSEEN_STYLES) & set(STYLES)
    assert {r.style for r in generate_cohort()} <= set(STYLES)
    assert {r.style for r in generate_reports(300, 5)} <= set(STYLES)
    # the training generator does not even know this module exists
    assert "unseen" not in inspect.getsource(cohort_module)


def test_it_writes_rows_like_generate_reports():
    rows = unseen_rows()
    assert len(rows) == 1500
    assert len({r.accession for r in rows}) == 1500
    assert len({r.patient_id for r in rows}) == 1500
    assert all(re.fullmatch(r"UNS20\d\d-\d{6}", r.accession) for r in rows)
    assert all(r.accession[3:7] == str(r.procedure_date.year) for r in rows)
    assert all(r.split == "unassigned" for r in rows)
    dates = [r.procedure_date for r in rows]
    assert dates == sorted(dates)
    assert min(dates) >= cohort_module.COHORT_START and max(dates) <= cohort_module.COHORT_END
    assert set(Counter(r.label for r in rows)) == {1, 2, 3, 4}
    hard_share = sum(bool(r.hard_case) for r in rows) / len(rows)
    assert abs(hard_share - HARD_FRACTION) < 0.04
    for r in rows:
        assert r.text and r.text.strip() == r.text
        r.text.encode("latin-1")  # plain ASCII/Latin only, like the cohort


def test_it_keeps_the_case_label_on_every_row(monkeypatch):
    labels = []
    build = unseen._build_case

    def spy(rng, label, hard, age, sex, year):
        labels.append(label)
        return build(rng, label, hard, age, sex, year)

    monkeypatch.setattr(unseen, "_build_case", spy)
    rows = generate_unseen_reports(300, 12)
    assert [r.label for r in rows] == labels


def test_it_labels_the_guideline_traps_correctly():
    rows = unseen_rows(3000, 7)
    by_kind = labels_by_hard_case(rows)
    assert by_kind["lung_abscess_drain"] == {1}
    assert by_kind["cyst_sclerotherapy"] == {1}
    assert by_kind["spondylodiscitis"] == {4}
    assert by_kind["bone_marrow"] == {4}
    assert 2 in by_kind["tissue_sampled"] and 3 in by_kind["complication"]
    for r in rows:
        text = r.text.lower()
        if r.hard_case == "complication" and r.label == 3:
            # the chest tube is still there, only under another name
            assert re.search(r"drain|tube|catheter|\bicc\b", text), r.text
        if r.hard_case == "lung_abscess_drain":
            assert re.search(r"abscess|infected|pus collection", text), r.text


@pytest.mark.parametrize("style", UNSEEN_STYLES)
def test_it_renders_every_key_fact_in_every_style(style):
    """Hard-case facts live in the case's key list; every style must write all of them."""
    rng = random.Random(style)
    for label in (1, 2, 3, 4):
        for _ in range(15):
            case = _build_case(rng, label, "", 60, "M", 2020)
            for slot in ("history", "technique", "outcome"):
                case.key.append((slot, f"Zqx{slot} fact.", f"zqx{slot}"))
            text = _render_unseen(rng, case, style, DATE).lower()
            for slot in ("history", "technique", "outcome"):
                assert f"zqx{slot}" in text, (style, slot, text)


def test_it_renders_every_category_and_hard_case_in_every_style():
    rng = random.Random(3)
    hards = ("", *cohort_module.HARD_CASES)
    for style in UNSEEN_STYLES:
        for label in (1, 2, 3, 4):
            for hard in hards:
                if hard and hard not in dict(cohort_module._HARD_WEIGHTS[label]):
                    continue
                case = _build_case(rng, label, hard, 60, "F", 2020)
                text = _render_unseen(rng, case, style, DATE)
                assert len(text.split()) >= 8, (style, label, hard, text)


NEGATION_RE = re.compile(r"\b(no|not|nil|nothing|without|none|never)\b", re.I)


def test_the_synonym_layer_never_drops_a_negation():
    rng = random.Random(5)
    checked = 0
    for label in (1, 2, 3, 4):
        for hard in ("negation", "aborted", "complication", "biopsy_and_aspiration"):
            for _ in range(20):
                case = _build_case(rng, label, hard, 60, "F", 2020)
                for sentence in [full for _, full, _ in case.key] + case.compl:
                    lex = _lexicon(rng, 1.0)
                    before = len(NEGATION_RE.findall(sentence))
                    assert len(NEGATION_RE.findall(lex(sentence))) >= before, sentence
                    checked += 1
    assert checked > 300


def test_synoptic_ticks_follow_the_facts_not_the_label():
    rng = random.Random(9)

    def case(label, hard):
        return _build_case(rng, label, hard, 60, "F", 2020)

    lung_with_tube = _performed(case(3, "complication"))
    assert lung_with_tube["sampling"] and lung_with_tube["left_in_situ"]
    abscess = _performed(case(1, "lung_abscess_drain"))
    assert abscess["catheter"] and not abscess["sampling"]
    drain_and_core = _performed(case(1, "biopsy_and_aspiration"))
    assert drain_and_core["sampling"]
    assert (drain_and_core["catheter"] or drain_and_core["needle_evacuation"])
    aborted = _performed(case(2, "aborted"))
    assert not aborted["completed"] and not aborted["sampling"]
    cyst = _performed(case(1, "cyst_sclerotherapy"))
    assert cyst["needle_evacuation"] and cyst["sclerosant"] and not cyst["left_in_situ"]
    for _ in range(10):
        text = _render_unseen(rng, case(3, "aborted"), "synoptic", DATE)
        line = next(x for x in re.split(r"\n(?! )", text) if "PROCEDURE COMPLETED" in x.upper())
        assert re.search(r"(\[x\]|\(x\)|\[\*\]) no", line.lower()), line


def test_it_reads_clearly_unlike_the_training_styles():
    held_out = generate_reports(400, 99)  # training styles, reports not in the cohort
    rows = generate_unseen_reports(400, 99)
    training_like, unseen_like = seen_share(held_out), seen_share(rows)
    assert unseen_like < training_like - 0.3, (training_like, unseen_like)
    for style in UNSEEN_STYLES:
        share = seen_share([r for r in rows if r.style == style])
        assert share < training_like - 0.2, (style, share, training_like)


def test_a_naive_keyword_rule_stays_well_below_095():
    rows = unseen_rows()
    assert accuracy(keyword_rule, rows) < 0.8
    assert accuracy(synonym_keyword_rule, rows) < 0.8
    for style in UNSEEN_STYLES:
        in_style = [r for r in rows if r.style == style]
        assert accuracy(keyword_rule, in_style) < 0.9, style


def test_fine_needle_aspiration_stays_a_biopsy_word():
    # FNA samples a solid lesion; rewording it into an "evacuation" would change its meaning
    for seed in range(40):
        lex = _lexicon(random.Random(seed), 1.0)
        text = lex("3 fine-needle aspiration passes were made; FNA x3, cytology.")
        assert not re.search(r"evacuat|decompress|drain", text), text
        assert re.search(r"needle aspiration|FNAC|thin-needle", text), text
