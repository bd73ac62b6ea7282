from django.core.management.base import BaseCommand, CommandError

from annotation.management.commands._common import get_project
from core.models import JobStatus
from modeling import services


class Command(BaseCommand):
    help = "Pre-label every report without a prediction from the active model, in this process."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True)

    def handle(self, *args, project, **options):
        from modeling.jobs import prelabel

        target = get_project(project)
        try:
            run = services.prelabel_request(project=target, enqueue=False)
        except services.JobError as exc:
            raise CommandError(str(exc)) from None
        if run.status != JobStatus.QUEUED:
            raise CommandError("a pre-labeling run of this model is already in progress")
        run = prelabel(run.pk, echo=self.stderr.write)
        if run.status != JobStatus.SUCCEEDED:
            raise CommandError(f"pre-labeling failed: {run.error}")
        rate = f" at {run.reports_per_second:.0f} reports/s" if run.reports_per_second else ""
        self.stdout.write(f"Pre-labelled {run.done} reports with "
                          f"v{run.model_version.number}{rate}.")
