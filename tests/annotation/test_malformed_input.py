"""Malformed numbers in forms, query strings and URLs answer 4xx with a message, never 500."""

import pytest
from django.urls import reverse

from annotation.models import Annotation, Report
from studies import services as studies
from studies.models import ReaderStudy, StudyResponse
from tests.support import add_reports

BAD_MS = ["inf", "1e400", "-inf", "nan", "-5", "abc"]


@pytest.fixture
def annotating(login, project, annotator):
    add_reports(project, 3, label=False)
    client = login(annotator)
    page = client.get(reverse("annotate", args=[project.slug]))
    return client, page.context["token"]


@pytest.mark.parametrize("value", BAD_MS)
def test_a_malformed_active_ms_is_a_400_with_a_message(annotating, project, value):
    client, token = annotating
    response = client.post(reverse("annotate", args=[project.slug]),
                           {"token": token, "category": "1", "active_ms": value})
    assert response.status_code == 400
    assert "active_ms must be a number of milliseconds" in response.content.decode()
    assert not Annotation.objects.exists()


def test_an_empty_active_ms_still_means_no_javascript(annotating, project):
    client, token = annotating
    response = client.post(reverse("annotate", args=[project.slug]),
                           {"token": token, "category": "1", "active_ms": ""})
    assert response.status_code == 302
    assert Annotation.objects.get().active_ms is None


@pytest.mark.parametrize("before", ["abc", "\u00b2", "9" * 5000])
def test_going_back_with_a_malformed_before_is_a_400(annotating, project, before):
    client, _ = annotating
    response = client.get(reverse("annotate", args=[project.slug]),
                          {"back": "1", "before": before})
    assert response.status_code == 400
    assert "before must be a whole number" in response.content.decode()


@pytest.fixture
def reading(login, project, reader):
    add_reports(project, 4)
    from annotation.services import splits_assign

    splits_assign(project=project, counts=(0, 0, 4))
    study = studies.study_create(project=project, name="S", readers=[reader], seed=1)
    studies.study_status_set(study=study, status=ReaderStudy.Status.OPEN)
    client = login(reader)
    assert client.get(reverse("read", args=[study.pk])).status_code == 200
    return client, study


@pytest.mark.parametrize(("field", "value", "message"), [
    ("position", "abc", "position must be a whole number"),
    ("position", "9" * 5000, "position must be a whole number"),
    ("active_ms", "inf", "active_ms must be a number of milliseconds"),
    ("active_ms", "1e400", "active_ms must be a number of milliseconds"),
    ("category", "abc", "category must be a whole number"),
])
def test_a_malformed_reading_answer_is_a_400(reading, field, value, message):
    client, study = reading
    data = {"position": "0", "category": "1", "active_ms": "1000", field: value}
    response = client.post(reverse("read", args=[study.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not StudyResponse.objects.exists()


@pytest.mark.parametrize(("data", "message"), [
    ({"report": "abc", "category": "1"}, "report must be a whole number"),
    ({"report": "9" * 30, "category": "1"}, "report must be a whole number"),
])
def test_malformed_adjudication_is_a_400(login, project, admin_user, data, message):
    add_reports(project, 1)
    if data["report"] == "the report":
        data = {**data, "report": str(Report.objects.get().pk)}
    response = login(admin_user).post(reverse("adjudication", args=[project.slug]), data)
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize("value", ["abc", "²", "9" * 30])
def test_a_malformed_category_is_named_and_changes_nothing(login, project, admin_user, value):
    """The adjudication form names the category it cannot use, on both pages."""
    add_reports(project, 1)
    report = Report.objects.get()
    label = report.reference_label.category_id
    client = login(admin_user)
    for url, data in ((reverse("report_detail", args=[project.slug, report.pk]), {}),
                      (reverse("adjudication", args=[project.slug]), {"report": report.pk})):
        page = client.post(url, {**data, "category": value, "reason": "x"}, follow=True)
        assert page.status_code == 200
        assert "No category" in page.content.decode() or "at most 6" in page.content.decode()
        assert Report.objects.get().reference_label.category_id == label


@pytest.mark.parametrize("value", ["abc", "1.5", "9" * 30])
def test_a_malformed_model_version_is_named(login, project, admin_user, reader, value):
    from annotation.services import splits_assign

    add_reports(project, 2)
    splits_assign(project=project, counts=(0, 0, 2))
    client = login(admin_user)
    created = client.post(reverse("study_list", args=[project.slug]),
                          {"name": "S", "model_version": value, "readers": [reader.pk],
                           "mode": "unaided"}, follow=True)
    assert created.status_code == 200
    assert ("Study not created: model version: no such trained model version in this "
            "project") in (
        created.content.decode())
    assert not ReaderStudy.objects.exists()
    study = studies.study_create(project=project, name="S", readers=[reader], seed=1)
    updated = client.post(reverse("study_update", args=[project.slug, study.pk]),
                          {"model_version": value})
    assert updated.status_code == 400
    assert "model_version must be a whole number" in updated.content.decode()


def test_malformed_readers_are_named(login, project, admin_user):
    response = login(admin_user).post(reverse("study_list", args=[project.slug]),
                                      {"name": "S", "readers": ["abc"], "mode": "unaided"},
                                      follow=True)
    assert response.status_code == 200
    assert "Study not created: readers: “abc” is not a valid value." in (
        response.content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”"))


@pytest.mark.parametrize("params", [{"reference": "\u00b2"}, {"predicted": "9" * 5000},
                                    {"q": "a\x00b"}, {"margin_min": "nan"}])
def test_odd_report_filters_never_500(login, project, admin_user, params):
    add_reports(project, 2)
    client = login(admin_user)
    assert client.get(reverse("reports", args=[project.slug]), params).status_code == 200
    api = client.get(reverse("api_reports", args=[project.slug]), params)
    # The API checks its filters: a bad one is a 400 that names it, never ignored, never 500.
    assert api.status_code == 200 or (api.status_code == 400 and api.json()["fields"])


HUGE_IDS = ["9" * 20, "9" * 5000]


@pytest.mark.parametrize("huge", HUGE_IDS, ids=["20 digits", "5000 digits"])
def test_very_long_ids_in_urls_are_404(login, project, admin_user, reader, huge):
    admin = login(admin_user)
    slug = project.slug
    for url in (f"/p/{slug}/reports/{huge}/", f"/p/{slug}/studies/{huge}/",
                f"/p/{slug}/studies/{huge}/responses.csv",
                f"/api/v1/projects/{slug}/studies/{huge}/results/",
                f"/api/v1/projects/{slug}/models/{huge}/"):
        assert admin.get(url).status_code == 404, url
    assert admin.post(f"/p/{slug}/studies/{huge}/update/", {"status": "open"}).status_code == 404
    assert login(reader).get(f"/read/{huge}/").status_code == 404
