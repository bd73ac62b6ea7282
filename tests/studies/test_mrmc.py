"""The Obuchowski-Rockette / Hillis MRMC analysis and its power: against a published worked
example (OR-DBM MRMC 2.51 on the Van Dyke data, via RJafroc) and by simulation."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from studies.mrmc import (
    auc_jackknife,
    cases_needed,
    mean_jackknife,
    or_one_modality,
    or_two_modalities,
    plan_versus_model,
    power_two_modalities,
    study_mrmc,
)
from studies.mrmc import (
    simulate_correctness as simulate,
)

DATA = Path(__file__).parent / "data"


def printed(value, text):
    """``value`` equals the printed ``text`` to the digits printed."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    assert abs(value - float(text)) <= 0.5 * 10**-decimals + 1e-12, (value, text)


@pytest.fixture(scope="module")
def van_dyke():
    ratings, truth = np.zeros((2, 5, 114)), np.zeros(114, dtype=int)
    with open(DATA / "vandyke.csv") as f:
        for row in csv.DictReader(f):
            case = int(row["case"]) - 1
            ratings[int(row["modality"]), int(row["reader"]), case] = float(row["rating"])
            truth[case] = int(row["truth"])
    assert truth.sum() == 45
    theta, jack = auc_jackknife(ratings, truth)
    return theta, jack, or_two_modalities(theta, jack)


def test_it_reproduces_the_van_dyke_reader_aucs_and_variance_components(van_dyke):
    theta, _, result = van_dyke
    for got, text in zip(theta.ravel(), (
            "0.91964573 0.85877617 0.90386473 0.97310789 0.82979066 "
            "0.94782609 0.90531401 0.92173913 0.99935588 0.92995169").split(), strict=True):
        printed(got, text)
    printed(result["means"][0], "0.89703704")
    printed(result["means"][1], "0.94083736")
    printed(result["estimate"], "-0.04380032")
    c = result["components"]
    for key, text in (("ms_t", "0.00479617"), ("ms_r", "0.00383620"), ("ms_tr", "0.00055103"),
                      ("var_r", "0.00153500"), ("var_tr", "0.00020040"), ("cov1", "0.00034661"),
                      ("cov2", "0.00034407"), ("cov3", "0.00023903"), ("var", "0.00080229")):
        printed(c[key], text)
    printed(c["cov1"] / c["var"], "0.43203138")
    printed(c["cov3"] / c["var"], "0.29793328")


def test_it_reproduces_the_van_dyke_random_reader_random_case_analysis(van_dyke):
    random = van_dyke[2]["random"]
    printed(random["f"], "4.46")
    printed(random["df"], "15.26")
    printed(random["p"], "0.0517")
    printed(random["se"], "0.02075")
    printed(random["t"], "-2.11")
    printed(random["ci"][0], "-0.08796")
    printed(random["ci"][1], "0.00036")
    for modality, (se, df, lo, hi) in zip(van_dyke[2]["modalities"], (
            ("0.03317360", "12.74", "0.82522360", "0.96885048"),
            ("0.02156637", "12.71", "0.89413783", "0.98753689")), strict=True):
        printed(modality["random"]["se"], se)
        printed(modality["random"]["df"], df)
        printed(modality["random"]["ci"][0], lo)
        printed(modality["random"]["ci"][1], hi)
    printed(van_dyke[2]["modalities"][0]["components"]["cov2"], "0.00048396")
    printed(van_dyke[2]["modalities"][1]["components"]["ms_r"], "0.00130460")


def test_it_reproduces_the_van_dyke_fixed_reader_analysis(van_dyke):
    result = van_dyke[2]
    printed(result["fixed"]["chi2"], "5.47595")
    printed(result["fixed"]["p"], "0.0193")
    printed(result["fixed"]["se"], "0.01872")
    printed(result["fixed"]["z"], "-2.34")
    printed(result["fixed"]["ci"][0], "-0.08049")
    printed(result["fixed"]["ci"][1], "-0.00711")
    printed(result["modalities"][0]["fixed"]["se"], "0.02428971")
    printed(result["modalities"][1]["fixed"]["ci"][1], "0.97371835")
    printed(result["modalities"][1]["components"]["var"], "0.00059047")
    expected = [("-0.02818", "0.02551", "0.2693", "0.00037347"),
                ("-0.04654", "0.02630", "0.0768", "0.00076016"),
                ("-0.01787", "0.03121", "0.5668", "0.00035532"),
                ("-0.02625", "0.01729", "0.1290", "0.00000108"),
                ("-0.10016", "0.04406", "0.0230", "0.00024304")]
    for reader, (difference, se, p, cov1) in zip(result["per_reader"], expected, strict=True):
        printed(reader["estimate"], difference)
        printed(reader["se"], se)
        printed(reader["p"], p)
        printed(reader["cov1"], cov1)


