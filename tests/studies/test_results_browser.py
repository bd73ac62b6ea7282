"""An admin plans a study's size and reads its MRMC results in Debian's chromium."""

import io
import os

import pytest
from django.core.management import call_command

from core.models import JobStatus
from modeling.models import ModelVersion, Prediction
from studies import services as studies
from studies.models import ReaderStudy
from tests.support import add_reports

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page, name):
    # CTIR_SCREENSHOTS=DIR keeps full-page screenshots for a person to look at.
    folder = os.environ.get("CTIR_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, name), full_page=True)


def test_an_admin_plans_power_and_reads_the_mrmc_table(project, admin_user, browser_login,
                                                        live_server):
    admin_user.set_password("pw-admin")
    admin_user.save()
    add_reports(project, 24)
    from annotation.services import splits_assign

    splits_assign(project=project, counts=(4, 0, 20))
    version = ModelVersion.objects.create(project=project, number=1, base_model="x",
                                          status=JobStatus.SUCCEEDED, is_active=True)
    study = studies.study_create(project=project, name="Readers vs model", readers=[],
                                 seed=2, model_version_id=version.pk)
    for case in study.cases.select_related("report__reference_label__category"):
        truth = case.report.reference_label.category
        Prediction.objects.create(report=case.report, model_version=version, category=truth,
                                  probabilities={str(truth.code): 0.95}, margin=0.9, ms=3.0)
    call_command("simulate_readers", str(study.pk), "--readers", "4", "--error-rate", "0.15",
                 stdout=io.StringIO())
    studies.study_status_set(study=study, status=ReaderStudy.Status.OPEN)

    page = browser_login("alice-admin", "pw-admin")
    page.goto(f"{live_server.url}/p/{project.slug}/studies/")
    page.fill("input[name=reader_accuracy]", "88")
    page.fill("input[name=model_accuracy]", "93")
    page.fill("input[name=n_readers]", "6")
    page.fill("input[name=n_cases]", "150")
    page.press("input[name=n_cases]", "Enter")  # htmx swaps the card in place
    # A later answer replaces an earlier one still on its way (hx-sync): wait for the last.
    page.wait_for_function("document.getElementById('power-answer').innerText"
                           ".includes('6 readers and 150 cases')")
    assert page.inner_text("#cases-needed").isdigit()
    # Typing on while answers come back loses nothing: only the answer is swapped.
    assert page.input_value("input[name=model_accuracy]") == "93"
    assert page.input_value("input[name=n_cases]") == "150"
    assert "with 6 readers and 150 cases" in page.inner_text("#power-answer")
    assert "New study" in page.inner_text("body")  # the page around the card stayed
    _shot(page, "study-setup-power.png")

    page.goto(f"{live_server.url}/p/{project.slug}/studies/{study.pk}/")
    table = page.inner_text("#mrmc")
    assert "Model − readers" in table and "Sensitivity, category 1" in table
    assert page.is_visible("#which-test")
    _shot(page, "study-results-mrmc.png")
    # The page shows the paper's own figures; at both widths they load, fit their card and
    # the page does not scroll sideways.
    for width in (1400, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/p/{project.slug}/studies/{study.pk}/")
        page.locator(".figures").scroll_into_view_if_needed()  # they load lazily
        page.wait_for_function("[...document.querySelectorAll('.figures img')]"
                               ".every(i => i.complete && i.naturalWidth > 0)")
        images = page.eval_on_selector_all(".figures img", "els => els.map(e => ["
                                           "e.getBoundingClientRect().right, "
                                           "e.parentElement.getBoundingClientRect().right])")
        assert len(images) == 2 and all(right <= card + 1 for right, card in images)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        _shot(page, f"study-results-{width}.png")
