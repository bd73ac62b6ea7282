"""Import 100,000 generated reports from CSV into PostgreSQL; median of 3 runs, each beside
PostgreSQL's own COPY of the same file into a table of text columns (what `\\copy` does), the
floor any importer that checks and relates the rows is measured against.

    .venv/bin/python bench/import_100k.py [--rows N] [--runs K]
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
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
        seconds, again, copies = [], [], []
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
    median, copy_median = statistics.median(seconds), statistics.median(copies)
    ratios = sorted(s / c for s, c in zip(seconds, copies, strict=True))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| import {args.rows:,} reports (CSV, {size_mb:.0f} MB, PostgreSQL) | "
          f"median {median:.1f} s of {args.runs} ({args.rows / median:,.0f} reports/s); "
          f"plain COPY {copy_median:.2f} s; import / COPY median {statistics.median(ratios):.1f}x; "
          f"re-import of the same file {statistics.median(again):.1f} s; peak resident memory "
          f"{peak_mib:,.0f} MiB | {datetime.date.today()} | {machine()} |")


if __name__ == "__main__":
    main()
