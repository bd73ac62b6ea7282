import importlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.db import connection

from annotation.models import Membership, Project, Role

ROOT = Path(__file__).resolve().parents[1]

# Every query compiled once (core.db.CompiledQuery) is checked against a fresh build.
settings.CTIR_CHECK_COMPILED_QUERIES = True


@pytest.fixture
def project(db):
    # Created by the data migration, with the four guideline categories. Tests on
    # transactional_db flush the tables, so the same migration code puts it back.
    if not Project.objects.filter(slug="ct-ir").exists():
        importlib.import_module("annotation.migrations.0002_ct_ir_project").create(apps, None)
    return Project.objects.get(slug="ct-ir")


@pytest.fixture
def other_project(db):
    return Project.objects.create(name="Other department", slug="other")


def _member(username, project, role):
    user = User.objects.create_user(username, password="pw-" + username)
    Membership.objects.create(project=project, user=user, role=role)
    return user


@pytest.fixture
def admin_user(project):
    return _member("alice-admin", project, Role.ADMIN)


@pytest.fixture
def annotator(project):
    return _member("anna-annotator", project, Role.ANNOTATOR)


@pytest.fixture
def reader(project):
    return _member("rita-reader", project, Role.READER)


@pytest.fixture
def outsider(other_project):
    """An admin of another project: must see nothing of ct-ir."""
    return _member("oscar-outsider", other_project, Role.ADMIN)


@pytest.fixture
def version(project):
    """Model version 1 of ct-ir, succeeded (with no artifacts on disk)."""
    from core.models import JobStatus
    from modeling.models import ModelVersion

    return ModelVersion.objects.create(project=project, number=1, base_model="x",
                                       status=JobStatus.SUCCEEDED, artifact_dir="/nowhere")


@pytest.fixture
def study(project, reader):
    """A reader study "S" of the 4 test-split reports out of 6, with `reader` taking part."""
    from annotation.services import splits_assign
    from studies import services as studies
    from tests.support import add_reports

    add_reports(project, 6)
    splits_assign(project=project, counts=(2, 0, 4))
    return studies.study_create(project=project, name="S", readers=[reader], seed=1)


@pytest.fixture
def workers_up():
    """The queue-health answer when a worker listens on every queue."""
    from django.core.cache import cache

    cache.set("ctir:queue_health",
              {"redis": True, "training": True, "inference": True, "problem": ""}, 60)
    yield
    cache.delete("ctir:queue_health")


@pytest.fixture
def sent(monkeypatch):
    """The tasks handed to the broker, as (name, args), instead of sending them: for unit
    tests of what a service enqueues (tests with a real worker send for real)."""
    from core import queue

    calls = []
    monkeypatch.setattr(queue.app, "send_task",
                        lambda name, args, kwargs: calls.append((name, args)))
    return calls


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright. CI sets CTIR_REQUIRE_BROWSER=1 so a missing
    browser fails the run instead of skipping the tests that are about the browser."""
    import os

    if not os.path.exists(CHROMIUM):
        if os.environ.get("CTIR_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    # Playwright's wait_for_function evaluates its string with eval, which the pages'
    # Content-Security-Policy forbids; tests/test_csp_browser.py drives the pages with the
    # policy enforced and checks that nothing is blocked.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def browser_login(page, live_server):
    def _login(username, password):
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button.primary")
        page.wait_for_load_state()
        return page

    return _login


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Cached counts and health answers must not leak from one test's database to the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def _plain_http():
    """The test client and the live server speak plain HTTP, so the HTTPS defaults that hold
    whenever DEBUG is off (redirect to https, cookies only over https) are turned off here,
    before any request handler is built. tests/test_deployment.py checks those defaults on
    real web processes, started without this."""
    from django.test import override_settings

    with override_settings(SECURE_SSL_REDIRECT=False, SESSION_COOKIE_SECURE=False,
                           CSRF_COOKIE_SECURE=False):
        yield


class _ServerErrors(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record):
        if getattr(record, "status_code", None) == 500:
            self.seen.append(record.getMessage())


@pytest.fixture(autouse=True)
def no_server_error(request):
    """No test may see a 500 in the server's log: every input, good or bad, gets an answer
    that says something. A test about the 500 page itself marks `server_error_expected`."""
    handler = _ServerErrors()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield
    logger.removeHandler(handler)
    if handler.seen and not request.node.get_closest_marker("server_error_expected"):
        pytest.fail("the server answered 500: " + "; ".join(handler.seen[:3]))


_answering: set = set()  # the live server's threads that are answering a request now


def _request_started(**kwargs):
    thread = threading.current_thread()
    if thread.name.endswith("(process_request_thread)"):  # not the test client's calls
        _answering.add(thread)


def _request_finished(**kwargs):
    _answering.discard(threading.current_thread())


request_started.connect(_request_started, dispatch_uid="tests-answering")
request_finished.connect(_request_finished, dispatch_uid="tests-answering")


@pytest.fixture(autouse=True)
def _requests_finished():
    """After each test, wait until the live server has answered every request its pages
    sent, before the test's database goes (pytest-django sets a live server's database up
    first, so it is torn down after this). The Models page asks the workers' health after
    it loads, and that answer waits up to a second before it reads the database: finished
    later, in the next test, it found the database shut and logged a 500 there. Only
    requests being answered count: a kept-alive connection waiting idle does not."""
    yield
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline and any(t.is_alive() for t in list(_answering)):
        time.sleep(0.02)
    _answering.clear()


# --- Models and a real worker ---------------------------------------------------------

@pytest.fixture
def labelled_project(project):
    from annotation import services as annotation_services
    from tests.support import labelled_rows

    annotation_services.reports_write(
        project=project, rows=labelled_rows(), batch=None, user=None, reason="test"
    )
    return project


@pytest.fixture(scope="session")
def tiny_base_model(tmp_path_factory):
    from tests.tiny_models import make_tiny_base_model

    return make_tiny_base_model(tmp_path_factory.mktemp("tiny") / "bert")


@pytest.fixture
def model_settings(settings, tiny_base_model, tmp_path):
    settings.CTIR_BASE_MODEL = str(tiny_base_model)
    settings.CTIR_MODEL_DIR = tmp_path / "models"
    return settings


def _skip_without_services():
    if connection.vendor != "postgresql":
        pytest.skip("the worker shares the test database: needs PostgreSQL (DATABASE_URL)")
    try:
        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {settings.CELERY_BROKER_URL}")


@pytest.fixture
def worker(transactional_db, model_settings, tmp_path):
    """Start `celery worker` in a subprocess pointed at this test database; stop it after."""
    _skip_without_services()
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # no stale tasks from old runs
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        f"{db['NAME']}",
        CTIR_MODEL_DIR=str(model_settings.CTIR_MODEL_DIR),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        SECRET_KEY=settings.SECRET_KEY,
        # The test database is test_<name>, so the worker would derive another instance
        # from it: give it this process's, or it consumes queues nobody sends to.
        CTIR_INSTANCE=settings.CTIR_INSTANCE,
    )
    log = open(tmp_path / "worker.log", "w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "ctir_site",
            "worker",
            "--pool=solo",  # no -Q, like the Procfile: it consumes the instance's queues
            "-n",
            f"test-{os.getpid()}@%h",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    from ctir_site.celery import app

    deadline = time.monotonic() + 60
    while not (app.control.inspect(timeout=1).ping() or {}):
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError("worker did not start:\n" + (tmp_path / "worker.log").read_text())
    process.log_path = tmp_path / "worker.log"
    yield process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
    log.close()
