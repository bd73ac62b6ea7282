"""The dashboard's and the Models page's server-side SVG pictures (ctir_site/charts.py)."""

import datetime
import os
import re
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from annotation.models import Annotation, Category, Report
from core import charts
from core.models import JobStatus
from modeling import services
from tests.support import add_reports

DAY0 = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)


def _svg(page: str, figure_id: str) -> ET.Element:
    """The <svg> inside the element with this id, parsed: it must be well-formed XML."""
    block = re.search(rf'id="{figure_id}".*?(<svg .*?</svg>)', page, re.S)
    assert block, f"no chart in #{figure_id}"
    return ET.fromstring(block.group(1))


def _annotate(project, user, day: int, n: int):
    category = Category.objects.filter(project=project).first()
    reports = Report.objects.filter(project=project).order_by("id")
    start = Annotation.objects.count()
    for report in reports[start:start + n]:
        at = DAY0 + datetime.timedelta(days=day)
        Annotation.objects.create(report=report, user=user, category=category, served_at=at,
                                  submitted_at=at)


# --- dashboard -------------------------------------------------------------------------------

def test_the_dashboard_draws_a_bar_a_day_and_a_line_per_annotator(
        login, project, admin_user, annotator):
    add_reports(project, 12, label=False)
    _annotate(project, annotator, 0, 3)
    _annotate(project, admin_user, 0, 1)
    _annotate(project, annotator, 2, 2)  # day 1 has none: its bar is there, zero high
    _annotate(project, admin_user, 4, 4)
    page = login(annotator).get(reverse("dashboard", args=[project.slug])).content.decode()

    per_day = _svg(page, "per-day")
    bars = per_day.findall("rect")
    assert [b.find("title").text for b in bars] == [
        "Mon 2 Mar: 4 annotations", "Tue 3 Mar: 0 annotations", "Wed 4 Mar: 2 annotations",
        "Thu 5 Mar: 0 annotations", "Fri 6 Mar: 4 annotations"]
    heights = [float(b.get("height")) for b in bars]
    assert heights[1] == heights[3] == 0 and heights[0] == heights[4] == 2 * heights[2] > 0

    per_annotator = _svg(page, "per-annotator")
    series = {g.get("data-name"): g for g in per_annotator.findall("g")}
    assert list(series) == ["alice-admin", "anna-annotator"]  # most annotations first
    # A dot on each day the annotator worked, and at both ends of the range.
    alice = [c.find("title").text for c in series["alice-admin"].findall("circle")]
    assert alice == ["alice-admin, 2 Mar: 1 in all (+1 that day)",
                     "alice-admin, 6 Mar: 5 in all (+4 that day)"]
    anna = [c.find("title").text for c in series["anna-annotator"].findall("circle")]
    assert anna == ["anna-annotator, 2 Mar: 3 in all (+3 that day)",
                    "anna-annotator, 4 Mar: 5 in all (+2 that day)",
                    "anna-annotator, 6 Mar: 5 in all (+0 that day)"]
    # The running total only rises: y (downwards in SVG) never grows along a line.
    for g in series.values():
        ys = [float(c.get("cy")) for c in g.findall("circle")]
        assert ys == sorted(ys, reverse=True)
    assert "10 annotations from 2 Mar 2026 to 6 Mar 2026 (5 days" in page


def test_the_dashboard_keeps_the_last_60_days_and_counts_older_work_in_the_totals(
        login, project, annotator):
    add_reports(project, 6, label=False)
    _annotate(project, annotator, 0, 2)
    _annotate(project, annotator, 100, 1)
    page = login(annotator).get(reverse("dashboard", args=[project.slug])).content.decode()
    assert len(_svg(page, "per-day").findall("rect")) == 60
    dots = [c.find("title").text for c in _svg(page, "per-annotator").iter("circle")]
    assert dots[-1] == "anna-annotator, 10 Jun: 3 in all (+1 that day)"


def test_a_dashboard_without_annotations_says_so_and_draws_nothing(login, project, annotator):
    page = login(annotator).get(reverse("dashboard", args=[project.slug])).content.decode()
    assert "No annotations yet." in page and "<svg" not in page


def test_the_dashboard_with_its_pictures_keeps_its_role_rules(
        client, login, project, reader, outsider, annotator):
    add_reports(project, 2, label=False)
    _annotate(project, annotator, 0, 2)
    url = reverse("dashboard", args=[project.slug])
    assert client.get(url)["Location"].startswith(reverse("login"))
    assert login(reader).get(url).status_code == 403
    assert login(outsider).get(url).status_code == 404


# --- Models page -----------------------------------------------------------------------------

def _finished(project, days, served, accuracies, status=JobStatus.SUCCEEDED):
    version = services.model_version_create(project=project, enqueue=False)
    version.status = status
    version.finished_at = DAY0 + datetime.timedelta(days=days)
    version.metrics = {"served": served, "candidates": {
        name: {"validation": {"accuracy": acc}, "test": {"accuracy": acc}}
        for name, acc in zip(("bert", "tfidf", "ensemble"), accuracies, strict=True)}}
    version.save()
    return version


