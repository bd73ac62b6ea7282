from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation import services
from annotation.importing.columns import DATE_FORMATS, FIELDS, ColumnMapping, guess_mapping
from annotation.importing.formats import ImportFormatError, file_format
from annotation.importing.plan import estimate_rows, read_header
from annotation.management.commands._common import get_project


class TerminalProgress:
    """The import service's progress callback as two tqdm bars: rows checked, rows written."""

    def __init__(self, path: Path, stream, enabled: bool):
        self.stream, self.enabled = stream, enabled
        try:
            self.estimate = estimate_rows(path)
        except ImportFormatError:
            self.estimate = None  # the import itself names the problem and imports nothing
        self.bars: dict[str, tqdm] = {}

    def __call__(self, phase: str, done: int, total: int | None = None) -> None:
        if not self.enabled:
            return
        bar = self.bars.get(phase)
        if bar is None:
            self.close()  # the check is done: its bar ends at the rows it counted
            bar = self.bars[phase] = tqdm(
                total=total or self.estimate, desc=f"{phase:>8}", unit=" rows",
                file=self.stream, dynamic_ncols=True, mininterval=0.5)
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            if not bar.disable:
                bar.total = bar.n
                bar.close()


class Command(BaseCommand):
    help = ("Import reports from a CSV, JSON Lines, Excel (.xlsx), FHIR R4 (DiagnosticReports "
            "in a Bundle or NDJSON) or HL7 v2 (ORU^R01) file: all rows or, if one is bad, none.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--project", required=True, help="project slug, e.g. ct-ir")
        parser.add_argument("--no-progress", action="store_true",
                            help="no progress bars on the terminal")
        parser.add_argument(
            "--map", action="append", default=[], metavar="FIELD=COLUMN", dest="column_map",
            help="read FIELD from the file's COLUMN, e.g. --map 'procedure_date=Exam Date' or "
                 "--map 'text=Findings+Impression' (joined); the other fields are guessed from "
                 f"the column names. Fields: {', '.join(FIELDS)}")
        parser.add_argument(
            "--date-format", choices=list(DATE_FORMATS),
            help="how the file writes dates: iso (YYYY-MM-DD), dmy (DD/MM/YYYY) or mdy "
                 "(MM/DD/YYYY); never guessed. Default: iso, or the project's last choice for "
                 "the same date column")

    def handle(self, *args, file: Path, project: str, column_map=(), date_format=None,
               no_progress=False, **options):
        target = get_project(project)
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        mapping = self._mapping(target, file, list(column_map), date_format)
        # In this process, not on a worker: the bars go to stderr, the outcome to stdout.
        progress = TerminalProgress(file, self.stderr._out, enabled=not no_progress)
        try:
            result = services.reports_import(project=target, path=file, filename=file.name,
                                             mapping=mapping, progress=progress)
        except services.ImportBusy as exc:
            raise CommandError(str(exc)) from None
        except services.ImportRejected as exc:
            progress.close()
            for error in exc.plan.errors:
                self.stderr.write(f"{file.name}: {error}")
            raise CommandError(
                f"{len(exc.plan.errors)} problem(s) in {file.name}; nothing was imported"
            ) from None
        finally:
            progress.close()
        for warning in result.plan.warnings:
            self.stderr.write(f"warning: {warning}")
        if result.plan.mapping and result.plan.mapping.describe():
            self.stdout.write(f"Columns read: {result.plan.mapping.describe()}")
        self.stdout.write(result.message)

    def _mapping(self, project, file: Path, pairs: list[str], date_format: str | None):
        """None (guess it all) unless options were given; then the guess, overridden."""
        if not pairs and date_format is None:
            return None
        try:
            header = read_header(file, file_format(file.name, file))
        except ImportFormatError as exc:
            raise CommandError(str(exc)) from None
        guessed = guess_mapping(header, project.import_mapping)
        columns = dict(guessed.columns)
        for pair in pairs:
            name, sep, value = pair.partition("=")
            name = name.strip()
            if not sep or name not in FIELDS:
                raise CommandError(f"--map {pair!r}: expected FIELD=COLUMN with FIELD one of "
                                   f"{', '.join(FIELDS)}")
            sources = tuple(s.strip() for s in value.split("+")) if name == "text" else (
                value.strip(),)
            unknown = [s for s in sources if s not in header]
            if unknown:
                raise CommandError(f"--map {pair!r}: {file.name} has no column {unknown[0]!r} "
                                   f"(its columns: {', '.join(header)})")
            columns[name] = sources
        return ColumnMapping(columns, date_format or guessed.date_format)
