"""Deployment defaults: what a server gets with DEBUG off, checked on real processes."""

import datetime
import gzip
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from ctir_site.throttle import client_address

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def production_env(**extra) -> dict:
    """The environment of a server: no DEBUG, none of the HTTPS switches, a real key."""
    # (the browser fixture sets DJANGO_ALLOW_ASYNC_UNSAFE in this process, for tests only)
    env = {k: v for k, v in os.environ.items()
           if k not in ("DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
           and not k.startswith(("SECURE_", "SESSION_", "CSRF_"))}
    env.update(SECRET_KEY=secrets.token_urlsafe(50), PATH=f"{BIN}:{env.get('PATH', '')}",
               **extra)
    return env


def test_check_deploy_is_clean_with_debug_off():
    out = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level",
                          "WARNING"], cwd=ROOT, env=production_env(), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues (0 silenced)" in out.stdout


def test_env_file_is_never_committed():
    assert subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT).returncode == 0


# --- login throttling ------------------------------------------------------------------------

def _login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_logins_are_throttled_per_username_and_address(client, db, settings):
    User.objects.create_user("anna", password="right-password-1")
    User.objects.create_user("bob", password="right-password-2")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert b"Wrong username or password" in _login(client, "anna", "guess").content
    locked = _login(client, "anna", "guess")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many login attempts" in page and "locked for 15 minutes" in page
    # Locked even with the right password now; another user from the same address is not.
    assert _login(client, "anna", "right-password-1").status_code == 429
    assert _login(client, "bob", "right-password-2").status_code == 302
    client.logout()
    # After the cool-off the right password works again.
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=16))
    response = _login(client, "anna", "right-password-1")
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_behind_a_proxy_the_throttle_counts_the_address_the_proxy_saw(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2",
                                   HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.7")
    assert client_address(request) == "10.0.0.2"  # no proxy configured: the peer
    settings.CTIR_PROXY_COUNT = 1  # the client may write X-Forwarded-For; the proxy appends
    assert client_address(request) == "192.0.2.7"


# --- gunicorn from Procfile.prod, two web processes ------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _web_command() -> str:
    lines = (ROOT / "Procfile.prod").read_text().splitlines()
    command = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("web:"))
    assert command.startswith("gunicorn ") and "runserver" not in command
    return command


class Web:
    """One gunicorn started by Procfile.prod's web line; requests come "through the proxy"."""

    def __init__(self, port, log):
        self.port = port
        self.log = log

    def request(self, method, path, *, cookies=None, form=None, https=True):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if https:
            headers["X-Forwarded-Proto"] = "https"
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"https://127.0.0.1:{self.port}"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.text = response.read().decode()
        response.cookies = SimpleCookie()
        for header in response.msg.get_all("Set-Cookie") or []:
            response.cookies.load(header)
        conn.close()
        return response


def _test_database_url() -> str:
    db = connection.settings_dict
    return (f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
            f"{db['NAME']}")


def _stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _start_webs(env, tmp_path, count):
    """`count` gunicorns from Procfile.prod's web line, each on a free port, started."""
    webs, processes = [], []
    for i in range(count):
        port = _free_port()
        log = tmp_path / f"web{i}.log"
        processes.append(subprocess.Popen(
            ["bash", "-c", _web_command()], cwd=ROOT, env={**env, "PORT": str(port)},
            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True))
        webs.append(Web(port, log))
    try:
        for web, process in zip(webs, processes, strict=True):
            deadline = time.monotonic() + 60
            while True:
                try:
                    if web.request("GET", "/login/").status < 500:
                        break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("gunicorn did not start:\n" + web.log.read_text())
                time.sleep(0.2)
    except BaseException:
        for process in processes:
            _stop(process)
        raise
    return webs, processes


