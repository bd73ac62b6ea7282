import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation.importing import ImportPlan, RowChecker, file_format, iter_checked_rows
from annotation.management.commands._common import get_project
from modeling.ml.metrics import classification_metrics
from modeling.models import JobStatus, ModelVersion


class Command(BaseCommand):
    help = "Score a model version on an external labelled CSV/JSONL (the import format)."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True)
        parser.add_argument("--model", type=int, help="version number (default: the active one)")
        parser.add_argument("--file", required=True, type=Path)

    def handle(self, *args, project, model, file: Path, **options):
        from modeling.ml.inference import Classifier

        target = get_project(project)
        versions = ModelVersion.objects.filter(project=target, status=JobStatus.SUCCEEDED)
        version = (versions.filter(number=model) if model else versions.filter(is_active=True))
        version = version.first()
        if version is None:
            raise CommandError(f"no trained version {model}" if model else "no active model; "
                               "pass --model N or promote one")
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        plan = ImportPlan(filename=file.name)
        try:
            rows = list(iter_checked_rows(file, file_format(file.name), RowChecker(target), plan))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        unlabeled = [r.line for r in rows if r.label is None]
        if unlabeled:
            plan.errors.append(f"line {unlabeled[0]}, column label: every row needs a label "
                               f"({len(unlabeled)} rows have none)")
        if plan.errors:
            for error in plan.errors[:50]:
                self.stderr.write(f"{file.name}: {error}")
            raise CommandError(f"{len(plan.errors)} problem(s) in {file.name}")
        began = time.perf_counter()
        classifier = Classifier.load(version.artifact_dir)
        load_s = time.perf_counter() - began
        began = time.perf_counter()
        outputs = classifier.predict([r.text for r in rows])
        predict_s = time.perf_counter() - began
        metrics = classification_metrics(
            [r.label for r in rows], [o["category"] for o in outputs], classifier.labels
        )
        self.stdout.write(json.dumps({
            "model": version.number, "file": file.name, "n": metrics["n"],
            "accuracy": metrics["accuracy"], "accuracy_ci": metrics["accuracy_ci"],
            "macro_f1": metrics["macro_f1"], "confusion": metrics["confusion"],
            "labels": metrics["labels"], "per_category": metrics["per_category"],
            "ms_per_report": 1000 * predict_s / max(len(rows), 1),
            "model_load_s": round(load_s, 3),
        }))
