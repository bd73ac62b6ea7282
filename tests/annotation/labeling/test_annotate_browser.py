"""An annotator labels with the keyboard alone in Debian's chromium (Playwright)."""

import pytest

from annotation.models import Annotation, Category
from core.models import JobStatus
from modeling.models import ModelVersion, Prediction
from tests.support import add_unlabelled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _accession(page):
    return page.inner_text(".report-meta strong")


def _next(page, key, previous):
    page.keyboard.press(key)
    page.wait_for_function(
        "prev => { const el = document.querySelector('.report-meta strong');"
        " return !el || el.textContent !== prev; }", arg=previous)


def test_an_annotator_labels_five_reports_with_keys_only(project, annotator, browser_login):
    annotator.set_password("pw-key")
    annotator.save()
    add_unlabelled(project, 6)
    # An active model with a suggestion for the second report (category 4, 0.93).
    version = ModelVersion.objects.create(project=project, number=1, base_model="tiny",
                                          status=JobStatus.SUCCEEDED, is_active=True)
    second = project.reports.order_by("procedure_date")[1]
    Prediction.objects.create(report=second, model_version=version, margin=0.9, ms=1.0,
                              category=Category.objects.get(project=project, code=4),
                              probabilities={"1": 0.02, "2": 0.03, "3": 0.02, "4": 0.93})

    page = browser_login("anna-annotator", "pw-key")
    page.goto(page.url.split("/p/")[0] + f"/p/{project.slug}/annotate/")
    assert _accession(page) == "U00000"
    assert "No model suggestion" in page.inner_text("#suggestion")

    page.mouse.move(200, 200)
    page.wait_for_timeout(400)
    _next(page, "2", "U00000")                     # 1: answer 2
    assert _accession(page) == "U00001"
    assert "suggests 4 Bone biopsy (93.0%)" in page.inner_text("#suggestion")
    _next(page, "Enter", "U00001")                 # 2: accept the suggestion

    # 3: the tab is hidden for 2.5 s while this report is on screen; that time must not count.
    page.evaluate("""() => {
        Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.wait_for_timeout(2500)
    page.evaluate("""() => {
        Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.wait_for_timeout(300)
    _next(page, "3", "U00002")
    _next(page, "s", "U00003")                     # skip U00003
    _next(page, "1", "U00004")                     # 4
    _next(page, "z", "U00005")                     # back to U00004 to change it
    assert _accession(page) == "U00004"
    assert "Changing your answer" in page.inner_text("#editing")
    _next(page, "4", "U00004")                     # the change
    _next(page, "4", "U00005")                     # 5
    assert "The queue is empty" in page.inner_text("#workspace")
    assert "Total 5" in page.inner_text("#progress")

    answers = list(Annotation.objects.order_by("id").select_related("report", "category"))
    assert [(a.report.accession, a.category.code) for a in answers] == [
        ("U00000", 2), ("U00001", 4), ("U00002", 3), ("U00004", 1), ("U00004", 4),
        ("U00005", 4)]
    assert answers[4].supersedes == answers[3]
    accepted = answers[1]
    assert accepted.suggestion_model_version_id == version.pk
    assert accepted.suggested_category.code == 4 and accepted.suggested_probability == 0.93
    assert answers[0].suggested_category is None
    for a in answers:
        assert a.active_ms is not None and a.submitted_at > a.served_at
        on_screen_ms = (a.submitted_at - a.served_at).total_seconds() * 1000
        assert a.active_ms <= on_screen_ms + 50
    hidden = answers[2]
    on_screen_ms = (hidden.submitted_at - hidden.served_at).total_seconds() * 1000
    assert on_screen_ms >= 2500
    assert hidden.active_ms < on_screen_ms - 2000, (hidden.active_ms, on_screen_ms)


def test_enter_answers_with_the_focused_button_and_says_when_nothing_is_suggested(
        project, annotator, browser_login):
    """The audit's case: focus on "1 Drainage" while the model suggests 3, Enter records 1;
    Enter on a report with no suggestion says so instead of doing nothing."""
    annotator.set_password("pw-key")
    annotator.save()
    add_unlabelled(project, 2)
    version = ModelVersion.objects.create(project=project, number=1, base_model="tiny",
                                          status=JobStatus.SUCCEEDED, is_active=True)
    first = project.reports.order_by("procedure_date")[0]
    Prediction.objects.create(report=first, model_version=version, margin=0.9, ms=1.0,
                              category=Category.objects.get(project=project, code=3),
                              probabilities={"1": 0.02, "2": 0.03, "3": 0.93, "4": 0.02})
    page = browser_login("anna-annotator", "pw-key")
    page.goto(page.url.split("/p/")[0] + f"/p/{project.slug}/annotate/")
    assert "suggests 3 Lung biopsy" in page.inner_text("#suggestion")
    page.mouse.move(200, 200)
    page.focus("button.choice[value='1']")
    _next(page, "Enter", "U00000")
    assert Annotation.objects.get().category.code == 1
    assert _accession(page) == "U00001" and "No model suggestion" in page.inner_text(
        "#suggestion")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('key-hint').textContent.length > 0")
    assert "no suggestion to accept" in page.inner_text("#key-hint")
    assert Annotation.objects.count() == 1
