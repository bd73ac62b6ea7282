"""REST API v1, the studies app's routes: a reader study's results, admins only, with each
reader's pauses."""

import datetime

from django.urls import reverse

from annotation.models import Category
from studies import services as studies
from tests.support import bearer


def test_study_results_for_admins_only(project, admin_user, reader, study):
    results = bearer(admin_user).get(reverse("api_study_results",
                                             args=[project.slug, study.pk])).json()
    assert results["study"]["cases"] == 4 and results["rows"] == []
    assert {"readers", "waiting", "n_cases", "comparisons", "skipped"} <= set(results["mrmc"])
    listed = bearer(admin_user).get(reverse("api_studies", args=[project.slug])).json()
    assert [s["name"] for s in listed] == ["S"]
    # The reader taking part sees neither the results nor the list.
    assert bearer(reader).get(reverse("api_study_results",
                                      args=[project.slug, study.pk])).status_code == 403
    assert bearer(admin_user).get(reverse("api_study_results",
                                          args=[project.slug, 999])).status_code == 404


def test_study_results_give_each_readers_pauses(project, admin_user, reader, study):
    from django.utils import timezone

    from studies.models import ReaderStudy, StudyReader

    studies.study_status_set(study=study, status=ReaderStudy.Status.OPEN)
    session, _, _ = studies.study_serve(session=study.readers.get(user=reader), new_page=True)
    studies.study_pause(session=session, page=session.page, paused=True)
    StudyReader.objects.filter(pk=session.pk).update(  # the pause began 12 s ago
        paused_at=timezone.now() - datetime.timedelta(seconds=12))
    studies.study_pause(session=session, page=session.page, paused=False)
    studies.study_answer(session=session, position=0, page=session.page, active_ms=None,
                         category=Category.objects.get(project=project, code=1))
    rows = bearer(admin_user).get(reverse("api_study_results",
                                          args=[project.slug, study.pk])).json()["rows"]
    mine = next(r for r in rows if r["name"] == reader.username)
    assert mine["pauses"]["count"] == 1 and mine["pauses"]["cases"] == 1
    assert 11 < mine["pauses"]["seconds"] < 14
