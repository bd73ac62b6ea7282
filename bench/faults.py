"""The fault run (issue 10): break one part at a time and record what ctir does.

Everything runs against parts of its own, so the shared services are never touched:
- a throwaway PostgreSQL cluster (initdb under /tmp, port 5491, as the postgres user),
  the one this run restarts;
- a redis-server of its own (port 6391), the one this run stops;
- real Celery workers (subprocesses, --pool=solo), SIGKILLed mid-job;
- annotators as threads, each with its own Django test client (the full request cycle);
- the tiny random BERT (tests/tiny_models.py) as CTIR_BASE_MODEL, so training takes seconds.

Each fault prints one table row: fault | what happened | data lost | recovery time.

    .venv/bin/python bench/faults.py          # as root (it runs PostgreSQL as postgres)
"""

import datetime
import glob
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

WORK = Path(os.environ.get("FAULTS_DIR", "/tmp/ctir-faults"))
PG_PORT = int(os.environ.get("FAULTS_PG_PORT", "5491"))
REDIS_PORT = int(os.environ.get("FAULTS_REDIS_PORT", "6391"))
DB_URL = f"postgres://postgres@127.0.0.1:{PG_PORT}/ctir_ft"
BROKER = f"redis://127.0.0.1:{REDIS_PORT}/0"
INSTANCE = "faults-a"
OTHER_INSTANCE = "faults-b"
# Beat fails a job whose heartbeat is older than HEARTBEAT_SILENCE (3 min) once a minute;
# the run calls the same service with a short silence instead of waiting four minutes.
SILENCE = datetime.timedelta(seconds=5)
SHORT = {"epochs": 1, "seeds": 1, "max_length": 64}
LONG = {"epochs": 20, "seeds": 3, "max_length": 64}  # the most a recipe allows
ANNOTATORS = 10
TOKEN = re.compile(r'name="token" value="([^"]+)"')
SLUG = "ct-ir"

# Before _setup is imported: it reads the database URL when imported.
os.environ.update(
    CTIR_BENCH_DATABASE_URL=DB_URL, CELERY_BROKER_URL=BROKER, CTIR_INSTANCE=INSTANCE,
    CTIR_MODEL_DIR=str(WORK / "models"), CTIR_BASE_MODEL=str(WORK / "tiny-bert"),
    HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", DEBUG="0",
    # Per-process cache (the default): the Redis this run stops is the broker only.
    CACHE_URL="", CONN_MAX_AGE="60",
)
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import Worker, django_setup, machine  # noqa: E402

ROWS: list[tuple[str, str, str, str]] = []
WORKERS: list = []  # every worker started, so a failed run leaves none behind


def row(fault: str, happened: str, lost: int, recovery: str) -> None:
    ROWS.append((fault, happened, str(lost), recovery))
    print(f"| {fault} | {happened} | {lost} | {recovery} |", flush=True)


# --- our own PostgreSQL and Redis ------------------------------------------------------------

def _pg(name: str) -> str:
    return sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1]


def _as_postgres(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True,
                          capture_output=True, text=True)


def pg_start() -> None:
    data = WORK / "pg"
    if data.exists():
        shutil.rmtree(data)
    WORK.mkdir(parents=True, exist_ok=True)
    shutil.chown(WORK, "postgres")
    _as_postgres(_pg("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    _as_postgres(_pg("pg_ctl"), "-D", str(data), "-l", str(WORK / "pg.log"), "-w", "-o",
                 f"-p {PG_PORT} -k {WORK} -c listen_addresses=127.0.0.1", "start")


def pg_restart() -> None:
    # -l as at the start: without it the new server would write to (and hold open) the pipe
    # this run reads pg_ctl's output from.
    _as_postgres(_pg("pg_ctl"), "-D", str(WORK / "pg"), "-l", str(WORK / "pg.log"), "-w",
                 "-m", "fast", "restart")


def pg_stop() -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", _pg("pg_ctl"), "-D", str(WORK / "pg"),
                    "-w", "-m", "fast", "stop"], capture_output=True)


def redis_start() -> None:
    subprocess.run(["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--daemonize", "yes",
                    "--dir", str(WORK), "--pidfile", str(WORK / "redis.pid"),
                    "--logfile", str(WORK / "redis.log")], check=True)
    for _ in range(50):
        if redis_up():
            return
        time.sleep(0.1)
    raise SystemExit("redis-server did not start")


def redis_stop() -> None:
    subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "shutdown", "nosave"],
                   capture_output=True)


