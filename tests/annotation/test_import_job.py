"""Big imports as a background job: confirm queues a Celery task, the import page shows rows
checked, rows written and the time left, and a second import of the project is refused
while one runs (page, API and command alike)."""

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import token_create
from annotation import import_progress, services
from annotation.models import ImportJob, Report
from tests.support import preview, rows_csv


@pytest.fixture
def background(settings, tmp_path):
    settings.CTIR_BACKGROUND_IMPORT_ROWS = 3
    settings.CTIR_UPLOAD_DIR = tmp_path / "uploads"
    return settings


def test_a_big_confirm_runs_as_a_job_with_progress(login, project, admin_user, background):
    client = login(admin_user)
    url, token = preview(client, project, rows_csv(5))
    page = client.post(url, {"confirm": "1", "token": token}, follow=True).content.decode()
    job = ImportJob.objects.get()
    assert job.status == "queued" and job.rows == 5 and job.created_by == admin_user
    assert "5 rows are being imported in the background" in page
    assert "Waiting for a worker" in page and 'hx-trigger="every 1s"' in page
    assert Path(job.staged).exists() and not Report.objects.exists()

    # What the worker's task calls (tests/annotation/test_import_job.py's worker test runs
    # the real task); here in-process, to look at the page at each end.
    job = services.import_job_run(job.pk)
    assert job.status == "succeeded" and job.batch.reports_created == 5
    assert Report.objects.count() == 5 and not Path(job.staged).exists()
    live = import_progress.read(job)
    assert (live["checked"], live["written"], live["total"]) == (5, 5, 5)
    fragment = client.get(reverse("import_job", args=[project.slug, job.pk]),
                          headers={"HX-Request": "true"})
    assert fragment.status_code == 286  # htmx stops polling
    assert "imported 5 new reports" in fragment.content.decode()


def test_the_bar_shows_rows_checked_written_and_time_left(login, project, admin_user):
    job = ImportJob.objects.create(project=project, filename="huge.csv", staged="/nowhere",
                                   rows=4000, status="running")
    from django.utils import timezone

    ImportJob.objects.filter(pk=job.pk).update(started_at=timezone.now())
    reporter = import_progress.Reporter(job, 4000)
    reporter("checking", 0)
    reporter.phase_started -= 10  # ten seconds to check the first thousand rows
    reporter("checking", 1000)
    reporter.flush()
    page = login(admin_user).get(reverse("import_reports", args=[project.slug])).content.decode()
    assert "Rows checked: <strong>1,000</strong> of 4,000" in page
    assert "rows written: <strong>0</strong>" in page
    assert "about 1 min left" in page  # 7,000 more rows at 100 a second
    assert 'value="12"' in page  # 1,000 of 8,000 row passes


def test_a_second_import_is_refused_while_one_runs(login, project, admin_user, background,
                                                   tmp_path):
    client = login(admin_user)
    url, token = preview(client, project, rows_csv(5))
    client.post(url, {"confirm": "1", "token": token})
    running = ImportJob.objects.get()
    # A second big file, a small one in the request, the API and the command: all refused.
    url, token = preview(client, project, rows_csv(4, start=100), name="second.csv")
    page = client.post(url, {"confirm": "1", "token": token}, follow=True).content.decode()
    assert "is queued (big.csv" in page and ImportJob.objects.count() == 1
    url, token = preview(client, project, rows_csv(1, start=200), name="small.csv")
    page = client.post(url, {"confirm": "1", "token": token}, follow=True).content.decode()
    assert "wait for it to finish" in page
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=admin_user, name='t')[1]}")
    batch = [{"accession": "X1", "patient_id": "XP1", "sex": "F", "age": 40,
              "procedure_date": "2020-01-01", "text": "drainage"}]
    response = api.post(reverse("api_reports", args=[project.slug]), {"reports": batch},
                        format="json")
    assert response.status_code == 409 and "big.csv" in response.json()["detail"]
    path = tmp_path / "cli.csv"
    path.write_text(rows_csv(1, start=300))
    with pytest.raises(CommandError, match="wait for it to finish"):
        call_command("import_reports", str(path), project=project.slug, no_progress=True)
    assert not Report.objects.exists()
    # The database holds the rule too, for two confirms in the same instant.
    with pytest.raises(IntegrityError), transaction.atomic():
        ImportJob.objects.create(project=project, filename="race.csv", staged="x")
    services.import_job_run(running.pk)
    call_command("import_reports", str(path), project=project.slug, no_progress=True,
                 stdout=io.StringIO())
    assert Report.objects.count() == 6


