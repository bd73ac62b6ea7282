"""The schema is the contract: Schemathesis runs every check it has against a live server,
as each role, from the schema the server itself serves at /api/v1/schema/.

Every answer must be declared (status, content type, body), every error in the one error
shape, never a 500; a request the schema forbids must be refused with a 4xx, and one it
allows must not be refused with a 400 (but where the schema cannot know: see
TOKEN_AND_IMPORT_RULES). On top of Schemathesis' own checks, a response may carry no field
the schema does not declare (`every_response_field_declared`).

No job reaches a broker: the queue health says no worker listens (so training and
pre-labeling POSTs answer their declared 503), and core.queue._send refuses every
message (so a promotion's pre-labeling, or a big import, fails as when Redis is down, the
other declared answer). The live server runs in this process, so both patches hold for it.
"""

import datetime
import gc
import json

import pytest
import requests
import schemathesis
from click.testing import CliRunner
from django.contrib.auth.models import User
from django.core.cache import cache
from schemathesis.cli import schemathesis as schemathesis_cli

from accounts.services import token_create
from annotation.models import Category, ImportJob, Report
from annotation.services import splits_assign
from core.models import JobStatus
from modeling.models import ModelVersion, Prediction
from studies import services as studies
from tests.support import add_reports, add_unlabelled

SCHEMA = "/api/v1/schema/"
SEED = 20261206
NO_WORKER = {"redis": True, "training": False, "inference": False,
             "problem": "No Celery worker is running (Schemathesis test)."}

# The outsider is an admin of another project (tests/conftest.py), so "outsider" and "admin
# of another project" are one role here.
# role: (phases, examples per operation). Anonymous and outsiders get one answer from every
# operation (401, 404) and a reader from most (403), so a little fuzzing says all there is;
# the roles that reach the data also run the stateful phase (links Schemathesis infers from
# the responses, such as queue/next's token into annotations/), and the project admin, who
# reaches every operation, the coverage phase too (boundaries, missing and wrong-typed
# fields, bodies of another media type, undeclared methods). Each phase runs every check.
ROLES = {
    "anonymous": ("fuzzing", 5),
    "outsider": ("fuzzing", 5),
    "reader": ("fuzzing", 5),
    "annotator": ("fuzzing,stateful", 10),
    "admin": ("coverage,fuzzing,stateful", 10),
    "superuser": ("fuzzing,stateful", 5),
}

# A served token is signed by the server, and an import row must pass the import rules
# (dates, categories, a file's own rules): a schema cannot say either, so for these
# operations a schema-valid body may still be a 400 (with the error shape and the reason).
# positive_data_acceptance stays on for them, with 400 among its expected statuses.
TOKEN_AND_IMPORT_RULES = ["queue_skip", "annotation_create", "reports_import"]
# Training, pre-labeling, classifying and a model archive's evaluation answer 503 when no
# worker listens, as here: declared, intended.
NEEDS_A_WORKER = ["model_train", "prelabel_start", "classify", "model_archive_import"]


def config_toml(examples: int, ids: dict[str, int]) -> str:
    """Most generated requests name ct-ir and the objects in it (a dictionary drawn from with
    a probability, so some ids are still made up, and the negative cases still get slugs
    and ids that match no route)."""
    positive = ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
    dictionaries = "".join(f"[dictionaries.{name}]\nvalues = [{value}]\n"
                           for name, value in ids.items())
    bindings = "".join(f'"path.{name}" = {{ dictionary = "{name}", probability = 0.8 }}\n'
                       for name in ids)
    return f"""
seed = {SEED}
workers = 1
continue-on-failure = true
# Hypothesis' timing of its own data generation, which a busy machine slows: not the API's.
suppress-health-check = ["too_slow"]

[generation]
max-examples = {examples}
database = "none"

# No state from earlier runs (Schemathesis replays crashes it cached): each run the same.
[cache]
enabled = false

[dictionaries.slug]
values = ["ct-ir"]
{dictionaries}
[parameters]
"path.slug" = {{ dictionary = "slug", probability = 0.9 }}
{bindings}
[[operations]]
include-operation-id = {json.dumps(NEEDS_A_WORKER)}
checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "503"]

[[operations]]
include-operation-id = {json.dumps(TOKEN_AND_IMPORT_RULES)}
checks.positive_data_acceptance.expected-statuses = {json.dumps(positive)}
"""


