from django.core.management.base import BaseCommand, CommandError

from annotation import selectors, services
from annotation.management.commands._common import get_project


class Command(BaseCommand):
    help = "Split reports chronologically into train / validation / test by procedure date."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True)
        parser.add_argument("--train", type=int)
        parser.add_argument("--val", type=int)
        parser.add_argument("--test", type=int)
        parser.add_argument("--fractions", type=float, nargs=3, metavar=("TRAIN", "VAL", "TEST"))
        parser.add_argument(
            "--only-unassigned", action="store_true",
            help="keep splits already set (e.g. given in the import file); split the rest",
        )

    def handle(self, *args, project, train, val, test, fractions, only_unassigned, **options):
        counts = (train, val, test)
        if fractions and any(c is not None for c in counts):
            raise CommandError("give either --train/--val/--test or --fractions, not both")
        if not fractions and any(c is None for c in counts):
            raise CommandError("give all three of --train, --val, --test, or --fractions")
        try:
            result = services.splits_assign(
                project=get_project(project), counts=None if fractions else counts,
                fractions=tuple(fractions) if fractions else None,
                only_unassigned=only_unassigned,
            )
        except services.SplitError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            "Assigned chronologically: "
            + ", ".join(f"{name} {n}" for name, n in result.items())
        )
        if undated := selectors.undated_count(get_project(project)):
            self.stdout.write(
                f"Left out: {undated} report{'s' if undated != 1 else ''} without a procedure "
                "date (they keep their split; import them again with their dates, then split "
                "again)")
