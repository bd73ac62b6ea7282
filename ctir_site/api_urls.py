"""REST API v1: /api/v1/..., its OpenAPI schema and the browsable docs (assets served from
drf-spectacular-sidecar's static files, never a CDN). docs/api.md has a worked example."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from annotation import api as annotation_api
from core import api
from modeling import api as modeling_api
from studies import api as studies_api

P = "api/v1/projects/<slug:slug>/"

urlpatterns = [
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # The split view serves Swagger UI's set-up as a script file: no inline script, so the
    # docs work under the Content-Security-Policy.
    path("api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"),
         name="api_docs"),
    path("api/v1/projects/", annotation_api.projects, name="api_projects"),
    path(P, annotation_api.project_detail, name="api_project"),
    path(P + "categories/", annotation_api.categories, name="api_categories"),
    path(P + "reports/", annotation_api.reports, name="api_reports"),
    path(P + "imports/<id:job_id>/", annotation_api.import_job, name="api_import_job"),
    path(P + "queue/next/", annotation_api.queue_next, name="api_queue_next"),
    path(P + "queue/skip/", annotation_api.queue_skip, name="api_queue_skip"),
    path(P + "annotations/", annotation_api.annotations, name="api_annotations"),
    path(P + "models/", modeling_api.versions, name="api_models"),
    path(P + "models/<id:number>/", modeling_api.version_detail, name="api_model"),
    path(P + "models/<id:number>/cancel/", modeling_api.version_cancel,
         name="api_model_cancel"),
    path(P + "models/<id:number>/promote/", modeling_api.version_promote,
         name="api_model_promote"),
    path(P + "models/<id:number>/archive/", modeling_api.version_archive,
         name="api_model_archive"),
    path(P + "models/archives/", modeling_api.archives, name="api_model_archives"),
    path(P + "models/<id:number>/predictions/", modeling_api.version_predictions,
         name="api_model_predictions"),
    path(P + "prelabel/", modeling_api.prelabel, name="api_prelabel"),
    path(P + "classify/", modeling_api.classify, name="api_classify"),
    path(P + "studies/", studies_api.studies, name="api_studies"),
    path(P + "studies/<id:study_id>/results/", studies_api.study_results_api,
         name="api_study_results"),
    # Any other path under /api/v1/ (an id that is no number, a slug with a space): the
    # API's JSON 404 (401 without a token), never the site's HTML page. Paths ending in '/'
    # only, so /api/v1/projects still redirects to /api/v1/projects/.
    re_path(r"^api/v1/(?:[\s\S]*/)?\Z", api.not_found),
]
