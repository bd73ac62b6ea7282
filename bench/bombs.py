"""The audit's heavy files, at their real sizes, through the import page, the API and
`manage.py import_reports`: how long each takes to be refused (or handed to a worker), and
what the admin reads. Results go to docs/reliability.md.

    .venv/bin/python bench/bombs.py

Files (made here, in a temporary folder):
- sheet bomb: a 1.1 MB-ish .xlsx whose first sheet expands to about 384 MB;
- shared-strings bomb: a few hundred KB whose sharedStrings.xml expands to about 153 MB;
- big CSV: 200,000 rows (about 10 MB), which the page now previews on a worker.
"""

import io
import tempfile
import time
import zipfile
from pathlib import Path

from _setup import django_setup, machine

NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
HEADER = ["accession", "patient_id", "sex", "age", "procedure_date", "text"]


def _workbook(path: Path, part: str, payload_chunks) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append(["A1", "P1", "F", 50, "2020-01-01", "CT-guided drainage"])
    source = path.with_suffix(".source.xlsx")
    book.save(source)
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(
            path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as new:
        for item in old.infolist():
            if item.filename != part:
                new.writestr(item.filename, old.read(item))
        with new.open(part, "w", force_zip64=True) as handle:
            for chunk in payload_chunks:
                handle.write(chunk)
    source.unlink()
    return path


def sheet_bomb(folder: Path) -> Path:
    """Twenty rows of 600,000 identical cells each: about 400 MB of sheet XML."""
    cell = b'<c t="inlineStr"><is><t>x</t></is></c>'

    def chunks():
        yield b'<?xml version="1.0"?><worksheet ' + NS + b"><sheetData>"
        for i in range(1, 21):
            yield b'<row r="%d">' % i
            for _ in range(6):
                yield cell * 100_000
            yield b"</row>"
        yield b"</sheetData></worksheet>"
    return _workbook(folder / "sheet-bomb.xlsx", "xl/worksheets/sheet1.xml", chunks())


def strings_bomb(folder: Path) -> Path:
    def chunks():
        yield b'<?xml version="1.0"?><sst ' + NS + b">"
        item = b"<si><t>" + b"A" * 1000 + b"</t></si>"
        for _ in range(150):
            yield item * 1000
        yield b"</sst>"
    return _workbook(folder / "strings-bomb.xlsx", "xl/sharedStrings.xml", chunks())


def big_csv(folder: Path) -> Path:
    path = folder / "big-200k.csv"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(",".join(HEADER) + "\n")
        for i in range(200_000):
            handle.write(f"B{i:06d},BP{i:06d},F,50,2020-01-{i % 28 + 1:02d},"
                         f"CT-guided drainage of collection {i}\n")
    return path


def main():
    import os

    # A Redis database of its own: the big CSV's check job must not reach a `make run` worker.
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/11")
    django_setup(fresh=True)
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse
    from rest_framework.test import APIClient

    from accounts.services import token_create
    from annotation.models import ImportJob, Membership, Project, Report, Role

    project = Project.objects.get(slug="ct-ir")
    admin = User.objects.create_user("bench-admin", password="x")
    Membership.objects.create(project=project, user=admin, role=Role.ADMIN)
    page = Client()
    page.force_login(admin)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=admin, name='b')[1]}")
    url = reverse("import_reports", args=[project.slug])
    api_url = reverse("api_reports", args=[project.slug])
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for make in (sheet_bomb, strings_bomb, big_csv):
            began = time.perf_counter()
            path = make(folder)
            with zipfile.ZipFile(path) if path.suffix == ".xlsx" else _null() as archive:
                expanded = sum(p.file_size for p in archive.infolist()) if archive else (
                    path.stat().st_size)
            print(f"\n{path.name}: {path.stat().st_size / 1e6:.2f} MB on disk, "
                  f"{expanded / 1e6:.0f} MB expanded (made in {time.perf_counter() - began:.0f}"
                  " s)")
            data = path.read_bytes()
            began = time.perf_counter()
            response = page.post(url, {"file": SimpleUploadedFile(path.name, data)},
                                 follow=True)
            seconds = time.perf_counter() - began
            import re

            refused = re.search(r'<table class="errors">.*?<td>([^<]+)</td></tr>',
                                response.content.decode(), re.S)
            check = ImportJob.objects.filter(check_only=True).order_by("-pk").first()
            said = (f"refused: {refused.group(1)}" if refused else
                    f"handed to a worker (check job {check.pk}, {check.rows:,} rows estimated)"
                    if check else "previewed in the request")
            print(f"  page:    {seconds:6.2f} s  {response.status_code}  {said[:160]}")
            upload = io.BytesIO(data)
            upload.name = path.name
            began = time.perf_counter()
            answer = api.post(api_url, {"file": upload}, format="multipart")
            seconds = time.perf_counter() - began
            print(f"  API:     {seconds:6.2f} s  {answer.status_code}  "
                  f"{answer.json().get('detail', '')[:160]}")
            ImportJob.objects.filter(check_only=False).update(status="failed")
            if path.suffix == ".xlsx":
                err = io.StringIO()
                began = time.perf_counter()
                try:
                    call_command("import_reports", str(path), "--project", project.slug,
                                 "--no-progress", stderr=err, stdout=io.StringIO())
                except Exception as exc:  # CommandError: refused
                    said = f"{exc}: {err.getvalue().strip()[:140]}"
                else:
                    said = "imported"
                print(f"  command: {time.perf_counter() - began:6.2f} s  {said[:200]}")
    assert not Report.objects.filter(project=project).exists()


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main()
