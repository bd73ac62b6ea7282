"""REST API v1 of reader studies: the list and the results, admins only, as the pages.

Readers stay blind: the results (the model's answers, the reference, other readers) are
never open to the reader role, only the admin's, and readers read through /read/ alone.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from annotation.access import ADMIN_ONLY, project_for
from core.api import errors

from .models import ReaderStudy
from .selectors import study_results

TAG = "studies"


class StudySerializer(serializers.ModelSerializer):
    cases = serializers.IntegerField(source="cases.count")

    class Meta:
        model = ReaderStudy
        fields = ["id", "name", "mode", "status", "cases", "model_version_id", "created"]


class StudySummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    mode = serializers.CharField()
    status = serializers.CharField()
    cases = serializers.IntegerField()


class ResultRowSerializer(serializers.Serializer):
    name = serializers.CharField(help_text='"Model" or a reader\'s username')
    is_model = serializers.BooleanField()
    simulated = serializers.BooleanField()
    accuracy = serializers.DictField(help_text="n, accuracy and its 95% interval (ci)")
    sensitivity = serializers.DictField(help_text="per category code")
    time = serializers.DictField(help_text="seconds: n, total, mean, median (time on screen "
                                 "minus pauses)")
    pauses = serializers.DictField(
        allow_null=True, help_text="The reader's pauses: count, cases (with one or more) and "
        "seconds paused in all; null for the model")
    fold = serializers.FloatField(allow_null=True,
                                  help_text="How many times slower than the model, on the "
                                  "same cases: the reader's seconds over the cases they "
                                  "answered that the model has a time for, divided by the "
                                  "model's seconds over those cases")
    fold_n = serializers.IntegerField(help_text="The cases the fold is over")
    answered = serializers.IntegerField(help_text="Cases this rater has answered")
    finished = serializers.BooleanField(help_text="Answered every case of the study")


class MrmcSerializer(serializers.Serializer):
    """Obuchowski-Rockette (MRMC) comparisons over the cases every reader has answered."""

    readers = serializers.ListField(child=serializers.CharField(),
                                    help_text="The readers analysed (those who answered every "
                                    "case with a reference).")
    waiting = serializers.ListField(child=serializers.CharField(),
                                    help_text="Readers not yet through every case, left out.")
    n_cases = serializers.IntegerField()
    comparisons = serializers.ListField(
        child=serializers.DictField(), help_text="Per figure of merit (`fom`: accuracy, "
        "sensitivity:<code>) and `kind` (readers_mean, model_vs_readers, ...): `title`, "
        "`label`, the estimate, the reader means, and the random- and fixed-reader results "
        "with their intervals.")
    skipped = serializers.ListField(
        child=serializers.DictField(), help_text="Comparisons that could not be computed: "
        "`fom`, `title`, `kind`, `label` and the `reason`.")
    bootstrapped = serializers.IntegerField(
        help_text="Intervals given by the bootstrap because the t or z interval ran past "
        "what is possible (each keeps it as `ci_normal`, with `ci_method`).")


class IncompleteSerializer(serializers.Serializer):
    name = serializers.CharField()
    answered = serializers.IntegerField()
    n = serializers.IntegerField(help_text="Cases in the study")


class StudyResultsSerializer(serializers.Serializer):
    study = StudySummarySerializer()
    simulated = serializers.BooleanField()
    incomplete = IncompleteSerializer(many=True, help_text="Readers who have not answered "
                                      "every case: each statistic is over the cases it uses")
    rows = ResultRowSerializer(many=True)
    comparisons = serializers.ListField(child=serializers.DictField(),
                                        help_text="McNemar tests, reader vs model")
    reader_kappas = serializers.ListField(child=serializers.DictField())
    crossover = serializers.ListField(child=serializers.DictField())
    mrmc = MrmcSerializer()


@extend_schema(tags=[TAG], responses={200: StudySerializer(many=True), **errors(401, 403, 404)},
               operation_id="studies_list")
@api_view(["GET"])
def studies(request, slug):
    """The project's reader studies, newest first."""
    project = project_for(request, slug, ADMIN_ONLY)
    rows = ReaderStudy.objects.filter(project=project)
    return Response(StudySerializer(rows, many=True).data)


@extend_schema(tags=[TAG], responses={200: StudyResultsSerializer, **errors(401, 403, 404)},
               operation_id="study_results")
@api_view(["GET"])
def study_results_api(request, slug, study_id):
    """Readers against the model: accuracy with intervals, sensitivity, reading time, the
    fold difference, McNemar comparisons and agreement, as the results page shows them."""
    project = project_for(request, slug, ADMIN_ONLY)
    study = get_object_or_404(ReaderStudy, project=project, pk=study_id)
    r = study_results(study)
    return Response({
        "study": {"id": study.pk, "name": study.name, "mode": study.mode,
                  "status": study.status, "cases": r["n_cases"]},
        "simulated": r["simulated"], "incomplete": r["incomplete"],
        "rows": [{k: row[k] for k in ("name", "is_model", "simulated", "accuracy",
                                       "sensitivity", "time", "pauses", "fold", "fold_n",
                                       "answered", "finished")}
                 for row in r["rows"]],
        "comparisons": r["comparisons"], "reader_kappas": r["kappas"],
        # With no reader through every case, study_mrmc returns before it counts the
        # bootstrapped intervals: none were, and the schema promises the count.
        "crossover": r["crossover"], "mrmc": {"bootstrapped": 0, **r["mrmc"]},
    })
