"""A reader takes a study in Debian's chromium with the keys, pauses, and finishes."""

import pytest

from studies import services as studies
from studies.models import ReaderStudy, StudyResponse
from tests.support import add_reports

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
    # The Resume key's letter is readable on its button (WCAG AA: 4.5:1).
    assert _contrast(page, "#paused-card button.primary kbd") >= 4.5
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


SET_VISIBILITY = """state => {
    Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
    document.dispatchEvent(new Event("visibilitychange"));
}"""


def _wait_for_session(predicate, what):
    import time

    from studies.models import StudyReader

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        session = StudyReader.objects.get()
        if predicate(session):
            return session
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_page_posts_its_visibility_and_a_second_tab_takes_over(project, reader,
                                                                   browser_login, live_server,
                                                                   tmp_path):
    reader.set_password("pw-read")
    reader.save()
    add_reports(project, 2)
    study = studies.study_create(project=project, name="Tabs", readers=[reader],
                                 reports=project.reports.all(), seed=3)
    studies.study_status_set(study=study, status=ReaderStudy.Status.OPEN)
    page = browser_login("rita-reader", "pw-read")
    url = f"{live_server.url}/read/{study.pk}/"
    page.goto(url)
    page.wait_for_selector("#report-text")

    # Hidden for a second (another tab in front): the clock stops, then runs again.
    page.evaluate(SET_VISIBILITY, "hidden")
    _wait_for_session(lambda s: s.pause_kind == studies.PAUSE_HIDDEN, "the hidden report")
    page.wait_for_timeout(1000)
    page.evaluate(SET_VISIBILITY, "visible")
    session = _wait_for_session(lambda s: s.paused_at is None, "the visible report")
    assert session.pauses == 1 and session.paused_ms >= 900
    page.wait_for_selector("#report-text")

    # A second tab of the same study: the first one hides the text and cannot answer.
    second = page.context.new_page()
    second.goto(url)
    second.wait_for_selector("#report-text")
    page.wait_for_selector("#stale-card")
    assert page.query_selector("#report-text") is None
    page.screenshot(path=str(tmp_path / "stale.png"))
    second.mouse.move(50, 50)
    second.keyboard.press("1")
    second.wait_for_function("document.getElementById('workspace').dataset.case === '1'")
    response = StudyResponse.objects.get()
    assert response.pauses == 1 and response.paused_ms >= 900


CONTRAST = """sel => {
  const el = document.querySelector(sel);
  const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = c => { const [r, g, b] = rgb(c).map(v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  let back = el, bg = 'rgba(0, 0, 0, 0)';
  while (back && (bg = getComputedStyle(back).backgroundColor) === 'rgba(0, 0, 0, 0)') {
    back = back.parentElement; }
  const a = lum(getComputedStyle(el).color), b = lum(bg);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def _contrast(page, selector) -> float:
    """WCAG contrast ratio of an element's text against its nearest painted background."""
    return page.evaluate(CONTRAST, selector)
