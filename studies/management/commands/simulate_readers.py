from django.core.management.base import BaseCommand, CommandError

from studies import services as studies
from studies.models import ReaderStudy


class Command(BaseCommand):
    help = "Add simulated readers to a study (marked as simulated everywhere)."

    def add_arguments(self, parser):
        parser.add_argument("study", type=int)
        parser.add_argument("--readers", type=int, default=2)
        parser.add_argument("--error-rate", type=float, default=0.07)
        parser.add_argument("--seconds-per-case", type=float, default=20.0)
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, study, readers, error_rate, seconds_per_case, seed, **options):
        target = ReaderStudy.objects.filter(pk=study).first()
        if target is None:
            raise CommandError(f"no study {study}")
        if not 0 <= error_rate <= 1 or seconds_per_case <= 0 or readers < 1:
            raise CommandError("need --readers >= 1, 0 <= --error-rate <= 1, "
                               "--seconds-per-case > 0")
        sessions = studies.simulate_readers(
            study=target, count=readers, error_rate=error_rate,
            seconds_per_case=seconds_per_case, seed=seed,
        )
        names = ", ".join(s.user.username for s in sessions)
        self.stdout.write(f"Added {len(sessions)} simulated readers to “{target.name}”: {names}")
