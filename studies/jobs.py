"""The model's side of a reader study, run on a worker: plain functions of ids.

Only workers and management commands import this module; it pulls in torch.
"""

import socket
import time

from django.utils import timezone

from modeling.ml.inference import Classifier
from modeling.models import JobStatus, ModelVersion

from .models import ReaderStudy


def time_study_model(study_id: int) -> dict:
    """Run the study's model version over its cases, timing model loading apart."""
    study = ReaderStudy.objects.get(pk=study_id)
    # The services check this too; a version deleted or swapped since must still never be
    # loaded for another project's study.
    version = ModelVersion.objects.filter(
        pk=study.model_version_id, project_id=study.project_id, status=JobStatus.SUCCEEDED,
    ).first()
    if version is None:
        job = {"status": "failed", "error": "The study's model version is not a trained "
               "model of this project; choose another and time it again."}
        ReaderStudy.objects.filter(pk=study_id).update(
            model_timing={**(study.model_timing or {}), "job": job})
        raise ValueError(job["error"])
    cases = list(study.cases.order_by("pk").values_list("pk", "report__text"))
    began = time.perf_counter()
    classifier = Classifier.load(version.artifact_dir)
    load_s = time.perf_counter() - began
    began = time.perf_counter()
    outputs = classifier.predict([text for _, text in cases])
    total_s = time.perf_counter() - began
    timing = {
        "model_version": version.number, "n": len(cases), "load_s": load_s, "total_s": total_s,
        "answers": {str(pk): out["category"] for (pk, _), out in zip(cases, outputs,
                                                                        strict=True)},
        "per_case_ms": {str(pk): out["ms"] for (pk, _), out in zip(cases, outputs,
                                                                      strict=True)},
        "worker": socket.gethostname(), "measured_at": timezone.now().isoformat(),
    }
    ReaderStudy.objects.filter(pk=study_id).update(model_timing=timing)
    return timing
