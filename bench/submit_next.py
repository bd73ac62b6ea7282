"""Submit-and-next on the annotate page: 20 annotators at once, 100,000 reports, PostgreSQL.

Each annotator is a process with its own Django test client (the full request cycle: URL
routing, session, role check, signed token, annotation write, reference rule, next claim,
rendering the htmx fragment). Annotators pause between answers (--think, default 2-6 s,
already faster than a radiologist reads a report; 0.2-0.8 s saturates this 2-core machine).
We take the server time (Server-Timing header) of each POST that records an answer and
returns the next report. The processes share a Redis cache, as a deployment's web workers do.

    .venv/bin/python bench/submit_next.py [--annotators 20] [--seconds 60] [--server]

--server: the annotators are HTTP clients (threads of this process) of gunicorn started as
Procfile.prod starts it (3 workers by default, --workers), on a free local port: the way a
deployment serves 20 annotators, each web process warm from the others' answers, instead of
a Django per annotator that sleeps between its answers.
"""

import argparse
import datetime
import multiprocessing
import random
import re
import statistics
import time

from _setup import django_setup, machine

SLUG = "bench-queue"
TOKEN = re.compile(r'name="token" value="([^"]+)"')


def prepare(n_reports: int, n_annotators: int) -> None:
    django_setup()
    from django.contrib.auth.models import User

    from annotation import services
    from annotation.importing.checks import ParsedRow
    from annotation.models import Annotation, Category, Membership, Project, ReportClaim, Role
    from ctir_demo.cohort import generate_reports

    project, created = Project.objects.get_or_create(slug=SLUG, defaults={"name": "bench"})
    if created:
        for c in Project.objects.get(slug="ct-ir").categories.all():
            Category.objects.create(project=project, code=c.code, name=c.name, key=c.key)
    have = project.reports.count()
    if have < n_reports:
        rows = (ParsedRow(line=i, accession=f"Q{i:07d}", patient_id=r.patient_id + f"-{i}",
                          sex=r.sex, age=r.age, procedure_date=r.procedure_date, text=r.text,
                          label=None, split=None)
                for i, r in enumerate(generate_reports(n_reports - have, seed=7), start=have))
        from django.db import transaction

        with transaction.atomic():
            services.reports_write(project=project, rows=rows, batch=None, user=None,
                                   reason="bench")
    Annotation.objects.filter(report__project=project).delete()
    ReportClaim.objects.filter(report__project=project).delete()
    from annotation.models import ReferenceLabel, ReferenceLabelChange

    ReferenceLabelChange.objects.filter(report__project=project).delete()
    ReferenceLabel.objects.filter(report__project=project).delete()
    services.queue_flags_refresh(project=project)
    _served_model(project)
    for i in range(n_annotators):
        user, _ = User.objects.get_or_create(username=f"bench-annotator-{i}")
        Membership.objects.get_or_create(project=project, user=user,
                                         defaults={"role": Role.ANNOTATOR})
    print(f"{project.reports.count()} reports in {SLUG}, {n_annotators} annotators")


def _served_model(project) -> None:
    """The project as annotators meet it in use: an active model whose prediction of every
    report is shown as the suggestion (the fragment then renders the suggestion and its
    probabilities). The version's files are not needed to serve what it predicted, so none
    is trained here; its predictions are made up, one category per report."""
    from django.db import connection

    from core.models import JobStatus
    from modeling.models import ModelVersion

    if project.model_versions.filter(is_active=True).exists():
        return
    version = ModelVersion.objects.create(
        project=project, number=1, base_model="bench", status=JobStatus.SUCCEEDED,
        is_active=True, metrics={"served": "ensemble"})
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH cats AS (SELECT id, code, row_number() OVER (ORDER BY code) - 1 AS k
                             FROM annotation_category WHERE project_id = %s),
                    probs AS (SELECT c.id, jsonb_object_agg(
                                  o.code::text, CASE WHEN o.id = c.id THEN 0.91 ELSE 0.03 END)
                              AS p FROM cats c CROSS JOIN cats o GROUP BY c.id)
            INSERT INTO modeling_prediction
                (report_id, model_version_id, category_id, probabilities, margin, ms, created)
            SELECT r.id, %s, c.id, probs.p, 0.88, 5.0, now()
            FROM annotation_report r
            JOIN cats c ON c.k = r.id %% (SELECT count(*) FROM cats)
            JOIN probs ON probs.id = c.id
            WHERE r.project_id = %s""", [project.pk, version.pk, project.pk])


def annotate(index: int, seconds: float, start_at: float, think, out):
    times, errors = [], 0
    try:
        times, errors = _annotate(index, seconds, start_at, think)
    except Exception as exc:  # reported, never hangs the parent
        print(f"annotator {index}: {exc!r}")
        errors += 1
    out.put((times, errors))


def _annotate(index: int, seconds: float, start_at: float, think):
    django_setup(migrate=False)
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(username=f"bench-annotator-{index}"))
    url = f"/p/{SLUG}/annotate/"
    rng = random.Random(index)
    page = client.get(url).content.decode()
    token = TOKEN.search(page).group(1)
    # One untimed answer first: a fresh process compiles templates and queries once.
    warm = client.post(url, {"token": token, "category": 1, "active_ms": 1000},
                       headers={"HX-Request": "true"})
    token = TOKEN.search(warm.content.decode()).group(1)
    times, errors = [], 0
    while time.time() < start_at:
        time.sleep(0.01)
    deadline = time.time() + seconds
    while time.time() < deadline:
        response = client.post(url, {"token": token, "category": rng.randint(1, 4),
                                     "active_ms": 1000}, headers={"HX-Request": "true"})
        # Server time as Django measured it (Server-Timing), without the test client's work.
        elapsed = float(response.headers["Server-Timing"].split("dur=")[1])
        match = TOKEN.search(response.content.decode())
        if response.status_code != 200 or not match:
            errors += 1
            break
        times.append(elapsed)
        token = match.group(1)
        time.sleep(rng.uniform(*think))
    return times, errors


def _serve(workers: int):
    """gunicorn as Procfile.prod starts it, on the benchmark database and cache, plain HTTP."""
    import os
    import socket
    import subprocess
    import sys

    from _setup import BENCH_DB, ROOT

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": BENCH_DB, "SECURE_SSL_REDIRECT": "0",
           "SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0",
           "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "ctir_site.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", "120"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return server, f"http://127.0.0.1:{port}"


def _session_cookie(username: str) -> str:
    """A logged-in session for the user, made as the test client's force_login makes it."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User

    user = User.objects.get(username=username)
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]  # the model backend
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return session.session_key


