"""Import 100,000 generated reports from CSV into PostgreSQL; median of 3 runs.

    .venv/bin/python bench/import_100k.py [--rows N] [--runs K]
"""

import argparse
import csv
import datetime
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
        seconds, again = [], []
        for run in range(args.runs):
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
                  f"{again[-1]:.1f} s")
    median = statistics.median(seconds)
    print(f"| import {args.rows:,} reports (CSV, {size_mb:.0f} MB, PostgreSQL) | "
          f"median {median:.1f} s of {args.runs} ({args.rows / median:,.0f} reports/s); "
          f"re-import of the same file {statistics.median(again):.1f} s | "
          f"{datetime.date.today()} | {machine()} |")


if __name__ == "__main__":
    main()
