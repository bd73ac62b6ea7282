import tempfile
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseStopPolling

from core.jobs import handed_over

from . import selectors, services
from .access import ADMIN_ONLY, project_for
from .exporting import EXPORT_FORMATS
from .forms import (
    UPLOAD_MAX_AGE,
    UPLOAD_SALT,
    ColumnMappingForm,
    ExportForm,
    ImportCheckForm,
    NavigationForm,
    StagedUploadForm,
)
from .importing.columns import DATE_FORMATS, FIELD_LABELS, FIELDS, ColumnMapping
from .importing.formats import FORMAT_SUFFIXES, ImportFormatError, file_format
from .importing.plan import (
    ImportPlan,
    estimate_data_rows,
    estimate_rows,
    plan_import,
    read_header,
)
from .labeling.views import adjudicate_from_form
from .models import Category, ImportJob, Report, Role, Split


@login_required
@require_GET
def home(request):
    roles = selectors.project_role_map(request.user)
    projects = [
        {"project": p, "role": "admin" if request.user.is_superuser else roles.get(p.pk)}
        for p in selectors.projects_for_user(request.user)
    ]
    if len(projects) == 1 and projects[0]["role"] in ("admin", "annotator"):
        return redirect("dashboard", slug=projects[0]["project"].slug)
    if projects and all(p["role"] == Role.READER for p in projects):
        # Readers see their studies and nothing else of a project.
        return redirect("my_studies")
    return render(request, "annotation/home.html", {"projects": projects})


@login_required
@require_GET
def dashboard(request, slug):
    project = project_for(request, slug)
    return render(request, "annotation/dashboard.html", {
        "project": project, "stats": selectors.dashboard_stats(project),
        "activity": selectors.labelling_activity(project),
        "is_admin": request.project_role == Role.ADMIN,
    })


@login_required
@require_http_methods(["GET", "POST"])
def import_reports(request, slug):
    """Upload -> preview with the column mapping (every problem listed; change the mapping
    and check again) -> confirm. Nothing is written before confirm."""
    project = project_for(request, slug, ADMIN_ONLY)
    context, status = {"project": project, "is_admin": True}, 200
    if request.method == "POST" and "confirm" in request.POST:
        return _import_confirm(request, project)
    if request.method == "POST" and "remap" in request.POST:
        return _import_remap(request, project)
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["form_error"] = (
                "Choose a file to upload: CSV, JSON Lines, Excel (.xlsx), FHIR (.json, "
                ".ndjson), HL7 v2 (.hl7), or a Label Studio, doccano or Prodigy export.")
        elif upload.size > settings.CTIR_MAX_UPLOAD_BYTES:
            context["form_error"], status = _too_big(upload), 413
        else:
            try:
                suffix = FORMAT_SUFFIXES[file_format(upload.name)]
            except ImportFormatError as exc:
                context["form_error"] = str(exc)
            else:
                staged = _stage_upload(upload, suffix)
                if _checked_by_a_worker(staged):
                    return _check_in_background(request, project, staged, upload.name, None)
                context.update(_preview(request, project, staged, upload.name, mapping=None))
    elif "check" in request.GET:
        context.update(_checked_preview(request, project))
    return _import_page(request, project, context, status)


def _checked_by_a_worker(staged: Path) -> bool:
    """A big file (by its line breaks, or a workbook by what it expands to) is previewed by
    a worker: checking 200,000 rows takes half a minute, longer than a request should hold.
    A workbook refused from its zip directory is refused at once, in the request."""
    try:
        return estimate_rows(staged) >= settings.CTIR_BACKGROUND_CHECK_ROWS
    except ImportFormatError:
        return False


def _check_in_background(request, project, staged: Path, name: str,
                         mapping: ColumnMapping | None):
    job = services.import_check_start(project=project, path=staged, filename=name,
                                      rows=estimate_data_rows(staged), user=request.user,
                                      mapping=mapping)
    if handed_over(job, reason_field="message", failed=ImportJob.Status.FAILED):
        messages.error(request, f"{name} could not be checked: no worker took the job.")
    else:
        messages.info(request, f"{name} is big: a worker is checking it. Its preview opens "
                      "here when the check is done; nothing is imported before you confirm.")
    return redirect("import_reports", slug=project.slug)


