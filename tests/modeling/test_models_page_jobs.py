"""The Models page (issue 19, part 6): it answers without waiting on the workers, shows the
jobs in progress above the version history, follows a pre-labeling run to its end, and says
things in plain words with the technical term in a tooltip."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from core.models import JobStatus
from ctir_site.celery import app as celery_app
from modeling import jobs, selectors, services
from modeling.models import ModelVersion, Prediction, PrelabelRun

HX = {"HX-Request": "true"}
HEALTHY = {"redis": True, "training": True, "inference": True, "problem": ""}


def _url(name, project):
    return reverse(name, args=[project.slug])


@pytest.fixture
def inspect_calls(monkeypatch):
    """Every question put to the workers, counted; the real question is still asked."""
    calls = []
    real = celery_app.control.inspect

    def counted(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(celery_app.control, "inspect", counted)
    return calls


def test_it_answers_without_asking_the_workers(login, project, admin_user, inspect_calls):
    page = login(admin_user).get(_url("models", project)).content.decode()
    # Asking the workers waits a full second (their replies are gathered until a timeout).
    assert inspect_calls == []
    assert cache.get(selectors.HEALTH_KEY) is None  # nothing asked, nothing cached
    # It says it does not know yet, and asks in a request of its own once loaded.
    assert "Checking the workers…" in page
    health = _url("models_health", project)
    assert f'hx-get="{health}" hx-trigger="load"' in page
    assert 'id="queue-problem"' not in page and "Disabled:" not in page


def test_the_health_request_asks_the_workers_and_sets_the_buttons(
        login, project, admin_user, inspect_calls):
    client = login(admin_user)
    fragment = client.get(_url("models_health", project), headers=HX).content.decode()
    assert len(inspect_calls) == 1  # the real question, on the real Redis
    health = cache.get(selectors.HEALTH_KEY)
    assert health is not None and health["redis"]
    assert "Checking the workers…" not in fragment
    assert ('id="queue-problem"' in fragment) == bool(health["problem"])
    assert 'id="train-submit" hx-swap-oob="true"' in fragment
    assert 'id="prelabel-submit" hx-swap-oob="true"' in fragment
    # The next page load shows the answer it now knows, without asking again.
    page = client.get(_url("models", project)).content.decode()
    assert len(inspect_calls) == 1
    assert "Checking the workers…" not in page and 'hx-trigger="load"' not in page


def test_without_javascript_the_check_link_comes_back_to_the_page(
        login, project, admin_user):
    response = login(admin_user).get(_url("models_health", project))
    assert response.status_code == 302 and response.url == _url("models", project)
    assert cache.get(selectors.HEALTH_KEY) is not None


def test_a_known_healthy_answer_enables_the_buttons(login, project, admin_user):
    cache.set(selectors.HEALTH_KEY, HEALTHY, 60)
    page = login(admin_user).get(_url("models", project)).content.decode()
    assert 'id="queue-ok"' in page and "Checking the workers…" not in page
    start = page.index('id="train-submit"')
    assert "disabled" not in page[start:page.index("</div>", start)]


def test_the_health_check_keeps_its_role_rules(login, project, annotator, reader, outsider):
    url = _url("models_health", project)
    assert login(annotator).get(url).status_code == 403
    assert login(reader).get(url).status_code == 403
    assert login(outsider).get(url).status_code == 404
    assert cache.get(selectors.HEALTH_KEY) is None  # refused before anything was asked


# --- jobs in progress, above the history -----------------------------------------------------

def _finished(project, number):
    return ModelVersion.objects.create(project=project, number=number, base_model="x",
                                       status=JobStatus.SUCCEEDED, phase="done")


def test_a_running_job_and_its_progress_are_above_the_history(login, project, admin_user):
    for number in range(1, 6):
        _finished(project, number)
    version = services.model_version_create(project=project, enqueue=False)
    ModelVersion.objects.filter(pk=version.pk).update(
        status=JobStatus.RUNNING, phase="training",
        progress={"step": 120, "total_steps": 600, "seed": 1, "seeds": 3, "epoch": 2,
                  "epochs": 3, "loss": 0.4123, "val_accuracy": 0.9, "eta_seconds": 95,
                  "message": "Fine-tuning BERT, run 1 of 3"})
    client = login(admin_user)
    page = client.get(_url("models", project)).content.decode()
    activity = page.index('id="activity"')
    assert activity < page.index("Train a new model") < page.index('id="jobs"')
    card = page[activity:page.index("</section>", activity)]
    assert 'hx-trigger="every 2s"' in card
    row = card[card.index('id="progress-6"'):]
    assert "learning from the labelled reports" in row
    assert "120 of 600" in row and "1 of 3" in row and "2 of 3" in row and "0.412" in row
    assert "90.0%" in row and "about 1 min 35 s" in row
    assert reverse("model_cancel", args=[project.slug, 6]) in card
    # The history says where its progress is, and has no second Cancel button.
    history = page[page.index('id="jobs"'):]
    assert "in progress" in history and 'href="#activity"' in history
    assert reverse("model_cancel", args=[project.slug, 6]) not in history
    # The polled fragment is the same card, still polling.
    fragment = client.get(_url("models_jobs", project), headers=HX)
    assert fragment.status_code == 200 and b'id="progress-6"' in fragment.content


def test_a_queued_job_waits_for_a_worker_in_plain_words(login, project, admin_user):
    services.model_version_create(project=project, enqueue=False)
    page = login(admin_user).get(_url("models", project)).content.decode()
    card = page[page.index('id="activity"'):page.index('id="jobs"')]
    assert '<abbr title="queued">waiting for a worker</abbr>' in card


def test_when_the_job_ends_the_history_is_brought_up_to_date(login, project, admin_user):
    version = services.model_version_create(project=project, enqueue=False)
    client = login(admin_user)
    ModelVersion.objects.filter(pk=version.pk).update(status=JobStatus.SUCCEEDED, phase="done")
    done = client.get(_url("models_jobs", project), headers=HX)
    assert done.status_code == 286  # polling stops
    html = done.content.decode()
    assert "Nothing is running now." in html and 'id="last-version"' in html
    assert '<section class="card" id="jobs" hx-swap-oob="true">' in html
    history = html[html.index('id="jobs"'):]
    assert '<span class="badge succeeded">succeeded</span>' in history


# --- pre-labeling followed to its end --------------------------------------------------------

def test_a_prelabel_run_is_followed_to_its_end(login, labelled_project, admin_user, settings,
                                               tmp_path):
    """The run the worker would do, in-process: the fast model, promoted, pre-labels the
    project while the page polls; the last answer says it finished, with the count."""
    settings.CTIR_MODEL_DIR = tmp_path / "models"
    project = labelled_project
    version = services.model_version_create(project=project, enqueue=False, fast=True)
    version = jobs.train_version(version.pk)
    assert version.status == JobStatus.SUCCEEDED, version.error
    services.model_version_promote(version=version, prelabel=False)
    run = services.prelabel_request(project=project, enqueue=False)
    client = login(admin_user)

    page = client.get(_url("models", project)).content.decode()
    card = page[page.index('id="activity"'):page.index("</section>", page.index('id="activity"'))]
    assert 'hx-trigger="every 2s"' in card
    assert "Pre-labeling with v1:" in card and "waiting for a worker" in card

    jobs.prelabel(run.pk)
    assert Prediction.objects.filter(model_version=version).count() == 48
    done = client.get(_url("models_jobs", project), headers=HX)
    assert done.status_code == 286
    html = done.content.decode()
    assert '<span class="badge succeeded">finished</span> 48 reports pre-labeled' in html
    assert "badge running" not in html and "0/0" not in html
    # The Pre-labeling card below is brought up to date in the same answer.
    coverage = html[html.index('<p id="coverage" hx-swap-oob="true">'):]
    assert "suggestions for 48 of 48 reports" in coverage and "finished" in coverage


def test_a_running_prelabel_run_shows_its_count(login, project, admin_user):
    version = _finished(project, 1)
    PrelabelRun.objects.create(project=project, model_version=version,
                               status=JobStatus.RUNNING, total=48, done=16,
                               reports_per_second=310.4)
    polled = login(admin_user).get(_url("models_jobs", project), headers=HX)
    assert polled.status_code == 200 and b'hx-trigger="every 2s"' in polled.content
    assert "16 of 48 reports, 310 a second" in polled.content.decode()


def test_a_finished_prelabel_run_shows_finished_on_load(login, project, admin_user):
    version = _finished(project, 1)
    ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    PrelabelRun.objects.create(project=project, model_version=version,
                               status=JobStatus.SUCCEEDED, total=1805, done=1805)
    page = login(admin_user).get(_url("models", project)).content.decode()
    assert 'id="activity"' not in page and 'hx-trigger="every 2s"' not in page
    status = page[page.index('id="prelabel-last"'):]
    assert status.startswith('id="prelabel-last">Pre-labeling with v1:\n'
                             '<span class="badge succeeded">finished</span> 1805 reports')
    assert "0/0" not in page


def test_a_run_with_nothing_left_to_do_says_so(login, project, admin_user):
    version = _finished(project, 1)
    PrelabelRun.objects.create(project=project, model_version=version,
                               status=JobStatus.SUCCEEDED, total=0, done=0)
    page = login(admin_user).get(_url("models", project)).content.decode()
    assert "every report already had a suggestion from v1" in page and "0/0" not in page


# --- plain words, the term in a tooltip ------------------------------------------------------

PLAIN = [
    ("epochs:", "Passes over the data"),
    ("seeds:", "Tries (best one kept)"),
    ("max length, in tokens:", "Words read per report"),
    ("warm start:", "Start the language model from"),
    ("optimiser steps:", "training steps"),
    ("TF-IDF:", "word-pattern model"),
    ("ensemble:", "blend of the two"),
    ("validation split:", "held-out reports"),
    # the progress table's headers
    ("optimiser steps done", "Training steps"),
    ("seed:", "Try"),
    ("validation check (epoch):", "Check"),
    ("training loss:", "Training error"),
    ("validation accuracy at the last check", "Held-out accuracy"),
    # the history's headers
    ("test macro F1:", "Balanced score, test"),
]


def test_plain_words_carry_the_term_in_a_tooltip(login, project, admin_user):
    version = services.model_version_create(project=project, enqueue=False)
    ModelVersion.objects.filter(pk=version.pk).update(status=JobStatus.RUNNING, phase="training")
    _finished(project, 2)
    page = login(admin_user).get(_url("models", project)).content.decode()
    for term, words in PLAIN:
        assert f'<abbr title="{term}' in page, term
        start = page.index(f'<abbr title="{term}')
        assert page[start:page.index("</abbr>", start)].endswith(f">{words}"), term
