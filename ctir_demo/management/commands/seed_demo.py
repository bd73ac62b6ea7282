import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import transaction

from annotation import services
from annotation.importing import ParsedRow
from annotation.management.commands._common import get_project
from annotation.models import Project, Report, Role
from ctir_demo import pancreas
from ctir_demo.cohort import generate_cohort, generate_reports
from ctir_demo.japanese import (
    generate_japanese_cohort,
    generate_japanese_reports,
    generate_mixed_cohort,
    generate_mixed_reports,
)
from ctir_demo.study import seed_study
from ctir_demo.users import DEMO_USERS


class Command(BaseCommand):
    help = "Build the synthetic 1605-patient CT-guided IR cohort and the demo users."

    def add_arguments(self, parser):
        parser.add_argument("--project", default="ct-ir")
        parser.add_argument("--seed", type=int, default=2025)
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if the project has reports"
        )
        parser.add_argument(
            "--language", choices=LANGUAGES, default="en",
            help="en: English reports; ja: Japanese; mixed: each report English or Japanese",
        )
        parser.add_argument(
            "--demo-users", action="store_true",
            help="create the demo logins even with DEBUG off (published passwords, one of "
            "them a superuser): only on a machine nobody else can reach",
        )

    def handle(self, *args, project, seed, if_empty, language="en", demo_users=False,
               **options):
        target = get_project(project)
        has_reports = Report.objects.filter(project=target).exists()
        if has_reports and if_empty:
            self.stdout.write(f"{target.slug} already has reports; demo cohort not added.")
        elif has_reports:
            self.stdout.write(f"{target.slug} already has reports; the demo cohort is only "
                              "added to an empty project.")
        else:
            created = seed_cohort(target, seed, language)
            incoming = seed_incoming(target, seed, language)
            # English keeps its original wording; other languages say which was seeded.
            where = "" if language == "en" else f" ({LANGUAGES[language]}, --language {language})"
            self.stdout.write(f"Demo cohort{where}: {created} reports with reference labels, "
                              "split 1142 / 131 / 332 by date, and "
                              f"{incoming} newer unlabelled reports waiting in the labeling queue.")
        logins = settings.DEBUG or demo_users
        if logins:
            seed_users(target)
        seed_study(project=target)
        self.stdout.write(seed_pancreas(seed, users=logins))
        if not logins:
            self.stdout.write(self.style.WARNING(NO_DEMO_USERS))
            return
        self.stdout.write("Demo logins (local use only):")
        for username, password, role in DEMO_USERS:
            self.stdout.write(f"  {role:<10} {username:<11} password {password}")


# The demo logins' passwords are in this file and the README, and `admin` is a superuser: on
# a server they would be anyone's way in, so outside DEBUG they need the explicit flag.
NO_DEMO_USERS = (
    "DEBUG is off, so no demo logins were created or changed (their passwords are published "
    "and admin is a superuser), and no demo reader study was opened. On a machine only you "
    "can reach, run seed_demo --demo-users; on a server, create real accounts with "
    "manage.py createsuperuser and the Django admin."
)


INCOMING_REPORTS = 200
LANGUAGES = {"en": "English", "ja": "Japanese", "mixed": "English and Japanese"}
_COHORTS = {"en": generate_cohort, "ja": generate_japanese_cohort, "mixed": generate_mixed_cohort}
_INCOMING = {"en": generate_reports, "ja": generate_japanese_reports,
             "mixed": generate_mixed_reports}


def seed_cohort(project, seed: int, language: str = "en") -> int:
    return _write(project, _COHORTS[language](seed), with_labels=True)


def seed_incoming(project, seed: int, language: str = "en") -> int:
    """Reports after the study period, without labels: what annotators work on in the demo."""
    rows = _INCOMING[language](INCOMING_REPORTS, seed + 1, start=datetime.date(2024, 12, 1),
                               end=datetime.date(2025, 10, 31))
    return _write(project, rows, with_labels=False)


def _write(project, cohort_rows, with_labels: bool) -> int:
    rows = (
        ParsedRow(
            line=i, accession=r.accession, patient_id=r.patient_id, sex=r.sex, age=r.age,
            procedure_date=r.procedure_date, text=r.text,
            label=r.label if with_labels else None, split=r.split,
        )
        for i, r in enumerate(cohort_rows, start=1)
    )
    with transaction.atomic():
        created, _, _ = services.reports_write(
            project=project, rows=rows, batch=None, user=None, reason="demo cohort"
        )
    return created


PANCREAS_SLUG = "pancreas-ca"
PANCREAS_INCOMING = 40


def seed_pancreas(seed: int, users: bool = True) -> str:
    """The second demo task, binary, in its own project (added once; its users as in the
    first, when `users`); returns what to tell the user."""
    project = Project.objects.filter(slug=PANCREAS_SLUG).first()
    if project is None:
        project = services.project_create(
            name="Pretreatment pancreatic cancer (CT)", slug=PANCREAS_SLUG,
            description="Binary: does this CT report stage a pancreatic cancer before "
                        "treatment?", guideline=pancreas.GUIDELINE,
            categories=[{"code": code, "name": name, "description": description, "key": key,
                         "colour": colour}
                        for code, name, description, key, colour in pancreas.CATEGORIES])
    if users:
        seed_users(project)
    if Report.objects.filter(project=project).exists():
        return f"Second demo task {PANCREAS_SLUG}: already has reports, left as it is."
    created = _write(project, pancreas.generate_pancreas_cohort(seed), with_labels=True)
    incoming = _write(project, pancreas.generate_pancreas_reports(
        PANCREAS_INCOMING, seed + 1, start=datetime.date(2024, 7, 1),
        end=datetime.date(2025, 10, 31)), with_labels=False)
    return (f"Second demo task {PANCREAS_SLUG} (yes/no, keys Y and N): {created} labelled "
            f"reports and {incoming} waiting in its labeling queue.")


def seed_users(project):
    for username, password, role in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"is_staff": role == Role.ADMIN, "is_superuser": role == Role.ADMIN},
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        services.membership_set(project=project, user=user, role=role)
