import json

from django.core.management.base import BaseCommand, CommandError

from annotation.management.commands._common import get_project
from core.models import JobStatus
from modeling import services


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
        parser.add_argument("--fast", action="store_true",
                            help="the TF-IDF candidate alone: seconds, no BERT (a first model, "
                                 "or one between full retrains)")
        parser.add_argument("--prelabel", action="store_true",
                            help="with --promote: pre-label the project with it, in this process")
        parser.add_argument("--if-no-model", action="store_true",
                            help="do nothing when the project already has an active model "
                                 "(make run uses it to give the demo suggestions at once)")

    def handle(self, *args, project, epochs, seeds, max_length, promote, fast=False,
               if_no_model=False, prelabel=False, **options):
        from modeling.jobs import train_version  # torch loads only when a command trains

        target = get_project(project)
        if if_no_model and target.model_versions.filter(is_active=True).exists():
            self.stderr.write(f"{target.slug} has an active model; nothing to train.")
            return
        try:
            recipe = services.recipe_clean(epochs=epochs, seeds=seeds, max_length=max_length)
        except services.JobError as exc:
            raise CommandError(str(exc)) from None
        version = services.model_version_create(project=target, recipe=recipe, enqueue=False,
                                                fast=fast)
        self.stderr.write(f"Training {target.slug} v{version.number} with "
                          f"{'the fast path (TF-IDF)' if fast else recipe}")
        version = train_version(version.pk, echo=self.stderr.write)
        if version.status != JobStatus.SUCCEEDED:
            raise CommandError(f"v{version.number} {version.status}: {version.error}")
        if promote:
            services.model_version_promote(version=version, prelabel=False)
            if prelabel:
                from django.core.management import call_command

                call_command("prelabel", project=target.slug, stdout=self.stderr,
                             stderr=self.stderr)
            else:
                self.stderr.write(f"v{version.number} is now active; run `manage.py prelabel "
                                  f"--project {target.slug}` to pre-label with it.")
        metrics = version.metrics
        self._report(metrics)
        self.stdout.write(json.dumps({
            "version": version.number, "active": promote,
            "duration_s": round(version.duration_seconds or 0, 1),
            "validation": _short(metrics.get("validation")), "test": _short(metrics.get("test")),
            "baseline": {k: _short(v) for k, v in (metrics.get("baseline") or {}).items()},
            "served": metrics.get("served"),
            "candidates": {name: {"validation": _short(c.get("validation")),
                                  "test": _short(c.get("test")), "ece_test": c.get("ece_test")}
                           for name, c in (metrics.get("candidates") or {}).items()},
            "coverage": metrics.get("coverage"),
            "best_seed": metrics.get("best_seed"), "best_epoch": metrics.get("best_epoch"),
        }))

    def _report(self, metrics: dict) -> None:
        """A table of the candidates on stderr, the served one marked, and any warning."""
        self.stderr.write(f"{'candidate':<10} {'validation':>10} {'test':>7} {'ECE test':>9}")
        for name, c in (metrics.get("candidates") or {}).items():
            mark = "  <- served" if name == metrics.get("served") else ""
            self.stderr.write(f"{name:<10} {_acc(c.get('validation')):>10} "
                              f"{_acc(c.get('test')):>7} {_num(c.get('ece_test')):>9}{mark}")
        coverage = metrics.get("coverage") or {}
        if coverage.get("poor"):
            self.stderr.write(self.style.WARNING(f"Warning: {coverage['warning']}"))


def _acc(block) -> str:
    return f"{block['accuracy']:.3f}" if block and block.get("accuracy") is not None else "-"


def _num(value) -> str:
    return f"{value:.3f}" if value is not None else "-"


def _short(block):
    if not block:
        return None
    return {k: block[k] for k in ("n", "accuracy", "accuracy_ci", "macro_f1", "confusion")}
