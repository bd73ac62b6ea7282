"""Shared set-up for benchmarks: a database of their own on the local PostgreSQL."""

import os
import platform
import subprocess
import sys
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
