"""REST API v1 with personal tokens, what holds for every route: the role matrix (no token
401, outsider 404, wrong role 403), tokens, sessions and CSRF, and a schema without warnings
whose errors share one shape and whose docs page loads nothing from a CDN. Each app's routes
are tested next to its other tests: tests/annotation/test_api_reports.py,
tests/modeling/test_api_training.py and tests/studies/test_api_results.py."""

import datetime
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import token_create
from annotation.models import Annotation
from tests.support import add_reports, add_unlabelled, bearer, row

ADMIN, STAFF, ALL = "admin", "staff", "all"
# (method, url name, kwargs, who may): every route under /api/v1/projects/<slug>/.
ROUTES = [
    ("get", "api_project", {}, STAFF),
    ("get", "api_categories", {}, ALL),
    ("get", "api_reports", {}, ADMIN),
    ("post", "api_reports", {}, ADMIN),
    ("get", "api_import_job", {"job_id": 0}, ADMIN),
    ("post", "api_queue_next", {}, STAFF),
    ("post", "api_queue_skip", {}, STAFF),
    ("get", "api_annotations", {}, STAFF),
    ("post", "api_annotations", {}, STAFF),
    ("get", "api_models", {}, ADMIN),
    ("post", "api_models", {}, ADMIN),
    ("get", "api_model", {"number": 1}, ADMIN),
    ("post", "api_model_cancel", {"number": 1}, ADMIN),
    ("post", "api_model_promote", {"number": 1}, ADMIN),
    ("get", "api_model_predictions", {"number": 1}, ADMIN),
    ("get", "api_model_archive", {"number": 1}, ADMIN),
    ("post", "api_model_archives", {}, ADMIN),
    ("get", "api_prelabel", {}, ADMIN),
    ("post", "api_prelabel", {}, ADMIN),
    ("post", "api_classify", {}, ADMIN),
    ("get", "api_studies", {}, ADMIN),
    ("get", "api_study_results", {"study_id": 0}, ADMIN),
]


def route_url(project, name, kwargs, study=None):
    if "study_id" in kwargs:
        kwargs = {"study_id": study.pk if study else 1}
    return reverse(name, kwargs={"slug": project.slug, **kwargs})


@pytest.mark.parametrize(("method", "name", "kwargs", "who"), ROUTES)
def test_every_route_needs_a_token(project, method, name, kwargs, who):
    response = getattr(APIClient(), method)(route_url(project, name, kwargs))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "name", "kwargs", "who"), ROUTES)
def test_an_outsider_gets_404_everywhere(project, outsider, version, study, method, name,
                                         kwargs, who):
    response = getattr(bearer(outsider), method)(route_url(project, name, kwargs, study))
    assert response.status_code == 404


@pytest.mark.parametrize(("method", "name", "kwargs", "who"), ROUTES)
def test_the_wrong_role_gets_403(project, annotator, reader, version, study, method, name,
                                 kwargs, who):
    url = route_url(project, name, kwargs, study)
    refused = {ADMIN: [annotator, reader], STAFF: [reader], ALL: []}[who]
    for user in refused:
        assert getattr(bearer(user), method)(url).status_code == 403, user
    allowed = {ADMIN: [], STAFF: [annotator], ALL: [annotator, reader]}[who]
    for user in allowed:
        assert getattr(bearer(user), method)(url).status_code not in (401, 403, 404), user


def test_a_revoked_token_no_longer_works(project, admin_user):
    from accounts.services import token_revoke

    token, raw = token_create(user=admin_user, name="script")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(reverse("api_projects")).status_code == 200
    token_revoke(token=token)
    response = client.get(reverse("api_projects"))
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_projects_list_only_mine_with_my_role(project, other_project, annotator):
    data = bearer(annotator).get(reverse("api_projects")).json()
    assert [(p["slug"], p["role"]) for p in data] == [("ct-ir", "annotator")]
    detail = bearer(annotator).get(reverse("api_project", args=[project.slug])).json()
    assert [c["code"] for c in detail["categories"]] == [1, 2, 3, 4]


