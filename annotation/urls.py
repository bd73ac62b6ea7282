from django.urls import path

from . import views
from .labeling import views as labeling

urlpatterns = [
    path("", views.home, name="home"),
    path("p/<slug:slug>/", views.dashboard, name="dashboard"),
    path("p/<slug:slug>/import/", views.import_reports, name="import_reports"),
    path("p/<slug:slug>/import/jobs/<int:job_id>/", views.import_job, name="import_job"),
    path("p/<slug:slug>/export.<str:fmt>", views.export_labels, name="export_labels"),
    path("p/<slug:slug>/annotate/", labeling.annotate, name="annotate"),
    path("p/<slug:slug>/adjudicate/", labeling.adjudication, name="adjudication"),
    path("p/<slug:slug>/review/", labeling.review, name="review"),
]
urlpatterns += [
    path("p/<slug:slug>/reports/", views.reports, name="reports"),
    # By id: an accession may hold '/', '..' or '?', which no URL path carries safely.
    path("p/<slug:slug>/reports/<int:report_id>/", views.report_detail, name="report_detail"),
]
urlpatterns += [path("p/<slug:slug>/agreement/", labeling.agreement, name="agreement")]
