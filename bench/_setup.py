"""Shared set-up for benchmarks: a database of their own on the local PostgreSQL."""

import os
import platform
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_DB = os.environ.get("CTIR_BENCH_DATABASE_URL",
                          "postgres://postgres@127.0.0.1:5432/ctir_bench")


def django_setup(fresh: bool = False, migrate: bool = True):
    """Point Django at the benchmark database (created and migrated if needed)."""
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = BENCH_DB
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    # The benchmarks' test client speaks plain HTTP (the HTTPS redirect is for deployments).
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    # One cache for all benchmark processes, as web workers of a deployment would share.
    os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/14")
    warnings.filterwarnings("ignore", message="No directory at")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ctir_site.settings")
    if not migrate:
        import django

        django.setup()
        return
    import psycopg

    name = BENCH_DB.rsplit("/", 1)[1]
    admin = BENCH_DB.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone()
        if fresh and exists:
            conn.execute(f'drop database "{name}"')
            exists = None
        if not exists:
            conn.execute(f'create database "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.split()
    total = memory[7] if len(memory) > 7 else "?"
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} cores ({cpu}), {total} GiB RAM, Python "
            f"{platform.python_version()}, {pg}")


class Worker:
    """A real Celery worker (solo pool) in its own process, answering a ping before use."""

    def __init__(self, name: str, env: dict, log_path: Path):
        self.log_path = log_path
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "ctir_site", "worker", "--pool=solo",
             "-n", f"{name}@%h", "--loglevel=INFO"],
            cwd=ROOT, env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
        from ctir_site.celery import app

        deadline = time.monotonic() + 120
        while not any(k.startswith(f"{name}@") for k in
                      (app.control.inspect(timeout=1).ping() or {})):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("worker did not start:\n" + log_path.read_text()[-2000:])

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