def test_the_session_works_for_reads_but_writes_need_csrf(login, project, admin_user):
    client = login(admin_user)
    assert client.get(reverse("api_reports", args=[project.slug])).status_code == 200
    csrf_client = APIClient(enforce_csrf_checks=True)
    csrf_client.force_login(admin_user)
    response = csrf_client.post(reverse("api_reports", args=[project.slug]),
                                {"reports": [row(1)]}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


def test_the_schema_has_no_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = target.read_text()
    for path in ("/api/v1/projects/{slug}/reports/", "/api/v1/projects/{slug}/annotations/",
                 "/api/v1/projects/{slug}/models/{number}/promote/"):
        assert path in schema
    assert "bearerAuth" in schema or "tokenAuth" in schema


def test_every_error_an_operation_answers_is_declared_in_one_shape(tmp_path):
    """401 everywhere, 404 on every project route, and every error body the one Error
    shape (the import's 400 adds its row problems to it; a 503 of a job that did not start
    adds the job); the paging parameters and filters are typed, so a bad one is a 400."""
    import yaml

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    components = schema["components"]["schemas"]
    assert set(components["Error"]["properties"]) == {"detail", "fields"}
    assert components["Error"]["required"] == ["detail"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            where = f"{method.upper()} {path}"
            assert "401" in responses, where
            if "{slug}" in path:
                assert "404" in responses, where
            for code, response in responses.items():
                if int(code) < 400:
                    continue
                ref = response["content"]["application/json"]["schema"]["$ref"]
                name = ref.rsplit("/", 1)[1]
                assert "detail" in components[name].get("required", []), (where, code)
                if (code, operation["operationId"]) != ("400", "reports_import") and \
                        code != "503":
                    assert name == "Error", (where, code, name)
            for parameter in operation.get("parameters", []):
                if parameter["name"] in ("page", "page_size"):
                    assert parameter["schema"]["type"] == "integer"
                    assert parameter["schema"]["minimum"] == 1
    results = components["StudyResults"]["properties"]
    assert results["mrmc"]["$ref"].endswith("/Mrmc")


@pytest.mark.parametrize("query", [
    {"page_size": "null"}, {"page_size": "0"}, {"page_size": "1001"}, {"page_size": "１０"},
    {"page": "x"}, {"page": "0"}, {"page": ""}, {"split": "nope"}, {"status": ""},
    {"predicted": "abc"}, {"margin_min": "nan"}, {"disagree": "0"},
], ids=lambda query: "&".join(f"{k}={v}" for k, v in query.items()))
def test_a_bad_query_parameter_is_a_400_not_ignored(project, admin_user, query):
    add_reports(project, 2)
    response = bearer(admin_user).get(reverse("api_reports", args=[project.slug]), query)
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["detail"].startswith(next(iter(query)))
    assert list(body["fields"]) == list(query)


def test_query_parameters_that_fit_still_work(project, admin_user, annotator):
    from tests.support import answer

    add_unlabelled(project, 2)
    answer(project, annotator, 1)
    client = bearer(admin_user)
    url = reverse("api_annotations", args=[project.slug])
    assert client.get(url, {"since": "2000-01-01T00:00:00Z", "page": 1,
                            "page_size": 1000}).json()["count"] == 1
    assert client.get(url, {"since": "2999-01-01T00:00:00+09:00"}).json()["count"] == 0
    assert client.get(url, {"report": "99999999999"}).status_code == 400
    assert client.get(url, {"page": 2}).status_code == 404  # past the last page


def test_a_body_that_is_not_json_is_a_415(project, annotator, admin_user):
    add_unlabelled(project, 1)
    client = bearer(annotator)
    token = client.post(reverse("api_queue_next", args=[project.slug])).json()["token"]
    url = reverse("api_annotations", args=[project.slug])
    form = client.post(url, {"token": token, "category": "1"}, format="multipart")
    assert form.status_code == 415 and "multipart/form-data" in form.json()["detail"]
    assert not Annotation.objects.exists()
    # JSON types are what the schema says: no "yes" for true, no "3" for 3.
    models = reverse("api_models", args=[project.slug])
    for body in ({"auto_promote": "yes"}, {"epochs": "3"}, {"start_from": 2}):
        response = bearer(admin_user).post(models, body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert list(response.json()["fields"]) == list(body)


def test_an_import_400_is_the_error_shape_with_its_row_problems(project, admin_user):
    url = reverse("api_reports", args=[project.slug])
    client = bearer(admin_user)
    rejected = client.post(url, {"reports": [row(1, sex="X")]}, format="json").json()
    assert set(rejected) == {"detail", "errors", "warnings"}
    refused = client.post(url, {"reports": [row(1)], "name": 7}, format="json").json()
    assert set(refused) == {"detail", "fields"} and list(refused["fields"]) == ["name"]
    text_mapping = client.post(url, {"reports": [row(1)], "mapping": "{}"}, format="json")
    assert text_mapping.status_code == 400  # JSON text is for a multipart form's mapping


def test_the_docs_page_loads_only_local_assets(client):
    page = client.get(reverse("api_docs"))
    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    # Swagger UI's set-up is the docs page's own script (no inline script, for the CSP).
    assets = [a for a in assets if a != reverse("api_docs") + "?script="]
    assert assets and all(a.startswith("/static/") for a in assets), assets
    assert "cdn" not in html.lower()
    bundle = next(a for a in assets if a.endswith("swagger-ui-bundle.js"))
    assert client.get(bundle).status_code == 200
    assert client.get(reverse("api_schema")).status_code == 200


def test_last_used_is_recorded(project, admin_user):
    token, raw = token_create(user=admin_user, name="cron")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.get(reverse("api_projects"))
    token.refresh_from_db()
    assert token.last_used is not None
    assert token.last_used > token.created - datetime.timedelta(seconds=1)
