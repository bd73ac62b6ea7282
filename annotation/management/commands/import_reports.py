from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation import services
from annotation.importing import estimate_rows
from annotation.management.commands._common import get_project


class TerminalProgress:
    """The import service's progress callback as two tqdm bars: rows checked, rows written."""

    def __init__(self, path: Path, stream, enabled: bool):
        self.stream, self.enabled = stream, enabled
        self.estimate = estimate_rows(path)
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
    help = "Import reports from a CSV or JSON Lines file: all rows or, if one is bad, none."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--project", required=True, help="project slug, e.g. ct-ir")
        parser.add_argument("--no-progress", action="store_true",
                            help="no progress bars on the terminal")

    def handle(self, *args, file: Path, project: str, no_progress=False, **options):
        target = get_project(project)
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        # In this process, not on a worker: the bars go to stderr, the outcome to stdout.
        progress = TerminalProgress(file, self.stderr._out, enabled=not no_progress)
        try:
            result = services.reports_import(project=target, path=file, filename=file.name,
                                             progress=progress)
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
        self.stdout.write(result.message)
