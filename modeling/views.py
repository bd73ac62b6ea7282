from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from annotation.access import ADMIN_ONLY, project_for
from annotation.selectors import category_names
from core.jobs import Outcome

from . import selectors, services
from .archive import ArchiveError
from .forms import ModelArchiveForm, RetrainPolicyForm, TrainForm, form_problem
from .models import ModelVersion


def _jobs_context(project) -> dict:
    """What the page and its polled fragment share: the jobs in progress, the last
    pre-labeling run and the predictions so far."""
    in_progress = selectors.versions_in_progress(project)
    prelabel = selectors.prelabel_for_page(project)
    return {
        "project": project,
        "is_admin": True,
        "in_progress": in_progress,
        "prelabel": prelabel,
        "running": bool(in_progress) or (prelabel is not None and prelabel.is_running),
        "coverage": selectors.prediction_coverage(project),
    }


def _history_context(project) -> dict:
    versions = selectors.versions_with_candidates(project)
    return {"versions": versions,
            "coverage_warning": selectors.latest_coverage_warning(versions)}


@login_required
@require_GET
def models_page(request, slug):
    project = project_for(request, slug, ADMIN_ONLY)
    context = _jobs_context(project) | _history_context(project)
    # Only what is already known: asking the workers takes up to a second, so the page asks
    # for it in a request of its own (models_health) once it has loaded.
    context["health"] = selectors.queue_health_known()
    context["retrain"] = selectors.retrain_policy(project)
    context["warm_choices"] = selectors.warm_start_choices(project, request.user)
    context["validation"] = selectors.validation_summary(project)
    context["accuracy"] = selectors.accuracy_over_versions(context["versions"])
    context["recipe"] = services.DEFAULT_RECIPE
    context["limits"] = services.LIMITS
    context["step_bounds"] = services.STEP_BOUNDS
    return render(request, "modeling/models.html", context)


@login_required
@require_GET
def models_health(request, slug):
    """The workers' answer (up to a second's wait), asked by the page after it loaded: the
    notice, and the Train and Pre-label buttons enabled or not with the reason."""
    project = project_for(request, slug, ADMIN_ONLY)
    health = selectors.queue_health()
    if not request.htmx:  # the page's link without JavaScript: the page now knows
        return redirect("models", slug=project.slug)
    return render(request, "modeling/models.html#health_answer", {
        "project": project, "health": health, "coverage": selectors.prediction_coverage(project),
    })


@login_required
@require_GET
def models_jobs(request, slug):
    """The polled fragment: the jobs in progress and the last pre-labeling run, with the
    prediction count. When nothing runs any more it also brings the version history up to
    date, and polling stops."""
    project = project_for(request, slug, ADMIN_ONLY)
    context = _jobs_context(project)
    if not context["running"]:
        context |= _history_context(project) | {"followed": True}
    response = render(request, "modeling/models.html#jobs_poll", context)
    if request.htmx and not context["running"]:
        return HttpResponseStopPolling(response.content)
    return response


def _said(request, slug, outcome: Outcome):
    """The page's answer to a use case's outcome, back on the Models page."""
    if not outcome.ok:
        messages.error(request, outcome.refused or outcome.unavailable)
    elif outcome.note:
        messages.warning(request, outcome.note)
    else:
        messages.success(request, outcome.message)
    return redirect("models", slug=slug)


@login_required
@require_POST
def model_train(request, slug):
    project = project_for(request, slug, ADMIN_ONLY)
    form = TrainForm(request.POST)
    if not form.is_valid():
        return _said(request, slug, Outcome(refused=f"Training not started: "
                                                    f"{form_problem(form)}."))
    return _said(request, slug, services.training_request(
        project=project, user=request.user, recipe=form.recipe(),
        start_from=form.cleaned_data["start_from"],
        auto_promote=form.cleaned_data["auto_promote"]))


@login_required
@require_POST
def retrain_policy_edit(request, slug):
    project = project_for(request, slug, ADMIN_ONLY)
    form = RetrainPolicyForm(request.POST)
    try:
        if not form.is_valid():
            raise services.JobError(form_problem(form))
        policy = services.retrain_policy_set(project=project, user=request.user,
                                             **form.cleaned_data)
    except services.JobError as exc:
        messages.error(request, f"Policy not saved: {exc}.")
    else:
        messages.success(request, f"Automatic retraining after every {policy.every} new "
                         "reference labels is on." if policy.is_on
                         else "Automatic retraining is off.")
    return redirect("models", slug=slug)


def _version(project, number) -> ModelVersion:
    return get_object_or_404(ModelVersion, project=project, number=number)


@login_required
@require_POST
def model_cancel(request, slug, number):
    project = project_for(request, slug, ADMIN_ONLY)
    try:
        messages.info(request, services.model_version_cancel(version=_version(project, number)))
    except services.JobError as exc:
        messages.error(request, str(exc))
    return redirect("models", slug=slug)


@login_required
@require_POST
def model_promote(request, slug, number):
    project = project_for(request, slug, ADMIN_ONLY)
    return _said(request, slug, services.promotion_request(
        version=_version(project, number), user=request.user))


@login_required
@require_GET
def model_archive(request, slug, number):
    """The version as one signed zip, for another ctir instance (or this one) to import."""
    project = project_for(request, slug, ADMIN_ONLY)
    try:
        handle, name = selectors.version_archive(_version(project, number))
    except ArchiveError as exc:
        messages.error(request, f"No download: {exc}.")
        return redirect("model_detail", slug=slug, number=number)
    return FileResponse(handle, as_attachment=True, filename=name,
                        content_type="application/zip")


@login_required
@require_POST
def model_archive_upload(request, slug):
    project = project_for(request, slug, ADMIN_ONLY)
    form = ModelArchiveForm(request.POST, request.FILES)
    if not form.is_valid():
        return _said(request, slug, Outcome(refused=f"Not imported: {form_problem(form)}."))
    return _said(request, slug, services.model_archive_import(
        project=project, upload=form.cleaned_data["file"], user=request.user))


@login_required
@require_POST
def prelabel_now(request, slug):
    project = project_for(request, slug, ADMIN_ONLY)
    return _said(request, slug, services.prelabel_start(project=project, user=request.user))


@login_required
@require_GET
def model_detail(request, slug, number):
    project = project_for(request, slug, ADMIN_ONLY)
    version = _version(project, number)
    candidates = selectors.candidate_rows(version.metrics)
    return render(request, "modeling/model_detail.html", {
        "project": project, "is_admin": True, "version": version, "candidates": candidates,
        "coverage": (version.metrics or {}).get("coverage"),
        "encoder_note": selectors.encoder_note(version.metrics),
        "blocks": selectors.metric_blocks(candidates),
        "curve": selectors.validation_curve(version.history or []),
        "lineage": selectors.lineage(version),
        "artifact_note": selectors.artifact_note(version),
        "warm": (version.hyperparameters or {}).get("warm_start"),
        "names": category_names(project),
    })
