"""REST API v1 of modeling: model versions (list, train, cancel, promote), a version's
predictions, pre-labeling, and classifying texts with the active model. Admins only, as the
Models page; writes go through the same services, and a job is refused when no worker would
run it, as on the page.
"""

from django.core.validators import ProhibitNullCharactersValidator, RegexValidator
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from annotation.access import ADMIN_ONLY, project_for
from annotation.forms import whole_number
from annotation.importing.checks import MAX_TEXT_CHARS
from core.api import (
    PAGE_PARAMETERS,
    DetailSerializer,
    JsonBooleanField,
    JsonCharField,
    WholeNumberField,
    errors,
    paged,
    paginate,
    valid,
    with_detail,
)

from . import archive, selectors, services
from .models import ModelVersion, Prediction, PrelabelRun

TAG = "models"


class ModelVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", allow_null=True,
                                       default=None)
    served = serializers.SerializerMethodField(help_text="The candidate this version serves "
                                               "(bert, tfidf or ensemble).")

    class Meta:
        model = ModelVersion
        fields = ["id", "number", "status", "phase", "progress", "is_active", "trigger",
                  "auto_promote", "cancel_requested", "hyperparameters", "metrics", "served",
                  "error", "promotion_note", "created_by", "created", "started_at",
                  "finished_at", "promoted_at"]

    def get_served(self, version) -> str | None:
        return (version.metrics or {}).get("served")


def _recipe_field(name: str) -> WholeNumberField:
    low, high = services.LIMITS[name]
    message = f"{name.replace('_', ' ')} must be a whole number between {low} and {high}"
    return WholeNumberField(json=True, required=False, allow_null=True, min_value=low,
                            max_value=high,
                            help_text=f"{low} to {high}", error_messages={
                                "invalid": message, "min_value": message,
                                "max_value": message, "max_string_length": message})


class TrainSerializer(serializers.Serializer):
    epochs = _recipe_field("epochs")
    seeds = _recipe_field("seeds")
    max_length = _recipe_field("max_length")
    auto_promote = JsonBooleanField(required=False, default=False)
    start_from = JsonCharField(
        required=False, allow_blank=True, max_length=40, default="",
        help_text='"" (the active model when its categories fit), "base", or '
        "the id of a succeeded version of a project you administer with the same categories.")


class PredictionSerializer(serializers.ModelSerializer):
    report = serializers.IntegerField(source="report_id")
    accession = serializers.CharField(source="report.accession")
    category = serializers.IntegerField(source="category.code")
    probabilities = serializers.DictField(child=serializers.FloatField(),
                                          help_text="category code -> probability")

    class Meta:
        model = Prediction
        fields = ["report", "accession", "category", "probabilities", "margin", "ms"]


class PrelabelRunSerializer(serializers.ModelSerializer):
    model_version = serializers.IntegerField(source="model_version.number")

    class Meta:
        model = PrelabelRun
        fields = ["id", "model_version", "status", "total", "done", "reports_per_second",
                  "error", "created", "started_at", "finished_at"]


class PrelabelRequestSerializer(serializers.Serializer):
    version = WholeNumberField(json=True, required=False, allow_null=True, min_value=1,
                               max_value=2**31 - 1, help_text="Version number; the active "
                               "model when left out.")


ModelVersionNotStartedSerializer = with_detail(ModelVersionSerializer, "ModelVersionNotStarted",
                                               job_optional=True)
ModelVersionPromotedSerializer = with_detail(ModelVersionSerializer, "ModelVersionPromoted")
PrelabelRunNotStartedSerializer = with_detail(PrelabelRunSerializer, "PrelabelRunNotStarted",
                                              job_optional=True)


MAX_CLASSIFY_TEXTS = 100


