"""The annotate page's progress line: the counts taken once a minute plus the answers since
give the same numbers as counting every answer."""

import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone

from annotation.labeling.selectors import annotator_progress
from annotation.models import Annotation, Report
from tests.support import add_unlabelled


def _answer(report, user, when, supersedes=None):
    return Annotation.objects.create(
        report=report, user=user, category=report.project.categories.get(code=1),
        served_at=when - datetime.timedelta(seconds=5), submitted_at=when,
        supersedes=supersedes)


def _counted(project, user):
    """The progress line's two counts, the plain way: every first answer of theirs."""
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    mine = [a for a in Annotation.objects.filter(user=user, supersedes__isnull=True)
            if a.report.project_id == project.pk]
    return {"total": len(mine), "today": sum(a.submitted_at >= today for a in mine)}


@pytest.mark.django_db
def test_progress_counts_match_counting_every_answer(project, other_project, annotator):
    cache.clear()
    add_unlabelled(project, 12)
    reports = list(Report.objects.filter(project=project).order_by("accession"))
    now = timezone.now()
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    # Yesterday's answers, today's, a correction (not a new answer), another project's.
    _answer(reports[0], annotator, midnight - datetime.timedelta(hours=3))
    _answer(reports[1], annotator, midnight - datetime.timedelta(minutes=1))
    first = _answer(reports[2], annotator, now - datetime.timedelta(seconds=30))
    _answer(reports[2], annotator, now - datetime.timedelta(seconds=20), supersedes=first)
    elsewhere = Report.objects.create(project=other_project, patient=reports[0].patient,
                                      accession="X1", procedure_date=datetime.date(2024, 1, 1),
                                      text="x")
    other_project.categories.create(code=1, name="Drainage", key="1")
    _answer(elsewhere, annotator, now - datetime.timedelta(seconds=10))

    # The project's queue counted 40 s ago (12 waiting), before the last answer here.
    cache.set(f"ctir:queue-left:{project.pk}",
              {"left": 12, "at": now - datetime.timedelta(seconds=40)}, 60)
    progress = annotator_progress(project, annotator)  # takes the annotator's counts
    assert {k: progress[k] for k in ("total", "today")} == _counted(project, annotator) == {
        "total": 3, "today": 1}
    left = progress["left"]
    assert left == 12 - 1  # their one first answer here since the queue count

    # Answers after the counts are added, without counting everything again.
    for i, report in enumerate(reports[3:7]):
        _answer(report, annotator, timezone.now() + datetime.timedelta(milliseconds=i + 1))
    progress = annotator_progress(project, annotator)
    assert {k: progress[k] for k in ("total", "today")} == _counted(project, annotator) == {
        "total": 7, "today": 5}
    assert progress["left"] == left - 4

    # Counts taken before midnight: the answers since midnight are today's, none before.
    key = f"ctir:my-answers:{project.pk}:{annotator.pk}"
    cache.set(key, {"total": 1, "today": 1, "at": midnight - datetime.timedelta(minutes=2),
                    "day": midnight - datetime.timedelta(days=1)}, 60)
    progress = annotator_progress(project, annotator)
    assert {k: progress[k] for k in ("total", "today")} == _counted(project, annotator)