def _web_env(**extra):
    if connection.vendor != "postgresql":
        pytest.skip("the web processes share the test database: needs PostgreSQL")
    env = production_env(
        DATABASE_URL=_test_database_url(), ALLOWED_HOSTS="127.0.0.1",
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto", WEB_CONCURRENCY="1", **extra)
    env.pop("CACHE_URL", None)  # each process keeps its own cache, as by default
    return env


@pytest.fixture
def two_web_processes(transactional_db, tmp_path):
    webs, processes = _start_webs(_web_env(), tmp_path, 2)
    try:
        yield webs
    finally:
        for process in processes:
            _stop(process)


def test_a_logout_in_one_web_process_holds_in_every_other(two_web_processes):
    first, second = two_web_processes
    User.objects.create_user("anna", password="right-password-1")

    plain = first.request("GET", "/login/", https=False)
    assert plain.status == 301 and plain.getheader("Location") == (
        f"https://127.0.0.1:{first.port}/login/")
    page = first.request("GET", "/login/")
    assert page.status == 200
    assert page.getheader("Strict-Transport-Security") == (
        "max-age=31536000; includeSubDomains; preload")
    csrf = page.cookies["csrftoken"]
    assert csrf["secure"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)

    login = first.request("POST", "/login/", cookies={"csrftoken": csrf.value},
                          form={"csrfmiddlewaretoken": token, "username": "anna",
                                "password": "right-password-1"})
    assert login.status == 302, login.text[:500]
    session = login.cookies["sessionid"]
    assert session["secure"] and session["httponly"]
    cookies = {"csrftoken": csrf.value, "sessionid": session.value}

    assert second.request("GET", "/", cookies=cookies).status == 200  # one session, both
    logout = first.request("POST", "/logout/", cookies=cookies,
                           form={"csrfmiddlewaretoken": token})
    assert logout.status == 302
    after = second.request("GET", "/", cookies=cookies)
    assert after.status == 302 and after.getheader("Location").startswith("/login/")


# --- static files from gunicorn, collected as docs/deploy.md says ----------------------------

def test_gunicorn_serves_a_page_and_the_collected_static_files(transactional_db, tmp_path):
    static_root = tmp_path / "static"
    env = _web_env(STATIC_ROOT=str(static_root), WHITENOISE_USE_FINDERS="0")
    out = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert (static_root / "css" / "ctir.css.gz").is_file()  # compressed once, at collect
    (web,), (process,) = _start_webs(env, tmp_path, 1)
    try:
        page = web.request("GET", "/login/")
        assert page.status == 200 and 'name="username"' in page.text
        css_url = re.search(r'href="(/static/css/ctir\.css)"', page.text).group(1)
        source = (ROOT / "static" / "css" / "ctir.css").read_bytes()

        conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=20)
        conn.request("GET", css_url, headers={"Host": f"127.0.0.1:{web.port}",
                                              "X-Forwarded-Proto": "https",
                                              "Accept-Encoding": "gzip"})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        assert response.status == 200, body[:300]
        assert response.getheader("Content-Type").startswith("text/css")
        assert response.getheader("Content-Encoding") == "gzip"
        assert gzip.decompress(body) == source
        assert "max-age" in response.getheader("Cache-Control")

        # Only what was collected is served: with the finders off, a file in the source tree
        # that collectstatic has not seen is not found.
        (static_root / "css" / "ctir.css").unlink()
        (static_root / "css" / "ctir.css.gz").unlink()
    finally:
        _stop(process)
    (web,), (process,) = _start_webs(env, tmp_path, 1)
    try:
        assert web.request("GET", css_url).status == 404
    finally:
        _stop(process)


# --- one Celery worker per queue, from Procfile.prod -----------------------------------------

def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile.prod").read_text().splitlines()
    return {name.strip(): command.strip() for name, command in
            (line.split(":", 1) for line in lines if line and not line.startswith("#"))}


def test_procfile_starts_one_worker_per_queue_and_inference_on_cpu(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the workers share the test database: needs PostgreSQL")
    try:
        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {settings.CELERY_BROKER_URL}")
    procfile = _procfile()
    assert procfile["inference"].startswith("CTIR_DEVICE=${CTIR_INFERENCE_DEVICE:-cpu} ")
    assert "CTIR_DEVICE" not in procfile["training"]  # the host's setting, default auto
    # A unique instance: these workers answer only for queues nobody else on this Redis uses.
    instance = f"deploytest-{os.getpid()}"
    env = production_env(DATABASE_URL=_test_database_url(), CTIR_INSTANCE=instance,
                         CELERY_BROKER_URL=settings.CELERY_BROKER_URL)
    processes = {}
    for role in ("worker", "training", "inference"):
        log = tmp_path / f"{role}.log"
        processes[role] = subprocess.Popen(
            ["bash", "-c", procfile[role]], cwd=ROOT, env=env, stdout=log.open("w"),
            stderr=subprocess.STDOUT, start_new_session=True)
    from ctir_site.celery import app

    try:
        deadline = time.monotonic() + 90
        while True:
            replies = app.control.inspect(timeout=1).active_queues() or {}
            ours = {node.split("@", 1)[0]: sorted(q["name"] for q in queues)
                    for node, queues in replies.items()
                    if any(q["name"].startswith(instance + ".") for q in queues)}
            if len(ours) == 3:
                break
            if any(p.poll() is not None for p in processes.values()) or (
                    time.monotonic() > deadline):
                raise AssertionError("workers did not start: " + "\n".join(
                    (tmp_path / f"{role}.log").read_text()[-2000:] for role in processes))
        assert ours == {"celery": [f"{instance}.celery"],
                        "training": [f"{instance}.training"],
                        "inference": [f"{instance}.inference"]}
    finally:
        for process in processes.values():
            _stop(process)


def test_a_misspelt_device_setting_stops_every_process_at_start():
    out = subprocess.run([sys.executable, "-m", "ctir_site.queue_name", "training"], cwd=ROOT,
                         env=production_env(CTIR_DEVICE="gpu"), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0
    assert "CTIR_DEVICE='gpu': use auto, cpu, cuda or cuda:N" in out.stderr
