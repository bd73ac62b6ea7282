"""The reader-versus-model table of a study, with its statistics, as plain data.

Used by the results page, the CSV export and `manage.py study_report`.
"""

import hashlib
import itertools
import random
from collections import defaultdict

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db.models import Count, Exists, Max, OuterRef, Sum

from annotation.models import Category, Membership, ReferenceLabel, Role, Split
from annotation.selectors import report_tally
from core.models import ACTIVE_STATUSES, JobStatus
from modeling.models import ModelVersion, Prediction

from .models import ModelTimingRun, ReaderStudy, StudyCase, StudyReader, StudyResponse
from .mrmc import study_mrmc
from .statistics import (
    accuracy_summary,
    clopper_pearson,
    cohen_kappa_bootstrap,
    confusion_matrix,
    fold_difference,
    holm_adjust,
    mcnemar_exact,
    position_trend,
    sensitivity_per_category,
    time_summary,
)

CONFIDENCE_BINS = [(0.0, 0.6), (0.6, 0.8), (0.8, 0.95), (0.95, 1.01)]

# Which reports a new study reads: name shown in the form, and the filter.
CASE_SETS = {
    "test": ("The test split", {"split": Split.TEST}),
    "validation": ("The validation split", {"split": Split.VALIDATION}),
    "labelled": ("Every report with a reference label", {"reference_label__isnull": False}),
}


def case_set_choices(project) -> list[tuple[str, str, int]]:
    """Key, name and report count of each case set, for the new-study form (from the
    project's counts, annotation.selectors.report_tally, not a count of its reports)."""
    tally = report_tally(project)
    counts = {"test": sum(n for (split, _), n in tally.items() if split == Split.TEST),
              "validation": sum(n for (split, _), n in tally.items()
                                if split == Split.VALIDATION),
              "labelled": sum(n for (_, category), n in tally.items() if category is not None)}
    return [(key, name, counts[key]) for key, (name, _) in CASE_SETS.items()]


def case_set_reports(project, key: str | None):
    """The reports of the chosen case set; an unknown choice reads the test split."""
    return project.reports.filter(**CASE_SETS.get(key, CASE_SETS["test"])[1])


def case_set_source(project, key: str, date_from=None, date_to=None):
    """The reports a study's cases come from: a case set, within a date range if given."""
    reports = case_set_reports(project, key)
    if date_from:
        reports = reports.filter(procedure_date__gte=date_from)
    if date_to:
        reports = reports.filter(procedure_date__lte=date_to)
    return reports


def case_draw(project, *, key: str, n: int | None, seed: int, date_from=None,
              date_to=None) -> tuple[list[int], dict]:
    """Report ids for a study and the record to draw them again: all of the source, or `n`
    of them stratified by reference category (each category's share kept, the remainders
    going to the largest fractions, as Hamilton's method), picked with `seed`. The same
    source, n and seed give the same cases."""
    source = case_set_source(project, key, date_from, date_to)
    rows = sorted(source.values_list("pk", "reference_label__category__code"))
    record = {"case_set": key, "date_from": date_from.isoformat() if date_from else None,
              "date_to": date_to.isoformat() if date_to else None, "from": len(rows),
              "n": n, "seed": seed}
    if n is None or n >= len(rows):
        record["n"] = len(rows)
        return [pk for pk, _ in rows], record
    strata: dict = defaultdict(list)
    for pk, code in rows:
        strata[code].append(pk)
    order = sorted(strata, key=lambda c: (c is None, c))  # unlabelled reports last
    quotas = {c: n * len(strata[c]) / len(rows) for c in order}
    taken = {c: int(quotas[c]) for c in order}
    by_remainder = sorted(order, key=lambda c: (-(quotas[c] - taken[c]), order.index(c)))
    for c in by_remainder[:n - sum(taken.values())]:
        taken[c] += 1
    picked = []
    for c in order:
        picked += random.Random(f"{seed}:{c}").sample(strata[c], taken[c])
    record["strata"] = {str(c) if c is not None else "none": taken[c] for c in order}
    return sorted(picked), record


def project_readers(project):
    return User.objects.filter(memberships__project=project,
                               memberships__role=Role.READER).order_by("username")


