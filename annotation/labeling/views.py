"""The labeling pages: the annotate workspace, adjudication, model review, agreement."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from .. import selectors as project_selectors
from ..access import ADMIN_ONLY, project_for
from ..forms import AdjudicationForm, NavigationForm, ReportChoiceForm
from ..models import Category, Report, Role
from . import selectors, services
from .agreement import agreement_report
from .forms import AnswerForm


@login_required
@require_http_methods(["GET", "POST"])
def annotate(request, slug):
    """One report at a time. POST records the answer (or a skip) and serves the next one."""
    project = project_for(request, slug)
    if request.method == "POST":
        return _answer(request, project)
    link = NavigationForm(request.GET).checked()
    previous = None
    if link["back"]:
        previous = selectors.previous_annotation(project, request.user, link["before"])
        if previous is None:
            messages.info(request, "There is no earlier answer of yours to go back to.")
    return _workspace(request, project, previous=previous, partial=bool(request.htmx))


def _answer(request, project):
    categories = project_selectors.categories_offered(project)
    answer = AnswerForm(request.POST, categories=categories).checked()
    served = services.served_from_token(token=answer["token"], user=request.user)
    check_held = True
    if answer["action"] == "skip":
        services.report_skip(report=services.served_report_get(served=served, project=project),
                             user=request.user)
    else:
        try:
            # active_ms is None without JavaScript: the served/submitted times still stand.
            annotation = services.annotation_submit(
                served=served, user=request.user, project=project, category=answer["category"],
                categories=categories, active_ms=answer["active_ms"])
        except services.AnswerRefused as exc:
            messages.warning(request, str(exc))
        else:
            check_held = annotation.holds_another
    if not request.htmx:
        return redirect("annotate", slug=project.slug)
    return _workspace(request, project, previous=None, partial=True, check_held=check_held,
                      categories=categories)


def _workspace(request, project, *, previous, partial, check_held=True, categories=None):
    serving = services.report_serve(project=project, user=request.user, previous=previous,
                                    check_held=check_held)
    suggestion = serving.suggestion
    context = {"project": project, "is_admin": request.project_role == Role.ADMIN,
               "report": serving.report, "previous": previous,
               # An answer read them already: not a second trip to the cache.
               "categories": (categories if categories is not None
                              else project_selectors.categories_offered(project)),
               "progress": selectors.annotator_progress(project, request.user),
               "suggestion": suggestion, "token": serving.token,
               "selected": (previous.category.code if previous
                            else suggestion["category"].code if suggestion else None)}
    template = "annotation/annotate.html" + ("#workspace" if partial else "")
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def adjudication(request, slug):
    project = project_for(request, slug, ADMIN_ONLY)
    if request.method == "POST":
        report = get_object_or_404(Report, project=project,
                                   pk=ReportChoiceForm(request.POST).checked()["report"])
        adjudicate_from_form(request, project, report)
        return redirect("adjudication", slug=project.slug)
    items = selectors.adjudication_queue(project)
    for item in items:
        item["suggestion"] = selectors.suggestion_for(item["report"])
    return render(request, "annotation/adjudication.html", {
        "project": project, "is_admin": True, "items": items,
        "categories": Category.objects.filter(project=project),
    })


def adjudicate_from_form(request, project, report):
    """Set the reference label from a posted category and reason; say what happened."""
    form = AdjudicationForm(request.POST, project=project)
    if not form.is_valid():
        problems = "; ".join(str(error) for errors in form.errors.values()
                             for error in errors)
        messages.error(request, f"{report.accession}: {problems}")
        return
    category = form.cleaned_data["category"]
    try:
        services.adjudicate(report=report, category=category, user=request.user,
                            reason=form.cleaned_data["reason"])
    except ValueError as exc:
        messages.error(request, f"{report.accession}: {exc}")
    else:
        messages.success(request, f"{report.accession}: reference label set to {category}.")


@login_required
@require_GET
def review(request, slug):
    project = project_for(request, slug, ADMIN_ONLY)
    paginator = Paginator(selectors.model_disagreements(project), 50)
    return render(request, "annotation/review.html", {
        "project": project, "is_admin": True,
        "page": paginator.get_page(NavigationForm(request.GET).checked()["page"]),
    })


@login_required
@require_GET
def agreement(request, slug):
    project = project_for(request, slug, ADMIN_ONLY)
    return render(request, "annotation/agreement.html", {
        "project": project, "is_admin": True, "report": agreement_report(project),
    })
