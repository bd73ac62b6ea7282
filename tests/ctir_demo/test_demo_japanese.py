"""The Japanese demo generator: study design, house styles, guideline hard cases."""

import dataclasses
import datetime
import functools
import re
import unicodedata
from collections import Counter

import pytest

from ctir_demo.cohort import HARD_FRACTION, SPLITS, STUDY_COUNTS, generate_cohort
from ctir_demo.japanese import (
    JA_STYLES,
    generate_japanese_cohort,
    generate_japanese_reports,
    generate_mixed_cohort,
    generate_mixed_reports,
)
from tests.demo_checks import accuracy, accuracy_by

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
FULLWIDTH = re.compile(r"[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")


@functools.cache
def cohort(seed: int = 2025) -> tuple:
    return tuple(generate_japanese_cohort(seed))


def keyword_rule(text: str) -> int:
    """The naive single-keyword classifier the cohort must defeat."""
    if "ドレナージ" in text:
        return 1
    if "肺" in text:
        return 3
    if "骨" in text:
        return 4
    return 2


def test_it_is_deterministic_per_seed():
    assert list(cohort()) == generate_japanese_cohort(2025)
    other = generate_japanese_cohort(7)
    assert [r.text for r in other] != [r.text for r in cohort()]


def test_it_has_the_study_split_and_category_counts_in_date_order():
    rows = cohort()
    assert len(rows) == 1605
    for split in SPLITS:
        in_split = [r for r in rows if r.split == split]
        assert dict(Counter(r.label for r in in_split)) == STUDY_COUNTS[split]
    dates = [r.procedure_date for r in rows]
    assert dates == sorted(dates)
    assert [r.split for r in rows] == sorted((r.split for r in rows), key=SPLITS.index)
    assert dates[0] >= datetime.date(2008, 8, 1) and dates[-1] <= datetime.date(2024, 11, 30)


def test_it_has_one_report_per_unique_patient_and_accession():
    rows = cohort()
    assert len({r.patient_id for r in rows}) == 1605
    assert len({r.accession for r in rows}) == 1605
    assert all(re.fullmatch(r"JIR20\d\d-\d{5}", r.accession) for r in rows)
    assert all(r.accession[3:7] == str(r.procedure_date.year) for r in rows)
    assert all(re.fullmatch(r"JPT-[0-9A-F]{6}", r.patient_id) for r in rows)
    assert all(r.sex in ("F", "M") and 18 <= r.age <= 95 for r in rows)


def test_it_uses_every_japanese_style():
    styles = Counter(r.style for r in cohort())
    assert set(styles) == set(JA_STYLES)
    assert min(styles.values()) > 1605 * 0.12
    for style in JA_STYLES:
        labels = {r.label for r in cohort() if r.style == style}
        assert labels == {1, 2, 3, 4}


def test_every_row_is_written_in_japanese():
    for r in cohort():
        assert r.text.strip() and "\x01" not in r.text and "\x02" not in r.text
        assert len(JAPANESE.findall(r.text)) >= 8, r.text
    assert len({r.text for r in cohort()}) == 1605


def test_the_styles_look_like_japanese_house_styles():
    by_style = {s: [r.text for r in cohort() if r.style == s] for s in JA_STYLES}
    assert all(re.search(r"^(【|■|◆|［|＜|\S+：)", t) for t in by_style["ja_structured"])
    assert sum("【手技】" in t or "【方法】" in t for t in by_style["ja_structured"]) > 20
    assert sum(bool(FULLWIDTH.search(t)) for t in by_style["ja_terse"]) > 50
    assert sum(bool(re.search(r"[0-9]", t)) for t in by_style["ja_terse"]) > 50
    polite = sum("ました。" in t for t in by_style["ja_narrative"])
    assert 0.3 < polite / len(by_style["ja_narrative"]) < 0.7
    english = [t for t in by_style["ja_mixed"] if re.search(r"[a-z]{5,}", t)]
    assert len(english) / len(by_style["ja_mixed"]) > 0.9
    assert max(len(t) for t in by_style["ja_terse"]) < max(len(t) for t in by_style["ja_narrative"])


def test_it_has_hard_cases_near_the_hard_fraction():
    rows = cohort()
    assert abs(sum(bool(r.hard_case) for r in rows) / len(rows) - HARD_FRACTION) < 0.02
    for split in SPLITS:
        for label, n in STUDY_COUNTS[split].items():
            hard = [r for r in rows if r.split == split and r.label == label and r.hard_case]
            assert len(hard) == max(1, round(n * HARD_FRACTION + 0.5))
    kinds = Counter(r.hard_case for r in rows if r.hard_case)
    assert len(kinds) == 10


def _hard(kind: str, label: int | None = None) -> list:
    """Rows of one hard case, text NFKC-normalised so full-width "ＢＭＡ" reads "BMA"."""
    rows = [r for r in cohort() if r.hard_case == kind and label in (None, r.label)]
    assert rows, (kind, label)
    return [dataclasses.replace(r, text=unicodedata.normalize("NFKC", r.text)) for r in rows]


