"""A two-category project trains, promotes and pre-labels like the four-category one."""

from annotation import services as annotation_services
from core.models import JobStatus
from ctir_demo.management.commands.seed_demo import _write
from ctir_demo.pancreas import CATEGORIES, generate_pancreas_cohort
from modeling import jobs, services
from modeling.models import Prediction

TINY = {"epochs": 1, "seeds": 1, "max_length": 64}


def test_a_binary_project_trains_on_two_classes(db, model_settings):
    project = annotation_services.project_create(
        name="Pancreas", slug="pancreas-ca", categories=[
            {"code": code, "name": name, "description": description, "key": key,
             "colour": colour} for code, name, description, key, colour in CATEGORIES])
    # A smaller cohort than the demo's, so the tiny model trains in seconds.
    _write(project, generate_pancreas_cohort(7, {"train": 16, "validation": 6, "test": 6}),
           with_labels=True)
    version = services.model_version_create(project=project, recipe=TINY, enqueue=False)
    version = jobs.train_version(version.pk)
    assert version.status == JobStatus.SUCCEEDED, version.error
    assert version.label_snapshot == {"train": {"1": 6, "2": 10},
                                      "validation": {"1": 3, "2": 3},
                                      "test": {"1": 2, "2": 4}}
    assert version.metrics["test"]["n"] == 6
    services.model_version_promote(version=version, prelabel=False)
    run = jobs.prelabel(services.prelabel_request(project=project, enqueue=False).pk)
    assert run.status == JobStatus.SUCCEEDED, run.error
    prediction = Prediction.objects.filter(model_version=version).first()
    assert set(prediction.probabilities) == {"1", "2"}
    assert prediction.category.code in (1, 2)
