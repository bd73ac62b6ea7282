"""A department sets up a task in the browser alone (Debian's chromium, Playwright): a
project with three categories, an annotator with a set-password link, an Excel export with
other column names and DD/MM/YYYY dates, and two reports labelled with the keyboard.

CTIR_SCREENSHOTS=<folder> keeps a screenshot of every page on the way."""

import datetime
from pathlib import Path

import openpyxl
import pytest
from django.contrib.auth.models import User

from annotation.models import Annotation, Project, Report
from tests.support import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def export_xlsx(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Accession No", "Patient", "Gender", "Age", "Exam Date", "Findings",
                  "Impression", "Ward"])
    sheet.append(["UF-1", "H001", "F", 71, "25/03/2024", "New 3 cm mass in the pancreatic "
                  "head.", "Unexpected; phone the referrer today.", "5B"])
    sheet.append(["UF-2", "H002", "M", 54, "03/04/2024", "Small hiatus hernia.",
                  "Nothing unexpected.", "2A"])
    sheet.append(["UF-3", "H003", "M", 66, "12/04/2024", "Incidental 6 mm lung nodule.",
                  "Follow-up CT in 12 months.", "2A"])
    book.save(path)
    return path


def test_a_department_sets_up_a_task_and_labels_in_it(browser, page, live_server,
                                                      browser_login, tmp_path, settings):
    settings.CTIR_UPLOAD_DIR = tmp_path / "uploads"
    User.objects.create_superuser("sue", password="pw-sue-super")
    base = live_server.url
    browser_login("sue", "pw-sue-super")

    page.goto(f"{base}/projects/new/")
    page.fill("#id_name", "Unexpected findings")
    page.fill("#id_slug", "unexpected")
    page.fill("#id_guideline", "Urgent: tell the referrer today. Soon: within a week.")
    for i, (name, key) in enumerate([("Urgent", "u"), ("Soon", "o"), ("Routine", "r")]):
        page.fill(f"#id_cat-{i}-name", name)
        page.fill(f"#id_cat-{i}-key", key)
    shot(page, "1-project-create")
    page.click("#project-create button.primary")
    page.wait_for_url(f"{base}/p/unexpected/members/")
    project = Project.objects.get(slug="unexpected")
    assert list(project.categories.values_list("name", "key")) == [
        ("Urgent", "u"), ("Soon", "o"), ("Routine", "r")]

    page.fill("#id_new-username", "nina")
    page.select_option("#id_new-role", "annotator")
    page.click("#member-create button.primary")
    link = page.input_value("#link-url")
    shot(page, "2-members-link")
    assert "/set-password/" in link

    page.goto(f"{base}/p/unexpected/settings/")
    assert "Routine" in page.inner_text("#categories")
    shot(page, "2b-settings")
    page.goto(f"{base}/p/unexpected/settings/categories/{project.categories.get(code=2).pk}/")
    page.fill("#id_name", "Soon (this week)")
    page.click("#category-edit button.primary")
    page.wait_for_url(f"{base}/p/unexpected/settings/")
    page.goto(f"{base}/p/unexpected/settings/categories/{project.categories.get(code=2).pk}/")
    assert "Soon (this week)" in page.inner_text("#history")
    shot(page, "2c-category-edit")

    page.goto(f"{base}/p/unexpected/import/")
    page.set_input_files("input[name=file]", str(export_xlsx(tmp_path / "ris-export.xlsx")))
    page.click("form[enctype] button.primary")
    page.wait_for_selector("#mapping")
    assert page.input_value("#map_procedure_date") == "Exam Date"
    assert "3 problems found" in page.inner_text("#preview")
    shot(page, "3-import-preview-errors")
    page.select_option("#date_format", "dmy")
    page.click("button[name=remap]")
    page.wait_for_selector("button[name=confirm]")
    shot(page, "4-import-preview-ok")
    page.click("button[name=confirm]")
    page.wait_for_url(f"{base}/p/unexpected/")
    assert "imported 3 new reports" in page.inner_text("#messages")
    shot(page, "5-dashboard")
    first = Report.objects.get(project=project, accession="UF-1")
    assert first.procedure_date == datetime.date(2024, 3, 25)
    assert first.text.startswith("Findings: New 3 cm mass")

    nina_context = browser.new_context(viewport={"width": 1280, "height": 800},
                                       bypass_csp=True)
    nina = nina_context.new_page()
    nina.set_default_timeout(10_000)
    nina.goto(link)
    nina.fill("#id_new_password1", "a-long-Passphrase-9")
    nina.fill("#id_new_password2", "a-long-Passphrase-9")
    shot(nina, "6-set-password")
    nina.click("button.primary")
    nina.wait_for_url(f"{base}/set-password/done/")
    nina.goto(f"{base}/login/")
    nina.fill("input[name=username]", "nina")
    nina.fill("input[name=password]", "a-long-Passphrase-9")
    nina.click("button.primary")
    nina.wait_for_url(f"{base}/p/unexpected/")
    nina.goto(f"{base}/p/unexpected/annotate/")
    assert nina.inner_text(".report-meta strong") == "UF-1"
    assert "Keys: U O R answer" in nina.inner_text(".annotate-head")
    shot(nina, "7-annotate")
    nina.mouse.move(200, 200)
    for key, accession in (("u", "UF-1"), ("r", "UF-2")):
        nina.keyboard.press(key)
        nina.wait_for_function(
            "prev => document.querySelector('.report-meta strong').textContent !== prev",
            arg=accession)
    nina_context.close()
    answers = Annotation.objects.filter(report__project=project).order_by("id")
    assert [(a.report.accession, a.category.name, a.user.username) for a in answers] == [
        ("UF-1", "Urgent", "nina"), ("UF-2", "Routine", "nina")]
    assert project.categories.get(code=2).name == "Soon (this week)"