def test_it_labels_the_guideline_traps_correctly():
    # rule 3: a drained lung abscess is a drainage
    for r in _hard("lung_abscess_drain"):
        assert r.label == 1 and re.search("肺膿瘍|lung abscess", r.text)
    # rule 2: a chest tube for a post-biopsy pneumothorax is still a lung biopsy
    for r in _hard("complication", 3):
        assert re.search("胸腔ドレ|アスピレーションキット|chest tube|drain", r.text), r.text
    # rule 2: a drain left for bleeding after a liver biopsy is still a biopsy
    for r in _hard("complication", 2):
        assert re.search("ドレーン|ドレナージ|drain", r.text) and "肝" in r.text
    # rule 3: a mediastinal node reached through lung, a pleural mass, ... are category 2
    sampled = " ".join(r.text for r in _hard("tissue_sampled", 2))
    for word in ("経肺", "胸膜", "胸壁", "骨外"):
        assert word in sampled
    # cyst aspiration with sclerotherapy is a drainage; disc and marrow sampling are bone
    for r in _hard("cyst_sclerotherapy"):
        assert r.label == 1 and re.search("嚢胞|cyst", r.text)
    for r in _hard("spondylodiscitis"):
        assert r.label == 4 and re.search("椎間板|disc", r.text)
    for r in _hard("bone_marrow"):
        assert r.label == 4 and re.search("骨髄|bone marrow|BMA|BMB", r.text)
    # rule 6: negations name another category's procedure without changing the label
    negated = " ".join(r.text for r in _hard("negation") if r.label != 1)
    assert re.search("ドレナージ|ドレーン|drain", negated)


def test_other_categories_words_appear_in_every_category():
    rows = cohort()
    for label in (1, 2, 3, 4):
        texts = [r.text for r in rows if r.label == label]
        for word in ("ドレナージ", "肺", "骨"):
            assert any(word in t for t in texts), (label, word)


def test_keyword_matching_is_not_enough():
    rows = cohort()
    assert accuracy(keyword_rule, rows) < 0.85
    assert set(accuracy_by(keyword_rule, rows, "split")) == set(SPLITS)
    for in_split in accuracy_by(keyword_rule, rows, "split").values():
        assert in_split < 0.9


@pytest.mark.parametrize("style", JA_STYLES)
def test_every_style_renders_every_category(style):
    rows = generate_japanese_reports(120, 11, styles=[style])
    assert {r.style for r in rows} == {style}
    assert {r.label for r in rows} == {1, 2, 3, 4}
    assert all(JAPANESE.search(r.text) for r in rows)


def test_generate_japanese_reports_are_unassigned_sorted_and_unique():
    start, end = datetime.date(2024, 12, 1), datetime.date(2025, 10, 31)
    rows = generate_japanese_reports(200, 2026, start=start, end=end)
    assert len(rows) == 200 and len({r.accession for r in rows}) == 200
    assert len({r.patient_id for r in rows}) == 200
    assert not {r.patient_id for r in rows} & {r.patient_id for r in cohort()}
    assert all(re.fullmatch(r"JEXT20\d\d-\d{6}", r.accession) for r in rows)
    assert all(r.split == "unassigned" and start <= r.procedure_date <= end for r in rows)
    assert [r.procedure_date for r in rows] == sorted(r.procedure_date for r in rows)
    assert generate_japanese_reports(30, 3) == generate_japanese_reports(30, 3)
    with pytest.raises(ValueError):
        generate_japanese_reports(10, 5, styles=["haiku"])
    with pytest.raises(ValueError):
        generate_japanese_reports(10, 5, start=end, end=start)


def test_mixed_cohort_keeps_the_design_and_mixes_languages():
    rows = generate_mixed_cohort(2025, japanese_share=0.5)
    assert len(rows) == 1605 and len({r.accession for r in rows}) == 1605
    assert len({r.patient_id for r in rows}) == 1605
    for split in SPLITS:
        in_split = [r for r in rows if r.split == split]
        assert dict(Counter(r.label for r in in_split)) == STUDY_COUNTS[split]
    japanese = [r for r in rows if r.style in JA_STYLES]
    assert 0.45 < len(japanese) / len(rows) < 0.55
    assert all(r.accession.startswith("JIR") and JAPANESE.search(r.text) for r in japanese)
    english = [r for r in rows if r.style not in JA_STYLES]
    assert all(r.accession.startswith("IR") and not JAPANESE.search(r.text) for r in english)
    assert generate_mixed_cohort(2025, japanese_share=0.0) == generate_cohort(2025)
    assert all(r.style in JA_STYLES for r in generate_mixed_cohort(3, japanese_share=1.0))
    with pytest.raises(ValueError):
        generate_mixed_cohort(2025, japanese_share=1.5)


def test_mixed_reports_mix_languages():
    rows = generate_mixed_reports(200, 2026, start=datetime.date(2024, 12, 1),
                                  end=datetime.date(2025, 10, 31))
    assert len({r.accession for r in rows}) == 200
    styles = {"ja" if r.style in JA_STYLES else "en" for r in rows}
    assert styles == {"ja", "en"}
    assert all(r.accession.startswith(("JEXT", "EXT")) for r in rows)
