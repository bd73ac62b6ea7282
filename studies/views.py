"""Reader-study pages: set-up and results for admins, the timed reading page for readers."""

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotation.access import ADMIN_ONLY, project_for
from annotation.exporting import csv_lines
from annotation.models import Category
from annotation.selectors import category_names
from core.jobs import handed_over
from modeling.selectors import trained_versions

from . import paper, selectors
from . import services as studies
from .forms import (
    POWER_DEFAULTS,
    DrawLinkForm,
    PowerForm,
    ReadingActionForm,
    ReadingAnswerForm,
    StudyCreateForm,
    StudyPartForm,
    StudyUpdateForm,
)
from .models import ReaderStudy
from .mrmc import plan_versus_model


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
        # The power planner's "use N cases" link fills the draw in.
        "planned_cases": DrawLinkForm(request.GET).checked()["draw"],
        "power": _power_form(request.GET, readers.count(), project),
    })


def _power_form(params, n_readers: int, project) -> dict:
    """The planner's inputs from the query string (defaults where absent) and its answer."""
    defaults, source = _power_defaults(project, n_readers)
    if "n_cases" not in params:
        defaults["n_cases"] = dict(
            (key, n) for key, _, n in selectors.case_set_choices(project))["test"] or 332
    values = PowerForm(params, defaults=defaults).checked()
    plan = plan_versus_model(
        reader_accuracy=values["reader_accuracy"] / 100,
        model_accuracy=values["model_accuracy"] / 100, n_readers=values["n_readers"],
        n_cases=values["n_cases"], reader_sd=values["reader_sd"] / 100,
        case_correlation=values["case_correlation"], target=values["target"] / 100)
    return {"values": values, "plan": plan, "source": source + (
        " Reader spread (3 points) and case correlation (0.3) are typical of such studies.")}


def _power_defaults(project, n_readers: int) -> tuple[dict, str]:
    """The planner's defaults, with this project's accuracies once a study here has them,
    and where they come from, in words."""
    defaults = {**POWER_DEFAULTS, "n_readers": max(n_readers, 2)}
    observed = selectors.observed_accuracies(project)
    if not observed:
        return defaults, (
            "the accuracies are the study ctir follows (Acta Radiologica 2025: two readers at "
            "92.2% and 94.0%, mean 93.1%; the fine-tuned model 97.9%), until a study here "
            "has readers and a model.")
    defaults["reader_accuracy"] = round(observed["readers"] * 100, 1)
    defaults["model_accuracy"] = round(observed["model"] * 100, 1)
    return defaults, (
        f"the accuracies are this project's own, from “{observed['study']}” "
        f"({observed['n']} cases with a reference: the readers' mean "
        f"{defaults['reader_accuracy']}%, the model {defaults['model_accuracy']}%).")


@login_required
@require_GET
def study_power(request, slug):
    """The power planner on its own: the set-up page's card, or just the card for htmx."""
    project = project_for(request, slug, ADMIN_ONLY)
    if not request.htmx:
        return redirect(f"{reverse('study_list', args=[slug])}?{request.GET.urlencode()}"
                        "#power")
    readers = selectors.project_readers(project)
    return render(request, "studies/studies.html#power", {
        "project": project, "power": _power_form(request.GET, readers.count(), project)})


def _study_create_from_form(request, project, readers):
    form = StudyCreateForm(request.POST, readers=readers, versions=trained_versions(project))
    if not form.is_valid():
        messages.error(request, f"Study not created: {form.error_text()}.")
        return redirect("study_list", slug=project.slug)
    data = form.cleaned_data
    version = data["model_version"]
    seed = data["draw_seed"] if data["draw_seed"] is not None else secrets.randbelow(2**31)
    report_ids, draw = selectors.case_draw(
        project, key=data["cases"], n=data["sample_size"], seed=seed,
        date_from=data["date_from"], date_to=data["date_to"])
    try:
        study = studies.study_create(
            project=project, name=data["name"], readers=data["readers"], user=request.user,
            mode=data["mode"], model_version_id=version.pk if version else None,
            instructions=data["instructions"],
            reports=project.reports.filter(pk__in=report_ids), case_draw=draw,
        )
    except studies.StudyError as exc:
        messages.error(request, f"Study not created: {exc}.")
        return redirect("study_list", slug=project.slug)
    messages.success(request, f"“{study.name}” created as a draft with "
                     f"{study.cases.count()} cases. Open it when the readers may start.")
    return redirect("study_detail", slug=project.slug, study_id=study.pk)


def _study(project, study_id) -> ReaderStudy:
    return get_object_or_404(ReaderStudy, project=project, pk=study_id)


def _model_context(study) -> dict:
    version, chosen = selectors.study_model_version(study)
    run = selectors.latest_timing_run(study)
    return {"model_version": version, "model_chosen": chosen, "timing_run": run,
            "timing_running": selectors.timing_running(run)}


@login_required
@require_GET
def study_detail(request, slug, study_id):
    project = project_for(request, slug, ADMIN_ONLY)
    study = _study(project, study_id)
    if request.htmx and StudyPartForm(request.GET).checked()["part"] == "model":
        # The model card polls while its timing runs; once it has ended, the whole page
        # reloads so the results table shows the measured answers and times.
        context = _model_context(study)
        if not context["timing_running"]:
            return HttpResponse(headers={"HX-Refresh": "true"})
        return render(request, "studies/study_detail.html#model_card", {
            "project": project, "study": study, "versions": trained_versions(project),
            "model_source": selectors.model_answers(study)[2], **context})
    results = selectors.study_results(study)
    return render(request, "studies/study_detail.html", {
        "project": project, "is_admin": True, "r": results, "study": study,
        "sessions": study.readers.select_related("user"),
        "versions": trained_versions(project), "model_source": results["model_source"],
        **_model_context(study),
        "names": category_names(project),
        "paper_tables": [("results", "Accuracy and reading time per rater"),
                         ("mrmc", "MRMC comparisons"), ("mcnemar", "McNemar tests"),
                         ("behaviour", "Reading behaviour and agreement")],
        "paper_figures": [("accuracy", "Accuracy with 95% CI per rater"),
                          ("time_per_case", "Reading time per case"),
                          ("confusion", "Confusion matrices"),
                          ("time_by_position", "Reading time against case position")],
    })


