"""Held-out Japanese report styles (bench.heldout.unseen_ja): evaluation-only proxy.

They must keep the labels and hard-case facts of the cohort's cases, write those facts
(negations included) in Japanese, stay out of the training generator, and not collapse
into a handful of templates.
"""

import datetime
import functools
import inspect
import random
import re
from collections import Counter

import pytest

from bench.heldout import unseen, unseen_ja
from bench.heldout.unseen_ja import (
    UNSEEN_JA_STYLES,
    _compl_ja,
    _key_ja,
    _render_unseen_ja,
    generate_unseen_japanese_reports,
)
from ctir_demo import cohort as cohort_module
from ctir_demo.cohort import HARD_FRACTION, STUDY_COUNTS, STYLES, CohortRow, _build_case

DATE = datetime.date(2021, 6, 1)
CJK_RE = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff\uff01-\uff9f]")
HAS_CJK_RE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
JA_NEGATION_RE = re.compile(
    r"なし|認めず|行わ(?:なかった|ず|ない|っていない)|留置(?:せず|しなかった|していない)|中止|中断|"
    r"施行せず|不要|せず|されず|していない|行っていない|できず|なく|見送|延期|適応(?:なし|外)|試みず|"
    r"入れず|はない|みられない"
)


@functools.lru_cache(maxsize=2)
def rows_for(n: int = 1500, seed: int = 2025) -> tuple[CohortRow, ...]:
    return tuple(generate_unseen_japanese_reports(n, seed))


def cjk_share(text: str) -> float:
    chars = re.sub(r"\s", "", text)
    return len(CJK_RE.findall(chars)) / max(1, len(chars))


def render_all_styles(label: int, hard: str, n: int, seed: int):
    rng = random.Random(seed)
    for style in UNSEEN_JA_STYLES:
        for _ in range(n):
            case = _build_case(rng, label, hard, 64, "M", 2021)
            yield style, case, _render_unseen_ja(rng, case, style, DATE)


def test_it_is_deterministic_per_seed():
    assert generate_unseen_japanese_reports(80, 3) == generate_unseen_japanese_reports(80, 3)
    a = [r.text for r in generate_unseen_japanese_reports(80, 3)]
    b = [r.text for r in generate_unseen_japanese_reports(80, 4)]
    assert sum(x != y for x, y in zip(a, b, strict=True)) > 75


def test_it_uses_every_style_and_honours_the_styles_argument():
    used = Counter(r.style for r in rows_for())
    assert set(used) == set(UNSEEN_JA_STYLES)
    assert len(UNSEEN_JA_STYLES) >= 4
    assert min(used.values()) > 0.12 * 1500
    rows = generate_unseen_japanese_reports(40, 8, styles=["ward_memo", "checkbox_form"])
    assert {r.style for r in rows} == {"ward_memo", "checkbox_form"}
    for bad in (["terse"], ["ris_brackets", "haiku"], []):
        with pytest.raises(ValueError, match="unseen Japanese styles"):
            generate_unseen_japanese_reports(10, 8, styles=bad)


def test_it_stays_out_of_the_training_data():
    assert not set(UNSEEN_JA_STYLES) & set(STYLES)
    assert "unseen_ja" not in inspect.getsource(cohort_module)
    assert "generate_unseen_japanese_reports" not in inspect.getsource(cohort_module)


def test_it_writes_rows_like_generate_reports():
    rows = rows_for()
    assert len(rows) == 1500
    assert len({r.accession for r in rows}) == 1500
    assert all(re.fullmatch(r"UJA20\d\d-\d{6}", r.accession) for r in rows)
    assert all(r.split == "unassigned" for r in rows)
    dates = [r.procedure_date for r in rows]
    assert dates == sorted(dates)
    assert min(dates) >= cohort_module.COHORT_START and max(dates) <= cohort_module.COHORT_END
    hard_share = sum(bool(r.hard_case) for r in rows) / len(rows)
    assert abs(hard_share - HARD_FRACTION) < 0.04
    assert all(r.text and r.text.strip() == r.text for r in rows)


