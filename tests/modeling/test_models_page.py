import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse

from core.models import JobStatus
from modeling import services
from modeling.models import ModelVersion
from tests.support import CANDIDATE_METRICS, metrics_block

ROOT = Path(__file__).resolve().parents[2]
URLS = [
    ("get", "models", {}),
    ("get", "models_jobs", {}),
    ("post", "model_train", {}),
    ("post", "prelabel_now", {}),
    ("post", "retrain_policy", {}),
    ("get", "model_detail", {"number": 1}),
    ("post", "model_cancel", {"number": 1}),
    ("post", "model_promote", {"number": 1}),
]


@pytest.fixture
def version(project):
    return services.model_version_create(project=project, enqueue=False)


@pytest.fixture
def no_worker():
    """The health answer a page gets when Redis is up and no worker listens."""
    cache.set(
        "ctir:queue_health",
        {
            "redis": True,
            "training": False,
            "inference": False,
            "problem": "No Celery worker is running, so jobs would wait forever.",
        },
        60,
    )
    yield
    cache.delete("ctir:queue_health")


@pytest.mark.parametrize(("method", "name", "kwargs"), URLS)
def test_annotators_and_readers_get_403(
    login, project, annotator, reader, version, method, name, kwargs
):
    url = reverse(name, kwargs={"slug": project.slug, **kwargs})
    for user in (annotator, reader):
        assert getattr(login(user), method)(url).status_code == 403


@pytest.mark.parametrize(("method", "name", "kwargs"), URLS)
def test_outsiders_get_404(login, project, outsider, version, method, name, kwargs):
    url = reverse(name, kwargs={"slug": project.slug, **kwargs})
    assert getattr(login(outsider), method)(url).status_code == 404


def test_the_page_says_plainly_when_no_worker_runs(login, project, admin_user, no_worker):
    page = login(admin_user).get(reverse("models", args=[project.slug])).content.decode()
    assert "Jobs cannot run right now." in page
    assert "No Celery worker is running" in page
    assert "Disabled: No Celery worker" in page


def test_train_is_refused_with_the_reason_when_no_worker_runs(
    login, project, admin_user, no_worker
):
    response = login(admin_user).post(reverse("model_train", args=[project.slug]), follow=True)
    assert b"Training cannot start: No Celery worker is running" in response.content
    assert not ModelVersion.objects.exists()


