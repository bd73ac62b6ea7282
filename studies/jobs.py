"""The model's side of a reader study, run on a worker: plain functions of ids.

Only workers and management commands import this module; it pulls in torch.
"""

import os
import platform
import socket
import time

import torch
from django.utils import timezone

from core.models import JobStatus
from modeling.ml.inference import Classifier
from modeling.models import ModelVersion

from .models import ModelTimingRun, ReaderStudy

CHUNK = 32  # cases between progress writes: often enough to watch, rare enough not to cost


def hardware(device) -> str:
    """What the model ran on, for the methods section: the GPU's name, or the CPU's."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"GPU {torch.cuda.get_device_name(device)}"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"CPU {cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def time_study_model(study_id: int, run_id: int | None = None) -> dict:
    """Run the study's model version over its cases, timing model loading apart.

    With a run (the tracked job the results page starts), its state, progress and hardware
    are written as it goes; without one (``study_report --measure-model``) it just runs.
    """
    study = ReaderStudy.objects.get(pk=study_id)
    runs = ModelTimingRun.objects.filter(pk=run_id)
    run = runs.first()
    # The services check this too; a version deleted or swapped since must still never be
    # loaded for another project's study.
    version = ModelVersion.objects.filter(
        pk=run.model_version_id if run else study.model_version_id,
        project_id=study.project_id, status=JobStatus.SUCCEEDED,
    ).first()
    if version is None:
        error = ("The study's model version is not a trained model of this project; choose "
                 "another and time it again.")
        if run_id is not None:
            runs.update(status=JobStatus.FAILED, finished_at=timezone.now(), error=error)
        raise ValueError(error)
    cases = list(study.cases.order_by("pk").values_list("pk", "report__text"))

    def beat(**fields):
        if run_id is not None:
            runs.update(heartbeat_at=timezone.now(), **fields)

    try:
        began = time.perf_counter()
        classifier = Classifier.load(version.artifact_dir)
        load_s = time.perf_counter() - began
        beat(hardware=hardware(classifier.device)[:300],
             progress={"done": 0, "total": len(cases)})
        outputs, total_s = [], 0.0
        for start in range(0, len(cases), CHUNK):
            texts = [text for _, text in cases[start:start + CHUNK]]
            began = time.perf_counter()
            outputs += classifier.predict(texts)
            total_s += time.perf_counter() - began
            beat(progress={"done": len(outputs), "total": len(cases)})
    except Exception as exc:
        if run_id is not None:
            runs.update(status=JobStatus.FAILED, finished_at=timezone.now(),
                        error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    timing = {
        "model_version": version.number, "n": len(cases), "load_s": load_s, "total_s": total_s,
        "answers": {str(pk): out["category"] for (pk, _), out in zip(cases, outputs,
                                                                        strict=True)},
        "per_case_ms": {str(pk): out["ms"] for (pk, _), out in zip(cases, outputs,
                                                                      strict=True)},
        "worker": socket.gethostname(), "hardware": hardware(classifier.device),
        "measured_at": timezone.now().isoformat(),
    }
    ReaderStudy.objects.filter(pk=study_id).update(model_timing=timing)
    beat(status=JobStatus.SUCCEEDED, finished_at=timezone.now())
    return timing


def run_model_timing(run_id: int) -> dict | None:
    """The tracked job: claim the queued run (one worker only), then time the model."""
    claimed = ModelTimingRun.objects.filter(pk=run_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now(),
        worker=socket.gethostname()[:200])
    if not claimed:
        return None
    run = ModelTimingRun.objects.get(pk=run_id)
    return time_study_model(run.study_id, run_id)