def redis_up() -> bool:
    import redis

    try:
        return redis.Redis(port=REDIS_PORT, socket_timeout=1).ping()
    except redis.RedisError:
        return False


def queue_length(name: str) -> int:
    import redis

    return redis.Redis(port=REDIS_PORT).llen(name)


# --- data -------------------------------------------------------------------------------------

def prepare():
    from django.contrib.auth.models import User
    from tests.modeling.conftest import labelled_rows

    from annotation import services
    from annotation.importing.checks import ParsedRow
    from annotation.models import Membership, Project, Role
    from ctir_demo.cohort import generate_reports
    from tests.tiny_models import make_tiny_base_model

    make_tiny_base_model(WORK / "tiny-bert")
    project = Project.objects.get(slug=SLUG)
    services.reports_write(project=project, rows=labelled_rows(), batch=None, user=None,
                           reason="faults")
    unlabelled = (ParsedRow(line=i, accession=f"U{i:06d}", patient_id=f"{r.patient_id}-{i}",
                            sex=r.sex, age=r.age, procedure_date=r.procedure_date, text=r.text,
                            label=None, split=None)
                  for i, r in enumerate(generate_reports(4000, seed=3)))
    services.reports_write(project=project, rows=unlabelled, batch=None, user=None,
                           reason="faults")
    for i in range(ANNOTATORS):
        user = User.objects.create_user(f"annotator-{i}")
        Membership.objects.create(project=project, user=user, role=Role.ANNOTATOR)
    return project


# --- annotators -------------------------------------------------------------------------------

class Annotators:
    """ANNOTATORS threads answering on the annotate page until stopped; every response kept."""

    def __init__(self):
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ok_posts = 0           # answers the server confirmed with the next report
        self.errors: list[tuple[float, str]] = []
        self.last_ok = 0.0
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(ANNOTATORS)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()

    def _run(self, index: int) -> None:
        from django.contrib.auth.models import User
        from django.db import close_old_connections, connection
        from django.test import Client

        client = Client(raise_request_exception=False)
        client.force_login(User.objects.get(username=f"annotator-{index}"))
        url, token = f"/p/{SLUG}/annotate/", None
        try:
            while not self.stop.is_set():
                # What the WSGI handler does around every request (request_started and
                # request_finished), and the test client switches off: drop a connection
                # that errored or no longer answers (CONN_HEALTH_CHECKS), so the next
                # request opens a fresh one.
                close_old_connections()
                posted = token is not None
                try:
                    if posted:
                        response = client.post(url, {"token": token, "category": 1 + index % 4,
                                                     "active_ms": 500},
                                               headers={"HX-Request": "true"})
                    else:
                        response = client.get(url)
                    body = response.content.decode()
                    status = response.status_code
                except Exception as exc:  # never expected: the handler answers every error
                    body, status = f"{type(exc).__name__}: {exc}", 0
                match = TOKEN.search(body) if status == 200 else None
                with self.lock:
                    if match:
                        self.last_ok = time.time()
                        self.ok_posts += posted
                    else:
                        self.errors.append((time.time(), f"{status} {_gist(body)}"))
                if match:
                    token = match.group(1)
                    time.sleep(0.05)
                else:
                    # As the annotator would: the form (and its token) is still on screen,
                    # so the same answer is sent again a moment later.
                    time.sleep(0.2)
        finally:
            connection.close()


def _gist(body: str) -> str:
    found = re.search(r'id="server-error"[^>]*>([^<]*)<', body)
    text = found.group(1) if found else re.sub(r"<[^>]+>", " ", body)
    return " ".join(text.split())[:160]


def annotation_check(project, before: int, ok_posts: int) -> tuple[int, int, int]:
    """(lost, served twice, half-written) since `before` annotations."""
    from django.db.models import Count, F

    from annotation.models import Annotation

    answers = Annotation.objects.filter(report__project=project)
    added = answers.count() - before
    twice = (answers.filter(supersedes__isnull=True).values("report").annotate(n=Count("id"))
             .filter(n__gt=project.annotations_per_report).count())
    # One answer is all a report needs here: each must have set the reference label and
    # released the claim in the same transaction.
    half = (answers.filter(report__reference_label__isnull=True).count()
            + answers.filter(report__claims__user=F("user")).count())
    return max(ok_posts - added, 0), twice, half


# --- faults -----------------------------------------------------------------------------------

