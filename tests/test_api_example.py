"""docs/api_example.py, the walk-through in docs/api.md, run as a user would: against a
live server, with a real Celery worker training a tiny model."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.services import token_create
from tests.support import labelled_rows

pytestmark = pytest.mark.worker
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "api_example.py"


def test_the_docs_show_the_example_whole():
    assert EXAMPLE.read_text() in (ROOT / "docs" / "api.md").read_text()


def test_the_example_imports_trains_waits_and_downloads(project, admin_user, worker,
                                                        live_server, tmp_path):
    # The example's own training alone: the import's labels would otherwise start the fast
    # first model, and a --pool=solo worker busy with it cannot answer the health check
    # that the train request makes (make run's prefork worker can).
    project.__class__.objects.filter(pk=project.pk).update(fast_retrain_every=0)
    rows = labelled_rows()
    upload = tmp_path / "reports.csv"
    with open(upload, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["accession", "patient_id", "sex", "age", "procedure_date", "text",
                         "label", "split"])
        for r in rows:
            writer.writerow([r.accession, r.patient_id, r.sex, r.age, r.procedure_date,
                             r.text, r.label, r.split])
    _, token = token_create(user=admin_user, name="example")
    out = tmp_path / "predictions.csv"
    env = dict(os.environ, CTIR_URL=live_server.url, CTIR_TOKEN=token, CTIR_PROJECT="ct-ir",
               EPOCHS="1", MAX_LENGTH="32", OUT=str(out))
    done = subprocess.run([sys.executable, str(EXAMPLE), str(upload)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr + worker.log_path.read_text()[-3000:]
    assert f"imported {len(rows)} new reports" in done.stdout
    assert f"{len(rows)} predictions written" in done.stdout
    with open(out) as handle:
        written = list(csv.DictReader(handle))
    assert {r["accession"] for r in written} == {r.accession for r in rows}
    assert {r["category"] for r in written} <= {"1", "2", "3", "4"}
