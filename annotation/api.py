"""REST API v1 of annotation data: projects, categories, reports (list, batch import),
the labeling queue and annotations. Same role checks as the pages (access.project_for on
the first line: 404 for outsiders, 403 for the wrong role); every write goes through the
same service as the page does.
"""

import json
import tempfile
import uuid
from pathlib import Path

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import api_view, parser_classes
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from core.api import (
    MAX_INT,
    PAGE_PARAMETERS,
    DetailSerializer,
    ErrorSerializer,
    FiniteFloatField,
    JsonCharField,
    QueryTextField,
    WholeNumberField,
    errors,
    paged,
    paginate,
    query,
    valid,
    with_detail,
)

from . import selectors, services
from .access import ADMIN_ONLY, ALL_ROLES, STAFF_ROLES, project_for
from .forms import whole_number
from .importing.columns import DATE_FORMATS, FIELDS, ColumnMapping
from .importing.formats import ImportFormatError, file_format
from .importing.plan import estimate_data_rows
from .labeling import services as labeling_services
from .models import Annotation, Category, ImportJob, Project, Report, Role, Split

# A JSON batch is written out as JSON Lines and checked and imported exactly like a file;
# bigger imports go as a file upload (multipart) or `manage.py import_reports`.
MAX_BATCH_ROWS = 10_000

TAG_PROJECTS, TAG_REPORTS, TAG_LABELING = "projects", "reports", "labeling"


# --- Projects and categories -------------------------------------------------------------------

class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["code", "name", "description", "key", "colour"]


class ProjectSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["slug", "name", "description", "role", "annotations_per_report",
                  "queue_scope", "queue_order", "created"]

    def get_role(self, project) -> str:
        if self.context.get("superuser"):
            return Role.ADMIN
        return self.context.get("roles", {}).get(project.pk, "")


class ProjectDetailSerializer(ProjectSerializer):
    categories = CategorySerializer(many=True, read_only=True)

    class Meta(ProjectSerializer.Meta):
        fields = [*ProjectSerializer.Meta.fields, "guideline", "categories"]


@extend_schema(tags=[TAG_PROJECTS], responses={200: ProjectSerializer(many=True), **errors(401)},
               operation_id="projects_list")
@api_view(["GET"])
def projects(request):
    """The projects you are a member of, with your role in each."""
    context = {"roles": selectors.project_role_map(request.user),
               "superuser": request.user.is_superuser}
    return Response(ProjectSerializer(selectors.projects_for_user(request.user), many=True,
                                      context=context).data)


@extend_schema(tags=[TAG_PROJECTS],
               responses={200: ProjectDetailSerializer, **errors(401, 403, 404)},
               operation_id="project_retrieve")
@api_view(["GET"])
def project_detail(request, slug):
    """One project with its guideline and categories (admins and annotators, as the
    dashboard)."""
    project = project_for(request, slug, STAFF_ROLES)
    context = {"roles": {project.pk: request.project_role}}
    return Response(ProjectDetailSerializer(project, context=context).data)


@extend_schema(tags=[TAG_PROJECTS],
               responses={200: CategorySerializer(many=True), **errors(401, 404)},
               operation_id="categories_list")
@api_view(["GET"])
def categories(request, slug):
    """The project's categories; every role (readers answer with them)."""
    project = project_for(request, slug, ALL_ROLES)
    return Response(CategorySerializer(project.categories.all(), many=True).data)


# --- Reports ----------------------------------------------------------------------------------

class ReferenceSerializer(serializers.Serializer):
    category = serializers.IntegerField()
    method = serializers.CharField()


class ReportSerializer(serializers.ModelSerializer):
    patient_id = serializers.CharField(source="patient.pseudo_id")
    reference = serializers.SerializerMethodField()
    predicted = serializers.IntegerField(source="predicted_code", allow_null=True,
                                         help_text="The active model's category code.")
    margin = serializers.FloatField(allow_null=True)

    class Meta:
        model = Report
        fields = ["id", "accession", "patient_id", "procedure_date", "split", "text",
                  "reference", "predicted", "margin"]

    @extend_schema_field(ReferenceSerializer(allow_null=True))
    def get_reference(self, report):
        label = getattr(report, "reference_label", None)
        return {"category": label.category.code, "method": label.method} if label else None


@extend_schema_field({"anyOf": [{"type": "string"}, {"type": "number"}], "nullable": True})
class CellField(serializers.Field):
    """One cell of an import row: a string or a number (null reads as empty); an object, an
    array or true/false is refused with its line."""


