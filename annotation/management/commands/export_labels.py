import sys

from django.core.management.base import BaseCommand

from annotation.exporting import export_lines
from annotation.management.commands._common import get_project
from annotation.selectors import export_rows


class Command(BaseCommand):
    help = "Export one row per report with patient fields, split, reference label, annotations."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True)
        parser.add_argument("--format", choices=["csv", "jsonl"], default="csv")
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")

    def handle(self, *args, project, format, output=None, **options):
        columns, rows = export_rows(get_project(project))
        handle = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            for chunk in export_lines(format, columns, rows):
                handle.write(chunk)
        finally:
            if output:
                handle.close()