def _checked_preview(request, project) -> dict:
    """The preview a worker's check kept: only for the admin who uploaded the file here."""
    job = get_object_or_404(
        ImportJob, project=project, created_by=request.user, check_only=True,
        plan__isnull=False, pk=ImportCheckForm(request.GET).checked()["check"])
    plan = ImportPlan.from_dict(job.plan)
    staged = Path(job.staged)
    if not staged.exists() and plan.ok and not plan.changes_nothing:
        return {"form_error": f"The upload of {job.filename} has expired or was imported; "
                "upload it again."}
    return _preview_context(request, project, staged, job.filename, plan)


def _import_page(request, project, context, status=200):
    context["is_admin"] = True  # the page is for admins only; the nav shows their links
    context["batches"] = project.import_batches.select_related("imported_by")[:10]
    context["job"] = job = selectors.import_job_latest(project)
    if job is not None:
        context["progress"] = selectors.import_job_progress(job)
    return render(request, "annotation/import.html", context, status=status)


def _preview(request, project, staged: Path, name: str, mapping: ColumnMapping | None) -> dict:
    """Check the staged file; keep it while the admin may still fix the mapping."""
    plan = plan_import(project, staged, name, mapping)
    if plan.changes_nothing or not plan.columns:
        staged.unlink(missing_ok=True)  # nothing a new mapping could change
    return _preview_context(request, project, staged, name, plan)


def _preview_context(request, project, staged: Path, name: str, plan: ImportPlan) -> dict:
    used = plan.mapping or ColumnMapping()
    # Bound to this project and this admin: a token copied into another project's form, or
    # posted by someone else, imports nothing.
    # rows: a file this big is imported by a worker on confirm (CTIR_BACKGROUND_IMPORT_ROWS).
    token = signing.dumps({"file": staged.name, "name": name, "mapping": used.to_dict(),
                           "project": project.pk, "user": request.user.pk,
                           "rows": plan.rows, "ok": plan.ok}, salt=UPLOAD_SALT)
    fields = [{"name": f, "label": FIELD_LABELS[f], "chosen": used.source(f),
               "multiple": f == "text"} for f in FIELDS]
    return {"plan": plan, "token": token, "mapping_fields": fields,
            "date_format": used.date_format, "date_formats": DATE_FORMATS.items()}


def _staged_from_token(request, project):
    """(token contents, staged path), or None after a message (expired, someone else's)."""
    form = StagedUploadForm(request.POST, project=project, user=request.user)
    if not form.is_valid():
        messages.error(request, form.error_text())
        return None
    return form.cleaned_data["token"], form.cleaned_data["staged"]


def _import_remap(request, project):
    found = _staged_from_token(request, project)
    if found is None:
        return redirect("import_reports", slug=project.slug)
    token, staged = found
    header = read_header(staged, file_format(token["name"], staged))
    mapping = ColumnMappingForm(request.POST, header=header).mapping()
    if _checked_by_a_worker(staged):
        return _check_in_background(request, project, staged, token["name"], mapping)
    return _import_page(request, project, _preview(request, project, staged, token["name"],
                                                   mapping)
                        | {"project": project, "remapped": True})


def _too_big(upload) -> str:
    return (f"{upload.name} is {filesizeformat(upload.size)}; uploads are limited to "
            f"{filesizeformat(settings.CTIR_MAX_UPLOAD_BYTES)}. Split the file, or import it "
            "on the server with manage.py import_reports.")