def test_labels_follow_the_study_mix():
    counts = Counter(r.label for r in rows_for())
    assert set(counts) == {1, 2, 3, 4}
    total = sum(sum(v.values()) for v in STUDY_COUNTS.values())
    for label in (1, 2, 3, 4):
        expected = sum(STUDY_COUNTS[s][label] for s in STUDY_COUNTS) / total
        assert abs(counts[label] / 1500 - expected) < 0.05, (label, counts)


def test_it_keeps_the_case_label_on_every_row(monkeypatch):
    # The cases are built by the shared held-out assembly in bench.heldout.unseen.
    cases = []
    build = unseen._build_case

    def spy(rng, label, hard, age, sex, year):
        cases.append((label, hard))
        return build(rng, label, hard, age, sex, year)

    monkeypatch.setattr(unseen, "_build_case", spy)
    rows = generate_unseen_japanese_reports(300, 12)
    assert [(r.label, r.hard_case) for r in rows] == cases


@pytest.mark.parametrize("style", UNSEEN_JA_STYLES)
def test_it_renders_every_key_fact_in_every_style(style, monkeypatch):
    """Hard-case facts live in the case's key list; every style must write all of them."""
    monkeypatch.setattr(unseen_ja, "_key_ja", lambda rng, c, full: f"ZQX{full[:3]}")
    rng = random.Random(style)
    for label in (1, 2, 3, 4):
        for _ in range(15):
            case = _build_case(rng, label, "", 60, "F", 2020)
            for slot in ("history", "technique", "outcome"):
                case.key.append((slot, f"{slot} fact.", slot))
            text = _render_unseen_ja(rng, case, style, DATE)
            for slot in ("history", "technique", "outcome"):
                assert f"ZQX{slot[:3]}" in text, (style, slot, text)


def test_every_key_fact_and_complication_of_the_cohort_is_written_in_japanese():
    rng = random.Random(4)
    checked = 0
    for label, weights in cohort_module._HARD_WEIGHTS.items():
        for hard in ("", *dict(weights)):
            for _ in range(40):
                case = _build_case(rng, label, hard, 60, "F", 2020)
                for _slot, full, _ in case.key:
                    ja = _key_ja(rng, case, full)
                    assert ja != full and HAS_CJK_RE.search(ja), full
                    checked += 1
                for english, ja in zip(case.compl, _compl_ja(rng, case), strict=True):
                    assert HAS_CJK_RE.search(ja), english
    assert checked > 300


def test_english_negations_stay_negations_in_japanese():
    rng = random.Random(6)
    for label in (1, 2, 3, 4):
        for hard in ("negation", "aborted"):
            for _ in range(30):
                case = _build_case(rng, label, hard, 60, "F", 2020)
                for _slot, full, _ in case.key:
                    if re.search(r"\b(?:no|not|without)\b|deferred|abandoned|aborted|stopped",
                                 full, re.I):
                        assert JA_NEGATION_RE.search(_key_ja(rng, case, full)), full


# (label, hard case) -> what the Japanese text must say, in every style
HARD_FACTS = {
    (3, "complication"): (r"気胸|pneumothorax", r"胸腔 ?(?:ドレーン|drain)|トロッカー|chest tube"),
    (2, "complication"): (r"血腫|出血", r"ドレーン|drain"),
    (1, "lung_abscess_drain"): (r"肺 ?(?:膿瘍|abscess)|lung abscess",
                                r"ピッグテール|pigtail|カテーテル"),
    (1, "cyst_sclerotherapy"): (r"硬化療法|sclerotherapy", r"嚢胞|のう胞|cyst"),
    (4, "spondylodiscitis"): (r"椎間板|disc", r"培養"),
    (4, "bone_marrow"): (r"骨髄", r"腸骨稜|iliac crest"),
    (3, "aborted"): (r"中止|中断",),
    (2, "aborted"): (r"中止|施行せず",),
    (1, "aborted"): (r"中止|行わなかった|施行せず",),
    (4, "aborted"): (r"中止",),
    (3, "negation"): (JA_NEGATION_RE.pattern,),
    (2, "tissue_sampled"): (r"胸壁|皮質|胸膜|経肺|肺実質|を通過",),
    (4, "tissue_sampled"): (r"皮質を(?:貫通|穿通)",),
    (1, "biopsy_and_aspiration"): (r"壁|生検|biopsy",),
    (1, "complication"): (r"血腫", r"留置(?:しなかった|せず)|クランプ"),
    (1, "negation"): (r"生検|biopsy", JA_NEGATION_RE.pattern),
    (2, "negation"): (r"ドレナージ|drain", r"行わず|施行しなかった|行っていない|試みず"),
    (4, "negation"): (r"みられない|認めず|なし|限局",),
    (2, "history_other_category"): (r"肺癌|骨 ?(?:生検|biopsy)|膿瘍|abscess",),
}