def still_reader():
    """The session's user is a reader of the study's project now (not only when added):
    removing a membership, or changing its role, ends their reading at once."""
    return Exists(Membership.objects.filter(
        project=OuterRef("study__project"), user=OuterRef("user"), role=Role.READER))


def reader_session(user, study_id) -> StudyReader | None:
    """The user's own, real session in an open study; None for anything else."""
    return StudyReader.objects.filter(
        still_reader(), study_id=study_id, user=user, study__status=ReaderStudy.Status.OPEN,
        simulated=False,
    ).select_related("study").first()


def open_sessions(user):
    return StudyReader.objects.filter(
        still_reader(), user=user, study__status=ReaderStudy.Status.OPEN
    ).select_related("study").order_by("study__created")


def shown_suggestion(study: ReaderStudy, case: StudyCase | None, *, aided: bool) -> dict | None:
    """The model's answer a reader sees on this case: only in an aided reading with a model."""
    if case is None or not aided or not study.model_version_id:
        return None
    prediction = Prediction.objects.filter(
        report=case.report_id, model_version_id=study.model_version_id
    ).select_related("category").first()
    if prediction is None:
        return None
    return {"category": prediction.category,
            "probability": prediction.probabilities.get(str(prediction.category.code))}


def active_version(project_id) -> ModelVersion | None:
    """The project's active (served) model version, if it has finished training."""
    return ModelVersion.objects.filter(project_id=project_id, is_active=True,
                                       status=JobStatus.SUCCEEDED).first()


def study_model_version(study: ReaderStudy) -> tuple[ModelVersion | None, bool]:
    """The version a study compares with, and whether it was chosen (fixed) for the study:
    a draft study without one compares with the project's active version, marked as such."""
    if study.model_version_id:
        return ModelVersion.objects.filter(pk=study.model_version_id).first(), True
    return active_version(study.project_id), False


def latest_timing_run(study: ReaderStudy) -> ModelTimingRun | None:
    return study.timing_runs.first()


def timing_running(run: ModelTimingRun | None) -> bool:
    return run is not None and run.status in ACTIVE_STATUSES


def model_answers(study: ReaderStudy) -> tuple[dict[int, int], dict[int, float], str]:
    """Case id -> the model's category and milliseconds, and where the answers came from:
    "measured" (timed on a worker), "predictions" (the chosen version's stored ones),
    "active" (the active version's, no version chosen yet) or "none"."""
    timing = study.model_timing or {}
    if timing.get("answers"):
        return ({int(k): v for k, v in timing["answers"].items()},
                {int(k): v for k, v in timing.get("per_case_ms", {}).items()}, "measured")
    version, chosen = study_model_version(study)
    if version is None:
        return {}, {}, "none"
    rows = Prediction.objects.filter(
        model_version_id=version.pk,
        report_id__in=study.cases.values("report_id"),
    ).values_list("report_id", "category__code", "ms")
    case_of = dict(study.cases.values_list("report_id", "pk"))
    answers = {case_of[r]: code for r, code, _ in rows}
    ms = {case_of[r]: m for r, _, m in rows}
    return answers, ms, ("none" if not answers else "predictions" if chosen else "active")


def observed_accuracies(project) -> dict | None:
    """The readers' mean accuracy and the model's, on the cases with a reference, from the
    project's latest study that has both: the power planner's starting values. Two queries
    and a count, so the planner still answers at once."""
    for study in ReaderStudy.objects.filter(project=project).order_by("-created")[:5]:
        truth = {c: code for c, code in study.cases.values_list(
            "pk", "report__reference_label__category__code") if code}
        model, _, source = model_answers(study)
        scored = [c for c in model if c in truth]
        per_reader = defaultdict(lambda: [0, 0])
        for reader, case, code in StudyResponse.objects.filter(
                study=study, simulated=False, case_id__in=list(truth)).values_list(
                "reader_id", "case_id", "category__code"):
            per_reader[reader][0] += code == truth[case]
            per_reader[reader][1] += 1
        if scored and per_reader:
            readers = [right / n for right, n in per_reader.values()]
            model_accuracy = sum(model[c] == truth[c] for c in scored) / len(scored)
            # A planner cannot take 0% or 100%: nudged inside, to a tenth of a point.
            return {"study": study.name, "n": len(truth),
                    "readers": min(max(sum(readers) / len(readers), 0.001), 0.999),
                    "model": min(max(model_accuracy, 0.001), 0.999)}
    return None