def fault_bad_imports(project) -> None:
    from annotation import services
    from annotation.models import ImportBatch, Report
    from tests.annotation import test_import_hardening as h

    cases = [(c[0], ".csv", c[1]) for c in h.CONFIRM_CRASHES]
    cases += [(c[0], ".jsonl", c[1]) for c in h.JSONL_CASES]
    cases += [
        ("unclosed quote swallowing the rows after it", ".csv",
         h.HEADER + h.ROW.format(n=1) + 'A2,P2,F,50,2020-01-02,"Drainage of,1,train\n'
         + h.ROW.format(n=3) + h.ROW.format(n=4)),
        ("stray quote inside an unquoted field", ".csv",
         h.HEADER + 'A1,P1,F,50,2020-01-01,Drain "age,1,train\n'),
        ("date in year 0001", ".csv", h.one_row(procedure_date="0001-01-01")),
        ("date in year 2999", ".csv", h.one_row(procedure_date="2999-01-01")),
        ("ISO week date", ".csv", h.one_row(procedure_date="2020-W01-1")),
        ("age 45.9", ".csv", h.one_row(age="45.9")),
    ]
    reports, batches = Report.objects.count(), ImportBatch.objects.count()
    folder = WORK / "imports"
    folder.mkdir(exist_ok=True)
    for i, (case, suffix, content) in enumerate(cases):
        path = folder / f"bad{i}{suffix}"
        path.write_bytes(content.encode("utf-8", "surrogatepass"))
        started = time.monotonic()
        try:
            services.reports_import(project=project, path=path)
            happened = "IMPORTED (should have been rejected)"
        except services.ImportRejected as exc:
            happened = "rejected: " + "; ".join(str(e) for e in exc.plan.errors)[:160]
        except Exception as exc:
            happened = f"CRASHED: {type(exc).__name__}: {exc}"[:160]
        lost = abs(Report.objects.count() - reports) + abs(ImportBatch.objects.count() - batches)
        row(f"bad import: {case}", happened.replace("|", "/"), lost,
            f"{time.monotonic() - started:.2f} s (nothing to recover)")
    # The split change: accepted, but said, not silently ignored.
    first = folder / "split-a.csv"
    first.write_text(h.one_row(accession="S1", split="train"))
    services.reports_import(project=project, path=first)
    second = folder / "split-b.csv"
    second.write_text(h.one_row(accession="S1", split="test"))
    result = services.reports_import(project=project, path=second)
    split = Report.objects.get(project=project, accession="S1").split
    row("bad import: changed split for an existing report",
        f"said: {result.message[:140]} (split stays {split})", 0, "0 s (nothing to recover)")


def fault_concurrent(project) -> None:
    from annotation.models import Annotation

    before = Annotation.objects.filter(report__project=project).count()
    with Annotators() as crowd:
        time.sleep(8)
    lost, twice, half = annotation_check(project, before, crowd.ok_posts)
    row(f"{ANNOTATORS} concurrent annotators on PostgreSQL, 8 s",
        f"{crowd.ok_posts} answers, {len(crowd.errors)} errors, {twice} reports served twice, "
        f"{half} half-written", lost + twice + half, "none needed")


def fault_redis_down(project) -> None:
    from annotation.models import Annotation
    from core.models import JobStatus
    from modeling import services

    before = Annotation.objects.filter(report__project=project).count()
    with Annotators() as crowd:
        time.sleep(2)
        ok_before_stop = crowd.ok_posts
        redis_stop()
        t = time.monotonic()
        version = services.model_version_create(project=project, recipe=SHORT)
        refused_in = time.monotonic() - t
        version.refresh_from_db()
        time.sleep(4)
        ok_while_down = crowd.ok_posts - ok_before_stop
        redis_start()
        restarted = time.monotonic()
        retry = services.model_version_create(project=project, recipe=SHORT)
        retry_in = time.monotonic() - restarted
        retry.refresh_from_db()
        time.sleep(1)
    queued = queue_length(f"{INSTANCE}.training")
    lost, twice, half = annotation_check(project, before, crowd.ok_posts)
    assert version.status == JobStatus.FAILED, version.status
    row("Redis (broker) stopped while 10 annotators label",
        f"annotation went on ({ok_while_down} answers in the 4 s Redis was down, "
        f"{len(crowd.errors)} errors); retrain refused in {refused_in:.1f} s, "
        f"v{version.number} failed: “{version.error}”; after the restart "
        f"v{retry.number} is {retry.status} ({queued} message in the queue)",
        lost + twice + half, f"{retry_in:.1f} s from redis-server up to a retrain queued")
    # Not run here (no worker yet): cancel it so the worker faults start clean.
    services.model_version_cancel(version=retry)
    import redis

    redis.Redis(port=REDIS_PORT).flushdb()


