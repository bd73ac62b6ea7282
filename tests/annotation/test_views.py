import pytest
from django.urls import reverse

from annotation.models import Report

PAGES = [
    ("dashboard", {}),
    ("import_reports", {}),
    ("export_labels", {"fmt": "csv"}),
    ("import_job", {"job_id": 1}),
    ("project_settings", {}),
    ("category_edit", {"category_id": 1}),
    ("project_members", {}),
]
ADMIN_PAGES = [p for p in PAGES if p[0] != "dashboard"]


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_every_page_requires_login(client, project, name, kwargs):
    url = reverse(name, kwargs={"slug": project.slug, **kwargs})
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_an_outsider_gets_404(login, project, outsider, name, kwargs):
    response = login(outsider).get(reverse(name, kwargs={"slug": project.slug, **kwargs}))
    assert response.status_code == 404


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_a_reader_gets_403(login, project, reader, name, kwargs):
    response = login(reader).get(reverse(name, kwargs={"slug": project.slug, **kwargs}))
    assert response.status_code == 403


@pytest.mark.parametrize(("name", "kwargs"), ADMIN_PAGES)
def test_an_annotator_gets_403_on_admin_pages(login, project, annotator, name, kwargs):
    response = login(annotator).get(reverse(name, kwargs={"slug": project.slug, **kwargs}))
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["project_create"])
def test_pages_outside_projects_require_login_and_a_superuser(client, login, admin_user, name):
    assert client.get(reverse(name))["Location"].startswith(reverse("login"))
    assert login(admin_user).get(reverse(name)).status_code == 403


def test_an_annotator_sees_the_dashboard_but_not_import_or_export(login, project, annotator):
    client = login(annotator)
    assert client.get(reverse("dashboard", args=[project.slug])).status_code == 200
    assert client.get(reverse("import_reports", args=[project.slug])).status_code == 403
    assert client.get(reverse("export_labels", args=[project.slug, "csv"])).status_code == 403


def test_the_dashboard_shows_counts_per_split_and_category(login, project, admin_user, tmp_path):
    from tests.support import add_reports

    add_reports(project, 8)
    page = login(admin_user).get(reverse("dashboard", args=[project.slug])).content.decode()
    assert "8 reports of 8 patients" in page
    assert "Lung biopsy" in page


def test_upload_preview_then_confirm_imports(login, project, admin_user, tmp_path):
    client = login(admin_user)
    url = reverse("import_reports", args=[project.slug])
    csv = (b"accession,patient_id,sex,age,procedure_date,text,label\n"
           b"W1,P1,F,50,2020-01-01,Drainage of a psoas abscess,1\n")
    from django.core.files.uploadedfile import SimpleUploadedFile

    preview = client.post(url, {"file": SimpleUploadedFile("ris.csv", csv)})
    assert b"1</strong> new reports" in preview.content
    assert not Report.objects.exists()
    token = preview.context["token"]
    done = client.post(url, {"confirm": "1", "token": token}, follow=True)
    assert b"imported 1 new reports" in done.content
    assert Report.objects.get().accession == "W1"
    again = client.post(url, {"confirm": "1", "token": token}, follow=True)
    assert b"already imported or has expired" in again.content
    assert Report.objects.count() == 1


def test_upload_with_bad_rows_lists_them_and_offers_no_confirm(login, project, admin_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv = (b"accession,patient_id,sex,age,procedure_date,text,label\n"
           b"W1,P1,F,50,2020-31-01,Drainage of a psoas abscess,7\n")
    response = login(admin_user).post(reverse("import_reports", args=[project.slug]),
                                      {"file": SimpleUploadedFile("ris.csv", csv)})
    page = response.content.decode()
    assert "2 problems found; nothing was imported" in page
    assert "bad date &#x27;2020-31-01&#x27;" in page
    assert 'name="confirm"' not in page


def test_export_download_streams_csv(login, project, admin_user):
    from tests.support import add_reports

    add_reports(project, 3)
    response = login(admin_user).get(reverse("export_labels", args=[project.slug, "csv"]))
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Disposition"].startswith('attachment; filename="ct-ir-labels-')
    assert body.splitlines()[0].startswith("accession,patient_id,sex,age,procedure_date")
    assert len(body.splitlines()) == 4


def test_an_upload_token_imports_only_for_its_admin_and_project(login, project, admin_user,
                                                                 outsider, other_project):
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile

    from annotation.models import Membership, Role

    csv = (b"accession,patient_id,sex,age,procedure_date,text,label\n"
           b"W1,P1,F,50,2020-01-01,Drainage of a psoas abscess,1\n")
    url = reverse("import_reports", args=[project.slug])
    token = login(admin_user).post(url, {"file": SimpleUploadedFile("ris.csv", csv)}
                                   ).context["token"]
    second_admin = User.objects.create_user("second-admin")
    Membership.objects.create(project=project, user=second_admin, role=Role.ADMIN)
    refused = login(second_admin).post(url, {"confirm": "1", "token": token}, follow=True)
    assert b"previewed by another user or in another project" in refused.content
    elsewhere = login(outsider).post(reverse("import_reports", args=[other_project.slug]),
                                     {"confirm": "1", "token": token}, follow=True)
    assert b"previewed by another user or in another project" in elsewhere.content
    assert not Report.objects.exists()
    # The refusals left the staged file alone: its own admin still imports it.
    done = login(admin_user).post(url, {"confirm": "1", "token": token}, follow=True)
    assert b"imported 1 new reports" in done.content
    assert list(Report.objects.values_list("project__slug", flat=True)) == [project.slug]


def test_the_dashboard_counts_reports_not_answers(login, project, admin_user, annotator):
    """The audit's case: one answer corrected with Z made the dashboard count its report
    twice (1,816 reports where the database held 1,815)."""
    from annotation.labeling import services as labeling
    from annotation.models import Annotation, Category, Report
    from tests.support import add_unlabelled, answer, served

    add_unlabelled(project, 3)
    first = answer(project, annotator, 2)
    labeling.annotation_submit(served=served(first.report, annotator, supersedes_id=first.pk),
                               user=annotator, category=Category.objects.get(
                                   project=project, code=3), active_ms=900)
    assert Annotation.objects.count() == 2
    stats = login(admin_user).get(reverse("dashboard", args=[project.slug])).context["stats"]
    assert stats["total"] == Report.objects.count() == 3
    assert stats["labelled"] == Report.objects.filter(reference_label__isnull=False).count()
    for split in stats["splits"]:
        assert split["total"] == Report.objects.filter(split=split["value"]).count()


def test_pages_show_category_names_where_they_showed_codes(login, project, admin_user):
    from annotation.templatetags.ctir_format import named
    from tests.support import add_reports

    assert named(3, {3: "Lung biopsy"}) == "3 Lung biopsy"
    assert named("3", {"3": "Lung biopsy"}) == "3 Lung biopsy" and named(9, {}) == 9
    add_reports(project, 4)
    page = login(admin_user).get(reverse("reports", args=[project.slug])).content.decode()
    table = page.split("<tbody>")[1]
    assert any(f"<td>{code} {name}</td>" in table for code, name in (
        (1, "Drainage"), (2, "Soft-tissue / fat lesion biopsy"), (3, "Lung biopsy"),
        (4, "Bone biopsy")))