@pytest.mark.parametrize(("label", "hard"), sorted(HARD_FACTS))
def test_hard_case_facts_are_rendered(label, hard):
    for style, _case, text in render_all_styles(label, hard, 12, seed=label * 100 + len(hard)):
        for pattern in HARD_FACTS[(label, hard)]:
            assert re.search(pattern, text), (style, label, hard, pattern, text)


def test_a_managed_complication_is_still_told_as_a_biopsy():
    for style, _case, text in render_all_styles(3, "complication", 10, seed=31):
        first = text.splitlines()[0] + text.splitlines()[min(2, len(text.splitlines()) - 1)]
        assert re.search(r"生検|biopsy|bx", text, re.I), (style, text)
        assert not re.search(r"ドレナージ術|ドレナージを施行", first), (style, text)


def test_checkbox_ticks_follow_what_was_done():
    for _style, _case, text in render_all_styles(3, "aborted", 8, seed=5):
        if "手技完遂" in text:
            line = next(x for x in text.splitlines() if x.startswith("手技完遂"))
            assert re.search(r"(?:■|☑|●|\[x\])中止", line), line
    for _style, _case, text in render_all_styles(3, "complication", 8, seed=6):
        if "留置物" in text:
            line = next(x for x in text.splitlines() if x.startswith("留置物"))
            assert re.search(r"(?:■|☑|●|\[x\])あり", line), line


def test_checkbox_ticks_follow_the_facts_not_the_label():
    for _style, _case, text in render_all_styles(1, "cyst_sclerotherapy", 8, seed=7):
        if "留置物" in text:  # the cyst catheter comes out after sclerosis
            line = next(x for x in text.splitlines() if x.startswith("留置物"))
            assert re.search(r"(?:■|☑|●|\[x\])なし", line), line
    for _style, _case, text in render_all_styles(2, "", 20, seed=8):
        if "手技区分" in text:
            line = next(x for x in text.splitlines() if x.startswith("手技区分"))
            assert re.search(r"(?:■|☑|●|\[x\])生検", line), line
            assert not re.search(r"(?:■|☑|●|\[x\])ドレナージ", line), line


def test_the_mixed_style_mixes_english_into_japanese():
    rows = [r for r in rows_for() if r.style == "mixed_english"]
    assert all(re.search(r"[A-Za-z]{4,}", r.text) and HAS_CJK_RE.search(r.text) for r in rows)
    assert sum(bool(re.search(r"lobe|liver|rib|abscess|lymph node|vertebral|iliac", r.text))
               for r in rows) > 0.5 * len(rows)


def test_reports_are_mostly_japanese():
    by_style: dict[str, list[float]] = {}
    for r in rows_for():
        by_style.setdefault(r.style, []).append(cjk_share(r.text))
    for style, shares in by_style.items():
        mean = sum(shares) / len(shares)
        if style == "mixed_english":
            assert 0.15 < mean < 0.6, (style, mean)
            assert min(shares) > 0.08, style
        else:
            assert mean > 0.6, (style, mean)
            assert min(shares) > 0.45, style
    assert all(HAS_CJK_RE.search(r.text) for r in rows_for())


def test_reports_are_not_a_handful_of_templates():
    rows = rows_for()[:300]
    assert len({r.text for r in rows}) >= 295
    # with every number masked, the wording itself still varies
    masked = {re.sub(r"[0-9０-９]+", "N", r.text) for r in rows}
    assert len(masked) >= 280
    # and so do the openings within a style
    for style in UNSEEN_JA_STYLES:
        firsts = {re.sub(r"[0-9０-９]+", "N", r.text[:60]) for r in rows_for() if r.style == style}
        assert len(firsts) >= 100, style
