"""REST API v1 with personal tokens: every route's role matrix (no token 401, outsider 404,
wrong role 403), the writes going through the page's services, and a schema without
warnings whose docs page loads nothing from a CDN."""

import datetime
import io
import re

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import token_create
from annotation.models import Annotation, Category, ImportBatch, ReferenceLabel, Report
from annotation.services import splits_assign
from core.models import JobStatus
from modeling import services as modeling_services
from modeling.models import ModelVersion, Prediction, PrelabelRun
from studies import services as studies
from tests.annotation.labeling.test_queue import add_unlabelled
from tests.annotation.test_splits_export import add_reports

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
    ("get", "api_prelabel", {}, ADMIN),
    ("post", "api_prelabel", {}, ADMIN),
    ("get", "api_studies", {}, ADMIN),
    ("get", "api_study_results", {"study_id": 0}, ADMIN),
]


def bearer(user) -> APIClient:
    _, raw = token_create(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def version(project):
    return ModelVersion.objects.create(project=project, number=1, base_model="x",
                                       status=JobStatus.SUCCEEDED, artifact_dir="/nowhere")


@pytest.fixture
def study(project, reader):
    add_reports(project, 6)
    splits_assign(project=project, counts=(2, 0, 4))
    return studies.study_create(project=project, name="S", readers=[reader], seed=1)


@pytest.fixture
def workers_up():
    """The queue-health answer when a worker listens on every queue."""
    cache.set("ctir:queue_health",
              {"redis": True, "training": True, "inference": True, "problem": ""}, 60)
    yield
    cache.delete("ctir:queue_health")


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


def test_reports_are_listed_and_filtered(project, admin_user):
    add_reports(project, 10)
    splits_assign(project=project, counts=(6, 1, 3))
    data = bearer(admin_user).get(reverse("api_reports", args=[project.slug]),
                                  {"split": "test", "page_size": 2}).json()
    assert data["count"] == 3 and len(data["results"]) == 2 and data["next"]
    assert data["results"][0]["reference"]["method"] == "imported"


def row(i, **overrides):
    return {"accession": f"API{i}", "patient_id": f"AP{i}", "sex": "F", "age": 61,
            "procedure_date": "2021-03-04", "text": f"CT-guided drainage number {i}",
            "label": "1", **overrides}


def test_a_batch_imports_through_the_import_service(project, admin_user):
    client = bearer(admin_user)
    url = reverse("api_reports", args=[project.slug])
    response = client.post(url, {"reports": [row(1), row(2, label="")], "name": "ris-sync"},
                           format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["reports_created"], body["labels_created"]) == (2, 1)
    batch = ImportBatch.objects.get(pk=body["batch"])
    assert batch.filename == "ris-sync.jsonl" and batch.imported_by == admin_user
    again = client.post(url, {"reports": [row(1)]}, format="json")
    assert again.status_code == 200 and again.json()["unchanged"] == 1
    assert Report.objects.count() == 2


def test_a_batch_with_one_bad_row_imports_nothing(project, admin_user):
    rows = [row(1), row(2, procedure_date="04/03/2021"), row(3, label="9"), row(4)]
    response = bearer(admin_user).post(reverse("api_reports", args=[project.slug]),
                                       {"reports": rows}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert "nothing was imported" in body["detail"]
    where = [(e["line"], e["column"]) for e in body["errors"]]
    assert where == [(2, "procedure_date"), (3, "label")]
    assert "unknown category '9'" in body["errors"][1]["reason"]
    assert not Report.objects.exists() and not ImportBatch.objects.exists()


def test_a_batch_row_that_is_not_an_object_is_named(project, admin_user):
    response = bearer(admin_user).post(reverse("api_reports", args=[project.slug]),
                                       {"reports": [row(1), ["not", "a", "row"]]},
                                       format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["line"] == 2
    assert not Report.objects.exists()


def test_a_csv_file_imports_too(project, admin_user):
    csv = (b"accession,patient_id,sex,age,procedure_date,text,label\n"
           b"F1,P1,M,70,2019-05-06,Lung biopsy of a right upper lobe nodule,3\n")
    upload = io.BytesIO(csv)
    upload.name = "ris.csv"
    response = bearer(admin_user).post(reverse("api_reports", args=[project.slug]),
                                       {"file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    assert ReferenceLabel.objects.get(report__accession="F1").category.code == 3


def test_a_big_file_goes_to_a_worker_and_is_followed(project, admin_user, settings,
                                                     tmp_path):
    from pathlib import Path

    from annotation import services
    from annotation.models import ImportJob

    settings.CTIR_BACKGROUND_IMPORT_ROWS = 3
    settings.CTIR_UPLOAD_DIR = tmp_path / "uploads"
    csv = "accession,patient_id,sex,age,procedure_date,text,label\n" + "".join(
        f"G{i},GP{i},F,50,2020-01-0{i + 1},CT-guided drainage {i},1\n" for i in range(4))
    client = bearer(admin_user)
    url = reverse("api_reports", args=[project.slug])

    def upload():
        handle = io.BytesIO(csv.encode())
        handle.name = "ris.csv"
        return client.post(url, {"file": handle}, format="multipart")

    response = upload()
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["rows"] == 4
    job = ImportJob.objects.get(pk=body["id"])
    assert Path(job.staged).exists() and not Report.objects.exists()
    assert upload().status_code == 409  # one import of a project at a time
    services.import_job_run(job.pk)  # what the worker's task does
    status = client.get(reverse("api_import_job", args=[project.slug, job.pk])).json()
    assert status["status"] == "succeeded" and status["progress"]["written"] == 4
    assert "imported 4 new reports" in status["message"] and Report.objects.count() == 4


def test_odd_text_never_500s(project, admin_user, login):
    client = bearer(admin_user)
    assert client.get(reverse("api_annotations", args=[project.slug]),
                      {"user": "a\x00b"}).json()["count"] == 0
    response = client.post(reverse("api_reports", args=[project.slug]),
                           {"reports": [row(1)], "name": "nul\x00name"}, format="json")
    assert response.status_code == 201
    assert ImportBatch.objects.get().filename == "nulname.jsonl"
    page = login(admin_user).post(reverse("api_tokens"), {"name": "a\x00b"})
    assert "control character" in page.content.decode()


def test_an_empty_batch_and_a_wrong_file_type_are_400(project, admin_user):
    client = bearer(admin_user)
    url = reverse("api_reports", args=[project.slug])
    assert "non-empty list" in client.post(url, {"reports": []}, format="json").json(
        )["fields"]["reports"][0]
    upload = io.BytesIO(b"x")
    upload.name = "ris.xml"
    assert "unknown file type" in client.post(url, {"file": upload}, format="multipart").json(
        )["fields"]["file"][0]


def test_an_annotator_labels_through_the_queue_with_server_timing(project, annotator):
    add_unlabelled(project, 2)
    client = bearer(annotator)
    served = client.post(reverse("api_queue_next", args=[project.slug])).json()
    assert served["report"]["accession"] == "U00000" and served["token"]
    url = reverse("api_annotations", args=[project.slug])
    response = client.post(url, {"token": served["token"], "category": 4,
                                 "active_ms": 10_000_000}, format="json")
    assert response.status_code == 201, response.json()
    annotation = Annotation.objects.get()
    assert annotation.category.code == 4 and annotation.user == annotator
    # Capped at the time the report was on screen, as on the page.
    window = (annotation.submitted_at - annotation.served_at).total_seconds() * 1000
    assert annotation.active_ms <= window + 1
    assert response.json()["report"] == annotation.report_id
    assert ReferenceLabel.objects.get(report=annotation.report).method == "single"
    following = client.post(reverse("api_queue_next", args=[project.slug])).json()
    assert following["report"]["accession"] == "U00001"


def test_answers_are_validated_as_on_the_page(project, annotator, admin_user):
    add_unlabelled(project, 1)
    client = bearer(annotator)
    token = client.post(reverse("api_queue_next", args=[project.slug])).json()["token"]
    url = reverse("api_annotations", args=[project.slug])
    bad_category = client.post(url, {"token": token, "category": 7}, format="json")
    assert bad_category.status_code == 400
    assert "No category '7' in ct-ir" in bad_category.json()["fields"]["category"][0]
    bad_ms = client.post(url, {"token": token, "category": 1, "active_ms": "soon"},
                         format="json")
    assert bad_ms.status_code == 400
    assert bad_ms.json()["detail"] == "active_ms: A valid number is required."
    forged = client.post(url, {"token": token + "x", "category": 1}, format="json")
    assert forged.status_code == 400 and "token" in forged.json()["detail"]
    someone_else = bearer(admin_user).post(url, {"token": token, "category": 1}, format="json")
    assert someone_else.status_code == 403
    assert not Annotation.objects.exists()


def test_annotators_list_their_own_annotations_admins_everyone(project, annotator,
                                                                admin_user):
    from tests.annotation.labeling.test_queue import answer

    add_unlabelled(project, 3)
    answer(project, annotator, 1)
    answer(project, admin_user, 2)
    url = reverse("api_annotations", args=[project.slug])
    mine = bearer(annotator).get(url).json()
    assert [a["user"] for a in mine["results"]] == [annotator.username]
    everyone = bearer(admin_user).get(url).json()
    assert everyone["count"] == 2
    assert bearer(admin_user).get(url, {"user": annotator.username}).json()["count"] == 1
    assert bearer(admin_user).get(url, {"since": "yesterday"}).status_code == 400


def test_a_skip_takes_the_report_out_of_my_queue(project, annotator):
    add_unlabelled(project, 2)
    client = bearer(annotator)
    token = client.post(reverse("api_queue_next", args=[project.slug])).json()["token"]
    assert client.post(reverse("api_queue_skip", args=[project.slug]), {"token": token},
                       format="json").status_code == 200
    assert client.post(reverse("api_queue_next", args=[project.slug])).json(
        )["report"]["accession"] == "U00001"


def test_training_is_refused_without_a_worker_and_queued_with_one(project, admin_user):
    cache.set("ctir:queue_health", {"redis": True, "training": False, "inference": False,
                                    "problem": "No Celery worker is running."}, 60)
    client = bearer(admin_user)
    url = reverse("api_models", args=[project.slug])
    refused = client.post(url, {}, format="json")
    assert refused.status_code == 503 and "No Celery worker" in refused.json()["detail"]
    cache.set("ctir:queue_health",
              {"redis": True, "training": True, "inference": True, "problem": ""}, 60)
    assert "between 1 and 20" in client.post(url, {"epochs": 0}, format="json").json(
        )["detail"]
    foreign = client.post(url, {"start_from": "999"}, format="json")
    assert foreign.status_code == 400 and "cannot be started from here" in foreign.json(
        )["detail"]
    response = client.post(url, {"epochs": 2, "seeds": 1}, format="json")
    assert response.status_code == 201, response.json()
    version = ModelVersion.objects.get()
    assert version.status == "queued" and version.hyperparameters["epochs"] == 2
    assert version.created_by == admin_user
    listed = client.get(url).json()
    assert [v["number"] for v in listed["results"]] == [1]
    cache.delete("ctir:queue_health")


def test_cancel_and_promote_use_the_page_rules(project, admin_user, workers_up):
    client = bearer(admin_user)
    queued = modeling_services.model_version_create(project=project, enqueue=False)
    cancel = reverse("api_model_cancel", args=[project.slug, queued.number])
    assert client.post(cancel).json()["detail"] == "Cancelled before it started."
    assert client.post(cancel).status_code == 409
    promote = reverse("api_model_promote", args=[project.slug, queued.number])
    assert "has not succeeded" in client.post(promote).json()["detail"]
    done = ModelVersion.objects.create(project=project, number=2, base_model="x",
                                       status=JobStatus.SUCCEEDED)
    response = client.post(reverse("api_model_promote", args=[project.slug, 2]))
    assert response.status_code == 200 and response.json()["is_active"] is True
    done.refresh_from_db()
    assert done.is_active and PrelabelRun.objects.filter(model_version=done).exists()
    detail = client.get(reverse("api_model", args=[project.slug, 2])).json()
    assert detail["status"] == "succeeded"
    assert client.get(reverse("api_model", args=[project.slug, 9])).status_code == 404


def test_predictions_of_a_version_and_pre_labeling(project, admin_user, version, workers_up):
    add_reports(project, 3)
    category = Category.objects.get(project=project, code=2)
    for report in Report.objects.all():
        Prediction.objects.create(report=report, model_version=version, category=category,
                                  probabilities={"2": 0.9, "1": 0.1}, margin=0.8, ms=2.0)
    client = bearer(admin_user)
    data = client.get(reverse("api_model_predictions", args=[project.slug, 1])).json()
    assert data["count"] == 3 and data["results"][0]["category"] == 2
    assert data["results"][0]["probabilities"] == {"2": 0.9, "1": 0.1}
    url = reverse("api_prelabel", args=[project.slug])
    assert client.get(url).status_code == 404
    assert "No active model" in client.post(url, {}, format="json").json()["detail"]
    started = client.post(url, {"version": 1}, format="json")
    assert started.status_code == 202 and started.json()["model_version"] == 1
    assert client.get(url).json()["id"] == started.json()["id"]
    assert client.post(url, {"version": "x"}, format="json").status_code == 400


def test_study_results_for_admins_only(project, admin_user, reader, study):
    results = bearer(admin_user).get(reverse("api_study_results",
                                             args=[project.slug, study.pk])).json()
    assert results["study"]["cases"] == 4 and results["rows"] == []
    assert {"readers", "waiting", "n_cases", "comparisons", "skipped"} <= set(results["mrmc"])
    listed = bearer(admin_user).get(reverse("api_studies", args=[project.slug])).json()
    assert [s["name"] for s in listed] == ["S"]
    # The reader taking part sees neither the results nor the list.
    assert bearer(reader).get(reverse("api_study_results",
                                      args=[project.slug, study.pk])).status_code == 403
    assert bearer(admin_user).get(reverse("api_study_results",
                                          args=[project.slug, 999])).status_code == 404


def test_study_results_give_each_readers_pauses(project, admin_user, reader, study):
    from django.utils import timezone

    from studies.models import ReaderStudy, StudyReader

    studies.study_status_set(study=study, status=ReaderStudy.Status.OPEN)
    session, _, _ = studies.study_serve(session=study.readers.get(user=reader), new_page=True)
    studies.study_pause(session=session, page=session.page, paused=True)
    StudyReader.objects.filter(pk=session.pk).update(  # the pause began 12 s ago
        paused_at=timezone.now() - datetime.timedelta(seconds=12))
    studies.study_pause(session=session, page=session.page, paused=False)
    studies.study_answer(session=session, position=0, page=session.page, active_ms=None,
                         category=Category.objects.get(project=project, code=1))
    rows = bearer(admin_user).get(reverse("api_study_results",
                                          args=[project.slug, study.pk])).json()["rows"]
    mine = next(r for r in rows if r["name"] == reader.username)
    assert mine["pauses"]["count"] == 1 and mine["pauses"]["cases"] == 1
    assert 11 < mine["pauses"]["seconds"] < 14


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
    from tests.annotation.labeling.test_queue import answer

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


def test_a_batch_import_uses_the_remembered_mapping_or_the_one_given(project, admin_user,
                                                                     tmp_path):
    from annotation import services
    from annotation.importing.columns import ColumnMapping

    first = tmp_path / "jan.csv"
    first.write_text("Acc,Patient,Sex,Age,When,Body\nX1,P1,F,50,03/04/2020,Drainage\n")
    services.reports_import(project=project, path=first, mapping=ColumnMapping(
        {"accession": ("Acc",), "patient_id": ("Patient",), "sex": ("Sex",), "age": ("Age",),
         "procedure_date": ("When",), "text": ("Body",)}, "mdy"))
    client = bearer(admin_user)
    url = reverse("api_reports", args=[project.slug])
    row = {"Acc": "X2", "Patient": "P2", "Sex": "M", "Age": "60", "When": "02/13/2021",
           "Body": "Biopsy of a rib lesion"}
    response = client.post(url, {"reports": [row]}, format="json")
    assert response.status_code == 201, response.json()
    assert Report.objects.get(accession="X2").procedure_date == datetime.date(2021, 2, 13)
    dmy = {"columns": {"accession": ["Acc"], "patient_id": ["Patient"], "sex": ["Sex"],
                       "age": ["Age"], "procedure_date": ["When"], "text": ["Body"]},
           "date_format": "dmy"}
    given = client.post(url, {"reports": [row | {"Acc": "X3", "When": "13/02/2021"}],
                              "mapping": dmy}, format="json")
    assert given.status_code == 201, given.json()
    assert Report.objects.get(accession="X3").procedure_date == datetime.date(2021, 2, 13)
    bad = client.post(url, {"reports": [row], "mapping": {"columns": {"colour": ["Acc"]}}},
                      format="json")
    assert bad.status_code == 400
    assert "Unknown field 'colour'" in bad.json()["fields"]["mapping"][0]
    bad_format = client.post(url, {"reports": [row], "mapping": dmy | {"date_format": ["x"]}},
                             format="json")
    assert bad_format.status_code == 400
    assert "date_format" in bad_format.json()["fields"]["mapping"][0]
