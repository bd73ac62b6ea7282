"""The synthetic study cohort: design counts, determinism, hard cases and variety."""

import datetime
import functools
import re
from collections import Counter

from ctir_demo.cohort import (
    STUDY_COUNTS,
    STYLES,
    CohortRow,
    _build_case,
    _render,
    generate_cohort,
    generate_reports,
)
from tests.demo_checks import accuracy, accuracy_by, keyword_rule, labels_by_hard_case

SPLIT_SIZES = {"train": 1142, "validation": 131, "test": 332}


@functools.lru_cache(maxsize=4)
def cohort(seed: int = 2025) -> tuple[CohortRow, ...]:
    return tuple(generate_cohort(seed))


def test_it_has_the_study_split_and_category_counts():
    rows = cohort()
    assert len(rows) == 1605
    for split, size in SPLIT_SIZES.items():
        in_split = [r for r in rows if r.split == split]
        assert len(in_split) == size
        assert dict(Counter(r.label for r in in_split)) == STUDY_COUNTS[split]


def test_it_has_one_report_per_unique_patient_and_accession():
    rows = cohort()
    assert len({r.patient_id for r in rows}) == 1605
    assert len({r.accession for r in rows}) == 1605
    assert all(re.fullmatch(r"IR20\d\d-\d{5}", r.accession) for r in rows)
    assert all(re.fullmatch(r"PT-[0-9A-F]{6}", r.patient_id) for r in rows)
    assert all(r.accession[2:6] == str(r.procedure_date.year) for r in rows)


def test_it_splits_chronologically_within_the_study_period():
    rows = cohort()
    dates = [r.procedure_date for r in rows]
    assert dates == sorted(dates)
    assert min(dates) >= datetime.date(2008, 8, 1)
    assert max(dates) <= datetime.date(2024, 11, 30)
    assert [r.split for r in rows] == (
        ["train"] * 1142 + ["validation"] * 131 + ["test"] * 332
    )
    last_train = max(r.procedure_date for r in rows if r.split == "train")
    first_val = min(r.procedure_date for r in rows if r.split == "validation")
    last_val = max(r.procedure_date for r in rows if r.split == "validation")
    first_test = min(r.procedure_date for r in rows if r.split == "test")
    assert last_train <= first_val and last_val <= first_test


def test_it_has_plausible_demographics_and_plain_text():
    rows = cohort()
    assert {r.sex for r in rows} == {"F", "M"}
    assert all(18 <= r.age <= 95 for r in rows)
    for r in rows:
        assert r.text.strip() == r.text and r.text
        r.text.encode("latin-1")  # plain ASCII/Latin only


def test_it_is_deterministic_per_seed():
    assert generate_cohort(7) == generate_cohort(7)
    a = [r.text for r in cohort(2025)]
    b = [r.text for r in cohort(2026)]
    assert sum(x != y for x, y in zip(a, b, strict=True)) > 1500


def test_it_has_hard_cases_in_every_split():
    rows = cohort()
    assert sum(bool(r.hard_case) for r in rows) / len(rows) >= 0.10
    for split in SPLIT_SIZES:
        in_split = [r for r in rows if r.split == split]
        assert sum(bool(r.hard_case) for r in in_split) / len(in_split) >= 0.10
    kinds = {r.hard_case for r in rows} - {""}
    assert {"complication", "tissue_sampled", "lung_abscess_drain", "negation", "aborted",
            "biopsy_and_aspiration", "history_other_category"} <= kinds


def test_it_labels_the_guideline_traps_correctly():
    rows = cohort()
    by_kind = labels_by_hard_case(rows)
    assert by_kind["lung_abscess_drain"] == {1}
    assert by_kind["cyst_sclerotherapy"] == {1}
    assert by_kind["spondylodiscitis"] == {4}
    assert by_kind["bone_marrow"] == {4}
    assert by_kind["tissue_sampled"] <= {2, 3, 4} and 2 in by_kind["tissue_sampled"]
    assert 3 in by_kind["complication"] and 2 in by_kind["complication"]
    for r in rows:
        if r.hard_case == "complication" and r.label == 3:
            assert "drain" in r.text.lower() or "tube" in r.text.lower()


def test_it_uses_every_style_and_varies_the_wording():
    rows = cohort()
    first_lines = {r.text.splitlines()[0] for r in rows}
    assert len(first_lines) > 1000
    trigrams: Counter = Counter()
    for r in rows:
        words = r.text.lower().split()
        trigrams.update({tuple(words[i:i + 3]) for i in range(len(words) - 2)})
    assert len(trigrams) > 20000
    # no single phrase is in most reports
    assert trigrams.most_common(1)[0][1] < 0.5 * len(rows)
    lengths = [len(r.text.split()) for r in rows]
    assert min(lengths) < 25 and max(lengths) > 150


def test_it_writes_the_cohort_in_every_style(monkeypatch):
    from ctir_demo import cohort as module

    used: Counter = Counter()
    render = module._render

    def spy(rng, case, style, date):
        used[style] += 1
        return render(rng, case, style, date)

    monkeypatch.setattr(module, "_render", spy)
    module.generate_cohort(2025)
    assert set(used) == set(STYLES)
    assert min(used.values()) > 0.04 * 1605


def test_every_style_renders_every_category():
    import random

    rng = random.Random(1)
    for style in STYLES:
        for label in (1, 2, 3, 4):
            case = _build_case(rng, label, "", 60, "F", 2020)
            text = _render(rng, case, style, datetime.date(2020, 5, 1))
            assert len(text.split()) >= 5, (style, label, text)


def test_keyword_matching_is_not_enough():
    rows = cohort()
    assert accuracy(keyword_rule, rows) < 0.85
    assert set(accuracy_by(keyword_rule, rows, "split")) == set(SPLIT_SIZES)
    for in_split in accuracy_by(keyword_rule, rows, "split").values():
        assert in_split < 0.9


def test_generate_reports_gives_unique_external_accessions():
    rows = generate_reports(1000, 2025)
    assert len(rows) == 1000
    assert len({r.accession for r in rows}) == 1000
    assert len({r.patient_id for r in rows}) == 1000
    assert all(r.accession.startswith("EXT") and r.split == "unassigned" for r in rows)
    assert not {r.accession for r in rows} & {r.accession for r in cohort()}
    assert set(Counter(r.label for r in rows)) == {1, 2, 3, 4}
    assert generate_reports(50, 3) == generate_reports(50, 3)


def test_generate_reports_honours_styles_and_dates():
    start, end = datetime.date(2020, 1, 1), datetime.date(2020, 12, 31)
    rows = generate_reports(200, 5, styles=["terse"], start=start, end=end)
    assert all(start <= r.procedure_date <= end for r in rows)
    assert max(len(r.text.split()) for r in rows) < 80
    try:
        generate_reports(10, 5, styles=["sonnet"])
    except ValueError:
        pass
    else:
        raise AssertionError("unknown style accepted")