@login_required
@require_POST
def study_update(request, slug, study_id):
    project = project_for(request, slug, ADMIN_ONLY)
    study = _study(project, study_id)
    change = StudyUpdateForm(request.POST).checked()
    try:
        if change["status"]:
            studies.study_status_set(study=study, status=change["status"])
            version = selectors.study_model_version(study)[0]
            fixed = f"; it compares with model v{version.number}" if version and (
                study.model_version_id) else ""
            messages.success(request, f"The study is now "
                             f"{study.get_status_display().lower()}{fixed}.")
        if change["model_version_sent"]:
            studies.study_model_set(study=study,
                                    model_version_id=change["model_version"] or None)
            messages.success(request, "Model version saved.")
        if change["measure_model"]:
            _model_timing_request(request, study)
    except studies.StudyError as exc:
        messages.error(request, str(exc))
    return redirect("study_detail", slug=slug, study_id=study.pk)


def _model_timing_request(request, study) -> None:
    run = studies.study_model_timing_request(study=study, user=request.user)
    if reason := handed_over(run):
        messages.error(request, f"The model cannot be timed now: {reason}")
    else:
        messages.info(request, "The model is queued to be timed on the cases by a worker; "
                      "the page follows its progress and updates when it ends.")


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


PAPER_TYPES = {"csv": "text/csv; charset=utf-8", "md": "text/markdown; charset=utf-8",
               "tex": "application/x-tex; charset=utf-8", "svg": "image/svg+xml",
               "png": "image/png"}


@login_required
@require_GET
def study_paper_file(request, slug, study_id, name):
    """One paper-ready file: a table, the methods paragraph or a figure."""
    project = project_for(request, slug, ADMIN_ONLY)
    study = _study(project, study_id)
    data = paper.paper_file(study, name)
    if data is None:
        raise Http404("No such file")
    response = HttpResponse(data, content_type=PAPER_TYPES.get(
        name.rsplit(".", 1)[-1], "application/octet-stream"))
    filename = f"study-{study.pk}-" + name.replace("/", "-")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@login_required
@require_GET
def study_paper_zip(request, slug, study_id):
    project = project_for(request, slug, ADMIN_ONLY)
    study = _study(project, study_id)
    response = HttpResponse(paper.paper_zip(study), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="study-{study.pk}-paper.zip"'
    return response


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
    if request.method == "POST":
        answered = _read_post(request, session)
        if answered is not None:
            return answered
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


def _read_post(request, session):
    """The answer to a POST, or None where htmx swaps in the reading page as it is now."""
    study = session.study
    posted = ReadingActionForm(request.POST).checked()
    action = posted["action"]
    if action in ("hidden", "visible"):
        # Sent by the page itself (a beacon when it hides): never a redirect, which the
        # browser would follow with a GET that opens a new reading page.
        if not _visibility_from_page(session, page=posted["page"], hidden=action == "hidden"):
            return _stale(request, study)
        if action == "hidden" or not request.htmx:
            return HttpResponse(status=204)
        return None
    if not _read_from_form(request, session, action=action, page=posted["page"]):
        if request.htmx:
            return _stale(request, study)
        messages.error(request, studies.STALE_PAGE.capitalize() + ".")
    return None if request.htmx else redirect("read", study_id=study.pk)


def _stale(request, study):
    """Another tab or window reads this study now: this page shows no case any more."""
    if not request.htmx:
        return HttpResponse(studies.STALE_PAGE.capitalize() + ".", status=409,
                            content_type="text/plain; charset=utf-8")
    return render(request, "studies/read.html#reading", {"study": study, "stale": True})


def _visibility_from_page(session, *, page: str, hidden: bool) -> bool:
    try:
        studies.study_visibility(session=session, page=page, hidden=hidden)
    except studies.StalePage:
        return False
    return True


def _read_from_form(request, session, *, action: str, page: str) -> bool:
    """Pause, resume, or record the answer to the case on screen, with what it showed.
    False when the request came from a reading page that is not the session's one."""
    try:
        if action in ("pause", "resume"):
            studies.study_pause(session=session, page=page, paused=action == "pause")
        else:
            _answer_from_form(request, session, page=page)
    except studies.StalePage:
        return False
    except studies.StudyError as exc:
        messages.error(request, str(exc).capitalize() + ".")
    return True


def _answer_from_form(request, session, *, page: str) -> None:
    answer = ReadingAnswerForm(request.POST).checked()
    study = session.study
    category = get_object_or_404(Category, project=study.project, code=answer["category"])
    _, case, current = studies.study_serve(session=session)
    shown = selectors.shown_suggestion(
        study, case, aided=case is not None and session.aided[current])
    position = answer["position"]
    studies.study_answer(
        session=session, position=-1 if position is None else position,
        category=category, active_ms=answer["active_ms"],
        page=page, shown_category=shown["category"] if shown else None,
        shown_probability=shown["probability"] if shown else None,
    )