def test_power_and_cases_needed_match_rjafroc_for_van_dyke(van_dyke):
    result = van_dyke[2]
    c = result["components"]
    args = dict(n_readers=6, pilot_cases=114, effect=result["estimate"], var_tr=c["var_tr"],
                var=c["var"], cov1=c["cov1"], cov2=c["cov2"], cov3=c["cov3"])
    assert power_two_modalities(n_cases=111, **args)["power"] == pytest.approx(0.5526116,
                                                                               abs=5e-8)
    assert cases_needed(lambda k: power_two_modalities(n_cases=k, **args)["power"], 0.8) == 251


# --- Simulation ------------------------------------------------------------------------------


def model_vs_readers(readers_ok, model_ok):
    return or_one_modality(*mean_jackknife(model_ok[None, :] - readers_ok))


DESIGN = dict(readers=5, cases=100, reader_accuracy=0.85, reader_sd=0.03, case_correlation=0.3)


@pytest.mark.slow
def test_under_the_null_the_model_vs_readers_test_rejects_five_percent():
    rng = np.random.default_rng(20261201)
    p = [model_vs_readers(*simulate(rng, model_accuracy=0.85, **DESIGN))["random"]["p"]
         for _ in range(2000)]
    assert abs(np.mean(np.array(p) < 0.05) - 0.05) <= 0.015


@pytest.mark.slow
def test_under_the_null_aided_vs_unaided_rejects_five_percent():
    # Two fully crossed modalities with the same accuracy: reader, case, reader x modality
    # and case x modality effects, none of which favours either modality.
    rng = np.random.default_rng(7)
    rejected = 0
    for _ in range(2000):
        reader = rng.normal(0, 0.2, (1, 5, 1)) + rng.normal(0, 0.1, (2, 5, 1))
        case = rng.normal(0, 0.5, (1, 1, 100)) + rng.normal(0, 0.3, (2, 1, 100))
        correct = (1.2 + reader + case + rng.normal(0, 0.8, (2, 5, 100)) > 0).astype(float)
        rejected += or_two_modalities(*mean_jackknife(correct))["random"]["p"] < 0.05
    assert abs(rejected / 2000 - 0.05) <= 0.015


@pytest.mark.slow
def test_under_the_null_for_these_readers_the_fixed_reader_test_rejects_five_percent():
    # The same five readers every time; the model matches their own mean accuracy.
    rng = np.random.default_rng(11)
    effects = np.array([-0.25, -0.1, 0.0, 0.1, 0.3])
    a_r = stats.norm.ppf(DESIGN["reader_accuracy"])
    shift = a_r * math.sqrt(1 + (DESIGN["reader_sd"] / stats.norm.pdf(a_r)) ** 2)
    model = float(np.mean(stats.norm.cdf(shift + effects)))
    rejected = 0
    for _ in range(2000):
        ok = simulate(rng, model_accuracy=model, reader_effects=effects, **DESIGN)
        rejected += model_vs_readers(*ok)["fixed"]["p"] < 0.05
    assert abs(rejected / 2000 - 0.05) <= 0.015


@pytest.mark.parametrize("design", [
    dict(readers=5, cases=200, reader_accuracy=0.88, model_accuracy=0.93, reader_sd=0.03,
         case_correlation=0.3),
    dict(readers=8, cases=150, reader_accuracy=0.85, model_accuracy=0.90, reader_sd=0.02,
         case_correlation=0.4),
])
def test_planned_power_matches_a_simulation_of_the_same_study(design):
    plan = plan_versus_model(
        n_readers=design["readers"], n_cases=design["cases"],
        reader_accuracy=design["reader_accuracy"], model_accuracy=design["model_accuracy"],
        reader_sd=design["reader_sd"], case_correlation=design["case_correlation"])
    rng = np.random.default_rng(3)
    p = [model_vs_readers(*simulate(rng, **design))["random"]["p"] for _ in range(1000)]
    assert 0.3 < plan["power"] < 0.8  # a design where power is informative
    assert np.mean(np.array(p) < 0.05) == pytest.approx(plan["power"], abs=0.04)


