"""The Models page in chromium (issue 19, part 6): with a job running and a long history, no
sideways scrolling at 1,024 or 390 px, the Cancel button inside its card at 1,024 px, wide
tables scrolling inside their card, and the workers' answer arriving after the page.

CTIR_SCREENSHOTS=DIR keeps the page at 1,400, 1,024 and 390 px for a person to look at."""

import os

import pytest
from django.urls import reverse

from core.models import JobStatus
from modeling import services
from modeling.models import ModelVersion, PrelabelRun
from tests.support import CANDIDATE_METRICS, add_reports

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _busy_project(project):
    """Eight finished versions (every candidate scored), one training, one pre-labeling."""
    add_reports(project, 40)
    for number in range(1, 9):
        ModelVersion.objects.create(project=project, number=number, base_model="x",
                                    status=JobStatus.SUCCEEDED, phase="done",
                                    metrics=CANDIDATE_METRICS, is_active=number == 8)
    running = services.model_version_create(project=project, enqueue=False, start_from="base")
    ModelVersion.objects.filter(pk=running.pk).update(
        status=JobStatus.RUNNING, phase="training",
        progress={"step": 1234, "total_steps": 6000, "seed": 2, "seeds": 15, "epoch": 3,
                  "epochs": 3, "loss": 0.41234, "val_accuracy": 0.9512, "eta_seconds": 3725,
                  "message": "Fine-tuning BERT, run 2 of 15",
                  "warning": "The base model's tokenizer reads these reports poorly: 31% of "
                             "the words are unknown to it."})
    PrelabelRun.objects.create(project=project, model_version_id=ModelVersion.objects.get(
        project=project, number=8).pk, status=JobStatus.RUNNING, total=1805, done=640,
        reports_per_second=312.5)
    return running


def test_the_models_page_fits_the_window(project, admin_user, browser, live_server, tmp_path):
    _busy_project(project)
    admin_user.set_password("pw")
    admin_user.save()
    context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "alice-admin")
    page.fill("input[name=password]", "pw")
    page.click("button.primary")
    page.wait_for_load_state()
    url = live_server.url + reverse("models", args=[project.slug])
    shots = os.environ.get("CTIR_SCREENSHOTS") or str(tmp_path)
    for width in (1400, 1024, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(url)
        # The workers' answer comes in its own request after the page (up to a second).
        page.wait_for_selector("#queue-problem, #queue-ok")
        activity, history = (page.locator(s).bounding_box() for s in ("#activity", "#jobs"))
        assert activity["y"] < history["y"]  # the running job is at the top
        page.screenshot(path=f"{shots}/models-{width}.png", full_page=True)
        if width == 1400:
            continue
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert scroll <= inner, f"{width} px: the page is {scroll} px wide"
        card = page.locator("#activity").bounding_box()
        cancel = page.locator("#activity button.danger").bounding_box()
        if width == 1024:  # in sight, inside its card, without scrolling anything
            assert cancel["x"] + cancel["width"] <= card["x"] + card["width"]
        # Every card is inside the window; a wide table scrolls inside its own card.
        rights = page.evaluate(
            "[...document.querySelectorAll('main .card')]"
            ".map(c => c.getBoundingClientRect().right)")
        assert max(rights) <= inner

    # The page follows both jobs to their end: the card says so, the Pre-labeling card and
    # the history catch up, and polling stops.
    ModelVersion.objects.filter(project=project, number=9).update(
        status=JobStatus.SUCCEEDED, phase="done", metrics=CANDIDATE_METRICS)
    PrelabelRun.objects.filter(project=project).update(status=JobStatus.SUCCEEDED, done=1805)
    page.locator("#activity", has_text="Nothing is running now.").wait_for()
    assert "1805 reports pre-labeled" in page.locator("#activity").inner_text()
    assert "finished" in page.locator("#prelabel-last").inner_text()
    assert "in progress" not in page.locator("#jobs").inner_text()
    assert page.locator("#activity[hx-trigger]").count() == 0
    context.close()