class ReportRowSerializer(serializers.Serializer):
    """One report to import: the columns of an import file (README, Import rules). Without
    a `mapping` the columns are these names (or names the import recognises, such as
    "Accession No"); with one, the columns it names. A missing column, or a value the
    import rules refuse, is a 400 with the row's position as its line."""

    accession = CellField(required=False)
    patient_id = CellField(required=False)
    sex = CellField(required=False, help_text="F, M, O or U")
    age = CellField(required=False, help_text="Whole years, 0 to 120.")
    procedure_date = CellField(required=False, help_text="YYYY-MM-DD, or as `date_format`")
    text = CellField(required=False)
    label = CellField(required=False, help_text="Category code or name.")
    split = CellField(required=False, help_text="train, validation, test or unassigned")


def _columns() -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(allow_blank=True), required=False)


class MappingColumnsSerializer(serializers.Serializer):
    """Which columns feed each field; several columns of `text` are joined, each under its
    name."""

    accession = _columns()
    patient_id = _columns()
    sex = _columns()
    age = _columns()
    procedure_date = _columns()
    text = _columns()
    label = _columns()
    split = _columns()


class MappingSerializer(serializers.Serializer):
    columns = MappingColumnsSerializer(required=False)
    date_format = serializers.ChoiceField(choices=list(DATE_FORMATS), required=False,
                                          help_text="How procedure dates are written.")


MAPPING_HELP = ("Which columns feed which field, as the import page's mapping: "
                '{"columns": {"procedure_date": ["Exam Date"], "text": ["Findings", '
                '"Impression"]}, "date_format": "dmy"}. Left out: guessed from the column '
                "names, the project's last mapping first.")


class ReportBatchSerializer(serializers.Serializer):
    """A JSON batch. The import itself checks the rows and the mapping, naming each problem
    by line (the row's position) and column; 400 for a batch that is empty, too long, or
    whose `name` is not text or `mapping` not an object."""

    reports = serializers.ListField(child=ReportRowSerializer(), min_length=1,
                                    max_length=MAX_BATCH_ROWS)
    name = serializers.CharField(required=False, allow_blank=True,
                                 help_text="Shown in the import history (default api-batch).")
    mapping = MappingSerializer(required=False, allow_null=True, help_text=MAPPING_HELP)


class ReportFileSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A CSV, JSON Lines or Excel (.xlsx) import file.")
    mapping = serializers.CharField(required=False, help_text=MAPPING_HELP + " As JSON text.")


class RowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="File line, or the row's position in a JSON "
                                    "batch (from 1); 0 for the file as a whole.")
    column = serializers.CharField()
    reason = serializers.CharField()


class ImportRejectedSerializer(ErrorSerializer):
    """The error shape of every 400: `fields` when the request itself did not validate (no
    rows, a bad mapping, a file type the import does not read); `errors` and `warnings`
    when the import checked the rows and refused them (nothing was written)."""

    errors = RowErrorSerializer(many=True, required=False,
                                help_text="Every problem, by line and column.")
    warnings = serializers.ListField(child=serializers.CharField(), required=False)


class ImportDoneSerializer(serializers.Serializer):
    detail = serializers.CharField()
    batch = serializers.IntegerField(allow_null=True, help_text="Import batch id; null when "
                                     "nothing was new.")
    rows = serializers.IntegerField()
    reports_created = serializers.IntegerField()
    labels_created = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField())


class ImportProgressSerializer(serializers.Serializer):
    checked = serializers.IntegerField()
    written = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()
    eta_seconds = serializers.IntegerField(allow_null=True)
    estimated = serializers.BooleanField(help_text="The total is still estimated from the "
                                         "file's line breaks.")
    phase = serializers.CharField()


class ImportJobSerializer(serializers.ModelSerializer):
    batch = serializers.IntegerField(source="batch_id", allow_null=True)
    errors = serializers.ListField(child=serializers.ListField(), help_text="[line, column, "
                                   "reason] of each problem (the first 500)")
    progress = ImportProgressSerializer(read_only=True, required=False)

    class Meta:
        model = ImportJob
        fields = ["id", "filename", "rows", "status", "message", "errors", "batch", "created",
                  "started_at", "finished_at", "progress"]


ImportJobNotQueuedSerializer = with_detail(ImportJobSerializer, "ImportJobNotQueued",
                                           required=True)


