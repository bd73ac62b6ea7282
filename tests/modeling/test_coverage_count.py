"""The Models page's count of predictions is read from the cache under a stamp: the latest
pre-labeling run of the active version, which moves on after every chunk it writes."""

from annotation.models import Category, Report
from modeling import selectors
from modeling.models import Prediction, PrelabelRun
from tests.support import add_reports


def test_prediction_coverage_follows_each_chunk_of_a_prelabeling_run(project, version):
    add_reports(project, 6)
    version.is_active = True
    version.save(update_fields=["is_active"])
    assert selectors.prediction_coverage(project)["done"] == 0
    run = PrelabelRun.objects.create(project=project, model_version=version, total=6)
    category = Category.objects.get(project=project, code=1)
    for done, reports in ((4, Report.objects.all()[:4]), (6, Report.objects.all()[4:])):
        # As modeling.jobs.prelabel writes them: a chunk of predictions, then the run's count.
        Prediction.objects.bulk_create([
            Prediction(report=r, model_version=version, category=category,
                       probabilities={"1": 1.0}, margin=1.0, ms=1.0) for r in reports])
        PrelabelRun.objects.filter(pk=run.pk).update(done=done)
        coverage = selectors.prediction_coverage(project)
        assert (coverage["done"], coverage["total"]) == (done, 6)
