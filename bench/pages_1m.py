"""The pages an admin opens, at archive scale: a project of 1,000,000 reports, side by side
with the same pages on the 1,605-report demo project in the same run.

The big project is built in SQL from the demo's own rows, so that building it takes a
minute, not the hours pre-labeling a million reports would: its reports repeat the demo's
texts under new accessions and dates (a patient every 3 reports); 30% have a reference
label; the splits are chronological; the demo's active model version is copied with its
figures, with a prediction for every report; a reader study of 200 test cases, 3 readers,
every case answered. Each page is fetched through Django's test client (the whole request:
routing, session, role check, queries, template), the median of 5 after one untimed load;
then the streamed CSV export of each project, read to its end.

    .venv/bin/python bench/pages_1m.py [--reports 1000000] [--only search] [--no-export]
        [--first-bytes]

--first-bytes: time each export to its first bytes only (median of --times, the download
closed after them, as a user who cancels), not to its end.
"""

import argparse
import datetime
import random
import statistics
import time

from _setup import django_setup, machine

BIG = "bench-1m"
ADMIN = "bench-admin"
DEMO = "ct-ir"


def prepare(n_reports: int) -> None:
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection, transaction

    from annotation.models import (
        Category,
        Membership,
        Patient,
        Project,
        ReferenceLabel,
        Report,
        Role,
    )
    from annotation.services import splits_assign
    from modeling.models import ModelVersion, Prediction

    demo = Project.objects.get(slug=DEMO)
    if not demo.reports.exists() or not demo.model_versions.filter(is_active=True).exists():
        call_command("demo_ready")  # the demo and its fast model, as `make run` gives it
    project, _ = Project.objects.get_or_create(slug=BIG, defaults={"name": "Archive (1M)"})
    for c in demo.categories.all():
        Category.objects.get_or_create(project=project, code=c.code,
                                       defaults={"name": c.name, "key": c.key})
    # The benchmark's own admin of both projects (the demo's logins exist only with DEBUG).
    admin, _ = User.objects.get_or_create(username=ADMIN)
    for each in (project, demo):
        Membership.objects.get_or_create(project=each, user=admin,
                                         defaults={"role": Role.ADMIN})
    have = project.reports.count()
    t = {m: connection.ops.quote_name(m._meta.db_table)
         for m in (Patient, Report, ReferenceLabel, Category, Prediction)}
    if have < n_reports:
        began = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {t[Report]} WHERE project_id = %s", [project.pk])
            cursor.execute(f"DELETE FROM {t[Patient]} WHERE project_id = %s", [project.pk])
            cursor.execute(
                f"""INSERT INTO {t[Patient]} (project_id, pseudo_id, sex, age)
                SELECT %s, 'BP' || lpad(g::text, 7, '0'),
                       (ARRAY['F','M'])[1 + g %% 2], 20 + g %% 70
                FROM generate_series(0, %s) g""", [project.pk, n_reports // 3])
            # The demo's texts in turn (with their categories), dated one after another from
            # 2008 (about 55 a day).
            cursor.execute(
                f"""CREATE TEMPORARY TABLE bench_source ON COMMIT DROP AS
                SELECT (row_number() OVER (ORDER BY r.id) - 1)::int AS k, r.text, c.code
                FROM {t[Report]} r
                LEFT JOIN {t[ReferenceLabel]} l ON l.report_id = r.id
                LEFT JOIN {t[Category]} c ON c.id = l.category_id
                WHERE r.project_id = %s""", [demo.pk])
            cursor.execute("SELECT count(*) FROM bench_source")
            (n_texts,) = cursor.fetchone()
            cursor.execute(
                f"""INSERT INTO {t[Report]} (project_id, patient_id, accession, procedure_date,
                                         text, split, created, in_queue)
                SELECT %s, p.id, 'B' || lpad(g::text, 7, '0'),
                       DATE '2008-01-01' + (g / 55), s.text, 'unassigned', now(), true
                FROM generate_series(0, %s - 1) g
                JOIN bench_source s ON s.k = g %% %s
                JOIN {t[Patient]} p ON p.project_id = %s
                     AND p.pseudo_id = 'BP' || lpad((g / 3)::text, 7, '0')""",
                [project.pk, n_reports, n_texts, project.pk])
            # 30% labelled, with the category of the demo report whose text it repeats.
            cursor.execute(
                f"""INSERT INTO {t[ReferenceLabel]} (report_id, category_id, method, updated)
                SELECT r.id, c.id, 'imported', now()
                FROM {t[Report]} r
                JOIN bench_source s ON s.k = substr(r.accession, 2)::int %% %s
                JOIN {t[Category]} c ON c.project_id = r.project_id AND c.code = s.code
                WHERE r.project_id = %s AND r.id %% 10 < 3""", [n_texts, project.pk])
            cursor.execute(f"UPDATE {t[Report]} SET in_queue = false WHERE project_id = %s "
                           f"AND id IN (SELECT report_id FROM {t[ReferenceLabel]})",
                           [project.pk])
        splits_assign(project=project, fractions=(0.7, 0.1, 0.2))
        print(f"built {project.reports.count():,} reports in {time.perf_counter() - began:.0f} s",
              flush=True)
    if not project.model_versions.exists():
        source = demo.model_versions.get(is_active=True)
        fields = {f.name: getattr(source, f.name) for f in ModelVersion._meta.concrete_fields
                  if f.name not in ("id", "project", "created_by")}
        version = ModelVersion.objects.create(**{**fields, "project": project, "number": 1})
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {t[Prediction]} (report_id, model_version_id, category_id,
                                                 probabilities, margin, ms, created)
                SELECT r.id, %s, c.id,
                       jsonb_build_object(c.code::text, 0.9), 0.8 * random(), 1.0, now()
                FROM {t[Report]} r
                JOIN {t[Category]} c ON c.project_id = r.project_id
                     AND c.code = 1 + r.id %% 4
                WHERE r.project_id = %s""", [version.pk, project.pk])
    _study(project, admin)


def _study(project, admin) -> None:
    from django.contrib.auth.models import User
    from django.utils import timezone

    from annotation.models import Category, Membership, Role
    from studies import services as studies
    from studies.models import ReaderStudy, StudyResponse

    if project.studies.exists():
        return
    readers = []
    for i in range(3):
        user, _ = User.objects.get_or_create(username=f"bench-1m-reader-{i}")
        Membership.objects.get_or_create(project=project, user=user,
                                         defaults={"role": Role.READER})
        readers.append(user)
    cases = project.reports.filter(pk__in=list(
        project.reports.filter(split="test", reference_label__isnull=False)
        .order_by("id").values_list("pk", flat=True)[:200]))
    study = studies.study_create(project=project, name="Readers vs the model", readers=readers,
                                 reports=cases, seed=1)
    studies.study_status_set(study=study, status=ReaderStudy.Status.OPEN)
    categories = list(Category.objects.filter(project=project))
    rng, now = random.Random(1), timezone.now()
    rows = []
    for reader in study.readers.all():
        for position, case in enumerate(study.cases.select_related(
                "report__reference_label"), start=1):
            truth = case.report.reference_label.category
            answer = truth if rng.random() < 0.93 else rng.choice(categories)
            rows.append(StudyResponse(
                study=study, reader=reader, case=case, position=position, category=answer,
                served_at=now, answered_at=now + datetime.timedelta(seconds=20),
                active_ms=rng.randint(8000, 40000)))
    StudyResponse.objects.bulk_create(rows)
    print(f"study {study.pk}: {len(rows)} responses", flush=True)


def pages(slug: str) -> list[tuple[str, str]]:
    from studies.models import ReaderStudy

    study = ReaderStudy.objects.filter(project__slug=slug).order_by("pk").first()
    found = [("dashboard", f"/p/{slug}/"), ("Models page", f"/p/{slug}/models/"),
             ("studies list", f"/p/{slug}/studies/"),
             ("power planner", f"/p/{slug}/studies/power/?n_readers=4&n_cases=100"),
             ("reports browser", f"/p/{slug}/reports/"),
             ("reports, search", f"/p/{slug}/reports/?q=pleural"),
             ("reports, search (an accession)", f"/p/{slug}/reports/?q=B0999990"),
             ("reports, search (a word found nowhere)", f"/p/{slug}/reports/?q=xylophone"),
             # 胸水, pleural effusion in Japanese: a term without letter case.
             ("reports, search (Japanese)", f"/p/{slug}/reports/?q=%E8%83%B8%E6%B0%B4"),
             ("reports, filter", f"/p/{slug}/reports/?split=test&status=labelled"),
             ("reports, page 5,000", f"/p/{slug}/reports/?page=5000"),
             ("annotate (next report)", f"/p/{slug}/annotate/")]
    if study:
        found.append(("study results", f"/p/{slug}/studies/{study.pk}/"))
    return found


def timed(client, url: str, times: int) -> tuple[float, int]:
    client.get(url, headers={"HX-Request": "true"} if "power" in url else {})
    seconds = []
    for _ in range(times):
        began = time.perf_counter()
        response = client.get(url, headers={"HX-Request": "true"} if "power" in url else {})
        if not response.streaming:
            response.content  # noqa: B018 the body is the page's work
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds) * 1000, response.status_code


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--times", type=int, default=5)
    parser.add_argument("--only", default="", help="only the pages whose name has this")
    parser.add_argument("--no-export", dest="export", action="store_false")
    parser.add_argument("--first-bytes", action="store_true")
    args = parser.parse_args()
    django_setup()
    prepare(args.reports)
    from django.contrib.auth.models import User
    from django.test import Client

    from annotation.models import Project

    client = Client()
    client.force_login(User.objects.get(username=ADMIN))
    sizes = {slug: Project.objects.get(slug=slug).reports.count() for slug in (BIG, DEMO)}
    print(f"| page | {sizes[BIG]:,} reports (ms) | {sizes[DEMO]:,} reports (ms) | ratio |")
    print("|---|---|---|---|")
    for (name, big), (_, small) in zip(pages(BIG), pages(DEMO), strict=False):
        if args.only not in name:
            continue
        big_ms, status = timed(client, big, args.times)
        small_ms, small_status = timed(client, small, args.times)
        print(f"| {name} (`{big.split('/', 3)[3]}`) | {big_ms:.0f} ({status}) | "
              f"{small_ms:.0f} ({small_status}) | {big_ms / small_ms:.1f}x |", flush=True)
    for slug in (BIG, DEMO) if args.export and args.first_bytes else ():
        firsts = []
        for _ in range(args.times):
            began = time.perf_counter()
            response = client.get(f"/p/{slug}/export.csv")
            next(iter(response.streaming_content))
            firsts.append(time.perf_counter() - began)
            response.close()
        print(f"| export CSV, streamed ({sizes[slug]:,} reports) | first bytes "
              f"{statistics.median(firsts) * 1000:.0f} ms (median of {args.times}) |", flush=True)
    for slug in (BIG, DEMO) if args.export and not args.first_bytes else ():
        began = time.perf_counter()
        response = client.get(f"/p/{slug}/export.csv")
        chunks = iter(response.streaming_content)
        size = len(next(chunks))
        first = time.perf_counter() - began
        size += sum(len(chunk) for chunk in chunks)
        whole = time.perf_counter() - began
        print(f"| export CSV, streamed ({sizes[slug]:,} reports) | first bytes {first * 1000:.0f} "
              f"ms, whole file {whole:.1f} s, {size / 2**20:.0f} MiB "
              f"({sizes[slug] / whole:,.0f} reports/s) |", flush=True)
    print(f"\nmedians of {args.times}, {datetime.date.today()}, {machine()}")


if __name__ == "__main__":
    main()
