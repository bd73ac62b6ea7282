"""The personal token page: a token is shown once, stored only as a hash, and revocable by
its owner alone."""

import hashlib

from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken


def test_the_token_page_needs_a_login(client):
    response = client.get(reverse("api_tokens"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.post(reverse("api_token_revoke", args=[1])).status_code == 302


def test_a_new_token_is_shown_once_and_stored_as_a_hash(login, project, annotator):
    client = login(annotator)
    page = client.post(reverse("api_tokens"), {"name": "RIS sync"})
    raw = page.context["raw"]
    assert raw.startswith("ctir_") and raw in page.content.decode()
    assert page["Cache-Control"] == "no-store"
    token = ApiToken.objects.get()
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {token.name, token.prefix, token.digest} and raw.startswith(token.prefix)
    again = client.get(reverse("api_tokens")).content.decode()
    assert "RIS sync" in again and raw not in again and token.prefix in again
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get(reverse("api_projects")).json()[0]["slug"] == project.slug


def test_a_token_needs_a_name(login, annotator):
    page = login(annotator).post(reverse("api_tokens"), {"name": "  "})
    assert "Give the token a name" in page.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_stops_the_token_and_only_its_owner_may(login, annotator, admin_user):
    login(annotator).post(reverse("api_tokens"), {"name": "laptop"})
    token = ApiToken.objects.get()
    other = login(admin_user).post(reverse("api_token_revoke", args=[token.pk]))
    assert other.status_code == 404
    token.refresh_from_db()
    assert token.is_active
    done = login(annotator).post(reverse("api_token_revoke", args=[token.pk]), follow=True)
    assert "is revoked" in done.content.decode()
    token.refresh_from_db()
    assert not token.is_active
    assert "revoked" in done.content.decode()
