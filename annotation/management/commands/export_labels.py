import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation.exporting import EXPORT_FORMATS
from annotation.management.commands._common import get_project
from annotation.selectors import export_dataset, export_text


class Command(BaseCommand):
    help = ("Export the project's reports and labels: ctir's CSV or JSON Lines (one row per "
            "report with patient fields, split, reference label, annotations), Label Studio "
            "JSON, doccano or Prodigy JSON Lines, or a Hugging Face dataset (hf.zip, with "
            "--output).")

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True)
        parser.add_argument("--format", choices=list(EXPORT_FORMATS), default="csv")
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")
        parser.add_argument("--identifiers", action="store_true",
                            help="hf.zip: keep accession, patient ids and dates")

    def handle(self, *args, project, format, output=None, identifiers=False, **options):
        target = get_project(project)
        if format == "hf.zip":
            if not output:
                raise CommandError("hf.zip is a zip file: give --output FILE")
            with open(output, "wb") as handle:
                export_dataset(target, handle, folder=Path(output).name.removesuffix(".zip")
                               .removesuffix(".hf"), identifiers=identifiers)
            return
        handle = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            for chunk in export_text(target, format):
                handle.write(chunk)
        finally:
            if output:
                handle.close()