def _close_objects(node):
    """additionalProperties: false on every object schema that lists its properties and
    says nothing of others."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close_objects(value)
    elif isinstance(node, list):
        for value in node:
            _close_objects(value)


@pytest.fixture(autouse=True)
def _close_http_sessions():
    """A keep-alive connection keeps its live-server thread, and that thread's database
    connection, open: collecting the finished run's HTTP sessions closes them, so the test
    database can be flushed and dropped."""
    yield
    gc.collect()


@pytest.fixture
def every_response_field_declared():
    """The published schema leaves response objects open (clients must take new fields);
    here they are closed, so a field a view answers but the schema does not declare fails
    response_schema_conformance. Request bodies stay open: the API ignores unknown fields,
    and an open schema says so."""

    def before_load_schema(context, raw_schema):
        schemas = raw_schema.get("components", {}).get("schemas", {})
        requests_only = {name for name in schemas if name.endswith("Request")}
        for name, schema in schemas.items():
            if name not in requests_only:
                _close_objects(schema)
        for path in raw_schema.get("paths", {}).values():
            for operation in path.values():
                if isinstance(operation, dict):
                    _close_objects(operation.get("responses", {}))

    hook = schemathesis.hook(before_load_schema)
    yield
    schemathesis.hooks.unregister(hook)


@pytest.fixture
def api_world(project, other_project, admin_user, annotator, reader, outsider, settings,
              tmp_path, monkeypatch):
    """ct-ir with reports to label, a succeeded model version with predictions and a
    reader study; a token for each role; no worker and no broker."""
    settings.CTIR_UPLOAD_DIR = tmp_path / "uploads"

    def no_broker(name, args):
        raise ConnectionError(f"no broker in the Schemathesis test ({name})")

    monkeypatch.setattr("core.queue._send", no_broker)
    cache.set("ctir:queue_health", NO_WORKER, None)

    add_reports(project, 8)  # labelled: 4 train, 4 test (the study's cases)
    splits_assign(project=project, counts=(4, 0, 4))
    add_unlabelled(project, 12)  # for the queue
    version = ModelVersion.objects.create(
        project=project, number=1, base_model="x", status=JobStatus.SUCCEEDED,
        artifact_dir="/nowhere", metrics={"served": "tfidf"},
        finished_at=datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC))
    category = Category.objects.get(project=project, code=2)
    for report in Report.objects.filter(project=project)[:6]:
        Prediction.objects.create(report=report, model_version=version, category=category,
                                  probabilities={"2": 0.9, "1": 0.1}, margin=0.8, ms=2.0)
    study = studies.study_create(project=project, name="S", readers=[reader], seed=1)
    job = ImportJob.objects.create(project=project, filename="big.csv", rows=30_000,
                                   status=ImportJob.Status.REJECTED, message="1 problem",
                                   errors=[[3, "age", "not a number"]])
    superuser = User.objects.create_superuser("sam-super", password="pw-sam-super-2026")
    users = {"outsider": outsider, "reader": reader, "annotator": annotator,
             "admin": admin_user, "superuser": superuser}
    tokens = {role: token_create(user=user, name="schemathesis")[1]
              for role, user in users.items()}
    return {"tokens": tokens,
            "ids": {"number": version.number, "study_id": study.pk, "job_id": job.pk}}


@pytest.mark.slow
@pytest.mark.parametrize("role", list(ROLES))
def test_the_api_keeps_its_schema(live_server, api_world, every_response_field_declared,
                                  tmp_path, role):
    phases, examples = ROLES[role]
    config = tmp_path / "schemathesis.toml"
    config.write_text(config_toml(examples, api_world["ids"]))
    args = ["--config-file", str(config), "run", live_server.url + SCHEMA,
            "--checks", "all", "--phases", phases, "--no-color"]
    if role != "anonymous":
        args += ["--header", f"Authorization: Bearer {api_world['tokens'][role]}"]
    result = CliRunner().invoke(schemathesis_cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output[-25_000:]


def test_next_answer_next_keeps_the_schema(live_server, api_world,
                                           every_response_field_declared):
    """The labeling loop, step by step, each answer checked by Schemathesis against the
    schema (every check that applies to a hand-made request): serve a report, answer it
    with the served token, answer again wrongly (400), serve the next, skip it, serve the
    next."""
    schema = schemathesis.openapi.from_url(live_server.url + SCHEMA)
    headers = {"Authorization": f"Bearer {api_world['tokens']['annotator']}"}
    slug = {"slug": "ct-ir"}
    serve = schema["/api/v1/projects/{slug}/queue/next/"]["POST"]
    answer = schema["/api/v1/projects/{slug}/annotations/"]["POST"]

    def call(operation, **kwargs):
        case = operation.Case(path_parameters=slug, headers=headers, **kwargs)
        response = case.call(base_url=live_server.url)
        case.validate_response(response)
        return response

    first = call(serve)
    assert first.status_code == 200, first.text
    served = first.json()
    created = call(answer, body={"token": served["token"], "category": 1, "active_ms": 900},
                   media_type="application/json")
    assert created.status_code == 201, created.text
    assert created.json()["report"] == served["report"]["id"]
    again = call(answer, body={"token": served["token"], "category": "nonsense"},
                 media_type="application/json")
    assert again.status_code == 400 and again.json()["fields"]["category"]
    following = call(serve)
    assert following.status_code == 200
    assert following.json()["report"]["id"] != served["report"]["id"]
    skip = schema["/api/v1/projects/{slug}/queue/skip/"]["POST"]
    skipped = call(skip, body={"token": following.json()["token"]},
                   media_type="application/json")
    assert skipped.status_code == 200, skipped.text
    last = call(serve)
    assert last.json()["report"]["id"] not in (served["report"]["id"],
                                               following.json()["report"]["id"])


def test_unknown_api_paths_answer_json(live_server, api_world):
    """A path the routes do not match (an id that is no number) is the API's JSON 404, not
    the site's HTML page; without a token, 401 as everywhere."""
    base = live_server.url + "/api/v1/projects/ct-ir/models/x1/"
    anonymous = requests.get(base, timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["detail"]
    found = requests.get(base, timeout=10,
                         headers={"Authorization": f"Bearer {api_world['tokens']['admin']}"})
    assert found.status_code == 404
    assert found.headers["Content-Type"] == "application/json"
    assert "No API operation" in found.json()["detail"]
