"""The model's timing on a study's cases, run in-process on a tiny randomly initialised BERT."""

import io
import json

from django.core.management import call_command

from studies import services as studies
from studies.jobs import time_study_model
from studies.selectors import study_results
from tests.modeling.test_jobs import train


def test_the_model_is_timed_on_a_study_apart_from_loading(labelled_project, model_settings,
                                                          reader):
    version = train(labelled_project)
    study = studies.study_create(project=labelled_project, name="S", readers=[reader])
    studies.study_model_set(study=study, model_version_id=version.pk)
    timing = time_study_model(study.pk)
    assert timing["n"] == 8 and timing["load_s"] > 0 and timing["total_s"] > 0
    assert len(timing["answers"]) == 8 and len(timing["per_case_ms"]) == 8
    study.refresh_from_db()
    results = study_results(study)
    assert results["model_source"] == "measured"
    assert results["rows"][0]["name"] == "Model" and results["rows"][0]["accuracy"]["n"] == 8
    out = io.StringIO()
    call_command("study_report", str(study.pk), "--json", stdout=out)
    assert json.loads(out.getvalue())["model_timing"]["n"] == 8