RESULTS_CACHE_SECONDS = 24 * 3600


def results_fingerprint(study: ReaderStudy) -> str:
    """A digest of everything study_results reads: the study's own fields, its responses,
    the reference labels of its cases, the project's categories and the model answers it
    compares with. Any change to one of them gives a new digest, so results (and the paper
    files drawn from them) are computed once per change and served from the cache between
    (the results page, the API, the paper zip and its figures each read them)."""
    cases = study.cases.values("report_id")
    parts = [
        [(f.attname, getattr(study, f.attname)) for f in study._meta.concrete_fields],
        study.responses.aggregate(n=Count("id"), last=Max("id"), at=Max("answered_at")),
        list(study.readers.values_list("pk", "user__username", "simulated")),
        ReferenceLabel.objects.filter(report__in=cases).aggregate(
            n=Count("id"), at=Max("updated"), codes=Sum("category_id")),
        list(Category.objects.filter(project=study.project_id).values_list(
            "pk", "code", "name", "retired")),
        study.cases.aggregate(n=Count("id"), last=Max("id")),
    ]
    if not (study.model_timing or {}).get("answers"):
        version, _ = study_model_version(study)
        parts.append(version and (version.pk, Prediction.objects.filter(
            model_version_id=version.pk, report_id__in=cases).aggregate(
            n=Count("id"), last=Max("id"), at=Max("created"))))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def cached_for_study(study: ReaderStudy, what: str, compute):
    """compute(), or its value from the cache while nothing it reads has changed."""
    key = f"ctir:study:{study.pk}:{what}:{results_fingerprint(study)}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, RESULTS_CACHE_SECONDS)
    return value


def study_results(study: ReaderStudy) -> dict:
    """Every result of the study (see results_fingerprint for when it is computed)."""
    return cached_for_study(study, "results", lambda: _study_results(study))


def _study_results(study: ReaderStudy) -> dict:
    labels = list(Category.objects.filter(project=study.project).values_list("code", flat=True))
    truth = {
        case_id: code for case_id, code in
        study.cases.values_list("pk", "report__reference_label__category__code") if code
    }
    responses = list(
        StudyResponse.objects.filter(study=study)
        .select_related("reader__user", "category", "shown_category")
        .order_by("reader__user__username", "position")
    )
    raters: dict[str, dict] = {}
    model, model_ms, model_source = model_answers(study)
    if model:
        raters["Model"] = {"answers": model, "seconds": {k: v / 1000 for k, v in
                                                          model_ms.items()}, "is_model": True}
    for response in responses:
        rater = raters.setdefault(response.reader.user.username, {
            "answers": {}, "seconds": {}, "is_model": False, "simulated": False,
            "responses": [], "pauses": {"count": 0, "cases": 0, "seconds": 0.0}})
        rater["answers"][response.case_id] = response.category.code
        rater["seconds"][response.case_id] = response.seconds
        rater["simulated"] |= response.simulated
        rater["responses"].append(response)
        # Shown per reader: reading time is time on screen minus these, so they are evidence.
        rater["pauses"]["count"] += response.pauses
        rater["pauses"]["cases"] += response.pauses > 0
        rater["pauses"]["seconds"] += response.paused_ms / 1000
    rows = [_rater_row(name, r, truth, labels) for name, r in raters.items()]
    model_total = (study.model_timing or {}).get("total_s")
    if model_total is None and model_ms:
        model_total = sum(model_ms.values()) / 1000
    n_cases = study.cases.count()
    model_seconds = raters["Model"]["seconds"] if "Model" in raters else {}
    for row, rater in zip(rows, raters.values(), strict=True):
        row["finished"] = row["answered"] >= n_cases
        row.update(_same_case_fold(rater, model_seconds) if not row["is_model"] else
                   {"fold": None, "fold_n": 0, "fold_seconds": None, "fold_model_seconds": None})
    suggestions = ([{"name": name, "bins": _wrong_accepted(rater, truth)}
                    for name, rater in raters.items() if not rater["is_model"]]
                   if study.mode != ReaderStudy.Mode.UNAIDED else [])
    unfinished = [{"name": row["name"], "answered": row["answered"], "n": n_cases}
                  for row in rows if not row["is_model"] and not row["finished"]]
    return {
        "study": study, "labels": labels, "n_cases": n_cases,
        # Readers who have not answered every case: each statistic is then over the cases
        # it uses, and the page, the API and every paper file say so.
        "incomplete": unfinished,
        "n_with_reference": len(truth), "rows": rows,
        "comparisons": _comparisons(raters, truth),
        "kappas": _reader_kappas(raters, labels),
        "crossover": (_crossover(raters, truth) if study.mode == ReaderStudy.Mode.CROSSOVER
                      else []),
        "mrmc": _mrmc(raters, truth, labels, crossover=study.mode == ReaderStudy.Mode.CROSSOVER),
        "trends": _position_trends(raters),
        "suggestions": suggestions,
        # None shown: with a model right on every aided case the table is all dashes, and
        # the page says why rather than leave it looking empty.
        "suggestions_wrong": sum(b["shown"] for row in suggestions for b in row["bins"]),
        "model_source": model_source, "model_timing": study.model_timing or {},
        "model_version": study_model_version(study)[0],
        "model_chosen": study_model_version(study)[1],
        "model_total_s": model_total,
        "simulated": any(r.get("simulated") for r in raters.values()),
    }