class ReportTextField(JsonCharField):
    """A report's text to classify, as the import takes it: up to MAX_TEXT_CHARS, something
    besides white space. Taken as sent, NUL characters included: nothing is stored."""

    def __init__(self, **kwargs):
        message = "A report text must have something besides white space."
        super().__init__(max_length=MAX_TEXT_CHARS, trim_whitespace=False, validators=[
            RegexValidator(r"\S", message=message)], error_messages={"blank": message},
            **kwargs)
        self.validators = [v for v in self.validators
                           if not isinstance(v, ProhibitNullCharactersValidator)]


class ClassifyTextsSerializer(serializers.Serializer):
    texts = serializers.ListField(
        child=ReportTextField(), min_length=1, max_length=MAX_CLASSIFY_TEXTS, error_messages={
            "min_length": "Send at least one text.", "empty": "Send at least one text.",
            "max_length": f"At most {MAX_CLASSIFY_TEXTS} texts a call: split them."},
        help_text=f"1 to {MAX_CLASSIFY_TEXTS} report texts, each up to "
        f"{MAX_TEXT_CHARS:,} characters.")


class ClassifiedTextSerializer(serializers.Serializer):
    category = serializers.IntegerField(help_text="The predicted category's code.")
    category_name = serializers.CharField()
    probabilities = serializers.DictField(child=serializers.FloatField(),
                                          help_text="category code -> probability")
    margin = serializers.FloatField(help_text="Top-1 minus top-2 probability: small means "
                                    "the model is unsure.")


class ClassificationSerializer(serializers.Serializer):
    model_version = serializers.IntegerField(source="version.number",
                                             help_text="The active version that answered.")
    served = serializers.CharField(allow_null=True, help_text="The candidate it serves "
                                   "(bert, tfidf or ensemble).")
    results = ClassifiedTextSerializer(many=True, help_text="One per text, in order.")


def _version(project, number) -> ModelVersion:
    return get_object_or_404(ModelVersion.objects.select_related("created_by"),
                             project=project, number=number)


@extend_schema(methods=["GET"], tags=[TAG], parameters=PAGE_PARAMETERS,
               responses={200: paged(ModelVersionSerializer), **errors(400, 401, 403, 404)},
               operation_id="models_list")
@extend_schema(methods=["POST"], tags=[TAG], request=TrainSerializer, operation_id="model_train",
               responses={201: ModelVersionSerializer,
                          **errors(400, 401, 403, 404, 415, e400="The recipe did not validate, "
                                   "or `start_from` names no version you may start from."),
                          503: ModelVersionNotStartedSerializer},
               description="Queue a training job, as the Train button does. 503 when no "
               "worker listens on the training queue, or when the job queue did not take the "
               "job (then the version is failed, and `detail` and `error` say what to do).")
@api_view(["GET", "POST"])
def versions(request, slug):
    """The project's model versions, newest first."""
    project = project_for(request, slug, ADMIN_ONLY)
    if request.method == "GET":
        return paginate(request, selectors.versions_for_project(project),
                        ModelVersionSerializer)
    data = valid(TrainSerializer, request)  # a bad body is a 400 whether or not a worker runs
    outcome = services.training_request(
        project=project, user=request.user, recipe={k: data.get(k) for k in services.LIMITS},
        start_from=data.get("start_from", ""), auto_promote=data["auto_promote"])
    return _started(outcome, ModelVersionSerializer, created=201, refused=400)


@extend_schema(tags=[TAG], responses={200: ModelVersionSerializer, **errors(401, 403, 404)},
               operation_id="model_retrieve")
@api_view(["GET"])
def version_detail(request, slug, number):
    """One version: its state while it runs (phase, progress), its metrics when done."""
    project = project_for(request, slug, ADMIN_ONLY)
    return Response(ModelVersionSerializer(_version(project, number)).data)


@extend_schema(tags=[TAG], request=None, operation_id="model_cancel",
               responses={200: DetailSerializer, **errors(
                   401, 403, 404, 409, e409="The version has finished: nothing to cancel.")})
