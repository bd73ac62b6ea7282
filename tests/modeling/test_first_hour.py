"""The first hour, as a new department meets it: `make run`'s own set-up on a fresh
database, then chromium as annotator1 with a real Celery worker. A suggestion on the first
report, and after K answers a newer model's suggestions, with no admin pressing anything."""

import re
import time

import pytest
from django.core.management import call_command

from annotation.models import Project
from modeling.models import ModelVersion, Trigger

pytestmark = [pytest.mark.worker, pytest.mark.slow]
VERSION = re.compile(r"Model v(\d+)")


def _version_shown(page) -> int | None:
    found = VERSION.search(page.inner_text("#suggestion"))
    return int(found.group(1)) if found else None


def test_the_first_hour(transactional_db, project, model_settings, request, live_server, page):
    # `project`: the ct-ir project as a fresh database has it (the data migration's), so
    # demo_ready seeds it as make run does.
    # What `make run` runs before it starts the web process and the worker (Makefile).
    call_command("demo_ready", demo_users=True)
    ct_ir = Project.objects.get(slug="ct-ir")
    first = ModelVersion.objects.get(project=ct_ir, is_active=True)
    assert first.hyperparameters == {"fast": True}
    request.getfixturevalue("worker")  # `make run` starts the worker after the set-up

    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "annotator1")
    page.fill("input[name=password]", "ctir-annotator1")
    page.click("button.primary")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/p/ct-ir/annotate/")
    assert _version_shown(page) == first.number, page.inner_text("#suggestion")

    page.mouse.move(200, 200)
    for _ in range(ct_ir.fast_retrain_every):
        before = page.inner_text(".report-meta strong")
        page.keyboard.press("Enter")  # accept the suggestion
        page.wait_for_function(
            "prev => { const el = document.querySelector('.report-meta strong');"
            " return !el || el.textContent !== prev; }", arg=before)

    # No one presses Train: the worker trains, gates and pre-labels; the page follows.
    deadline = time.monotonic() + 90
    while _version_shown(page) == first.number:
        if time.monotonic() > deadline:
            versions = list(ModelVersion.objects.filter(project=ct_ir).values_list(
                "number", "trigger", "status", "is_active", "promotion_note", "error"))
            pytest.fail(f"no newer suggestion after 90 s: {versions}")
        time.sleep(1)
        page.reload()
    newer = ModelVersion.objects.get(project=ct_ir, number=_version_shown(page))
    assert newer.number > first.number and newer.is_active
    assert newer.trigger == Trigger.FAST and newer.created_by is None
    assert newer.promotion_note.startswith("Promoted: ")
