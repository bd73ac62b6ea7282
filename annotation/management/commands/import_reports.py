from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation import services
from annotation.management.commands._common import get_project


class Command(BaseCommand):
    help = "Import reports from a CSV or JSON Lines file: all rows or, if one is bad, none."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--project", required=True, help="project slug, e.g. ct-ir")

    def handle(self, *args, file: Path, project: str, **options):
        target = get_project(project)
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            result = services.reports_import(project=target, path=file, filename=file.name)
        except services.ImportRejected as exc:
            for error in exc.plan.errors:
                self.stderr.write(f"{file.name}: {error}")
            raise CommandError(
                f"{len(exc.plan.errors)} problem(s) in {file.name}; nothing was imported"
            ) from None
        for warning in result.plan.warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(result.message)