def test_the_planner_answers_cases_and_readers_needed_quickly():
    import time

    began = time.perf_counter()
    plan = plan_versus_model(reader_accuracy=0.88, model_accuracy=0.93, n_readers=6,
                             n_cases=150, target=0.8)
    assert time.perf_counter() - began < 2
    assert plan["power"] < 0.8 and plan["cases_needed"] > 150
    at_needed = plan_versus_model(reader_accuracy=0.88, model_accuracy=0.93, n_readers=6,
                                  n_cases=plan["cases_needed"])
    one_fewer = plan_versus_model(reader_accuracy=0.88, model_accuracy=0.93, n_readers=6,
                                  n_cases=plan["cases_needed"] - 1)
    assert one_fewer["power"] < 0.8 <= at_needed["power"]
    # The study we follow: two readers cannot generalise to readers at large.
    two = plan_versus_model(reader_accuracy=0.931, model_accuracy=0.979, n_readers=2,
                            n_cases=332)
    assert two["cases_needed"] is None and two["power_ceiling"] < 0.8
    assert two["readers_needed"] > 2


@pytest.mark.parametrize("kwargs, message", [
    (dict(reader_accuracy=1.0), "reader accuracy must lie strictly between 0 and 1"),
    (dict(case_correlation=1.0), "case correlation"),
    (dict(n_readers=1), "at least two readers"),
    (dict(target=1.2), "target power"),
])
def test_the_planner_refuses_impossible_inputs(kwargs, message):
    args = dict(reader_accuracy=0.9, model_accuracy=0.95, n_readers=4, n_cases=100) | kwargs
    with pytest.raises(ValueError, match=message):
        plan_versus_model(**args)


# --- Properties and the study-level wrapper ----------------------------------------------


def test_model_vs_readers_equals_the_two_modality_analysis_with_the_model_replicated():
    # RJafroc: the 1T-RRRC and 2T-RRRC methods give the same t, ddf and p (Hillis 2007 5.3).
    readers_ok, model_ok = simulate(np.random.default_rng(1), model_accuracy=0.9, **DESIGN)
    one = model_vs_readers(readers_ok, model_ok)
    two = or_two_modalities(*mean_jackknife(np.stack([np.repeat(model_ok[None], 5, 0),
                                                       readers_ok])))
    for key in ("estimate", "se", "df", "p"):
        assert one["random"][key] == pytest.approx(two["random"][key], rel=1e-9)
    assert one["fixed"]["se"] == pytest.approx(two["fixed"]["se"], rel=1e-9)


def test_accuracy_jackknife_of_a_mean_gives_the_usual_standard_error():
    x = np.array([[1, 0, 1, 1, 0, 1, 1, 1.0]])
    result = or_one_modality(*mean_jackknife(x))
    assert result["fixed"]["se"] == pytest.approx(x.std(ddof=1) / math.sqrt(8))
    assert result["random"] is None  # one reader: nothing to say about readers at large