def fault_pg_restart(project) -> None:
    from annotation.models import Annotation

    before = Annotation.objects.filter(report__project=project).count()
    with Annotators() as crowd:
        time.sleep(2)
        restart_at = time.time()
        pg_restart()
        restarted = time.time()
        time.sleep(5)
    from django.db import connection

    connection.close()  # this thread's connection died with the server too
    errors = [e for e in crowd.errors if e[0] >= restart_at]
    after = [e for e in errors if e[0] > restarted]
    last_error = max((e[0] for e in errors), default=restart_at)
    kinds = sorted({e[1] for e in errors})
    lost, twice, half = annotation_check(project, before, crowd.ok_posts)
    row("PostgreSQL restarted (pg_ctl -m fast) while 10 annotators label",
        f"restart took {restarted - restart_at:.1f} s; {len(errors)} requests failed "
        f"({len(after)} after the server was back), clients saw: "
        + "; ".join(kinds)[:200].replace("|", "/")
        + f"; {crowd.ok_posts} answers in all, {twice} served twice, {half} half-written",
        lost + twice + half,
        f"{max(last_error - restart_at, 0):.1f} s from the restart to the last error")


def worker_start(name: str, instance: str = INSTANCE) -> Worker:
    env = dict(os.environ, DATABASE_URL=DB_URL, CTIR_INSTANCE=instance,
               SECRET_KEY=os.environ["SECRET_KEY"])
    worker = Worker(name, env, WORK / f"worker-{name}.log")
    WORKERS.append(worker)
    return worker


