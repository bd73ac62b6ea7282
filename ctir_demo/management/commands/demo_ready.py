"""What `make run` does before it starts the web process and the worker."""

import io

from django.core.management import call_command
from django.core.management.base import BaseCommand

from modeling import selectors


class Command(BaseCommand):
    help = ("Seed the demo if the database is empty, then give every project without a model "
            "whose labels allow one its fast (TF-IDF) model, promoted and pre-labelled, so "
            "annotators see suggestions from their first report.")

    def add_arguments(self, parser):
        parser.add_argument("--demo-users", action="store_true",
                            help="as seed_demo: the demo logins even with DEBUG off")

    def handle(self, *args, demo_users=False, **options):
        call_command("seed_demo", if_empty=True, demo_users=demo_users, stdout=self.stdout,
                     stderr=self.stderr)
        for project in selectors.projects_without_a_model().order_by("slug"):
            short = selectors.first_model_shortfall(project)
            if short:
                self.stdout.write(f"{project.slug}: no model yet, waiting for labels ({short}); "
                                  "it trains by itself once they are in.")
                continue
            self.stdout.write(f"{project.slug}: training its first model (fast, TF-IDF)")
            # The version's JSON summary is for scripts; the progress lines go to stderr.
            call_command("train", project=project.slug, fast=True, promote=True, prelabel=True,
                         if_no_model=True, stdout=io.StringIO(), stderr=self.stderr)