class ReportFilterSerializer(serializers.Serializer):
    """The reports page's filters; a value that is none of the choices is a 400, not
    ignored."""

    split = serializers.ChoiceField(choices=list(Split.values), required=False)
    status = serializers.ChoiceField(choices=list(selectors.REPORT_STATUSES), required=False)
    reference = WholeNumberField(required=False, min_value=0, max_value=99_999,
                                 help_text="Reference label's category code.")
    predicted = WholeNumberField(required=False, min_value=0, max_value=99_999,
                                 help_text="Active model's category code.")
    disagree = serializers.ChoiceField(choices=["1"], required=False, help_text="Only where "
                                       "the active model and the reference differ.")
    margin_min = FiniteFloatField(required=False)
    margin_max = FiniteFloatField(required=False)
    q = QueryTextField(help_text="Text or accession contains.")


REPORT_FILTERS = [ReportFilterSerializer]


@extend_schema(methods=["GET"], tags=[TAG_REPORTS], parameters=REPORT_FILTERS + PAGE_PARAMETERS,
               responses={200: paged(ReportSerializer), **errors(400, 401, 403, 404)},
               operation_id="reports_list")
@extend_schema(
    methods=["POST"], tags=[TAG_REPORTS], operation_id="reports_import",
    request={"application/json": ReportBatchSerializer,
             "multipart/form-data": ReportFileSerializer},
    responses={201: ImportDoneSerializer, 200: ImportDoneSerializer,
               202: ImportJobSerializer, 400: ImportRejectedSerializer,
               **errors(401, 403, 404, 409, 413, 415,
                        e409="Another import of the project is running."),
               503: ImportJobNotQueuedSerializer},
    description="Import reports, all or nothing: a JSON batch (`reports`, one object per "
    "report with the columns of an import file) or a CSV / JSON Lines file. One bad row and "
    "nothing is written; the 400 lists every problem by line and column, as the import page "
    "does. Rows already here and unchanged are counted, not written again. A file of "
    "CTIR_BACKGROUND_IMPORT_ROWS rows or more (5,000 by default) is imported by a worker: "
    "202 with the job, to follow at imports/<id>/. 409 while another import of the project "
    "runs. 503 when the job queue did not take the job: the job is failed, its `message` "
    "(also in `detail`) says what to do, and nothing was imported.",
)
@api_view(["GET", "POST"])
@parser_classes([JSONParser, MultiPartParser])
def reports(request, slug):
    """Reports with reference labels and the active model's prediction; admins only.
    Takes the same filters as the reports page."""
    project = project_for(request, slug, ADMIN_ONLY)
    if request.method == "POST":
        return _reports_import(request, project)
    filters = {name: str(value) for name, value in query(ReportFilterSerializer,
                                                         request).items()}
    queryset, _ = selectors.reports_filtered(project, filters)
    return paginate(request, queryset, ReportSerializer)


def _reports_import(request, project):
    length = whole_number(request.META.get("CONTENT_LENGTH"), name="Content-Length",
                          maximum=2**62)
    if length and length > settings.CTIR_MAX_UPLOAD_BYTES:
        return Response({"detail": f"The request is {length:,} bytes; imports are limited to "
                         f"{settings.CTIR_MAX_UPLOAD_BYTES:,}. Split it, or import on the "
                         "server with manage.py import_reports."}, status=413)
    upload = request.FILES.get("file")
    mapping = _mapping(request.data.get("mapping") if hasattr(request.data, "get") else None,
                       text=upload is not None)
    with tempfile.TemporaryDirectory(dir=_upload_dir()) as folder:
        if upload is not None:
            try:
                file_format(upload.name)
            except ImportFormatError as exc:
                raise ValidationError({"file": [str(exc)]}) from None
            # The client's file name is only shown, never used as a path.
            path = Path(folder) / ("upload" + Path(upload.name).suffix.lower())
            filename = upload.name
            with open(path, "wb") as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
            try:
                rows = estimate_data_rows(path)
            except ImportFormatError as exc:
                # The file's own name, not the staged one, in the message.
                raise ValidationError({"file": [str(exc).replace(path.name, filename)]}
                                      ) from None
            if rows >= settings.CTIR_BACKGROUND_IMPORT_ROWS:
                return _import_in_background(request, project, path, filename, rows, mapping)
        else:
            path, filename = _batch_as_jsonl(request.data, Path(folder))
        try:
            result = services.reports_import(project=project, path=path, filename=filename,
                                             user=request.user, mapping=mapping)
        except services.ImportBusy as exc:
            return Response({"detail": str(exc)}, status=409)
        except services.ImportRejected as exc:
            plan = exc.plan
            return Response({
                "detail": f"{plan.filename}: {len(plan.errors)} problem(s); nothing was "
                          "imported.",
                "errors": [{"line": e.line, "column": e.column, "reason": e.reason}
                           for e in plan.errors],
                "warnings": plan.warnings,
            }, status=400)
    batch = result.batch
    return Response({
        "detail": result.message, "batch": batch.pk if batch else None,
        "rows": result.plan.rows, "reports_created": batch.reports_created if batch else 0,
        "labels_created": batch.labels_created if batch else 0,
        "unchanged": result.plan.unchanged, "warnings": result.plan.warnings,
    }, status=201 if batch else 200)


