import json

from django.core.management.base import BaseCommand, CommandError

from annotation.management.commands._common import get_project
from modeling import services
from modeling.models import JobStatus


class Command(BaseCommand):
    help = "Fine-tune a model version in this process (no worker needed); prints progress, " \
           "then one JSON line with the metrics."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True)
        parser.add_argument("--epochs", type=int)
        parser.add_argument("--seeds", type=int)
        parser.add_argument("--max-length", type=int)
        parser.add_argument("--promote", action="store_true",
                            help="make the new version the active model when it succeeds")

    def handle(self, *args, project, epochs, seeds, max_length, promote, **options):
        from modeling.jobs import train_version  # torch loads only when a command trains

        target = get_project(project)
        try:
            recipe = services.recipe_clean(epochs=epochs, seeds=seeds, max_length=max_length)
        except services.JobError as exc:
            raise CommandError(str(exc)) from None
        version = services.model_version_create(project=target, recipe=recipe, enqueue=False)
        self.stderr.write(f"Training {target.slug} v{version.number} with {recipe}")
        version = train_version(version.pk, echo=self.stderr.write)
        if version.status != JobStatus.SUCCEEDED:
            raise CommandError(f"v{version.number} {version.status}: {version.error}")
        if promote:
            services.model_version_promote(version=version, prelabel=False)
            self.stderr.write(f"v{version.number} is now active; run `manage.py prelabel "
                              f"--project {target.slug}` to pre-label with it.")
        metrics = version.metrics
        self.stdout.write(json.dumps({
            "version": version.number, "active": promote,
            "duration_s": round(version.duration_seconds or 0, 1),
            "validation": _short(metrics.get("validation")), "test": _short(metrics.get("test")),
            "baseline": {k: _short(v) for k, v in (metrics.get("baseline") or {}).items()},
            "best_seed": metrics.get("best_seed"), "best_epoch": metrics.get("best_epoch"),
        }))


def _short(block):
    if not block:
        return None
    return {k: block[k] for k in ("n", "accuracy", "accuracy_ci", "macro_f1", "confusion")}
