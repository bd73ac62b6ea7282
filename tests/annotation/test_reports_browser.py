import pytest
from django.urls import reverse

from annotation.models import Category, ReferenceLabel
from core.models import JobStatus
from modeling.models import ModelVersion, Prediction
from tests.support import add_reports


@pytest.fixture
def browsed(project):
    add_reports(project, 8)  # labels (i % 4) + 1
    version = ModelVersion.objects.create(project=project, number=1, base_model="x",
                                          status=JobStatus.SUCCEEDED, is_active=True)
    for report in project.reports.all():
        code = report.reference_label.category.code
        predicted = code if report.accession != "R0002" else 1
        Prediction.objects.create(
            report=report, model_version=version, margin=0.2 if predicted != code else 0.9,
            ms=1, category=Category.objects.get(project=project, code=predicted),
            probabilities={str(predicted): 0.6})
    return project


def accessions(response):
    return [r.accession for r in response.context["page"].object_list]


def test_filters(login, browsed, admin_user):
    client = login(admin_user)
    url = reverse("reports", args=[browsed.slug])
    assert len(accessions(client.get(url))) == 8
    assert accessions(client.get(url, {"disagree": "1"})) == ["R0002"]
    assert accessions(client.get(url, {"reference": "3"})) == ["R0002", "R0006"]
    assert accessions(client.get(url, {"predicted": "1", "margin_max": "0.5"})) == ["R0002"]
    assert accessions(client.get(url, {"q": "report 7"})) == ["R0007"]
    assert accessions(client.get(url, {"status": "unlabelled"})) == []


def test_a_search_counts_and_lists_up_to_its_cap_and_says_there_are_more(
        login, browsed, admin_user, monkeypatch):
    from annotation import selectors

    monkeypatch.setattr(selectors, "SEARCH_COUNT_CAP", 3)
    client = login(admin_user)
    url = reverse("reports", args=[browsed.slug])
    response = client.get(url, {"q": "report"})  # all 8 match
    page = response.content.decode()
    assert "More than 3 reports match; the first 3 are listed" in page
    assert len(accessions(response)) == 3 and response.context["page"].paginator.num_pages == 1
    # The first 3 in the list's order: the same as the first 3 of the whole list.
    assert accessions(response) == accessions(client.get(url))[:3]
    # At the cap or under it, the count is exact and says nothing more.
    response = client.get(url, {"q": "report 1"})
    assert accessions(response) == ["R0001"] and "More than" not in response.content.decode()
    monkeypatch.setattr(selectors, "SEARCH_COUNT_CAP", 8)
    response = client.get(url, {"q": "report"})
    assert "More than" not in response.content.decode()
    # Cut from the matches found by the count, in the list's own (date) order.
    assert accessions(response) == accessions(client.get(url))
    assert accessions(client.get(url, {"q": "report", "page": "1"})) == accessions(response)
    assert accessions(client.get(url, {"q": "report 1", "reference": "2"})) == ["R0001"]
    # Without a search, and in the API, every report is counted.
    monkeypatch.setattr(selectors, "SEARCH_COUNT_CAP", 3)
    assert client.get(url).context["page"].paginator.count == 8
    api = client.get(reverse("api_reports", args=[browsed.slug]), {"q": "report"}).json()
    assert api["count"] == 8


def test_the_report_page_shows_everything_and_changes_keep_history(login, browsed, admin_user):
    client = login(admin_user)
    url = reverse("report_detail", args=[browsed.slug, browsed.reports.get(accession="R0002").pk])
    page = client.get(url).content.decode()
    assert "v1 (active)" in page and "imported" in page
    client.post(url, {"category": "1", "reason": ""})
    assert ReferenceLabel.objects.get(report__accession="R0002").category.code == 3
    client.post(url, {"category": "1", "reason": "drained lung abscess"})
    label = ReferenceLabel.objects.get(report__accession="R0002")
    assert (label.category.code, label.method) == (1, "adjudication")
    assert "drained lung abscess" in client.get(url).content.decode()


@pytest.mark.parametrize("name", ["reports", "report_detail"])
def test_only_admins_browse_reports(login, browsed, annotator, reader, outsider, name):
    r0001 = browsed.reports.get(accession="R0001").pk
    args = [browsed.slug] + ([r0001] if name == "report_detail" else [])
    url = reverse(name, args=args)
    assert login(annotator).get(url).status_code == 403
    assert login(reader).get(url).status_code == 403
    assert login(outsider).get(url).status_code == 404