def wait_for(predicate, timeout: float, what: str, worker: Worker | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    tail = worker.log_path.read_text()[-2000:] if worker else ""
    raise SystemExit(f"timed out waiting for {what}\n{tail}")


def _fingerprint(folder: str) -> dict:
    return {str(p): p.stat().st_mtime_ns for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def fault_worker_kill(project) -> None:
    from core.models import JobStatus
    from modeling import services
    from modeling.models import ModelVersion, Prediction, PrelabelRun

    worker = worker_start("faults-1")
    v1 = services.model_version_create(project=project, recipe=SHORT)
    v1 = wait_for(lambda: ModelVersion.objects.filter(
        pk=v1.pk, status__in=(JobStatus.SUCCEEDED, JobStatus.FAILED)).first(), 300,
        "the first training", worker)
    assert v1.status == JobStatus.SUCCEEDED, v1.error
    services.model_version_promote(version=v1, prelabel=False)
    files = _fingerprint(v1.artifact_dir)

    # Mid-training.
    v2 = services.model_version_create(project=project, recipe=LONG)
    wait_for(lambda: ModelVersion.objects.filter(pk=v2.pk, phase="training").exists(), 300,
             "training to start", worker)
    time.sleep(1)
    worker.kill()
    killed = time.monotonic()
    wait_for(lambda: services.stale_jobs_fail(silence=SILENCE) or
             ModelVersion.objects.filter(pk=v2.pk, status=JobStatus.FAILED).exists(), 60,
             "the stale-job rule")
    failed_after = time.monotonic() - killed
    v2.refresh_from_db()
    active = ModelVersion.objects.get(project=project, is_active=True)
    untouched = active.pk == v1.pk and _fingerprint(v1.artifact_dir) == files
    worker = worker_start("faults-2")
    v3 = services.model_version_create(project=project, recipe=SHORT)
    v3 = wait_for(lambda: ModelVersion.objects.filter(
        pk=v3.pk, status__in=(JobStatus.SUCCEEDED, JobStatus.FAILED)).first(), 300,
        "the retry", worker)
    retried_after = time.monotonic() - killed
    row("Celery worker SIGKILLed mid-training (tiny BERT, 20 epochs x 3 seeds)",
        f"v{v2.number} {v2.status} after {failed_after:.1f} s: “{v2.error}”; active model "
        f"v{active.number} {'untouched' if untouched else 'CHANGED'}; "
        f"retry v{v3.number} {v3.status}", 0 if untouched else 1,
        f"{failed_after:.1f} s to failed (silence {SILENCE.seconds} s here, 3 min + ≤1 min "
        f"beat by default), {retried_after:.1f} s to a retrained model")

    # Mid-pre-labeling (v1 is still the active model).
    reports = project.reports.count()
    run = services.prelabel_request(project=project, version=v1)
    wait_for(lambda: PrelabelRun.objects.filter(pk=run.pk, status=JobStatus.RUNNING,
                                                done__gt=0).exists(), 300,
             "pre-labeling to start", worker)
    worker.kill()
    killed = time.monotonic()
    done_at_kill = PrelabelRun.objects.get(pk=run.pk).done
    wait_for(lambda: services.stale_jobs_fail(silence=SILENCE) or
             PrelabelRun.objects.filter(pk=run.pk, status=JobStatus.FAILED).exists(), 60,
             "the stale-job rule")
    failed_after = time.monotonic() - killed
    run.refresh_from_db()
    active = ModelVersion.objects.get(project=project, is_active=True)
    worker = worker_start("faults-3")
    retry = services.prelabel_request(project=project, version=v1)
    retry = wait_for(lambda: PrelabelRun.objects.filter(
        pk=retry.pk, status__in=(JobStatus.SUCCEEDED, JobStatus.FAILED)).first(), 300,
        "the pre-label retry", worker)
    retried_after = time.monotonic() - killed
    predictions = Prediction.objects.filter(model_version=v1).count()
    row(f"Celery worker SIGKILLed mid-pre-labeling ({reports} reports)",
        f"run {run.status} at {done_at_kill}/{reports} after {failed_after:.1f} s: "
        f"“{run.error}”; active model v{active.number} "
        f"{'untouched' if active.pk == v1.pk else 'CHANGED'}; retry {retry.status}, "
        f"{predictions} predictions for {reports} reports",
        abs(reports - predictions) + (active.pk != v1.pk),
        f"{failed_after:.1f} s to failed, {retried_after:.1f} s to all reports pre-labeled")
    fault_two_instances(project, worker)
    worker.stop()


def fault_two_instances(project, worker: Worker) -> None:
    from core.models import JobStatus
    from ctir_site.celery import app
    from modeling import services

    version = services.model_version_create(project=project, recipe=SHORT, enqueue=False)
    # What instance B sends on its own queues: A's worker does not even consume them.
    app.send_task("modeling.tasks.train_model_version", args=[version.pk],
                  kwargs={"instance": OTHER_INSTANCE}, queue=f"{OTHER_INSTANCE}.training")
    # And a B message that lands on A's queue (queue names configured alike): refused.
    started = time.monotonic()
    app.send_task("modeling.tasks.train_model_version", args=[version.pk],
                  kwargs={"instance": OTHER_INSTANCE}, queue=f"{INSTANCE}.training")
    wait_for(lambda: "WrongInstance" in worker.log_path.read_text(), 60, "the refusal", worker)
    refused_in = time.monotonic() - started
    time.sleep(1)
    version.refresh_from_db()
    waiting = queue_length(f"{OTHER_INSTANCE}.training")
    line = next(ln for ln in worker.log_path.read_text().splitlines() if "WrongInstance" in ln)
    untouched = version.status == JobStatus.QUEUED and version.started_at is None
    row("two instances share one Redis (A's worker, B's task for id "
        f"{version.pk})",
        f"on B's queue: not consumed by A ({waiting} message waiting for B); on A's queue: "
        f"refused in {refused_in:.1f} s: {line.split('WrongInstance', 1)[1][:150].strip(': ')}"
        f"; v{version.number} {version.status}, never started", 0 if untouched else 1,
        "nothing to recover (refused before any write)")


def main() -> None:
    started = time.monotonic()
    os.environ.setdefault("SECRET_KEY", "faults")
    WORK.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(WORK / "models", ignore_errors=True)  # the database is fresh: so are they
    redis_start()
    pg_start()
    try:
        django_setup(fresh=True)
        import logging

        # Each failed request would print its traceback; the table says what clients saw.
        logging.getLogger("django.request").setLevel(logging.CRITICAL)
        logging.getLogger("axes").setLevel(logging.WARNING)
        project = prepare()
        print(f"ready in {time.monotonic() - started:.0f} s; {project.reports.count()} reports")
        print("| fault | what happened | data lost | recovery time |\n|---|---|---|---|")
        fault_bad_imports(project)
        fault_concurrent(project)
        fault_redis_down(project)
        fault_pg_restart(project)
        fault_worker_kill(project)
    finally:
        from django.db import connections

        for worker in WORKERS:
            worker.stop()
        connections.close_all()
        pg_stop()
        redis_stop()
    print(f"\n{len(ROWS)} faults, {sum(int(r[2]) for r in ROWS)} records lost, "
          f"{time.monotonic() - started:.0f} s in all; {datetime.date.today()}; {machine()}")


if __name__ == "__main__":
    main()
