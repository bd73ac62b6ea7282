"""Agreement between annotators and how they worked with the model's suggestions.

Reads only; the statistics themselves live in annotation.labeling.statistics (plain functions).
"""

import itertools
import statistics as pystats
from collections import defaultdict

from ..models import Annotation, Category, LabelMethod, Project, ReferenceLabel
from .statistics import (
    accuracy_summary,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    percent_agreement,
    ratings_to_table,
)


def agreement_report(project: Project) -> dict:
    labels = list(Category.objects.filter(project=project).values_list("code", flat=True))
    annotations = list(
        Annotation.objects.filter(report__project=project)
        .order_by("submitted_at", "id")
        .values("id", "report_id", "user_id", "user__username", "category__code",
                "active_ms", "suggested_category__code", "supersedes_id")
    )
    names = {a["user_id"]: a["user__username"] for a in annotations}
    latest: dict[int, dict[int, int]] = defaultdict(dict)  # report -> user -> code
    for a in annotations:
        latest[a["report_id"]][a["user_id"]] = a["category__code"]
    references = {
        r["report_id"]: r
        for r in ReferenceLabel.objects.filter(report__project=project)
        .values("report_id", "category__code", "method", "set_by_id")
    }
    return {
        "pairs": _pairs(latest, names, labels),
        "overall": _overall(latest, labels),
        "annotators": _annotators(annotations, latest, references, names),
    }


def _pairs(latest, names, labels) -> list[dict]:
    rows = []
    for u, v in itertools.combinations(sorted(names, key=names.get), 2):
        shared = [(answers[u], answers[v]) for answers in latest.values()
                  if u in answers and v in answers]
        a, b = [x for x, _ in shared], [y for _, y in shared]
        rows.append({
            "a": names[u], "b": names[v], "n": len(shared),
            "kappa": cohen_kappa(a, b, labels) if shared else None,
            "percent": percent_agreement(a, b) if shared else None,
        })
    return rows


def _overall(latest, labels) -> dict:
    multi = [list(answers.values()) for answers in latest.values() if len(answers) >= 2]
    result = {"n": len(multi), "percent": None, "fleiss": None, "fleiss_n": 0, "ac1": None}
    if not multi:
        return result
    result["percent"] = sum(len(set(r)) == 1 for r in multi) / len(multi)
    result["ac1"] = gwet_ac1(multi, labels)
    # Fleiss' kappa needs the same number of raters per report: use the commonest count.
    k = pystats.mode(len(r) for r in multi)
    same = [r for r in multi if len(r) == k]
    result["fleiss"] = fleiss_kappa(ratings_to_table(same, labels))
    result["fleiss_n"], result["fleiss_raters"] = len(same), k
    return result


def _annotators(annotations, latest, references, names) -> list[dict]:
    rows = []
    for user_id, name in sorted(names.items(), key=lambda item: item[1]):
        mine = [a for a in annotations if a["user_id"] == user_id]
        first_reads = [a for a in mine if a["supersedes_id"] is None]

        def independent(report_id, user_id=user_id):
            return _independent_reference(references, report_id, user_id)

        scored = [(latest[r][user_id], independent(r)) for r in latest if user_id in latest[r]]
        correct = [answer == truth for answer, truth in scored if truth is not None]
        with_suggestion = [a for a in first_reads if a["suggested_category__code"] is not None]
        accepted = [a for a in with_suggestion
                    if a["category__code"] == a["suggested_category__code"]]
        corrected = [a for a in with_suggestion
                     if a["category__code"] != a["suggested_category__code"]]

        def accuracy_of(group):
            hits = [a["category__code"] == independent(a["report_id"]) for a in group
                    if independent(a["report_id"]) is not None]
            return accuracy_summary(hits) if hits else None

        rows.append({
            "name": name, "reports": len({a["report_id"] for a in mine}),
            "accuracy": accuracy_summary(correct) if correct else None,
            "median_ms_with": _median([a["active_ms"] for a in with_suggestion]),
            "median_ms_without": _median([a["active_ms"] for a in first_reads
                                          if a["suggested_category__code"] is None]),
            "n_with": len(with_suggestion),
            "n_without": len(first_reads) - len(with_suggestion),
            "accepted_rate": len(accepted) / len(with_suggestion) if with_suggestion else None,
            "accepted_accuracy": accuracy_of(accepted),
            "corrected_accuracy": accuracy_of(corrected),
        })
    return rows


def _independent_reference(references, report_id, user_id):
    # A reference that is this annotator's own single answer says nothing about them.
    ref = references.get(report_id)
    if ref is None or (ref["method"] == LabelMethod.SINGLE and ref["set_by_id"] == user_id):
        return None
    return ref["category__code"]


def _median(values):
    values = [v for v in values if v is not None]
    return pystats.median(values) if values else None