def test_the_models_page_draws_served_and_baseline_accuracy_per_version(
        login, project, admin_user):
    _finished(project, 0, "tfidf", (0.70, 0.80, 0.75))
    _finished(project, 3, "bert", (0.90, 0.82, 0.88))
    _finished(project, 4, "bert", (0.1, 0.1, 0.1), status=JobStatus.FAILED)  # not drawn
    _finished(project, 9, "ensemble", (0.91, 0.84, 0.95))
    page = login(admin_user).get(reverse("models", args=[project.slug])).content.decode()

    svg = _svg(page, "accuracy-over-versions")
    series = {g.get("data-name"): g for g in svg.findall("g")}
    # The served line comes last, so that it is drawn on top of an equal baseline.
    assert list(series) == ["TF-IDF baseline", "Served candidate"]
    served = [c.find("title").text for c in series["Served candidate"].findall("circle")]
    assert served == [
        "v1 (2 Mar 2026), TF-IDF (n-grams + concepts): 80.0% on test (served)",
        "v2 (5 Mar 2026), Fine-tuned BERT: 90.0% on test (served)",
        "v4 (11 Mar 2026), Ensemble (BERT + TF-IDF): 95.0% on test (served)"]
    baseline = series["TF-IDF baseline"].findall("circle")
    assert len(baseline) == 3
    assert [t.text for t in svg.findall("text")][-3:] == ["v1", "v2", "v4"]
    # Higher accuracy is drawn higher (smaller y); v1 served its baseline: the same point.
    served_y = [float(c.get("cy")) for c in series["Served candidate"].findall("circle")]
    baseline_y = [float(c.get("cy")) for c in baseline]
    assert served_y[0] == baseline_y[0] and served_y[2] < served_y[1] < baseline_y[1]
    assert series["TF-IDF baseline"].find("polyline").get("stroke-dasharray") == "5 4"


def test_the_models_page_draws_nothing_before_a_version_finished(login, project, admin_user):
    services.model_version_create(project=project, enqueue=False)
    page = login(admin_user).get(reverse("models", args=[project.slug])).content.decode()
    assert 'id="accuracy-over-versions"' not in page


@pytest.mark.parametrize("role", ["annotator", "reader", "outsider"])
def test_the_models_page_with_its_picture_keeps_its_role_rules(
        request, login, project, role):
    _finished(project, 0, "bert", (0.9, 0.8, 0.85))
    status = login(request.getfixturevalue(role)).get(
        reverse("models", args=[project.slug])).status_code
    assert status == (404 if role == "outsider" else 403)


# --- the geometry ----------------------------------------------------------------------------

def test_a_long_range_prints_at_most_six_x_labels_with_both_ends():
    chart = charts.bar_chart([{"label": f"d{i}", "value": i, "title": ""} for i in range(60)])
    texts = [t["text"] for t in chart["x_labels"]]
    assert len(texts) <= 6 and texts[0] == "d0" and texts[-1] == "d59"
    assert chart["bars"][59]["y"] == chart["top"]  # the largest bar is full height


def test_a_single_point_is_drawn_in_the_middle():
    chart = charts.line_chart([{"name": "a", "points": [(0, 0.5, "t")]}], ["v1"], 0, 1)
    (dot,) = chart["lines"][0]["dots"]
    assert dot["x"] == chart["left"] + chart["plot_w"] / 2
    assert dot["y"] == chart["top"] + chart["plot_h"] / 2


# --- in chromium -----------------------------------------------------------------------------

@pytest.mark.browser
def test_both_pictures_are_drawn_in_chromium(transactional_db, project, admin_user, annotator,
                                             browser_login, live_server, tmp_path):
    add_reports(project, 40, label=False)
    for day, (mine, theirs) in enumerate([(5, 2), (0, 3), (8, 0), (3, 4), (6, 1), (2, 6)]):
        _annotate(project, annotator, day, mine)
        _annotate(project, admin_user, day, theirs)
    _finished(project, 0, "tfidf", (0.71, 0.78, 0.76))
    _finished(project, 2, "bert", (0.86, 0.80, 0.85))
    _finished(project, 5, "ensemble", (0.90, 0.83, 0.93))
    admin_user.set_password("pw")
    admin_user.save()
    page = browser_login("alice-admin", "pw")
    shots = os.environ.get("CTIR_SCREENSHOTS") or tmp_path  # to look at them: set it
    for name, figure, marks in [("dashboard", "#per-day", "rect"),
                                ("models", "#accuracy-over-versions", "circle")]:
        page.goto(live_server.url + reverse(name, args=[project.slug]))
        svg = page.locator(f"{figure} svg")
        assert svg.locator(marks).count() == 6  # six days; three versions, two lines
        box = svg.bounding_box()
        assert box["width"] > 300 and box["height"] > 100  # drawn at its size, not collapsed
        # No page style squashes the marks (a .bar rule once did): the busiest day's bar
        # fills most of the plot's height, as its SVG height says.
        tallest = max(svg.locator(marks).nth(i).bounding_box()["height"] for i in range(6))
        assert tallest > (100 if marks == "rect" else 0)
        page.screenshot(path=f"{shots}/{name}.png", full_page=True)


def test_versions_without_a_test_accuracy_draw_nothing_instead_of_failing(
        login, project, admin_user):
    version = _finished(project, 0, "bert", (0.9, 0.8, 0.85))
    version.metrics = {"served": "bert", "candidates": {"bert": {"test": {"n": 3}}}}
    version.save()
    response = login(admin_user).get(reverse("models", args=[project.slug]))
    assert response.status_code == 200
    assert 'id="accuracy-over-versions"' not in response.content.decode()
