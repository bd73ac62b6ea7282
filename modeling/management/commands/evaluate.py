import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation.importing import ImportPlan, RowChecker, file_format, iter_checked_rows
from annotation.management.commands._common import get_project
from core.models import JobStatus
from modeling.ml.metrics import classification_metrics
from modeling.models import ModelVersion


class Command(BaseCommand):
    help = ("Score a model version's served candidate (or all of them) on an external "
            "labelled CSV/JSONL (the import format).")

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True)
        parser.add_argument("--model", type=int, help="version number (default: the active one)")
        parser.add_argument("--file", required=True, type=Path)
        parser.add_argument("--all-candidates", action="store_true",
                            help="score every candidate of the version, not only the served one")

    def handle(self, *args, project, model, file: Path, all_candidates, **options):
        from modeling.ml.candidates import CANDIDATES
        from modeling.ml.inference import served_candidate

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
            rows = list(iter_checked_rows(file, file_format(file.name, file), RowChecker(target),
                                          plan))
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
        # Only the name: each candidate scored below loads its own members once.
        served = served_candidate(version.artifact_dir)
        names = [served] + ([n for n in CANDIDATES if n != served] if all_candidates else [])
        scores = {name: _score(version.artifact_dir, name, rows) for name in names}
        result = dict(scores[served])
        result.update({"model": version.number, "file": file.name, "served": served})
        if all_candidates:
            result["candidates"] = {
                name: {k: s[k] for k in ("accuracy", "accuracy_ci", "macro_f1", "ms_per_report")}
                for name, s in scores.items()
            }
        self.stdout.write(json.dumps(result))


def _score(model_dir, candidate: str, rows) -> dict:
    from modeling.ml.inference import Classifier

    began = time.perf_counter()
    classifier = Classifier.load(model_dir, candidate=candidate)
    load_s = time.perf_counter() - began
    began = time.perf_counter()
    outputs = classifier.predict([r.text for r in rows])
    predict_s = time.perf_counter() - began
    metrics = classification_metrics(
        [r.label for r in rows], [o["category"] for o in outputs], classifier.labels
    )
    return {
        "n": metrics["n"], "accuracy": metrics["accuracy"],
        "accuracy_ci": metrics["accuracy_ci"], "macro_f1": metrics["macro_f1"],
        "confusion": metrics["confusion"], "labels": metrics["labels"],
        "per_category": metrics["per_category"],
        "ms_per_report": 1000 * predict_s / max(len(rows), 1),
        "model_load_s": round(load_s, 3),
    }
