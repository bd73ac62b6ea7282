"""Form input the database would refuse gets a message, not a 500: text past its column's
length, NUL characters, long usernames and odd headers at the login, weak passwords; and
every answer carries a Content-Security-Policy that the pages work under."""

import pytest
from django.urls import reverse

from annotation.models import Report
from studies.models import ReaderStudy
from tests.support import add_unlabelled

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("field,value", [
    ("name", "x" * 300), ("name", "Readers\x00vs model"), ("instructions", "Read\x00carefully"),
    ("instructions", "y" * 10_001), ("model_version", "１"), ("mode", "telepathy"),
], ids=["long-name", "nul-name", "nul-instructions", "long-instructions", "wide-digit",
        "mode"])
def test_a_study_form_the_database_would_refuse_is_a_message(login, project, admin_user,
                                                              reader, field, value):
    add_unlabelled(project, 3)
    Report.objects.update(split="test")
    data = {"name": "Readers vs model", "cases": "test", "mode": "unaided",
            "readers": [reader.pk], "instructions": "", field: value}
    page = login(admin_user).post(reverse("study_list", args=[project.slug]), data,
                                  follow=True)
    assert page.status_code == 200
    assert "Study not created" in page.content.decode()
    assert not ReaderStudy.objects.exists()


def test_a_good_study_form_still_creates_the_study(login, project, admin_user, reader):
    add_unlabelled(project, 3)
    Report.objects.update(split="test")
    page = login(admin_user).post(reverse("study_list", args=[project.slug]), {
        "name": "", "cases": "test", "mode": "unaided", "readers": [reader.pk]}, follow=True)
    study = ReaderStudy.objects.get()
    assert study.name == "Reader study" and study.cases.count() == 3
    assert list(study.readers.values_list("user__username", flat=True)) == [reader.username]
    assert page.status_code == 200


@pytest.mark.parametrize("reason", ["looked\x00again", "z" * 2001], ids=["nul", "long"])
def test_an_adjudication_reason_the_database_would_refuse_is_a_message(login, project,
                                                                       admin_user, reason):
    add_unlabelled(project, 1)
    report = Report.objects.get()
    page = login(admin_user).post(reverse("adjudication", args=[project.slug]),
                                  {"report": report.pk, "category": 1, "reason": reason},
                                  follow=True)
    assert page.status_code == 200 and f"{report.accession}: " in page.content.decode()
    assert not hasattr(Report.objects.get(pk=report.pk), "reference_label")


def test_the_login_survives_long_usernames_and_odd_headers(client, admin_user):
    long_name = client.post(reverse("login"), {"username": "u" * 300, "password": "x"})
    assert long_name.status_code == 200
    odd = client.post(reverse("login"), {"username": "alice-admin", "password": "wrong"},
                      HTTP_USER_AGENT="curl\x00/8", HTTP_ACCEPT="text/html\x00")
    assert odd.status_code == 200
    good = client.post(reverse("login"), {"username": "alice-admin",
                                           "password": "pw-alice-admin"},
                       HTTP_USER_AGENT="Mozilla\x00")
    assert good.status_code == 302


@pytest.mark.parametrize("password,reason", [
    ("12345678", "entirely numeric"), ("password", "too common"),
    ("carol-the-new", "too similar"),
])
def test_weak_passwords_are_refused_on_the_set_password_page(client, login, project,
                                                             admin_user, password, reason):
    import re

    response = login(admin_user).post(reverse("project_members", args=[project.slug]), {
        "action": "create", "new-username": "carol-the-new", "new-email": "",
        "new-role": "annotator"})
    path = re.sub(r"^https?://[^/]+", "", response.context["link"]["url"])
    client.logout()
    form_page = client.get(path, follow=True)
    refused = client.post(form_page.request["PATH_INFO"], {"new_password1": password,
                                                           "new_password2": password})
    assert refused.status_code == 200 and reason in refused.content.decode()


def test_every_page_answers_with_a_content_security_policy(client, login, project, admin_user):
    for response in (client.get(reverse("login")), login(admin_user).get(
            reverse("dashboard", args=[project.slug])), client.get(reverse("api_docs"))):
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split(
            "style-src")[0]
        # No inline script or handler for the policy to block.
        html = response.content.decode()
        assert "onclick=" not in html and "onchange=" not in html and "<script>" not in html
