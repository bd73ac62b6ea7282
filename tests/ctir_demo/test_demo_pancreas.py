"""The second demo task: binary, keys Y and N, on the same pages as the first."""

import dataclasses
import datetime
import hashlib
import json
import re
from collections import Counter

import pytest
from django.urls import reverse

from annotation.models import Annotation, Category, Membership, Project, Report
from ctir_demo.management.commands.seed_demo import PANCREAS_SLUG, seed_pancreas
from ctir_demo.pancreas import generate_pancreas_cohort, generate_pancreas_reports


def digest(rows):
    payload = json.dumps([dataclasses.asdict(r) for r in rows], default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def test_the_generator_is_pinned_and_split_by_date():
    rows = generate_pancreas_cohort(2025)
    assert digest(rows) == "cbc68b064faf98058924e2f98005bc3641d930bf4093221ca473e4a63e244028"
    assert Counter(r.split for r in rows) == {"train": 160, "validation": 30, "test": 50}
    assert {r.label for r in rows if r.split == "validation"} == {1, 2}
    last_train = max(r.procedure_date for r in rows if r.split == "train")
    assert all(r.procedure_date >= last_train for r in rows if r.split == "test")
    incoming = generate_pancreas_reports(40, 2026, datetime.date(2024, 7, 1),
                                         datetime.date(2025, 10, 31))
    assert {r.split for r in incoming} == {"unassigned"}


def test_seeding_makes_a_two_category_project_once(db):
    message = seed_pancreas(2025)
    assert "240 labelled reports and 40 waiting" in message
    project = Project.objects.get(slug=PANCREAS_SLUG)
    assert list(project.categories.values_list("code", "key")) == [(1, "y"), (2, "n")]
    assert Report.objects.filter(project=project).count() == 280
    assert Report.objects.filter(project=project, reference_label__isnull=False).count() == 240
    assert "already has reports" in seed_pancreas(2025)
    assert Report.objects.filter(project=project).count() == 280
    assert Membership.objects.filter(project=project, user__username="annotator1",
                                     role="annotator").exists()


def test_the_labeling_page_offers_y_and_n_and_takes_an_answer(client, db):
    seed_pancreas(2025)
    project = Project.objects.get(slug=PANCREAS_SLUG)
    client.login(username="annotator1", password="ctir-annotator1")
    url = reverse("annotate", args=[project.slug])
    page = client.get(url)
    html = page.content.decode()
    assert re.findall(r'data-key="(.)"', html)[:2] == ["y", "n"]
    assert "Keys: <kbd>Y</kbd> <kbd>N</kbd> answer" in html
    report = page.context["report"]
    client.post(url, {"token": page.context["token"], "category": "2", "active_ms": "900"})
    answer = report.annotations.get()
    assert answer.category == Category.objects.get(project=project, code=2)
    dashboard = client.get(reverse("dashboard", args=[project.slug])).content.decode()
    assert "Pretreatment pancreatic cancer" in dashboard and "<kbd>n</kbd> No" in dashboard


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_annotator_answers_the_binary_task_with_y_and_n(browser_login, live_server):
    from tests.support import shot

    seed_pancreas(2025)
    project = Project.objects.get(slug=PANCREAS_SLUG)
    page = browser_login("annotator1", "ctir-annotator1")
    page.goto(f"{live_server.url}/p/{PANCREAS_SLUG}/annotate/")
    shot(page, "8-pancreas-annotate")
    page.mouse.move(200, 200)
    for key in ("y", "n"):
        before = page.inner_text(".report-meta strong")
        page.keyboard.press(key)
        page.wait_for_function(
            "prev => document.querySelector('.report-meta strong').textContent !== prev",
            arg=before)
    answers = Annotation.objects.filter(report__project=project).order_by("id")
    assert [a.category.code for a in answers] == [1, 2]
    page.goto(f"{live_server.url}/p/{PANCREAS_SLUG}/")
    shot(page, "9-pancreas-dashboard")
