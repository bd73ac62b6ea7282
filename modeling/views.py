from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from annotation.access import ADMIN_ONLY, project_for
from annotation.selectors import category_names

from . import selectors, services
from .models import JobStatus, ModelVersion


def _jobs_context(project) -> dict:
    versions = selectors.versions_with_candidates(project)
    return {
        "project": project,
        "is_admin": True,
        "versions": versions,
        "coverage_warning": selectors.latest_coverage_warning(versions),
        "running": selectors.jobs_running(project),
        "prelabel": selectors.latest_prelabel(project),
        "coverage": selectors.prediction_coverage(project),
    }


@login_required
@require_GET
def models_page(request, slug):
    project = project_for(request, slug, ADMIN_ONLY)
    context = _jobs_context(project)
    context["health"] = selectors.queue_health()
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
def models_jobs(request, slug):
    """The polled fragment: versions with live progress. Polling stops when nothing runs."""
    project = project_for(request, slug, ADMIN_ONLY)
    context = _jobs_context(project)
    response = render(request, "modeling/models.html#jobs", context)
    if request.htmx and not context["running"]:
        return HttpResponseStopPolling(response.content)
    return response


def _refused_without_worker(request, project, queue: str, job: str):
    """Back to the Models page with the reason when no worker would run the job now."""
    problem = selectors.queue_problem(queue)
    if not problem:
        return None
    messages.error(request, f"{job} cannot start: {problem}")
    return redirect("models", slug=project.slug)


@login_required
@require_POST
def model_train(request, slug):
    project = project_for(request, slug, ADMIN_ONLY)
    if refused := _refused_without_worker(request, project, "training", "Training"):
        return refused
    try:
        recipe = services.recipe_clean(
            epochs=request.POST.get("epochs"), seeds=request.POST.get("seeds"),
            max_length=request.POST.get("max_length"),
        )
    except services.JobError as exc:
        messages.error(request, f"Training not started: {exc}.")
        return redirect("models", slug=slug)
    try:
        start_from = selectors.start_from_choice(project, request.user,
                                                 request.POST.get("start_from", ""))
    except LookupError:
        messages.error(request, "Training not started: that version cannot be started "
                       "from here.")
        return redirect("models", slug=slug)
    try:
        version = services.model_version_create(
            project=project, user=request.user, recipe=recipe,
            auto_promote=request.POST.get("auto_promote") == "on", start_from=start_from,
        )
    except services.JobError as exc:
        messages.error(request, f"Training not started: {exc}.")
        return redirect("models", slug=slug)
    version.refresh_from_db(fields=["status", "error"])
    if version.status == JobStatus.FAILED:  # the broker did not take it (ctir_site.queue)
        messages.error(request, f"v{version.number} could not be queued: {version.error}")
        return redirect("models", slug=slug)
    warm = version.hyperparameters.get("warm_start")
    messages.success(request, f"v{version.number} is queued for training" + (
        f", starting from {warm['project']} v{warm['version']}." if warm else "."))
    return redirect("models", slug=slug)


@login_required
@require_POST
def retrain_policy_edit(request, slug):
    project = project_for(request, slug, ADMIN_ONLY)
    try:
        policy = services.retrain_policy_set(
            project=project, mode=request.POST.get("mode", ""),
            every=request.POST.get("every"), user=request.user,
        )
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
    try:
        version = services.model_version_promote(
            version=_version(project, number), user=request.user
        )
    except services.JobError as exc:
        messages.error(request, str(exc))
        return redirect("models", slug=slug)
    run = selectors.latest_prelabel(project)
    if run is not None and run.model_version_id == version.pk and run.status == JobStatus.FAILED:
        messages.warning(request, f"v{version.number} is now the active model, but "
                         f"pre-labeling could not be queued: {run.error}")
    else:
        messages.success(
            request, f"v{version.number} is now the active model; pre-labeling has been queued."
        )
    return redirect("models", slug=slug)


@login_required
@require_POST
def prelabel_now(request, slug):
    project = project_for(request, slug, ADMIN_ONLY)
    if refused := _refused_without_worker(request, project, "inference", "Pre-labeling"):
        return refused
    try:
        run = services.prelabel_request(project=project, user=request.user)
    except services.JobError as exc:
        messages.error(request, str(exc))
    else:
        run.refresh_from_db(fields=["status", "error"])
        if run.status == JobStatus.FAILED:  # the broker did not take it (ctir_site.queue)
            messages.error(request, f"Pre-labeling could not be queued: {run.error}")
        else:
            messages.success(request, "Pre-labeling is queued.")
    return redirect("models", slug=slug)


@login_required
@require_GET
def model_detail(request, slug, number):
    project = project_for(request, slug, ADMIN_ONLY)
    version = _version(project, number)
    candidates = selectors.candidate_rows(version.metrics)
    return render(request, "modeling/model_detail.html", {
        "project": project, "is_admin": True, "version": version, "candidates": candidates,
        "coverage": (version.metrics or {}).get("coverage"),
        "blocks": selectors.metric_blocks(candidates),
        "curve": selectors.validation_curve(version.history or []),
        "lineage": selectors.lineage(version),
        "artifact_note": selectors.artifact_note(version),
        "warm": (version.hyperparameters or {}).get("warm_start"),
        "names": category_names(project),
    })