def _same_case_fold(rater, model_seconds: dict) -> dict:
    """How many times longer the reader took than the model on the same cases: the
    reader's seconds over the cases they answered and the model timed, divided by the
    model's seconds over those cases. A reader who read 11 of 332 cases is compared on 11."""
    cases = [c for c in rater["seconds"] if c in model_seconds]
    reader_s = sum(rater["seconds"][c] for c in cases)
    model_s = sum(model_seconds[c] for c in cases)
    return {"fold": fold_difference(reader_s, model_s) if cases else None,
            "fold_n": len(cases), "fold_seconds": reader_s if cases else None,
            "fold_model_seconds": model_s if cases else None}


def _rater_row(name, rater, truth, labels) -> dict:
    scored = [case for case in rater["answers"] if case in truth]
    correct = [rater["answers"][c] == truth[c] for c in scored]
    y_true = [truth[c] for c in scored]
    y_pred = [rater["answers"][c] for c in scored]
    return {
        "name": name, "is_model": rater["is_model"], "simulated": rater.get("simulated", False),
        "answered": len(rater["answers"]),
        "accuracy": accuracy_summary(correct),
        "sensitivity": sensitivity_per_category(y_true, y_pred, labels),
        "time": time_summary(list(rater["seconds"].values())),
        "confusion": [
            {"label": code, "cells": cells}
            for code, cells in zip(labels, confusion_matrix(y_true, y_pred, labels).tolist(),
                                   strict=True)
        ] if scored else [],
        "seconds_per_case": list(rater["seconds"].values()),
        "pauses": rater.get("pauses"),  # None for the model
    }


def _comparisons(raters, truth) -> list[dict]:
    names = list(raters)
    pairs = []
    for a, b in itertools.combinations(names, 2):
        shared = [c for c in raters[a]["answers"] if c in raters[b]["answers"] and c in truth]
        result = mcnemar_exact(
            [raters[a]["answers"][c] == truth[c] for c in shared],
            [raters[b]["answers"][c] == truth[c] for c in shared],
        )
        # McNemar's own "b"/"c" are the discordant counts: name the raters apart.
        pairs.append({**result, "first": a, "second": b, "n": len(shared)})
    for pair, adjusted in zip(pairs, holm_adjust([p["p_value"] for p in pairs]), strict=True):
        pair["p_holm"] = adjusted
    return pairs


def _mrmc(raters, truth, labels, *, crossover: bool) -> dict:
    """Obuchowski-Rockette comparisons over the cases every reader has answered."""
    readers = {
        name: {r.case_id: (r.category.code, r.aided) for r in rater["responses"]}
        for name, rater in raters.items() if not rater["is_model"]
    }
    model = next((r["answers"] for r in raters.values() if r["is_model"]), {})
    return study_mrmc(truth, readers, model, labels, crossover=crossover)


def _reader_kappas(raters, labels) -> list[dict]:
    readers = [n for n, r in raters.items() if not r["is_model"]]
    rows = []
    for a, b in itertools.combinations(readers, 2):
        shared = [c for c in raters[a]["answers"] if c in raters[b]["answers"]]
        result = cohen_kappa_bootstrap([raters[a]["answers"][c] for c in shared],
                                       [raters[b]["answers"][c] for c in shared], labels)
        rows.append({"a": a, "b": b, **result})
    return rows