@api_view(["POST"])
def version_cancel(request, slug, number):
    """Cancel a queued run at once; ask a running one to stop after its current step."""
    project = project_for(request, slug, ADMIN_ONLY)
    try:
        return Response({"detail": services.model_version_cancel(
            version=_version(project, number))})
    except services.JobError as exc:
        return Response({"detail": str(exc)}, status=409)


@extend_schema(tags=[TAG], request=None, operation_id="model_promote",
               responses={200: ModelVersionPromotedSerializer, **errors(
                   401, 403, 404, 409, e409="Only a version that succeeded can be promoted.")})
@api_view(["POST"])
def version_promote(request, slug, number):
    """Make a succeeded version the active model; pre-labeling with it is queued. When the
    job queue did not take that pre-labeling, the promotion stands and `detail` says so."""
    project = project_for(request, slug, ADMIN_ONLY)
    outcome = services.promotion_request(version=_version(project, number), user=request.user)
    if outcome.refused:
        return Response({"detail": outcome.refused}, status=409)
    body = ModelVersionSerializer(_version(project, number)).data
    if outcome.note:  # the promotion stands; only its pre-labeling never reached the queue
        body["detail"] = outcome.note
    return Response(body)


@extend_schema(tags=[TAG], parameters=PAGE_PARAMETERS,
               responses={200: paged(PredictionSerializer), **errors(400, 401, 403, 404)},
               operation_id="predictions_list")
@api_view(["GET"])
def version_predictions(request, slug, number):
    """The version's predictions, one per report it has pre-labeled, by report id."""
    project = project_for(request, slug, ADMIN_ONLY)
    version = _version(project, number)
    rows = version.predictions.select_related("report", "category").order_by("report_id")
    return paginate(request, rows, PredictionSerializer)


@extend_schema(methods=["GET"], tags=[TAG], operation_id="prelabel_status",
               responses={200: PrelabelRunSerializer, **errors(
                   401, 403, 404, e404="No such project for you, or no pre-labeling has run "
                   "in it yet.")})
@extend_schema(methods=["POST"], tags=[TAG], request=PrelabelRequestSerializer,
               operation_id="prelabel_start",
               responses={202: PrelabelRunSerializer, **errors(
                   400, 401, 403, 404, 409, 415,
                   e404="No such project for you, or no version of that number.",
                   e409="No active model to pre-label with, or the version cannot "
                   "pre-label (it has not succeeded)."),
                   503: PrelabelRunNotStartedSerializer},
               description="Pre-label every report with the active model (or `version`); "
               "a run already going for that version is returned instead of a second one. "
               "503 when no worker listens on the inference queue, or when the job queue did "
               "not take the run (then it is failed, and `detail` says what to do).")
@api_view(["GET", "POST"])
def prelabel(request, slug):
    """GET: the latest pre-labeling run and its progress."""
    project = project_for(request, slug, ADMIN_ONLY)
    if request.method == "GET":
        run = selectors.latest_prelabel(project)
        if run is None:
            return Response({"detail": "No pre-labeling has run in this project."}, status=404)
        return Response(PrelabelRunSerializer(run).data)
    number = valid(PrelabelRequestSerializer, request).get("version")
    version = _version(project, number) if number is not None else None
    outcome = services.prelabel_start(project=project, version=version, user=request.user)
    return _started(outcome, PrelabelRunSerializer, created=202, refused=409)


@extend_schema(tags=[TAG], request=ClassifyTextsSerializer, operation_id="classify",
               responses={200: ClassificationSerializer, **errors(
                   400, 401, 403, 404, 409, 415, 503,
                   e409="The project has no active model: train a version and promote it "
                   "on the Models page.",
                   e503="No worker listens on the inference queue, or none answered within "
                   f"{services.CLASSIFY_TIMEOUT} s (a worker busy training answers when it "
                   "ends), or the job queue is down; `detail` says what to do.")},
               description="Classify report texts with the active model, as pre-labeling "
               "would, and store nothing. A worker on the inference queue answers (the web "
               "process never loads the model); the first call after a worker starts or a "
               "promotion loads the model, which takes seconds.")