def test_a_job_whose_worker_died_stops_blocking_imports(project, tmp_path):
    import datetime

    from django.utils import timezone

    dead = ImportJob.objects.create(
        project=project, filename="dead.csv", staged="/nowhere", status="running",
        started_at=timezone.now() - datetime.timedelta(minutes=20))
    path = tmp_path / "next.csv"
    path.write_text(rows_csv(2))
    services.reports_import(project=project, path=path)
    dead.refresh_from_db()
    assert dead.status == "failed" and "stopped responding" in dead.message
    assert Report.objects.count() == 2


def test_a_file_that_went_bad_after_the_preview_imports_nothing(login, project, admin_user,
                                                                background):
    client = login(admin_user)
    url, token = preview(client, project, rows_csv(4))
    client.post(url, {"confirm": "1", "token": token})
    job = ImportJob.objects.get()
    Path(job.staged).write_text(rows_csv(3) + "B9,BP9,F,50,2020-13-01,text,1\n")
    job = services.import_job_run(job.pk)
    assert job.status == "rejected" and not Report.objects.exists()
    assert job.errors == [[5, "procedure_date", job.errors[0][2]]]
    page = client.get(reverse("import_reports", args=[project.slug])).content.decode()
    assert "1 problem(s) found; nothing was imported." in page and "2020-13-01" in page


def test_the_command_draws_progress_bars_on_the_terminal(project, tmp_path):
    path = tmp_path / "cli.csv"
    path.write_text(rows_csv(2500))
    out, err = io.StringIO(), io.StringIO()
    call_command("import_reports", str(path), project=project.slug, stdout=out, stderr=err)
    assert "imported 2500 new reports" in out.getvalue()
    bars = err.getvalue()
    assert "checking" in bars and "writing" in bars and "2500/2500" in bars


@pytest.mark.worker
def test_a_real_worker_runs_the_import_job(login, project, admin_user, worker,
                                           settings, tmp_path):
    import time

    settings.CTIR_BACKGROUND_IMPORT_ROWS = 3
    settings.CTIR_UPLOAD_DIR = tmp_path / "uploads"
    client = login(admin_user)
    url, token = preview(client, project, rows_csv(3000))
    client.post(url, {"confirm": "1", "token": token})
    job = ImportJob.objects.get()
    deadline = time.monotonic() + 120
    while job.is_active and time.monotonic() < deadline:
        time.sleep(0.3)
        job.refresh_from_db()
    assert job.status == "succeeded", job.message + worker.log_path.read_text()[-2000:]
    assert Report.objects.count() == 3000
    assert import_progress.read(job)["written"] == 3000


RIS = ("Accession No,MRN,Gender,Age,Exam Date,Findings\n"
       "R1,M1,F,61,25/03/2020,Collection in the right flank\n"
       "R2,M2,M,70,03/04/2020,Nodule in the right upper lobe\n"
       "R3,M3,F,55,13/05/2020,Liver lesion\n")