def _position_trends(raters) -> list[dict]:
    """Per reader: reading time against position (learning or fatigue), Spearman's rho."""
    rows = []
    for name, rater in raters.items():
        if rater["is_model"]:
            continue
        responses = rater["responses"]
        rows.append({"name": name, **position_trend([r.position + 1 for r in responses],
                                                    [r.seconds for r in responses])})
    return rows


def _wrong_accepted(rater, truth) -> list[dict]:
    """How often a reader took the model's suggestion when it was wrong, by its confidence."""
    counts = defaultdict(lambda: [0, 0])  # bin -> [accepted, shown]
    for response in rater["responses"]:
        shown, real = response.shown_category, truth.get(response.case_id)
        if response.aided and shown and real and shown.code != real:
            bin_ = _bin(response.shown_probability or 0)
            counts[bin_][1] += 1
            counts[bin_][0] += response.category_id == shown.pk
    rows = []
    for lo, hi in CONFIDENCE_BINS:
        accepted, shown = counts[(lo, hi)]
        rows.append({"bin": f"{lo:.2f}–{min(hi, 1):.2f}", "accepted": accepted, "shown": shown,
                     "rate": accepted / shown if shown else None,
                     "ci": list(clopper_pearson(accepted, shown))})
    return rows


def _crossover(raters, truth) -> list[dict]:
    rows = []
    for name, rater in raters.items():
        if rater["is_model"]:
            continue
        groups = defaultdict(list)
        wrong_shown = defaultdict(lambda: [0, 0])  # bin -> [accepted, shown]
        for response in rater["responses"]:
            groups[response.aided].append(response)
            shown = response.shown_category
            real = truth.get(response.case_id)
            if response.aided and shown and real and shown.code != real:
                bin_ = _bin(response.shown_probability or 0)
                wrong_shown[bin_][1] += 1
                wrong_shown[bin_][0] += response.category_id == shown.pk
        row = {"name": name}
        for aided, key in ((True, "aided"), (False, "unaided")):
            group = [r for r in groups[aided] if r.case_id in truth]
            row[key] = {
                "accuracy": accuracy_summary([r.category.code == truth[r.case_id]
                                              for r in group]),
                "time": time_summary([r.seconds for r in groups[aided]]),
            }
        row["wrong_accepted"] = [
            {"bin": f"{lo:.2f}–{min(hi, 1):.2f}", "accepted": wrong_shown[(lo, hi)][0],
             "shown": wrong_shown[(lo, hi)][1]}
            for lo, hi in CONFIDENCE_BINS
        ]
        rows.append(row)
    return rows


def _bin(probability: float):
    return next((lo, hi) for lo, hi in CONFIDENCE_BINS if lo <= probability < hi)


def response_rows(study: ReaderStudy):
    """Every response with its timing, for the CSV export."""
    truth = dict(study.cases.values_list("pk", "report__reference_label__category__code"))
    for r in (StudyResponse.objects.filter(study=study)
              .select_related("reader__user", "case__report", "category", "shown_category")
              .order_by("reader__user__username", "position")):
        yield {
            "reader": r.reader.user.username, "position": r.position + 1,
            "accession": r.case.report.accession, "answer": r.category.code,
            "reference": truth.get(r.case_id) or "",
            "correct": "" if not truth.get(r.case_id) else int(r.category.code ==
                                                               truth[r.case_id]),
            "served_at": r.served_at.isoformat(), "answered_at": r.answered_at.isoformat(),
            "active_ms": "" if r.active_ms is None else r.active_ms, "paused_ms": r.paused_ms,
            "pauses": r.pauses,
            "seconds": round(r.seconds, 3), "aided": int(r.aided),
            "shown_category": r.shown_category.code if r.shown_category else "",
            "shown_probability": "" if r.shown_probability is None else r.shown_probability,
            "simulated": int(r.simulated),
        }


RESPONSE_COLUMNS = [
    "reader", "position", "accession", "answer", "reference", "correct", "served_at",
    "answered_at", "active_ms", "paused_ms", "pauses", "seconds", "aided", "shown_category",
    "shown_probability", "simulated",
]
