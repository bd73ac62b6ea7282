"""Reading time cannot be bent: only the reading page served last may pause, report its
visibility and answer; a pause counts only while that page is hidden (or paused by its own
button); no answer while paused. And a study's model is checked in the service."""

import csv as csv_module
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from annotation.models import Category
from core.models import JobStatus
from modeling.models import ModelVersion
from studies import services as studies
from studies.models import ReaderStudy, StudyReader, StudyResponse
from tests.support import add_reports


@pytest.fixture
def study(project, reader):
    add_reports(project, 3)
    study = studies.study_create(project=project, name="S", readers=[reader],
                                 reports=project.reports.all(), seed=5)
    studies.study_status_set(study=study, status=ReaderStudy.Status.OPEN)
    return study


@pytest.fixture
def session(study, reader):
    session, _, _ = studies.study_serve(session=study.readers.get(user=reader), new_page=True)
    return session


def _one(project):
    return Category.objects.get(project=project, code=1)


def _paused_since(session, seconds):
    """Pretend the running pause began `seconds` ago."""
    StudyReader.objects.filter(pk=session.pk).update(
        paused_at=timezone.now() - datetime.timedelta(seconds=seconds))


def _answer(session, project, page=None):
    return studies.study_answer(session=session, position=0, category=_one(project),
                                active_ms=None, page=session.page if page is None else page)


def test_it_refuses_an_answer_while_paused(project, session):
    studies.study_pause(session=session, page=session.page, paused=True)
    with pytest.raises(studies.StudyError, match="the case is paused"):
        _answer(session, project)
    studies.study_pause(session=session, page=session.page, paused=False)
    assert _answer(session, project).pauses == 1


def test_a_hidden_page_stops_the_clock_and_showing_it_again_starts_it(project, session):
    studies.study_visibility(session=session, page=session.page, hidden=True)
    _paused_since(session, 30)
    studies.study_visibility(session=session, page=session.page, hidden=False)
    session.refresh_from_db()
    assert session.paused_at is None and 29_000 < session.paused_ms < 32_000
    response = _answer(session, project)
    assert response.pauses == 1 and 29_000 < response.paused_ms < 32_000


def test_showing_the_page_again_does_not_end_a_pause(project, session):
    studies.study_pause(session=session, page=session.page, paused=True)
    studies.study_visibility(session=session, page=session.page, hidden=True)
    studies.study_visibility(session=session, page=session.page, hidden=False)
    session.refresh_from_db()
    assert session.paused_at is not None and session.pause_kind == studies.PAUSE_BUTTON


def test_a_second_page_takes_over_and_the_first_cannot_pause_or_answer(project, session):
    first = session.page
    second, _, _ = studies.study_serve(session=session, new_page=True)
    assert second.page != first
    with pytest.raises(studies.StalePage):
        studies.study_pause(session=session, page=first, paused=True)
    with pytest.raises(studies.StalePage):
        studies.study_visibility(session=session, page=first, hidden=True)
    with pytest.raises(studies.StalePage):
        _answer(session, project, page=first)
    second.refresh_from_db()
    assert second.paused_at is None and not StudyResponse.objects.exists()


def test_a_request_made_by_hand_cannot_pause(project, session):
    for page in ("", "0" * 32):
        with pytest.raises(studies.StalePage):
            studies.study_pause(session=session, page=page, paused=True)
    session.refresh_from_db()
    assert session.paused_at is None


def test_an_older_page_showing_again_voids_the_running_pause(project, session):
    first = session.page
    second, _, _ = studies.study_serve(session=session, new_page=True)
    studies.study_pause(session=second, page=second.page, paused=True)
    _paused_since(second, 60)
    # The first tab comes to the front while the second one is paused: its text may be on
    # screen, so the minute so far is reading time.
    with pytest.raises(studies.StalePage):
        studies.study_visibility(session=session, page=first, hidden=False)
    studies.study_pause(session=second, page=second.page, paused=False)
    second.refresh_from_db()
    assert second.paused_ms < 5_000


