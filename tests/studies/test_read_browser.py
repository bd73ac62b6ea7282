"""A reader takes a study in Debian's chromium with the keys, pauses, and finishes."""

import pytest

from studies import services as studies
from studies.models import ReaderStudy, StudyResponse
from tests.annotation.test_splits_export import add_reports

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _case(page):
    return page.get_attribute("#workspace", "data-case")


def _press_and_wait(page, key, before):
    page.keyboard.press(key)
    page.wait_for_function(
        "prev => document.getElementById('workspace').dataset.case !== prev", arg=before)


def test_a_reader_answers_with_keys_pauses_and_finishes(project, reader, browser_login,
                                                        live_server):
    reader.set_password("pw-read")
    reader.save()
    add_reports(project, 4)
    from annotation.services import splits_assign

    splits_assign(project=project, counts=(0, 0, 4))
    study = studies.study_create(project=project, name="Browser study", readers=[reader],
                                 seed=11)
    studies.study_status_set(study=study, status=ReaderStudy.Status.OPEN)

    page = browser_login("rita-reader", "pw-read")
    assert "Your reader studies" in page.inner_text("h1")
    page.click("text=Start")
    assert "Case 1 of 4" in page.inner_text("#progress")
    page.mouse.move(100, 100)
    page.wait_for_timeout(300)
    _press_and_wait(page, "1", "0")
    assert "Case 2 of 4" in page.inner_text("#progress")

    # Pause for 2 s: the report disappears and that time does not count.
    page.keyboard.press("p")
    page.wait_for_selector("#paused-card")
    assert page.query_selector("#report-text") is None
    page.wait_for_timeout(2000)
    page.keyboard.press("p")
    page.wait_for_selector("#report-text")
    page.mouse.move(120, 120)
    page.wait_for_timeout(300)
    _press_and_wait(page, "2", "1")
    _press_and_wait(page, "3", "2")
    _press_and_wait(page, "4", "3")
    assert "You have answered all 4 cases" in page.inner_text("#finished")

    # No way back: the browser's back button and a replayed answer change nothing.
    page.go_back()
    page.goto(f"{live_server.url}/read/{study.pk}/")
    assert page.query_selector("#finished")

    responses = list(StudyResponse.objects.order_by("position"))
    assert [r.category.code for r in responses] == [1, 2, 3, 4]
    paused = responses[1]
    assert paused.paused_ms >= 1800
    on_screen = (paused.answered_at - paused.served_at).total_seconds() * 1000
    assert paused.active_ms is not None and paused.active_ms < on_screen - 1800
    assert all(r.active_ms is not None for r in responses)
    assert study.readers.get().finished_at is not None