def test_the_worker_imports_with_the_mapping_that_was_previewed(login, project, admin_user,
                                                                 background):
    import datetime

    client = login(admin_user)
    url = reverse("import_reports", args=[project.slug])
    first = client.post(url, {"file": SimpleUploadedFile("ris.csv", RIS.encode())})
    assert not first.context["plan"].ok  # 25/03/2020 is no ISO date
    remapped = client.post(url, {
        "remap": "1", "token": first.context["token"], "map_accession": "Accession No",
        "map_patient_id": "MRN", "map_sex": "Gender", "map_age": "Age",
        "map_procedure_date": "Exam Date", "map_text": ["Findings"], "date_format": "dmy"})
    assert remapped.context["plan"].ok, remapped.context["plan"].errors
    client.post(url, {"confirm": "1", "token": remapped.context["token"]})
    job = ImportJob.objects.get()
    assert job.mapping["date_format"] == "dmy"
    assert job.mapping["columns"]["procedure_date"] == ["Exam Date"]
    job = services.import_job_run(job.pk)
    assert job.status == "succeeded", job.message
    assert Report.objects.get(accession="R2").procedure_date == datetime.date(2020, 4, 3)
    project.refresh_from_db()
    assert project.import_mapping["date_format"] == "dmy"  # remembered for the next file


# --- big previews: checked by a worker, never inside a request -------------------------------

@pytest.fixture
def checked_by_worker(background):
    background.CTIR_BACKGROUND_CHECK_ROWS = 3
    return background


def test_a_big_upload_is_checked_by_a_worker_then_previewed(login, project, admin_user,
                                                            checked_by_worker):
    client = login(admin_user)
    url = reverse("import_reports", args=[project.slug])
    page = client.post(url, {"file": SimpleUploadedFile("big.csv", rows_csv(5).encode())},
                       follow=True).content.decode()
    check = ImportJob.objects.get()
    assert check.check_only and check.status == "queued" and check.rows == 5
    assert "a worker is checking it" in page and "Checking big.csv" in page
    assert 'hx-trigger="every 1s"' in page and "plan" not in page.split("<h1>")[0]
    # A check writes nothing, so it never blocks an import of the project.
    services.import_busy_check(project=project)

    check = services.import_check_run(check.pk)  # what the worker's task calls
    assert check.status == "succeeded" and check.plan["rows"] == 5
    assert Path(check.staged).exists() and not Report.objects.exists()
    fragment = client.get(reverse("import_job", args=[project.slug, check.pk]),
                          headers={"HX-Request": "true"})
    assert fragment.status_code == 286 and f"?check={check.pk}" in fragment.content.decode()
    preview_page = client.get(url, {"check": check.pk})
    plan = preview_page.context["plan"]
    assert plan.ok and plan.rows == 5 and plan.new_reports == 5
    assert plan.preview[0]["accession"] == "B00000"
    assert "Import 5 reports" in preview_page.content.decode()
    client.post(url, {"confirm": "1", "token": preview_page.context["token"]})
    job = ImportJob.objects.get(check_only=False)
    assert services.import_job_run(job.pk).status == "succeeded"
    assert Report.objects.count() == 5


def test_a_checked_preview_with_problems_lists_them_and_offers_no_import(
        login, project, admin_user, checked_by_worker):
    client = login(admin_user)
    url = reverse("import_reports", args=[project.slug])
    bad = rows_csv(4) + "B9,BP9,F,50,2020-13-01,text,1\n"
    client.post(url, {"file": SimpleUploadedFile("bad.csv", bad.encode())})
    check = services.import_check_run(ImportJob.objects.get().pk)
    assert check.status == "rejected" and check.plan["errors_total"] == 1
    page = client.get(url, {"check": check.pk})
    assert not page.context["plan"].ok
    html = page.content.decode()
    assert "1 problem found" in html and "2020-13-01" in html and "Import 4" not in html
    # A crafted confirm with that preview's token queues nothing.
    client.post(url, {"confirm": "1", "token": page.context["token"]})
    assert not ImportJob.objects.filter(check_only=False).exists()


def test_only_the_uploader_sees_a_checked_preview(login, project, admin_user, outsider,
                                                  checked_by_worker):
    from annotation.models import Membership, Role

    client = login(admin_user)
    url = reverse("import_reports", args=[project.slug])
    client.post(url, {"file": SimpleUploadedFile("big.csv", rows_csv(5).encode())})
    check = services.import_check_run(ImportJob.objects.get().pk)
    Membership.objects.create(project=project, user=outsider, role=Role.ADMIN)
    assert login(outsider).get(url, {"check": check.pk}).status_code == 404
