import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone

from modeling.models import JobStatus, ModelVersion
from studies import services as studies
from studies.models import ReaderStudy, StudyReader
from tests.annotation.test_splits_export import add_reports

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
OUT = "/tmp/ha-shots"


def test_shots(project, reader, admin_user, browser_login, live_server, browser):
    for u, pw in ((reader, "pw-read"), (admin_user, "pw-admin")):
        u.set_password(pw)
        u.save()
    add_reports(project, 3)
    study = studies.study_create(project=project, name="Shots", readers=[reader],
                                 reports=project.reports.all(), seed=3)
    studies.study_status_set(study=study, status=ReaderStudy.Status.OPEN)
    session, _, _ = studies.study_serve(session=study.readers.get(), new_page=True)
    studies.study_pause(session=session, page=session.page, paused=True)
    StudyReader.objects.filter(pk=session.pk).update(
        paused_at=timezone.now() - datetime.timedelta(seconds=42))
    studies.study_pause(session=session, page=session.page, paused=False)
    studies.study_answer(session=session, position=0, category=project.categories.get(code=1),
                         active_ms=None, page=session.page)
    page = browser_login("rita-reader", "pw-read")
    url = f"{live_server.url}/read/{study.pk}/"
    page.goto(url)
    page.wait_for_selector("#report-text")
    second = page.context.new_page()
    second.goto(url)
    page.wait_for_selector("#stale-card")
    page.screenshot(path=f"{OUT}/stale.png")
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    admin = ctx.new_page()
    admin.goto(f"{live_server.url}/login/")
    admin.fill("input[name=username]", "alice-admin")
    admin.fill("input[name=password]", "pw-admin")
    admin.click("button.primary")
    admin.wait_for_load_state()
    v = ModelVersion.objects.create(project=project, number=1, base_model="x",
                                    status=JobStatus.SUCCEEDED,
                                    artifact_dir="/srv/ctir/var/models/ct-ir/v1-20261201223000-a1b2c3")
    studies.study_model_set(study=study, model_version_id=v.pk)
    ReaderStudy.objects.filter(pk=study.pk).update(model_timing={"job": {
        "status": "failed", "error": "The job queue (Redis at redis://127.0.0.1:6390/0) is not answering (OperationalError); start it (make run starts one) and press “Time the model on these cases” again."}})
    admin.goto(f"{live_server.url}/p/ct-ir/studies/{study.pk}/")
    admin.screenshot(path=f"{OUT}/study.png", full_page=True)
    admin.goto(f"{live_server.url}/p/ct-ir/models/v1/")
    admin.screenshot(path=f"{OUT}/model_detail.png", full_page=True)
    ModelVersion.objects.create(project=project, number=2, base_model="x",
                                status=JobStatus.FAILED, phase="failed",
                                error="The job queue (Redis at redis://127.0.0.1:6390/0) is not answering (OperationalError); start it (make run starts one) and start the training again.")
    cache.set("ctir:queue_health", {"redis": True, "training": True, "inference": True, "problem": ""}, 60)
    admin.goto(f"{live_server.url}/p/ct-ir/models/")
    admin.screenshot(path=f"{OUT}/models.png", full_page=True)
    ctx.close()