def test_study_mrmc_crossover_and_category_comparisons():
    rng = np.random.default_rng(5)
    cases = list(range(1, 41))
    truth = {c: 1 + c % 2 for c in cases}
    readers = {}
    for j, name in enumerate(["ann", "bob", "cyd", "dan"]):
        readers[name] = {c: (truth[c] if rng.random() < 0.85 else 3 - truth[c],
                             (c // 2 + j) % 2 == 0) for c in cases}
    readers["ann"].pop(40)  # not finished: waits while the others are analysed
    model = {c: truth[c] for c in cases}
    result = study_mrmc(truth, readers, model, [1, 2], crossover=True)
    assert result["n_cases"] == 40 and result["waiting"] == ["ann"]
    assert result["readers"] == ["bob", "cyd", "dan"]
    # Nobody finished: the cases all of them answered.
    readers["bob"].pop(1)
    partial = study_mrmc(truth, {n: readers[n] for n in ("ann", "bob")}, model, [1, 2])
    assert partial["n_cases"] == 38 and partial["waiting"] == []
    kinds = {(c["fom"], c["kind"]) for c in result["comparisons"]}
    assert ("accuracy", "aided_vs_unaided") in kinds
    assert ("sensitivity:2", "model_vs_unaided") in kinds
    accuracy = next(c for c in result["comparisons"]
                    if (c["fom"], c["kind"]) == ("accuracy", "model_vs_aided"))
    assert accuracy["means"][0] == 1.0
    assert accuracy["estimate"] == pytest.approx(accuracy["means"][0] - accuracy["means"][1])
    assert accuracy["random"]["ci"][0] < accuracy["estimate"] < accuracy["random"]["ci"][1]
    # No model, one reader: no comparison that needs them, and a reason for what is missing.
    alone = study_mrmc(truth, {"ann": readers["ann"]}, {}, [1, 2], crossover=True)
    assert all(c["random"] is None for c in alone["comparisons"])
    assert not any(c["kind"].startswith("model") for c in alone["comparisons"])


def test_study_mrmc_skips_a_category_with_too_few_cases():
    truth = {1: 1, 2: 1, 3: 1, 4: 2}
    readers = {"ann": {c: (truth[c], False) for c in truth},
               "bob": {c: (1, False) for c in truth}}
    result = study_mrmc(truth, readers, {c: 1 for c in truth}, [1, 2])
    assert {s["fom"] for s in result["skipped"]} == {"sensitivity:2"}
    assert "at least two cases" in result["skipped"][0]["reason"]


def test_reader_average_ci_stays_within_a_proportion():
    # Two readers far apart near 100%: the Hillis t interval (df near 1) runs past 1.
    truth = {case: "a" for case in range(40)}
    readers = {"r1": {case: ("a", False) for case in truth},
               "r2": {case: ("a" if case >= 8 else "b", False) for case in truth}}
    average = next(c for c in study_mrmc(truth, readers, {}, ["a", "b"])["comparisons"]
                   if (c["fom"], c["kind"]) == ("accuracy", "readers_mean"))
    assert average["random"]["ci_normal"][1] > 1  # the case this guards against
    assert average["random"]["ci_method"] == "bootstrap"
    low, high = average["random"]["ci"]
    assert 0 <= low <= average["estimate"] <= high <= 1
    assert 0 <= average["fixed"]["ci"][0] <= average["fixed"]["ci"][1] <= 1


def test_a_small_lopsided_study_has_only_possible_intervals():
    """The audit's study: one reader, 11 cases, most of one category missed; the model
    right on all. Every interval stays in [-1, 1] (differences) or [0, 1] (levels)."""
    truth = {c: (2 if c < 5 else 1 if c < 8 else 3) for c in range(11)}
    reader = {c: ((1 if c < 4 else 2) if truth[c] == 2 else truth[c], False) for c in truth}
    result = study_mrmc(truth, {"rita": reader}, dict(truth), [1, 2, 3])
    checked = 0
    for c in result["comparisons"]:
        low_bound = 0.0 if c["kind"] == "readers_mean" else -1.0
        for side in [c["random"], c["fixed"], *c.get("per_reader", [])]:
            if isinstance(side, dict) and side.get("ci"):
                assert low_bound <= side["ci"][0] <= side["ci"][1] <= 1.0, (c["fom"], side)
                checked += 1
    assert checked >= 4
    sensitivity = next(c for c in result["comparisons"]
                       if (c["fom"], c["kind"]) == ("sensitivity:2", "model_vs_readers"))
    # Model 100%, reader 1 of 5: +80 points, whose z interval runs past +100.
    assert sensitivity["estimate"] == pytest.approx(0.8)
    assert sensitivity["fixed"]["ci_normal"][1] > 1
    assert sensitivity["fixed"]["ci_method"] == "bootstrap"
    assert result["bootstrapped"] >= 1


def test_the_bootstrap_interval_matches_scipys():
    """An independent computation: scipy's percentile bootstrap over the same cases (paired
    across readers), with another seed, agrees within Monte Carlo error."""
    from scipy import stats as scipy_stats

    from studies.mrmc import bootstrap_ci

    rng = np.random.default_rng(3)
    cells = (rng.random((2, 60)) < np.array([[0.9], [0.7]])).astype(float)
    ours = bootstrap_ci(cells, readers=False)
    theirs = scipy_stats.bootstrap(
        (cells[0], cells[1]), lambda a, b: (a.mean() + b.mean()) / 2, paired=True,
        vectorized=False, method="percentile", n_resamples=4000,
        random_state=np.random.default_rng(11)).confidence_interval
    assert ours[0] == pytest.approx(theirs.low, abs=0.02)
    assert ours[1] == pytest.approx(theirs.high, abs=0.02)
