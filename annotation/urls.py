from django.urls import path

from . import project_views, views
from .labeling import views as labeling

urlpatterns = [
    path("", views.home, name="home"),
    path("p/<slug:slug>/", views.dashboard, name="dashboard"),
    path("p/<slug:slug>/import/", views.import_reports, name="import_reports"),
    path("p/<slug:slug>/import/jobs/<id:job_id>/", views.import_job, name="import_job"),
    path("p/<slug:slug>/export.<str:fmt>", views.export_labels, name="export_labels"),
    path("p/<slug:slug>/annotate/", labeling.annotate, name="annotate"),
    path("p/<slug:slug>/adjudicate/", labeling.adjudication, name="adjudication"),
    path("p/<slug:slug>/review/", labeling.review, name="review"),
]
urlpatterns += [
    path("p/<slug:slug>/reports/", views.reports, name="reports"),
    # By id: an accession may hold '/', '..' or '?', which no URL path carries safely.
    path("p/<slug:slug>/reports/<id:report_id>/", views.report_detail, name="report_detail"),
]
urlpatterns += [path("p/<slug:slug>/agreement/", labeling.agreement, name="agreement")]

# The read-only JSON API moved to /api/v1/ (ctir_site/api_urls.py).
urlpatterns += [
    path("projects/new/", project_views.project_create, name="project_create"),
    path("p/<slug:slug>/settings/", project_views.project_settings, name="project_settings"),
    path("p/<slug:slug>/settings/categories/<id:category_id>/", project_views.category_edit,
         name="category_edit"),
    path("p/<slug:slug>/members/", project_views.project_members, name="project_members"),
    # Reached without logging in: the signed token is the permission (Django's reset tokens).
    path("set-password/done/", project_views.PasswordSetDoneView.as_view(),
         name="password_set_done"),
    path("set-password/<uidb64>/<token>/", project_views.PasswordSetView.as_view(),
         name="password_set"),
]
