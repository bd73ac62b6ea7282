"""Submit-and-next stays cheap: a fixed, small number of queries per answer, whatever the
size of the queue (every annotator pays it on every report, all day)."""

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from annotation.labeling import services
from annotation.models import Annotation, Category, ReferenceLabel, Report
from core.models import JobStatus
from modeling.models import ModelVersion, Prediction
from tests.support import add_unlabelled

TOKEN = 'name="token" value="'
# Session, user, membership, categories; the locked report with what the rules need, the
# answer, the claim released; the reference label (read locked, written, its history, the
# split counter, the project's label counter, the report's split and queue flag); the next
# report (a held claim, a candidate, its load, its claim), its suggestion, the progress.
# Transaction savepoints are not statements and are not counted.
MOST_QUERIES_PER_ANSWER = 19


def _statements(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def _answers(project, annotator, login, reports: int, answers: int) -> list[int]:
    add_unlabelled(project, reports)
    version = ModelVersion.objects.create(project=project, number=1, base_model="x",
                                          status=JobStatus.SUCCEEDED, is_active=True,
                                          promoted_at=timezone.now(), metrics={"served": "tfidf"})
    four = project.categories.get(code=4)
    Prediction.objects.bulk_create(
        Prediction(report=r, model_version=version, category=four,
                   probabilities={"4": 0.8, "2": 0.2}, margin=0.6, ms=1)
        for r in Report.objects.filter(project=project))
    client = login(annotator)
    url = reverse("annotate", args=[project.slug])
    page = client.get(url).content.decode()
    counts = []
    for _ in range(answers):
        token = page.split(TOKEN)[1].split('"')[0]
        with CaptureQueriesContext(connection) as queries:
            page = client.post(url, {"token": token, "category": "4"},
                               HTTP_HX_REQUEST="true").content.decode()
        assert "suggests <strong>4" in page  # the next report came, with its suggestion
        counts.append(len(_statements(queries)))
    return counts


def test_an_answer_and_the_next_report_take_a_fixed_few_queries(project, annotator, login):
    counts = _answers(project, annotator, login, reports=40, answers=5)
    assert max(counts) <= MOST_QUERIES_PER_ANSWER, counts
    assert Annotation.objects.filter(user=annotator).count() == 5
    # Each answer made its reference label (single reading), none served twice.
    assert ReferenceLabel.objects.filter(report__project=project).count() == 5
    assert Annotation.objects.values("report").distinct().count() == 5


def test_the_count_does_not_grow_with_the_queue(project, annotator, login):
    small = _answers(project, annotator, login, reports=4, answers=2)
    Report.objects.filter(project=project).delete()
    ModelVersion.objects.filter(project=project).delete()
    big = _answers(project, annotator, login, reports=400, answers=2)
    assert big == small


@pytest.mark.django_db(transaction=True)
def test_one_answer_sent_twice_at_once_is_kept_once(project, annotator):
    # The second request waits for the first's row lock; what it then reads (the first
    # answer) must be what the first committed, not what was there when it began.
    if connection.vendor != "postgresql":
        pytest.skip("row locks are what is tested: needs PostgreSQL")
    add_unlabelled(project, 2)
    report = services.queue_next(project=project, user=annotator)
    category = Category.objects.get(project=project, code=4)
    answer = services.ServedReport(report_id=report.pk, user_id=annotator.pk,
                                   served_at=timezone.now())
    waiting, results, errors = threading.Event(), [], []

    def first():
        try:
            with transaction.atomic():
                results.append(services.annotation_submit(
                    served=answer, user=annotator, category=category, active_ms=5))
                waiting.set()
                time.sleep(1.0)  # the second is now blocked on the report's row lock
        except Exception as exc:  # asserted below
            errors.append(exc)
            waiting.set()
        finally:
            connections.close_all()

    def second():
        try:
            waiting.wait(10)
            results.append(services.annotation_submit(
                served=answer, user=annotator, category=category, active_ms=5))
        except Exception as exc:  # asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Annotation.objects.filter(report=report).count() == 1
    assert results[0].pk == results[1].pk
