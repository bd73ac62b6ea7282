"""Reader-study pages: set-up and results for admins, the timed reading page for readers."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotation import inputs
from annotation.access import ADMIN_ONLY, project_for
from annotation.exporting import csv_lines
from annotation.models import Category
from modeling.selectors import trained_versions

from . import selectors
from . import services as studies
from .models import ReaderStudy


@login_required
@require_http_methods(["GET", "POST"])
def study_list(request, slug):
    project = project_for(request, slug, ADMIN_ONLY)
    readers = selectors.project_readers(project)
    if request.method == "POST":
        return _study_create_from_form(request, project, readers)
    return render(request, "studies/studies.html", {
        "project": project, "is_admin": True,
        "studies": ReaderStudy.objects.filter(project=project),
        "readers": readers, "versions": trained_versions(project),
        "modes": ReaderStudy.Mode.choices,
        "case_sets": selectors.case_set_choices(project),
    })


def _study_create_from_form(request, project, readers):
    version = inputs.whole_number(request.POST.get("model_version"), name="model_version")
    try:
        study = studies.study_create(
            project=project, name=request.POST.get("name", "").strip() or "Reader study",
            readers=readers.filter(pk__in=[inputs.whole_number(pk, name="readers")
                                           for pk in request.POST.getlist("readers")]),
            user=request.user,
            mode=request.POST.get("mode", ReaderStudy.Mode.UNAIDED),
            model_version_id=version,
            instructions=request.POST.get("instructions", ""),
            reports=selectors.case_set_reports(project, request.POST.get("cases")),
        )
    except studies.StudyError as exc:
        messages.error(request, f"Study not created: {exc}.")
        return redirect("study_list", slug=project.slug)
    messages.success(request, f"“{study.name}” created as a draft with "
                     f"{study.cases.count()} cases. Open it when the readers may start.")
    return redirect("study_detail", slug=project.slug, study_id=study.pk)


def _study(project, study_id) -> ReaderStudy:
    return get_object_or_404(ReaderStudy, project=project, pk=study_id)


@login_required
@require_GET
def study_detail(request, slug, study_id):
    project = project_for(request, slug, ADMIN_ONLY)
    study = _study(project, study_id)
    results = selectors.study_results(study)
    return render(request, "studies/study_detail.html", {
        "project": project, "is_admin": True, "r": results, "study": study,
        "sessions": study.readers.select_related("user"),
        "versions": trained_versions(project),
        "plots": _plots(results),
    })


@login_required
@require_POST
def study_update(request, slug, study_id):
    project = project_for(request, slug, ADMIN_ONLY)
    study = _study(project, study_id)
    try:
        if "status" in request.POST:
            studies.study_status_set(study=study, status=request.POST["status"])
            messages.success(request, f"The study is now {study.get_status_display().lower()}.")
        if "model_version" in request.POST:
            version = inputs.whole_number(request.POST.get("model_version"),
                                          name="model_version") or None
            studies.study_model_set(study=study, model_version_id=version)
            messages.success(request, "Model version saved.")
        if "measure_model" in request.POST:
            studies.study_model_timing_request(study=study)
            study.refresh_from_db(fields=["model_timing"])
            job = study.model_timing.get("job") or {}
            if job.get("status") == "failed":  # the broker did not take it
                messages.error(request, f"The model cannot be timed now: {job['error']}")
            else:
                messages.info(request, "The model is being timed on the cases by a worker; "
                              "reload in a minute.")
    except studies.StudyError as exc:
        messages.error(request, str(exc))
    return redirect("study_detail", slug=slug, study_id=study.pk)


@login_required
@require_GET
def study_csv(request, slug, study_id):
    project = project_for(request, slug, ADMIN_ONLY)
    study = _study(project, study_id)
    response = StreamingHttpResponse(csv_lines(selectors.RESPONSE_COLUMNS,
                                               selectors.response_rows(study)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="study-{study.pk}-responses.csv"'
    return response


def _plots(results) -> dict:
    """Two small SVG plots: accuracy with 95% CI per rater, and seconds per case per rater."""
    rows = [r for r in results["rows"] if r["accuracy"]["n"]]
    if not rows:
        return {}
    width, left, top, step = 560, 140, 20, 34
    low = min([r["accuracy"]["ci"][0] for r in rows] + [0.8])

    def x(value):
        return left + (value - low) / max(1 - low, 1e-9) * (width - left - 20)

    accuracy = [{
        "name": r["name"], "y": top + i * step, "x": x(r["accuracy"]["accuracy"]),
        "lo": x(r["accuracy"]["ci"][0]), "hi": x(r["accuracy"]["ci"][1]),
        "label": f"{r['accuracy']['accuracy'] * 100:.1f}%", "model": r["is_model"],
    } for i, r in enumerate(rows)]
    longest = max([max(r["seconds_per_case"], default=0) for r in rows] + [1])
    times = [{
        "name": r["name"], "y": top + i * step, "model": r["is_model"],
        "dots": [left + s / longest * (width - left - 20) for s in r["seconds_per_case"]],
        "median": (left + r["time"]["median"] / longest * (width - left - 20)
                   if r["time"]["median"] is not None else None),
    } for i, r in enumerate(rows)]
    return {"width": width, "height": top + len(rows) * step, "left": left,
            "low": low, "longest": longest, "accuracy": accuracy, "times": times,
            "axis_x": x(1.0)}


# --- Reading (readers) -----------------------------------------------------------------------

@login_required
@require_GET
def my_studies(request):
    return render(request, "studies/my_studies.html",
                  {"sessions": selectors.open_sessions(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def read(request, study_id):
    # Anything but the reader's own session in an open study is a 404 (no leaks).
    session = selectors.reader_session(request.user, study_id)
    if session is None:
        raise Http404("No such study")
    study = session.study
    action = request.POST.get("action")
    if request.method == "POST" and action in ("hidden", "visible"):
        # Sent by the page itself (a beacon when it hides): never a redirect, which the
        # browser would follow with a GET that opens a new reading page.
        if not _visibility_from_page(request, session, hidden=action == "hidden"):
            return _stale(request, study)
        if action == "hidden" or not request.htmx:
            return HttpResponse(status=204)
    elif request.method == "POST":
        if not _read_from_form(request, session):
            if request.htmx:
                return _stale(request, study)
            messages.error(request, studies.STALE_PAGE.capitalize() + ".")
        if not request.htmx:
            return redirect("read", study_id=study.pk)
    # A GET opens a new reading page: from then on only it counts (StudyReader.page).
    session, case, position = studies.study_serve(session=session,
                                                  new_page=request.method == "GET")
    context = {
        "study": study, "session": session, "case": case, "position": position,
        "total": len(session.order),
        "categories": Category.objects.filter(project=study.project),
        "shown": selectors.shown_suggestion(
            study, case, aided=case is not None and session.aided[position]),
        "paused": session.paused_at is not None,
    }
    template = "studies/read.html" + ("#reading" if request.htmx else "")
    return render(request, template, context)


def _stale(request, study):
    """Another tab or window reads this study now: this page shows no case any more."""
    if not request.htmx:
        return HttpResponse(studies.STALE_PAGE.capitalize() + ".", status=409,
                            content_type="text/plain; charset=utf-8")
    return render(request, "studies/read.html#reading", {"study": study, "stale": True})


def _visibility_from_page(request, session, *, hidden: bool) -> bool:
    try:
        studies.study_visibility(session=session, page=request.POST.get("page", ""),
                                 hidden=hidden)
    except studies.StalePage:
        return False
    return True


def _read_from_form(request, session) -> bool:
    """Pause, resume, or record the answer to the case on screen, with what it showed.
    False when the request came from a reading page that is not the session's one."""
    action = request.POST.get("action")
    page = request.POST.get("page", "")
    try:
        if action in ("pause", "resume"):
            studies.study_pause(session=session, page=page, paused=action == "pause")
            return True
        study = session.study
        category = get_object_or_404(Category, project=study.project, code=inputs.whole_number(
            request.POST.get("category"), name="category") or 0)
        position = inputs.whole_number(request.POST.get("position"), name="position")
        _, case, current = studies.study_serve(session=session)
        shown = selectors.shown_suggestion(
            study, case, aided=case is not None and session.aided[current])
        studies.study_answer(
            session=session, position=-1 if position is None else position,
            category=category, active_ms=inputs.milliseconds(request.POST.get("active_ms")),
            page=page, shown_category=shown["category"] if shown else None,
            shown_probability=shown["probability"] if shown else None,
        )
    except studies.StalePage:
        return False
    except studies.StudyError as exc:
        messages.error(request, str(exc).capitalize() + ".")
    return True