def test_the_page_reports_a_redis_outage(login, project, admin_user, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    cache.delete("ctir:queue_health")
    client = login(admin_user)
    page = client.get(reverse("models", args=[project.slug])).content.decode()
    assert "Checking the workers…" in page  # the page itself never waits on the broker
    health = client.get(reverse("models_health", args=[project.slug]),
                        headers={"HX-Request": "true"}).content.decode()
    cache.delete("ctir:queue_health")
    assert "The task queue (Redis at redis://127.0.0.1:1/0) is not answering" in health


def test_bad_recipe_values_are_explained(login, project, admin_user):
    cache.set(
        "ctir:queue_health", {"redis": True, "training": True, "inference": True, "problem": ""}, 60
    )
    response = login(admin_user).post(
        reverse("model_train", args=[project.slug]), {"epochs": "0", "seeds": "2"}, follow=True
    )
    cache.delete("ctir:queue_health")
    assert b"epochs must be between 1 and 20" in response.content
    assert not ModelVersion.objects.exists()


def test_polling_stops_when_nothing_runs(login, project, admin_user, version):
    client = login(admin_user)
    url = reverse("models_jobs", args=[project.slug])
    running = client.get(url, headers={"HX-Request": "true"})
    assert running.status_code == 200
    assert b'hx-trigger="every 2s"' in running.content
    ModelVersion.objects.filter(pk=version.pk).update(status=JobStatus.SUCCEEDED)
    done = client.get(url, headers={"HX-Request": "true"})
    assert done.status_code == 286
    assert b"hx-trigger" not in done.content


def test_the_version_page_shows_confusion_and_curve(login, project, admin_user, version):
    metrics = {
        "n": 4,
        "correct": 3,
        "accuracy": 0.75,
        "accuracy_ci": [0.19, 0.99],
        "macro_f1": 0.7,
        "labels": [1, 2],
        "confusion": [[2, 0], [1, 1]],
        "per_category": {"1": {"recall": 1.0}, "2": {"recall": 0.5}},
    }
    ModelVersion.objects.filter(pk=version.pk).update(
        status=JobStatus.SUCCEEDED,
        metrics={"validation": metrics, "test": metrics},
        history=[
            {"seed": 42, "epoch": 1, "val_accuracy": 0.5},
            {"seed": 42, "epoch": 2, "val_accuracy": 0.75},
        ],
    )
    page = login(admin_user).get(reverse("model_detail", args=[project.slug, 1])).content
    assert b"Accuracy 75.0% (19.0\xe2\x80\x9399.0)" in page
    assert b"<polyline" in page
    assert b'<td class="num diag">2</td>' in page


def test_the_version_page_says_when_its_figures_are_the_int8_encoders(project, admin_user,
                                                                       version, login):
    url = reverse("model_detail", args=[project.slug, 1])
    ModelVersion.objects.filter(pk=version.pk).update(
        status=JobStatus.SUCCEEDED, metrics={**CANDIDATE_METRICS, "encoder_precision": "int8"})
    page = login(admin_user).get(url).content.decode()
    assert 'id="encoder-precision"' in page
    assert "int8 (dynamic quantisation" in page and "quantised encoder&#x27;s" in page
    # A bf16 version (a job where the processor has bf16) says where it runs in fp32.
    ModelVersion.objects.filter(pk=version.pk).update(
        metrics={**CANDIDATE_METRICS, "encoder_precision": "bf16"})
    page = login(admin_user).get(url).content.decode()
    assert "bf16, as trained" in page and "has no bf16 runs it in fp32" in page
    # A version from before int8 says nothing of it.
    ModelVersion.objects.filter(pk=version.pk).update(metrics=CANDIDATE_METRICS)
    assert "encoder-precision" not in login(admin_user).get(url).content.decode()


def test_the_version_page_says_when_the_ensemble_asks_bert_only_where_it_counts(
        project, admin_user, version, login):
    import copy

    url = reverse("model_detail", args=[project.slug, 1])
    metrics = copy.deepcopy(CANDIDATE_METRICS)
    metrics["candidates"]["ensemble"]["skip_decided"] = True
    ModelVersion.objects.filter(pk=version.pk).update(status=JobStatus.SUCCEEDED,
                                                      metrics=metrics)
    page = login(admin_user).get(url).content.decode()
    # BERT 25%: TF-IDF must lead by more than 0.25 / 0.75.
    assert 'id="bert-asked"' in page and "by more than 0.33" in page
    # An ensemble from before the rule, or one where BERT holds half the vote, asks always.
    metrics["candidates"]["ensemble"]["bert_weight"] = 0.5
    ModelVersion.objects.filter(pk=version.pk).update(metrics=metrics)
    assert 'id="bert-asked"' not in login(admin_user).get(url).content.decode()
    ModelVersion.objects.filter(pk=version.pk).update(metrics=CANDIDATE_METRICS)
    assert 'id="bert-asked"' not in login(admin_user).get(url).content.decode()


def test_the_web_process_never_imports_torch():
    code = (
        "import sys, django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE',"
        "'ctir_site.settings'); os.environ.setdefault('SECRET_KEY','x'); django.setup();"
        "from django.urls import get_resolver; from importlib import import_module;"
        "[import_module(m) for m in ('ctir_site.urls','annotation.views','modeling.views',"
        "'studies.views','annotation.api','studies.api','modeling.api','accounts.views',"
        "'ctir_site.api_urls','annotation.labeling.agreement',"
        "'annotation.labeling.views',"
        "'studies.selectors','modeling.services','modeling.selectors',"
        "'modeling.tasks','studies.tasks','ctir_site.wsgi')];"
        "get_resolver().url_patterns;"
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False False"


def test_the_models_page_shows_every_candidate_and_marks_the_served_one(
    login, project, admin_user, version
):
    ModelVersion.objects.filter(pk=version.pk).update(status=JobStatus.SUCCEEDED,
                                                      metrics=CANDIDATE_METRICS)
    page = login(admin_user).get(reverse("models", args=[project.slug])).content.decode()
    row = page[page.index('id="version-1"'):]
    assert '<strong class="served">TF-IDF (n-grams + concepts)</strong>' in row
    assert "BERT 31.0% / 29.0%" in row and "Ensemble 93.0% / 94.0%" in row
    assert 'class="served">TF-IDF 97.0% / 96.0% ✓' in row
    # The tokenizer warning is on the page, not only in the worker's log.
    assert 'id="coverage-warning"' in page and "31% ..." in page


def test_the_version_page_compares_candidates_side_by_side(login, project, admin_user, version):
    ModelVersion.objects.filter(pk=version.pk).update(status=JobStatus.SUCCEEDED,
                                                      metrics=CANDIDATE_METRICS)
    page = login(admin_user).get(reverse("model_detail", args=[project.slug, 1])).content.decode()
    start = page.index('id="candidates"')
    table = page[start:page.index("</table>", start)]
    assert table.count("<tr") == 4  # header + three candidates
    served = table[table.index('class="served"'):]
    assert served.split("</tr>")[0].count("served") >= 2 and "TF-IDF" in served.split("</tr>")[0]
    assert "0.020 / 0.025" in table and "0.41" in table
    ensemble = table[table.index("Ensemble (BERT + TF-IDF)"):].split("</tr>")[0]
    assert "BERT 25%, TF-IDF 75%" in ensemble  # the ensemble's fitted shares
    assert "Ensemble (BERT + TF-IDF), test" in page  # every candidate's confusion matrix
    assert "31% ..." in page


def test_a_version_from_before_candidates_shows_bert_and_its_baseline(
    login, project, admin_user, version
):
    ModelVersion.objects.filter(pk=version.pk).update(
        status=JobStatus.SUCCEEDED,
        metrics={"validation": metrics_block(0.95), "test": metrics_block(0.94),
                 "baseline": {"validation": metrics_block(0.99), "test": metrics_block(1.0)}})
    page = login(admin_user).get(reverse("models", args=[project.slug])).content.decode()
    assert '<strong class="served">Fine-tuned BERT</strong>' in page
    assert "TF-IDF 99.0% / 100.0%" in page
