"""The import page's progress bar in Debian's chromium: it follows a running job by itself
(htmx polling) and stops at the outcome."""

import pytest
from django.utils import timezone

from annotation import import_progress
from annotation.models import ImportJob

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_bar_moves_and_stops_at_the_outcome(project, admin_user, browser_login,
                                                live_server):
    job = ImportJob.objects.create(project=project, created_by=admin_user, filename="ris.csv",
                                   staged="/nowhere", rows=4000, status="running",
                                   started_at=timezone.now())
    reporter = import_progress.Reporter(job, 4000)
    reporter("checking", 1000)
    page = browser_login("alice-admin", "pw-alice-admin")
    page.goto(f"{live_server.url}/p/{project.slug}/import/")
    assert "Rows checked: 1,000 of 4,000" in page.inner_text("#import-job")
    reporter("writing", 2500, 4000)
    page.wait_for_function("() => document.querySelector('#import-job').textContent"
                           ".includes('rows written: 2,500')")
    ImportJob.objects.filter(pk=job.pk).update(
        status="succeeded", finished_at=timezone.now(),
        message="ris.csv: imported 4000 new reports and 0 reference labels.")
    page.wait_for_selector("#import-job .flash.success")
    assert "imported 4000 new reports" in page.inner_text("#import-job")
    assert page.locator("#import-job progress").count() == 0
    assert page.get_attribute("#import-job", "hx-get") is None  # polling has stopped
