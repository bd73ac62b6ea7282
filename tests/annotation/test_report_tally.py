"""The project's counts are read from the cache under a stamp (annotation.selectors.
report_tally): each write that changes them must move the stamp on, so that no page shows a
count from before it. Each step compares the pages' numbers with a count of the tables."""

import datetime

from django.db import transaction
from django.db.models import Count
from django.urls import reverse

from annotation import selectors, services
from annotation.importing.checks import ParsedRow
from annotation.models import Category, Project, Report
from modeling import selectors as modeling_selectors
from studies import selectors as studies_selectors
from tests.support import add_reports


def counted(project) -> dict:
    """The tally, counted again from the tables."""
    return {(r["split"], r["reference_label__category"]): r["n"] for r in
            Report.objects.filter(project=project).values("split", "reference_label__category")
            .annotate(n=Count("pk"))}


def case_sets(project) -> dict:
    return {key: n for key, _, n in studies_selectors.case_set_choices(project)}


def test_every_write_that_changes_the_counts_moves_their_stamp_on(project, admin_user,
                                                                   client):
    add_reports(project, 12)
    assert selectors.report_tally(project) == counted(project)
    assert case_sets(project) == {"test": 0, "validation": 0, "labelled": 12}

    services.splits_assign(project=project, counts=(6, 2, 4))
    assert selectors.report_tally(project) == counted(project)
    assert case_sets(project) == {"test": 4, "validation": 2, "labelled": 12}

    services.reports_write(project=project, batch=None, user=None, reason="test", rows=[
        ParsedRow(line=1, accession="NEW1", patient_id="PN", sex="M", age=60,
                  procedure_date=datetime.date(2024, 5, 1), text="new report", label=None,
                  split="validation")])
    assert selectors.report_tally(project) == counted(project)
    assert case_sets(project)["validation"] == 3
    assert selectors.dashboard_stats(project)["patients"] == 13

    validation = modeling_selectors.validation_summary
    before = validation(project)["per_category"]
    with transaction.atomic():
        services.reference_label_set(
            report=Report.objects.get(accession="NEW1"),
            category=Category.objects.get(project=project, code=3), method="adjudication",
            user=admin_user, reason="read again")
    after = validation(project)["per_category"]
    assert after == {**before, 3: before.get(3, 0) + 1}
    assert selectors.report_tally(project) == counted(project)

    # What the dashboard shows is the tables' count, not the cached one from before.
    client.force_login(admin_user)
    page = client.get(reverse("dashboard", args=[project.slug])).content.decode()
    assert "13 reports of 13 patients" in page


def test_the_admin_moves_the_stamp_on_when_it_edits_a_report(project, client, django_user_model):
    add_reports(project, 4)
    services.splits_assign(project=project, counts=(4, 0, 0))
    assert case_sets(project)["test"] == 0
    superuser = django_user_model.objects.create_superuser("root-admin", password="pw-x-2026")
    client.force_login(superuser)
    report = Report.objects.get(accession="R0001")
    response = client.post(reverse("admin:annotation_report_change", args=[report.pk]), {
        "project": project.pk, "patient": report.patient_id, "accession": report.accession,
        "procedure_date": report.procedure_date.isoformat(), "text": report.text,
        "split": "test", "in_queue": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert case_sets(project)["test"] == 1


def test_the_reports_browser_counts_from_the_tally_what_the_tables_hold(project):
    add_reports(project, 10)
    services.reports_write(project=project, batch=None, user=None, reason="test", rows=[
        ParsedRow(line=i, accession=f"U{i}", patient_id=f"PU{i}", sex="F", age=40,
                  procedure_date=datetime.date(2020, 1, 1 + i), text=f"unlabelled {i}",
                  label=None, split=None) for i in range(5)])
    services.splits_assign(project=project, counts=(8, 3, 4))
    for params in ({}, {"split": "test"}, {"status": "labelled"}, {"status": "unlabelled"},
                   {"split": "train", "status": "unlabelled"}, {"reference": "2"},
                   {"split": "validation", "reference": "3", "status": "labelled"},
                   {"reference": "9"}):
        rows, applied = selectors.reports_filtered(project, params)
        assert rows.counted is not None, params  # read from the tally
        assert rows.count() == rows.ids.count(), params
    rows, _ = selectors.reports_filtered(project, {"status": "annotated"})
    assert rows.counted is None  # answers are not in the tally: counted in the tables


def test_a_project_deleted_while_its_page_loads_counts_as_empty(project):
    add_reports(project, 3)
    gone = Project(pk=project.pk + 1000, name="gone", slug="gone")  # loaded, then deleted
    assert selectors.report_tally(gone) == {}
    assert selectors.patient_count(gone) == 0