def _stage_upload(upload, suffix: str) -> Path:
    folder = Path(settings.CTIR_UPLOAD_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    _remove_expired_uploads(folder)
    staged = folder / f"{uuid.uuid4().hex}{suffix}"
    with open(staged, "wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return staged


def _remove_expired_uploads(folder: Path) -> None:
    """Previewed but never confirmed (or cancelled): gone once its token has expired."""
    cutoff = time.time() - UPLOAD_MAX_AGE
    for staged in folder.iterdir():
        try:
            if staged.is_file() and staged.stat().st_mtime < cutoff:
                staged.unlink()
        except FileNotFoundError:
            pass  # another request removed it first


def _import_confirm(request, project):
    found = _staged_from_token(request, project)
    if found is None:
        return redirect("import_reports", slug=project.slug)
    token, staged = found
    if not token.get("ok", True):
        # The confirm button is not shown for a file with problems; a posted token that had
        # them must not queue a job that can only be rejected.
        messages.error(request, f"{token['name']} has problems (listed in its preview); fix "
                       "them and upload it again. Nothing was imported.")
        return redirect("import_reports", slug=project.slug)
    mapping = ColumnMapping.from_dict(token["mapping"]) if token.get("mapping") else None
    if token.get("rows", 0) >= settings.CTIR_BACKGROUND_IMPORT_ROWS:
        return _import_in_background(request, project, staged, token, mapping)
    return _import_now(request, project, staged, token, mapping)


def _import_now(request, project, staged: Path, token: dict, mapping: ColumnMapping | None):
    try:
        # The mapping previewed, signed into the token: what is written is what was shown.
        result = services.reports_import(
            project=project, path=staged, filename=token["name"], user=request.user,
            mapping=mapping,
        )
    except services.ImportBusy as exc:
        messages.error(request, str(exc))
        return redirect("import_reports", slug=project.slug)
    except services.ImportRejected as exc:
        return render(request, "annotation/import.html", {
            "project": project, "is_admin": True, "plan": exc.plan,
            "batches": project.import_batches.all()[:10],
        })
    finally:
        staged.unlink(missing_ok=True)
    messages.success(request, result.message)
    return redirect("dashboard", slug=project.slug)


def _import_in_background(request, project, staged: Path, token: dict,
                          mapping: ColumnMapping | None):
    """A big file: a Celery worker imports it while the page shows its progress."""
    outcome = services.import_job_request(project=project, path=staged,
                                          filename=token["name"], rows=token["rows"],
                                          user=request.user, mapping=mapping)
    if outcome.refused:
        messages.error(request, outcome.refused)
    elif outcome.unavailable:  # the job's card on the page says why and what to do
        messages.error(request, f"{outcome.job.filename} could not be queued; nothing was "
                       "imported.")
    else:
        messages.info(request, outcome.message)
    return redirect("import_reports", slug=project.slug)


@login_required
@require_GET
def import_job(request, slug, job_id):
    """The polled progress fragment of an import job; polling stops when it has ended."""
    project = project_for(request, slug, ADMIN_ONLY)
    job = get_object_or_404(ImportJob, project=project, pk=job_id)
    response = render(request, "annotation/import.html#job", {
        "project": project, "job": job, "progress": selectors.import_job_progress(job)})
    if request.htmx and not job.is_active:
        return HttpResponseStopPolling(response.content)
    return response


@login_required
@require_GET
def export_labels(request, slug, fmt):
    """The project's reports and labels as a download: CSV and JSON Lines (ctir's columns),
    Label Studio JSON, doccano and Prodigy JSON Lines, streamed; the Hugging Face dataset
    (Parquet per split and a dataset card, zipped) written to a temporary file first."""
    project = project_for(request, slug, ADMIN_ONLY)
    if fmt not in EXPORT_FORMATS:
        raise Http404("Unknown export format")
    identifiers = ExportForm(request.GET).checked()["identifiers"]
    name = f"{project.slug}-labels-{timezone.now():%Y%m%d-%H%M}"
    if fmt == "hf.zip":
        return _hf_dataset_response(project, name, identifiers)
    response = StreamingHttpResponse(selectors.export_text(project, fmt),
                                     content_type=EXPORT_FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _hf_dataset_response(project, name, identifiers):
    # Parquet writes its footer last, so the zip cannot stream; the temporary file goes
    # when the response closes it.
    file = tempfile.TemporaryFile()
    try:
        selectors.export_dataset(project, file, folder=name, identifiers=identifiers)
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return FileResponse(file, as_attachment=True, filename=f"{name}.hf.zip",
                        content_type=EXPORT_FORMATS["hf.zip"])


@login_required
@require_GET
def reports(request, slug):
    project = project_for(request, slug, ADMIN_ONLY)
    queryset, applied = selectors.reports_filtered(project, request.GET)
    if "q" in applied:
        queryset.count_at_most(selectors.SEARCH_COUNT_CAP)
    page = Paginator(queryset, 50).get_page(NavigationForm(request.GET).checked()["page"])
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "annotation/reports.html", {
        "project": project, "is_admin": True, "page": page, "applied": applied,
        "capped": queryset.capped,
        "categories": Category.objects.filter(project=project),
        "names": selectors.category_names(project),
        "splits": Split.choices, "statuses": selectors.REPORT_STATUSES,
        "query": query.urlencode(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def report_detail(request, slug, report_id):
    project = project_for(request, slug, ADMIN_ONLY)
    report = get_object_or_404(Report.objects.select_related("patient"), project=project,
                               pk=report_id)
    if request.method == "POST":
        adjudicate_from_form(request, project, report)
        return redirect("report_detail", slug=project.slug, report_id=report.pk)
    return render(request, "annotation/report_detail.html", {
        "project": project, "is_admin": True, "report": report,
        "categories": Category.objects.filter(project=project),
        **selectors.report_detail(report),
    })