def _mapping(value, *, text: bool) -> ColumnMapping | None:
    """The request's column mapping (JSON text in a multipart form, an object in a JSON
    batch); None (none given) lets the import guess it from the header with the project's
    remembered mapping first, as the import page's preview does."""
    if value is None or (text and value == ""):
        return None
    if text:
        if not isinstance(value, str):
            raise ValidationError({"mapping": ["Send the mapping as JSON text."]})
        try:
            value = json.loads(value)
        except ValueError:
            raise ValidationError({"mapping": ["Not JSON; send an object with `columns` and "
                                               "`date_format`."]}) from None
    if not isinstance(value, dict) or not isinstance(value.get("columns", {}), dict):
        raise ValidationError({"mapping": ["Send an object: {\"columns\": {field: [column, "
                                           "...]}, \"date_format\": ...}."]})
    unknown = [str(f)[:40] for f in value.get("columns", {}) if f not in FIELDS]
    if unknown:
        raise ValidationError({"mapping": [f"Unknown field {unknown[0]!r}; fields: "
                                           f"{', '.join(FIELDS)}."]})
    if any(not isinstance(v, list) or not all(isinstance(c, str) for c in v)
           for v in value.get("columns", {}).values()):
        raise ValidationError({"mapping": ["Each field maps to a list of column names."]})
    date_format = value.get("date_format", "iso")
    if not isinstance(date_format, str) or date_format not in DATE_FORMATS:
        raise ValidationError({"mapping": [f"date_format must be one of "
                                           f"{', '.join(DATE_FORMATS)}."]})
    return ColumnMapping.from_dict(value)


def _import_in_background(request, project, path: Path, filename: str, rows: int,
                          mapping: ColumnMapping | None):
    """A big file goes to a Celery worker, as from the import page: 202 and the job."""
    staged = _upload_dir() / f"{uuid.uuid4().hex}{path.suffix}"
    path.rename(staged)
    outcome = services.import_job_request(project=project, path=staged, filename=filename,
                                          rows=rows, user=request.user, mapping=mapping)
    if outcome.refused:
        return Response({"detail": outcome.refused}, status=409)
    if outcome.unavailable:
        outcome.job.refresh_from_db(fields=["finished_at"])
        return Response({**_job_data(outcome.job), "detail": outcome.unavailable}, status=503)
    return Response(_job_data(outcome.job), status=202)


def _job_data(job) -> dict:
    return {**ImportJobSerializer(job).data,
            "progress": selectors.import_job_progress(job)}


@extend_schema(tags=[TAG_REPORTS], responses={200: ImportJobSerializer, **errors(401, 403, 404)},
               operation_id="import_job")
@api_view(["GET"])
def import_job(request, slug, job_id):
    """A background import (a file of CTIR_BACKGROUND_IMPORT_ROWS rows or more answered 202):
    its status, rows checked and written, the time left, and any row problems."""
    project = project_for(request, slug, ADMIN_ONLY)
    job = get_object_or_404(ImportJob, project=project, pk=job_id)
    return Response(_job_data(job))


