import io
import re
from collections import Counter

from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import Count

from annotation.models import Membership, Patient, Report
from ctir_demo.cohort import STUDY_COUNTS
from studies.models import ReaderStudy


def test_seed_demo_builds_the_study_cohort(project):
    out = io.StringIO()
    call_command("seed_demo", "--demo-users", stdout=out)
    cohort = Report.objects.filter(project=project).exclude(split="unassigned")
    counts = {
        (row["split"], row["reference_label__category__code"]): row["n"]
        for row in cohort.values("split", "reference_label__category__code")
        .annotate(n=Count("id"))
    }
    expected = {(split, code): n for split, by_code in STUDY_COUNTS.items()
                for code, n in by_code.items()}
    assert counts == expected
    assert Patient.objects.filter(reports__in=cohort).distinct().count() == 1605
    # Chronological: every train report precedes every validation report, and so on.
    last_train = cohort.filter(split="train").latest("procedure_date").procedure_date
    first_val = cohort.filter(split="validation").earliest("procedure_date").procedure_date
    last_val = cohort.filter(split="validation").latest("procedure_date").procedure_date
    first_test = cohort.filter(split="test").earliest("procedure_date").procedure_date
    assert last_train <= first_val and last_val <= first_test
    incoming = Report.objects.filter(project=project, split="unassigned")
    assert incoming.count() == 200 and not incoming.filter(reference_label__isnull=False).exists()
    assert set(Membership.objects.values_list("user__username", "role")) >= {
        ("admin", "admin"), ("annotator1", "annotator"), ("annotator2", "annotator"),
        ("reader1", "reader"), ("reader2", "reader")}
    study = ReaderStudy.objects.get()
    assert study.status == "open" and study.cases.count() == 332
    assert "annotator1  password ctir-annotator1" in out.getvalue()
    # The second, binary demo task, in its own project; the first cohort is as it was.
    assert "Second demo task pancreas-ca" in out.getvalue()
    assert Report.objects.filter(project__slug="pancreas-ca").count() == 280
    again = io.StringIO()
    call_command("seed_demo", "--if-empty", "--demo-users", stdout=again)
    assert "already has reports" in again.getvalue()
    assert Report.objects.filter(project=project).count() == 1805
    assert ReaderStudy.objects.count() == 1


def test_seed_demo_seeds_japanese_reports_with_language_ja(project):
    out = io.StringIO()
    call_command("seed_demo", "--language", "ja", stdout=out)
    assert "Japanese" in out.getvalue() and "--language ja" in out.getvalue()
    reports = Report.objects.filter(project=project)
    assert reports.count() == 1805
    japanese = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    assert all(japanese.search(t) for t in reports.values_list("text", flat=True))
    assert all(a.startswith(("JIR", "JEXT")) for a in reports.values_list("accession", flat=True))
    cohort = reports.exclude(split="unassigned")
    counts = Counter(cohort.values_list("split", "reference_label__category__code"))
    assert counts == {(split, code): n for split, by_code in STUDY_COUNTS.items()
                      for code, n in by_code.items()}
    assert reports.filter(split="unassigned", reference_label__isnull=True).count() == 200


def test_seed_demo_language_mixed_writes_both_languages(project):
    out = io.StringIO()
    call_command("seed_demo", "--language", "mixed", stdout=out)
    assert "English and Japanese" in out.getvalue()
    texts = list(Report.objects.filter(project=project).values_list("text", flat=True))
    japanese = sum(bool(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", t)) for t in texts)
    assert len(texts) == 1805 and 0.4 < japanese / len(texts) < 0.6


def test_seed_demo_makes_no_superuser_outside_debug_unless_asked(project, settings):
    settings.DEBUG = False
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "DEBUG is off, so no demo logins were created" in out.getvalue()
    assert "--demo-users" in out.getvalue() and "ctir-admin" not in out.getvalue()
    assert not User.objects.exists() and not ReaderStudy.objects.exists()
    assert Report.objects.filter(project=project).count() == 1805
    assert Report.objects.filter(project__slug="pancreas-ca").count() == 280
    # An existing account of that name is never made superuser nor given the demo password.
    admin = User.objects.create_user("admin", password="their-own-password")
    call_command("seed_demo", stdout=io.StringIO())
    admin.refresh_from_db()
    assert not admin.is_superuser and admin.check_password("their-own-password")
    settings.DEBUG = True  # make run: the demo logins, as before
    call_command("seed_demo", "--if-empty", stdout=io.StringIO())
    assert User.objects.get(username="reader1").check_password("ctir-reader1")
    assert ReaderStudy.objects.get().status == "open"
