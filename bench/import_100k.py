"""Import 100,000 generated reports from CSV into PostgreSQL; median of 3 runs, each beside
PostgreSQL's own COPY of the same file into a table of text columns (what `\\copy` does), the
floor any importer that checks and relates the rows is measured against.

    .venv/bin/python bench/import_100k.py [--rows N] [--runs K]
        [--label-studio URL --label-studio-login EMAIL:PASSWORD]

--label-studio: each run also imports the same file into a new project of a running Label
Studio (Community edition, which imports synchronously: the POST returns once every task is
stored), timed from the upload to the answer. Label Studio stores each row as a task's data;
it makes no patients, no reference labels and no history, and checks no column. Started for
the figures in docs/benchmarks.md in a virtual environment of its own, on its own database of
the same PostgreSQL:

    python3 -m venv /tmp/lsvenv && /tmp/lsvenv/bin/pip install label-studio==1.23.2
    createdb -h 127.0.0.1 -U postgres ls_bench
    SENTRY_DSN= FRONTEND_SENTRY_DSN= DJANGO_DB=default POSTGRE_NAME=ls_bench \
      POSTGRE_USER=postgres POSTGRE_PASSWORD= POSTGRE_HOST=127.0.0.1 POSTGRE_PORT=5432 \
      LABEL_STUDIO_BASE_DATA_DIR=/tmp/lsdata /tmp/lsvenv/bin/label-studio start \
      --no-browser --port 8099 --username bench@example.com --password benchpass123
"""

import argparse
import csv
import datetime
import resource
import statistics
import tempfile
import time
from pathlib import Path

from _setup import django_setup, machine


def write_csv(path: Path, n: int) -> None:
    from ctir_demo.cohort import generate_reports

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["accession", "patient_id", "sex", "age", "procedure_date", "text",
                         "label", "split"])
        for r in generate_reports(n, seed=100):
            writer.writerow([r.accession, r.patient_id, r.sex, r.age,
                             r.procedure_date.isoformat(), r.text, r.label, ""])


def plain_copy(path: Path) -> float:
    """Seconds for COPY of the CSV into a fresh table of text columns (no checks, no keys)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE plain_copy (accession text, patient_id text, "
                       "sex text, age text, procedure_date text, text text, label text, "
                       "split text) ON COMMIT DROP")
        began = time.perf_counter()
        with open(path, "rb") as handle, cursor.copy(
                "COPY plain_copy FROM STDIN (FORMAT csv, HEADER true)") as copy:
            while block := handle.read(1 << 20):
                copy.write(block)
        return time.perf_counter() - began


class LabelStudio:
    """A logged-in session on a running Label Studio (its legacy API tokens are off by default,
    so the benchmark logs in as a browser does)."""

    CONFIG = ('<View><Text name="text" value="$text"/><Choices name="label" toName="text">'
              '<Choice value="1"/><Choice value="2"/><Choice value="3"/><Choice value="4"/>'
              '</Choices></View>')

    def __init__(self, url: str, login: str):
        import requests

        self.url = url.rstrip("/")
        self.session = requests.Session()
        email, password = login.split(":", 1)
        page = self.session.get(f"{self.url}/user/login/")
        page.raise_for_status()
        answer = self.session.post(
            f"{self.url}/user/login/",
            data={"email": email, "password": password,
                  "csrfmiddlewaretoken": self.session.cookies["csrftoken"]},
            headers={"Referer": f"{self.url}/user/login/"})
        if "/user/login" in answer.url:
            raise SystemExit(f"Label Studio at {self.url} refused the login {email}")

    def _headers(self) -> dict:
        return {"X-CSRFToken": self.session.cookies["csrftoken"], "Referer": self.url}

    def import_seconds(self, path: Path, title: str) -> tuple[float, int]:
        """Seconds to import the file into a new project, and the tasks it then holds."""
        project = self.session.post(f"{self.url}/api/projects", headers=self._headers(),
                                    json={"title": title, "label_config": self.CONFIG})
        project.raise_for_status()
        pk = project.json()["id"]
        with open(path, "rb") as handle:
            began = time.perf_counter()
            answer = self.session.post(f"{self.url}/api/projects/{pk}/import",
                                       headers=self._headers(),
                                       files={"file": (path.name, handle, "text/csv")})
            seconds = time.perf_counter() - began
        answer.raise_for_status()
        tasks = self.session.get(f"{self.url}/api/projects/{pk}",
                                 headers=self._headers()).json()["task_number"]
        return seconds, tasks


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--label-studio", metavar="URL")
    parser.add_argument("--label-studio-login", metavar="EMAIL:PASSWORD",
                        default="bench@example.com:benchpass123")
    args = parser.parse_args()
    studio = args.label_studio and LabelStudio(args.label_studio, args.label_studio_login)
    django_setup(fresh=True)
    from annotation import services
    from annotation.models import Category, Project

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reports.csv"
        began = time.perf_counter()
        write_csv(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        print(f"generated {args.rows} reports ({size_mb:.0f} MB) in "
              f"{time.perf_counter() - began:.1f} s")
        template = Project.objects.get(slug="ct-ir")
        seconds, again, copies, studio_seconds = [], [], [], []
        for run in range(args.runs):
            copies.append(plain_copy(path))
            project = Project.objects.create(name=f"bench {run}", slug=f"bench-{run}")
            for c in template.categories.all():
                Category.objects.create(project=project, code=c.code, name=c.name, key=c.key)
            began = time.perf_counter()
            result = services.reports_import(project=project, path=path)
            seconds.append(time.perf_counter() - began)
            assert result.batch.reports_created == args.rows, result.message
            began = time.perf_counter()
            repeat = services.reports_import(project=project, path=path)
            again.append(time.perf_counter() - began)
            assert repeat.batch is None
            print(f"run {run + 1}: import {seconds[-1]:.1f} s, re-import (no change) "
                  f"{again[-1]:.1f} s; plain COPY {copies[-1]:.2f} s "
                  f"(import / COPY: {seconds[-1] / copies[-1]:.1f}x)")
            if studio:
                took, tasks = studio.import_seconds(path, f"ctir bench {run} {time.time():.0f}")
                assert tasks == args.rows, f"Label Studio holds {tasks} tasks"
                studio_seconds.append(took)
                print(f"run {run + 1}: Label Studio {took:.1f} s "
                      f"(Label Studio / ctir: {took / seconds[-1]:.2f}x)")
    median, copy_median = statistics.median(seconds), statistics.median(copies)
    ratios = sorted(s / c for s, c in zip(seconds, copies, strict=True))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| import {args.rows:,} reports (CSV, {size_mb:.0f} MB, PostgreSQL) | "
          f"median {median:.1f} s of {args.runs} ({args.rows / median:,.0f} reports/s); "
          f"plain COPY {copy_median:.2f} s; import / COPY median {statistics.median(ratios):.1f}x; "
          f"re-import of the same file {statistics.median(again):.1f} s; peak resident memory "
          f"{peak_mib:,.0f} MiB | {datetime.date.today()} | {machine()} |")
    if studio_seconds:
        over = sorted(t / s for t, s in zip(studio_seconds, seconds, strict=True))
        print(f"Label Studio median {statistics.median(studio_seconds):.1f} s; "
              f"Label Studio / ctir, median of the runs {statistics.median(over):.2f}x "
              f"({', '.join(f'{r:.2f}' for r in over)})")


if __name__ == "__main__":
    main()