def _upload_dir() -> Path:
    folder = Path(settings.CTIR_UPLOAD_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _batch_as_jsonl(data, folder: Path) -> tuple[Path, str]:
    """The JSON batch as a JSON Lines file, one row a line, so the import service checks it
    with the file's own rules and its errors name the row's position as the line."""
    rows = data.get("reports") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ValidationError({"reports": ["Send a non-empty list of reports (or a file)."]})
    if len(rows) > MAX_BATCH_ROWS:
        raise ValidationError({"reports": [
            f"{len(rows):,} rows; a batch holds at most {MAX_BATCH_ROWS:,}. Send several "
            "batches, or the whole file as `file`."]})
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise ValidationError({"name": ["Send the batch's name as a string."]})
    name = (name or "api-batch").replace("\x00", "").strip()[:200] or "api-batch"
    filename = name if name.lower().endswith((".jsonl", ".ndjson")) else f"{name}.jsonl"
    path = folder / "batch.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            # A row that is no object stays what it was, so the check names its line; ASCII
            # escapes keep a lone surrogate writable, for the check to refuse by name.
            handle.write(json.dumps(row) + "\n")
    return path, filename


# --- The labeling queue and annotations --------------------------------------------------------

class SuggestionSerializer(serializers.Serializer):
    category = serializers.IntegerField()
    probability = serializers.FloatField(allow_null=True)
    model_version = serializers.IntegerField(help_text="The version's number (v1, v2, ...).")


class ServedReportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    accession = serializers.CharField()
    procedure_date = serializers.DateField(allow_null=True,
                                           help_text="null: imported without a date.")
    text = serializers.CharField()


class ServedSerializer(serializers.Serializer):
    report = ServedReportSerializer(allow_null=True,
                                    help_text="null when the queue has nothing for you.")
    suggestion = SuggestionSerializer(allow_null=True)
    token = serializers.CharField(allow_null=True, help_text="Send it back with the answer; "
                                  "it carries the time the report was served.")
    served_at = serializers.DateTimeField(allow_null=True)


class AnnotationSerializer(serializers.ModelSerializer):
    report = serializers.IntegerField(source="report_id")
    accession = serializers.CharField(source="report.accession")
    user = serializers.CharField(source="user.username")
    category = serializers.IntegerField(source="category.code")
    suggested_category = serializers.IntegerField(source="suggested_category.code",
                                                  allow_null=True, default=None)
    supersedes = serializers.IntegerField(source="supersedes_id", allow_null=True)

    class Meta:
        model = Annotation
        fields = ["id", "report", "accession", "user", "category", "served_at",
                  "submitted_at", "active_ms", "suggestion_model_version_id",
                  "suggested_category", "suggested_probability", "supersedes"]


class SkipSerializer(serializers.Serializer):
    token = JsonCharField(max_length=2000,
                          help_text="The token the queue served the report with.")


@extend_schema_field({"anyOf": [{"type": "integer"},
                                {"type": "string", "minLength": 1, "maxLength": 100}]})
class CategoryField(serializers.CharField):
    """A category's code (a JSON integer, or its digits as a string) or its name."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        return super().to_internal_value(data)


class AnswerSerializer(SkipSerializer):
    category = CategoryField(max_length=100, help_text="Category code or name, as in "
                             "imports; a retired category is refused.")
    active_ms = FiniteFloatField(json=True, required=False, allow_null=True, min_value=0,
                                 help_text="Time spent actively reading, in ms; never more "
                                 "than the time since the report was served.")

    def validate_category(self, value: str) -> Category:
        project = self.context["project"]
        text = value.strip()
        choices = list(project.categories.all())
        # ASCII digits only: int() would read '２' or '²' as a code.
        code = int(text) if text.isascii() and text.isdigit() and len(text) < 6 else None
        found = next((c for c in choices if c.code == code or c.name.lower() == text.lower()),
                     None)
        if found is None:
            known = ", ".join(str(c) for c in choices if not c.retired)
            raise serializers.ValidationError(
                f"No category {value[:40]!r} in {project.slug} (known: {known}).")
        if found.retired:
            raise serializers.ValidationError(str(services.CategoryRetired(found)))
        return found


@extend_schema(tags=[TAG_LABELING], request=None,
               responses={200: ServedSerializer, **errors(401, 403, 404)},
               operation_id="queue_next")
@api_view(["POST"])
def queue_next(request, slug):
    """Serve your next report and hold it for you, as the annotate page does (the same
    report again while you have not answered it). Answer it with POST annotations/."""
    project = project_for(request, slug, STAFF_ROLES)
    serving = labeling_services.report_serve(project=project, user=request.user)
    report, suggestion = serving.report, serving.suggestion
    if report is None:
        return Response({"report": None, "suggestion": None, "token": None,
                         "served_at": None})
    return Response({
        "report": {"id": report.pk, "accession": report.accession,
                   "procedure_date": report.procedure_date, "text": report.text},
        "suggestion": {"category": suggestion["category"].code,
                       "probability": suggestion["probability"],
                       "model_version": suggestion["version_number"]} if suggestion else None,
        "token": serving.token, "served_at": serving.served.served_at,
    })


@extend_schema(tags=[TAG_LABELING], request=SkipSerializer,
               responses={200: DetailSerializer, **errors(
                   400, 401, 403, 404, 415,
                   e400="The body did not validate, or the token is not one the queue served "
                   "(forged, or older than it lives).",
                   e403="Your role may not label here, the report was served to someone "
                   "else, or a browser session's write without its CSRF token.")},
               operation_id="queue_skip")
@api_view(["POST"])
def queue_skip(request, slug):
    """Skip the served report: the queue stops offering it to you."""
    project = project_for(request, slug, STAFF_ROLES)
    data = valid(SkipSerializer, request)
    served = labeling_services.served_from_token(token=data["token"], user=request.user)
    report = labeling_services.served_report_get(served=served, project=project)
    labeling_services.report_skip(report=report, user=request.user)
    return Response({"detail": f"{report.accession} skipped."})


class AnnotationFilterSerializer(serializers.Serializer):
    report = WholeNumberField(required=False, min_value=0, max_value=MAX_INT,
                              help_text="Report id.")
    user = QueryTextField(help_text="Username (admins; others see their own).")
    since = serializers.DateTimeField(required=False,
                                      help_text="Submitted at or after (ISO 8601).")


ANNOTATION_FILTERS = [AnnotationFilterSerializer]


@extend_schema(methods=["GET"], tags=[TAG_LABELING],
               parameters=ANNOTATION_FILTERS + PAGE_PARAMETERS,
               responses={200: paged(AnnotationSerializer), **errors(400, 401, 403, 404)},
               operation_id="annotations_list")
@extend_schema(methods=["POST"], tags=[TAG_LABELING], request=AnswerSerializer,
               operation_id="annotation_create",
               responses={201: AnnotationSerializer, **errors(
                   400, 401, 403, 404, 409, 415,
                   e400="The body did not validate (an unknown or retired category, a bad "
                   "active_ms), or the token is not one the queue served.",
                   e403="Your role may not label here, the report was served to someone "
                   "else, or a browser session's write without its CSRF token.",
                   e409="The answer was not recorded: you skipped the report, or its hold "
                   "ran out (it may have gone to someone else); ask the queue for the next.")})
@api_view(["GET", "POST"])
def annotations(request, slug):
    """GET: annotations, oldest first; admins see everyone's, annotators their own.
    POST: answer a report the queue served you, with the served token; timing is the
    server's (served and received), and active_ms is capped at that window."""
    project = project_for(request, slug, STAFF_ROLES)
    if request.method == "POST":
        return _annotation_create(request, project)
    rows = Annotation.objects.filter(report__project=project).select_related(
        "report", "user", "category", "suggested_category").order_by("submitted_at", "id")
    params = query(AnnotationFilterSerializer, request)
    if request.project_role != Role.ADMIN:
        rows = rows.filter(user=request.user)
    elif params.get("user"):
        rows = rows.filter(user__username=params["user"])
    if params.get("report") is not None:
        rows = rows.filter(report_id=params["report"])
    if params.get("since") is not None:
        rows = rows.filter(submitted_at__gte=params["since"])
    return paginate(request, rows, AnnotationSerializer)


def _annotation_create(request, project):
    data = valid(AnswerSerializer, request, project=project)
    served = labeling_services.served_from_token(token=data["token"], user=request.user)
    active_ms = data.get("active_ms")
    try:
        annotation = labeling_services.annotation_submit(
            served=served, user=request.user, project=project, category=data["category"],
            active_ms=None if active_ms is None else int(min(active_ms, MAX_INT)))
    except labeling_services.AnswerRefused as exc:
        # Skipped, or the hold ran out: the client's state is stale, not its request malformed.
        return Response({"detail": str(exc)}, status=409)
    annotation = Annotation.objects.select_related(
        "report", "user", "category", "suggested_category").get(pk=annotation.pk)
    if annotation.category_id != data["category"].pk:
        # The token was answered already (a retry is kept once): a different category sent
        # with it is not a correction, and must not look recorded.
        return Response({"detail": (
            f"{annotation.report.accession} was already answered with this token: "
            f"{annotation.category} (annotation {annotation.pk}), which stands. To change "
            "it, go back to it on the annotate page (Z), or ask an admin to adjudicate.")},
            status=409)
    return Response(AnnotationSerializer(annotation).data, status=201)
