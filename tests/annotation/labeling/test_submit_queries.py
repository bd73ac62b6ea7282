"""Submit-and-next stays cheap: a fixed, small number of queries per answer, whatever the
size of the queue (every annotator pays it on every report, all day)."""

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from annotation import services as annotation_services
from annotation.labeling import services
from annotation.models import Annotation, Category, ReferenceLabel, Report
from core.models import JobStatus
from modeling.models import ModelVersion, Prediction
from tests.support import add_unlabelled

TOKEN = 'name="token" value="'
# As deployed with a shared cache (CACHE_URL: the session and the project's categories come
# from it), on PostgreSQL: the user, the membership; the locked report, what the rules need
# (with whether the user holds another report), the answer with its claim released, the
# reference label with its history, counters, split and queue flag; the next report's
# candidate, its claim (with its load), its suggestion, the progress. Savepoints are not
# statements and are not counted. SQLite lacks the data-modifying WITH that joins the
# writes, and writes them one by one.
MOST_QUERIES_PER_ANSWER = 10 if connection.vendor == "postgresql" else 17
SHARED_CACHE = override_settings(
    SESSION_ENGINE="django.contrib.sessions.backends.cached_db", CTIR_CACHE_SHARED=True)


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


@SHARED_CACHE
def test_an_answer_and_the_next_report_take_a_fixed_few_queries(project, annotator, login):
    counts = _answers(project, annotator, login, reports=40, answers=5)
    assert max(counts) <= MOST_QUERIES_PER_ANSWER, counts
    assert Annotation.objects.filter(user=annotator).count() == 5
    # Each answer made its reference label (single reading), none served twice.
    assert ReferenceLabel.objects.filter(report__project=project).count() == 5
    assert Annotation.objects.values("report").distinct().count() == 5


@SHARED_CACHE
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


def test_the_split_a_label_draws_is_the_same_in_sql_as_in_python(db, monkeypatch):
    # The first label of a report is written in one SQL statement on PostgreSQL, which draws
    # the report's split there; elsewhere split_of_draw does. Past the cap, and at a small one.
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement label write is PostgreSQL's")
    for cap in (annotation_services.VALIDATION_CAP_PER_CATEGORY, 2):
        monkeypatch.setattr(annotation_services, "VALIDATION_CAP_PER_CATEGORY", cap)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT n, {annotation_services.split_of_draw_sql('n')} "
                           "FROM generate_series(0, 400) AS n ORDER BY n")
            in_sql = cursor.fetchall()
        assert in_sql == [(n, annotation_services.split_of_draw(n)) for n in range(401)]
        assert sum(split == "validation" for _, split in in_sql) == cap


@SHARED_CACHE
def test_a_report_held_from_before_comes_next(project, annotator, login):
    # The answer's own statement reads whether the user holds another report; the next
    # report served is that one (not a new claim), as before the read was folded in.
    add_unlabelled(project, 3)
    held = services.queue_next(project=project, user=annotator)
    client = login(annotator)
    url = reverse("annotate", args=[project.slug])
    other = services.queue_next(project=project, user=annotator, exclude_ids=[held.pk])
    assert other != held
    token = services.served_token(services.served_report(report=other, user=annotator,
                                                         suggestion=None))
    page = client.post(url, {"token": token, "category": "4"},
                       HTTP_HX_REQUEST="true").content.decode()
    assert held.accession in page
    assert Annotation.objects.get(user=annotator).report == other
    # Then nothing is held: the next is a new claim, the last report.
    token = page.split(TOKEN)[1].split('"')[0]
    page = client.post(url, {"token": token, "category": "4"},
                       HTTP_HX_REQUEST="true").content.decode()
    last = Report.objects.exclude(pk__in=[held.pk, other.pk]).get()
    assert last.accession in page


@SHARED_CACHE
def test_a_category_renamed_or_retired_shows_on_the_next_answer(project, annotator, login):
    # The categories come from the shared cache on every answer; a change clears it.
    add_unlabelled(project, 3)
    client = login(annotator)
    url = reverse("annotate", args=[project.slug])
    page = client.get(url).content.decode()
    four = Category.objects.get(project=project, code=4)
    annotation_services.category_update(category=four, user=None,
                                        name="Bone biopsy (renamed)")
    token = page.split(TOKEN)[1].split('"')[0]
    page = client.post(url, {"token": token, "category": "4"},
                       HTTP_HX_REQUEST="true").content.decode()
    assert "Bone biopsy (renamed)" in page
    three = Category.objects.get(project=project, code=3)
    annotation_services.category_retire(category=three, user=None)
    token = page.split(TOKEN)[1].split('"')[0]
    response = client.post(url, {"token": token, "category": "3"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert not Annotation.objects.filter(category=three).exists()


@SHARED_CACHE
def test_a_list_cached_again_before_the_change_commits_is_cleared_at_commit(
        project, django_capture_on_commit_callbacks):
    from django.core.cache import cache

    from annotation import selectors

    key = selectors._categories_key(project.pk)
    selectors.categories_offered(project)
    before = cache.get(key)
    four = Category.objects.get(project=project, code=4)
    with django_capture_on_commit_callbacks(execute=True):
        annotation_services.category_update(category=four, user=None, name="Renamed")
        # Another web process answers now: it reads the rows as last committed (the old
        # name) and caches them again.
        cache.set(key, before)
    assert "Renamed" in [c.name for c in selectors.categories_offered(project)]