@api_view(["POST"])
def classify(request, slug):
    """The active model's category and probabilities for each text."""
    project = project_for(request, slug, ADMIN_ONLY)
    texts = valid(ClassifyTextsSerializer, request)["texts"]
    outcome = services.classify_request(project=project, texts=texts)
    if outcome.refused:
        return Response({"detail": outcome.refused}, status=409)
    if outcome.unavailable:
        return Response({"detail": outcome.unavailable}, status=503)
    return Response(ClassificationSerializer({
        "version": outcome.version, "results": outcome.results,
        "served": (outcome.version.metrics or {}).get("served")}).data)


class ModelArchiveSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A model archive (.zip) from GET .../models/<n>/"
                                 "archive/ of this instance or of one with the same "
                                 "CTIR_MODEL_SIGNING_KEY.")


@extend_schema(tags=[TAG], operation_id="model_archive", responses={
    (200, "application/zip"): OpenApiResponse(
        OpenApiTypes.BINARY, description="The version's model folder, model_card.json, "
        "MODEL_CARD.md and manifest.json (every file's sha256, signed with HMAC-SHA256 under "
        "CTIR_MODEL_SIGNING_KEY)."),
    **errors(401, 403, 404, 409, e409="The version has no trained model to export (it has "
             "not succeeded, or its folder is gone from the server).")})
@api_view(["GET"])
def version_archive(request, slug, number):
    """Download a version as one signed zip, for another ctir instance to import."""
    project = project_for(request, slug, ADMIN_ONLY)
    try:
        handle, name = selectors.version_archive(_version(project, number))
    except archive.ArchiveError as exc:
        return Response({"detail": f"No archive: {exc}."}, status=409)
    return FileResponse(handle, as_attachment=True, filename=name,
                        content_type="application/zip")


@extend_schema(tags=[TAG], operation_id="model_archive_import",
               request={"multipart/form-data": ModelArchiveSerializer},
               responses={201: ModelVersionSerializer, **errors(
                   400, 401, 403, 404, 413, 415,
                   e400="No file, or the archive was refused before anything in it was "
                   "loaded; `detail` names the reason (a path outside the folder, a link, a "
                   "decompression bomb, no manifest, signed with another key, a file that "
                   "does not match the manifest, other categories).",
                   e413="The archive is larger than model archives are taken."),
                   503: ModelVersionNotStartedSerializer},
               description="Import a model archive as a new version (trigger `imported`), "
               "queued for a worker on the inference queue to score it on this project's "
               "validation and test splits; promote it once it has succeeded. 503 when no "
               "worker listens on the inference queue, or with the version failed when the "
               "job queue did not take it.")
@api_view(["POST"])
@parser_classes([MultiPartParser])
def archives(request, slug):
    """Upload a model archive (multipart `file`)."""
    project = project_for(request, slug, ADMIN_ONLY)
    length = whole_number(request.META.get("CONTENT_LENGTH"), name="Content-Length",
                          maximum=2**62)
    if length and length > archive.limit("MAX_ARCHIVE_BYTES"):
        return Response({"detail": f"The request is {length:,} bytes; model archives are "
                         f"taken up to {archive.limit('MAX_ARCHIVE_BYTES'):,}."}, status=413)
    upload = valid(ModelArchiveSerializer, request)["file"]
    outcome = services.model_archive_import(project=project, upload=upload, user=request.user)
    return _started(outcome, ModelVersionSerializer, created=201, refused=400)


def _started(outcome, serializer, *, created: int, refused: int) -> Response:
    """The API's answer to a job request's outcome: the job (`created`), the reason it was
    refused, or 503 with the failed job when nothing would run it."""
    if outcome.job is None:
        return Response({"detail": outcome.refused or outcome.unavailable},
                        status=refused if outcome.refused else 503)
    body = serializer(outcome.job).data
    if outcome.unavailable:
        return Response({**body, "detail": outcome.unavailable}, status=503)
    return Response(body, status=created)