def _http_annotator(index, base, cookie, seconds, start_at, think, out):
    import requests
    from django.conf import settings

    times, errors = [], 0
    try:
        http = requests.Session()
        http.cookies.set(settings.SESSION_COOKIE_NAME, cookie)
        url = f"{base}/p/{SLUG}/annotate/"
        rng = random.Random(index)
        page = http.get(url).text
        csrf = {"X-CSRFToken": http.cookies.get(settings.CSRF_COOKIE_NAME, ""),
                "HX-Request": "true", "Referer": url}
        token = TOKEN.search(page).group(1)
        warm = http.post(url, {"token": token, "category": 1, "active_ms": 1000}, headers=csrf)
        token = TOKEN.search(warm.text).group(1)
        while time.time() < start_at:
            time.sleep(0.01)
        deadline = time.time() + seconds
        while time.time() < deadline:
            response = http.post(url, {"token": token, "category": rng.randint(1, 4),
                                       "active_ms": 1000}, headers=csrf)
            match = TOKEN.search(response.text)
            if response.status_code != 200 or not match:
                errors += 1
                break
            times.append(float(response.headers["Server-Timing"].split("dur=")[1]))
            token = match.group(1)
            time.sleep(rng.uniform(*think))
    except Exception as exc:  # reported, never hangs the parent
        print(f"annotator {index}: {exc!r}")
        errors += 1
    out.append((times, errors))


def _run_server(args) -> list:
    import threading

    server, base = _serve(args.workers)
    try:
        import requests

        deadline = time.time() + 60
        while True:
            try:
                requests.get(f"{base}/login/", timeout=10)
                break
            except requests.RequestException:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.3)
        cookies = [_session_cookie(f"bench-annotator-{i}") for i in range(args.annotators)]
        results: list = []
        start_at = time.time() + 5
        threads = [threading.Thread(target=_http_annotator, args=(
            i, base, cookies[i], args.seconds, start_at, args.think, results))
            for i in range(args.annotators)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results
    finally:
        server.terminate()
        server.wait(30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 6.0),
                        metavar=("MIN", "MAX"),
                        help="seconds between an annotator's answers (default 2-6: a fast "
                        "reader of short reports); 0.2 0.8 is a stress test")
    parser.add_argument("--server", action="store_true",
                        help="annotators as HTTP clients of gunicorn (see the module's text)")
    parser.add_argument("--workers", type=int, default=3,
                        help="gunicorn workers with --server (Procfile.prod's default: 3)")
    args = parser.parse_args()
    prepare(args.reports, args.annotators)
    if args.server:
        results = _run_server(args)
    else:
        results = _run_processes(args)
    times = sorted(t for ts, _ in results for t in ts)
    errors = sum(e for _, e in results)
    from django.db.models import Count

    from annotation.models import Annotation

    twice = (Annotation.objects.filter(report__project__slug=SLUG).values("report")
             .annotate(n=Count("id")).filter(n__gt=1).count())
    if not times:
        raise SystemExit(f"no submit succeeded ({errors} errors); see the messages above")
    p95 = times[int(len(times) * 0.95)]
    print(f"{len(times)} submits, {errors} errors, {twice} reports served twice")
    how = (f"HTTP to gunicorn ({args.workers} workers)" if args.server
           else "a Django process each")
    print(f"| submit-and-next, {args.annotators} annotators at once ({how}), {args.think[0]:g}-"
          f"{args.think[1]:g} s between answers, {args.reports:,} reports "
          f"(PostgreSQL) | median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms over "
          f"{len(times)} submits, {errors} errors, {twice} reports served twice | "
          f"{datetime.date.today()} | {machine()} |")


def _run_processes(args) -> list:
    from django.db import connections

    connections.close_all()  # never share the parent's connection with the children
    spawn = multiprocessing.get_context("spawn")
    queue = spawn.Queue()
    start_at = time.time() + 15  # every process set up before the clock starts
    processes = [spawn.Process(target=annotate,
                               args=(i, args.seconds, start_at, args.think, queue))
                 for i in range(args.annotators)]
    for p in processes:
        p.start()
    results = [queue.get(timeout=args.seconds + 120) for _ in processes]
    for p in processes:
        p.join()
    return results


if __name__ == "__main__":
    main()
