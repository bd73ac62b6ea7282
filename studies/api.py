"""Read-only JSON API of reader-study results, with the same role checks as the pages."""

from rest_framework.decorators import api_view
from rest_framework.response import Response

from annotation.access import ADMIN_ONLY, project_for

from .models import ReaderStudy
from .selectors import study_results


@api_view(["GET"])
def study_results_api(request, slug, study_id):
    project = project_for(request, slug, ADMIN_ONLY)
    study = ReaderStudy.objects.filter(project=project, pk=study_id).first()
    if study is None:
        return Response({"detail": "No such study."}, status=404)
    r = study_results(study)
    return Response({
        "study": {"id": study.pk, "name": study.name, "mode": study.mode,
                  "status": study.status, "cases": r["n_cases"]},
        "simulated": r["simulated"],
        "rows": [{k: row[k] for k in ("name", "is_model", "simulated", "accuracy",
                                       "sensitivity", "time", "fold")} for row in r["rows"]],
        "comparisons": r["comparisons"], "reader_kappas": r["kappas"],
        "crossover": r["crossover"], "mrmc": r["mrmc"],
    })