def test_a_reload_ends_a_hidden_pause_and_keeps_a_pressed_one(project, session):
    studies.study_visibility(session=session, page=session.page, hidden=True)
    _paused_since(session, 10)
    reloaded, _, _ = studies.study_serve(session=session, new_page=True)
    assert reloaded.paused_at is None and reloaded.pauses == 1
    studies.study_pause(session=reloaded, page=reloaded.page, paused=True)
    again, _, _ = studies.study_serve(session=reloaded, new_page=True)
    assert again.paused_at is not None and again.pause_kind == studies.PAUSE_BUTTON


def test_the_page_posts_its_visibility_and_a_pause_by_hand_is_refused(login, study, reader):
    client = login(reader)
    url = reverse("read", args=[study.pk])
    page = client.get(url)
    token = page.context["session"].page
    assert f'data-page="{token}"' in page.content.decode()
    # A beacon: answered with no content, never a redirect (a GET would open a new page).
    hidden = client.post(url, {"action": "hidden", "page": token})
    assert hidden.status_code == 204
    assert StudyReader.objects.get(user=reader).pause_kind == studies.PAUSE_HIDDEN
    visible = client.post(url, {"action": "visible", "page": token},
                          headers={"HX-Request": "true"})
    assert b'id="report-text"' in visible.content
    session = StudyReader.objects.get(user=reader)
    assert session.paused_at is None and session.pauses == 1
    # By hand, without the page: refused, and the clock runs on.
    by_hand = client.post(url, {"action": "pause"}, headers={"HX-Request": "true"})
    assert b'id="stale-card"' in by_hand.content and b'id="report-text"' not in by_hand.content
    assert client.post(url, {"action": "hidden"}).status_code == 409
    assert StudyReader.objects.get(user=reader).paused_at is None
    refused = client.post(url, {"action": "pause"}, follow=True)
    assert "This study is open in another tab or window" in refused.content.decode()
    assert StudyReader.objects.get(user=reader).paused_at is None


def test_the_results_page_reports_pauses_per_reader(login, project, study, session, admin_user):
    studies.study_pause(session=session, page=session.page, paused=True)
    _paused_since(session, 12)
    studies.study_pause(session=session, page=session.page, paused=False)
    _answer(session, project)
    page = login(admin_user).get(reverse("study_detail", args=[project.slug, study.pk]))
    assert '<td class="num pauses">1 on 1 case, 12 s</td>' in page.content.decode()
    csv = b"".join(login(admin_user).get(
        reverse("study_csv", args=[project.slug, study.pk])).streaming_content).decode()
    header, row = list(csv_module.reader(io.StringIO(csv)))[:2]
    assert row[header.index("pauses")] == "1"


# --- The study's model version: checked in the service ---------------------------------------

def test_a_study_cannot_compare_with_another_projects_model(project, other_project, reader):
    add_reports(project, 2)
    theirs = ModelVersion.objects.create(project=other_project, number=1, base_model="x",
                                         status=JobStatus.SUCCEEDED)
    untrained = ModelVersion.objects.create(project=project, number=1, base_model="x")
    for version_id in (theirs.pk, untrained.pk, theirs.pk + untrained.pk + 1000):
        with pytest.raises(studies.StudyError, match="no such trained model version"):
            studies.study_create(project=project, name="S", readers=[reader],
                                 reports=project.reports.all(), model_version_id=version_id)
    assert not ReaderStudy.objects.exists()


def test_the_form_says_so_too(login, project, other_project, reader, admin_user):
    add_reports(project, 2)
    from annotation.services import splits_assign

    splits_assign(project=project, counts=(0, 0, 2))
    theirs = ModelVersion.objects.create(project=other_project, number=1, base_model="x",
                                         status=JobStatus.SUCCEEDED)
    response = login(admin_user).post(reverse("study_list", args=[project.slug]), {
        "name": "S", "readers": [reader.pk], "model_version": theirs.pk, "mode": "unaided"},
        follow=True)
    # The form offers this project's trained versions only: another's is not a choice.
    assert (b"Study not created: model version: no such trained model version in this "
            b"project") in response.content
    assert not ReaderStudy.objects.exists()
