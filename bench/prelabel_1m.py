"""Pre-labeling a project of 1,000,000 reports end to end, through the job the inference
worker runs (`modeling.jobs.prelabel`): the ids in queue order, each chunk's texts read when
it comes up, the model's predictions written, the run's progress kept.

The project is `bench/pages_1m.py`'s (built in SQL from the demo's rows). Its model is a
new version over the folder of the demo's active model, which `make run` trains as the
fast (TF-IDF) first model, so the run takes minutes; a BERT-served version goes through the
same job at the throughput `bench/prelabel.py` measures. The job runs in a process of its
own, so its peak resident memory is the job's; a plain read of every report's text in the
same order (what the job did before it read chunk by chunk) is timed beside it.

    .venv/bin/python bench/prelabel_1m.py [--reports 1000000] [--model DIR]

``--model DIR`` serves a trained folder instead (e.g. `bench/train_demo.py`'s, the served
ensemble with its BERT), with the figures from its metrics.json.
"""

import argparse
import datetime
import json
import subprocess
import sys
import time
from pathlib import Path

from _setup import ROOT, django_setup, machine

_CHILD = """
import json, resource, sys, time
sys.path.insert(0, "bench")
from _setup import django_setup
django_setup(migrate=False)
from modeling import jobs
began = time.perf_counter()
run = jobs.prelabel(int(sys.argv[1]))
print(json.dumps({"seconds": time.perf_counter() - began, "status": run.status,
                  "error": run.error, "total": run.total, "done": run.done,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--model", type=Path, default=None,
                        help="a trained model folder to serve instead of the demo's")
    args = parser.parse_args()
    django_setup()
    import pages_1m

    pages_1m.prepare(args.reports)
    from django.db.models import Max

    from annotation.models import Project, Report
    from core.models import JobStatus
    from modeling.models import ModelVersion, Prediction, PrelabelRun

    project = Project.objects.get(slug=pages_1m.BIG)
    source = project.model_versions.get(is_active=True)
    ModelVersion.objects.filter(project=project, base_model__startswith="bench-prelabel").delete()
    fields = {f.name: getattr(source, f.name) for f in ModelVersion._meta.concrete_fields
              if f.name not in ("id", "project", "created_by", "is_active", "number")}
    if args.model is not None:
        fields["artifact_dir"] = str(args.model.resolve())
        fields["metrics"] = json.loads((args.model / "metrics.json").read_text())
    number = project.model_versions.aggregate(n=Max("number"))["n"] + 1
    version = ModelVersion.objects.create(**{**fields, "project": project, "number": number,
                                             "base_model": f"bench-prelabel {source.base_model}"})
    run = PrelabelRun.objects.create(project=project, model_version=version)
    n = Report.objects.filter(project=project).count()
    print(f"{n:,} reports; model v{number}: {version.metrics.get('served', 'bert')} from "
          f"{version.artifact_dir}", flush=True)

    # The reference: every text read in the job's order, no model, nothing written.
    began = time.perf_counter()
    read = sum(len(t) for t in Report.objects.filter(project=project).order_by(
        "-in_queue", "procedure_date", "accession").values_list("text", flat=True)
        .iterator(chunk_size=2000))
    reference = time.perf_counter() - began

    child = subprocess.run([sys.executable, "-c", _CHILD, str(run.pk)], cwd=ROOT,
                           capture_output=True, text=True, check=False)
    if child.returncode:
        raise SystemExit(child.stderr[-3000:])
    out = json.loads(child.stdout.strip().splitlines()[-1])
    written = Prediction.objects.filter(model_version=version).count()
    print(f"| pre-label {n:,} reports ({version.metrics.get('served', 'bert')}, the job the "
          f"worker runs) | {out['seconds']:.0f} s ({out['done'] / out['seconds']:,.0f} "
          f"reports/s), {written:,} predictions written, status {out['status']}"
          f"{' ' + out['error'] if out['error'] else ''}, peak resident memory "
          f"{out['peak_mib']:.0f} MiB | reading every text in the same order: "
          f"{reference:.1f} s ({read / 2**20:.0f} MiB of text) | {datetime.date.today()} | "
          f"{machine()} |", flush=True)
    assert out["status"] == JobStatus.SUCCEEDED and written == n, "not every report predicted"
    # The bench version and its million predictions go, so a rerun starts the same way.
    version.delete()


if __name__ == "__main__":
    main()
