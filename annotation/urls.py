from django.urls import path

from . import api, views, views_studies

urlpatterns = [
    path("", views.home, name="home"),
    path("p/<slug:slug>/", views.dashboard, name="dashboard"),
    path("p/<slug:slug>/import/", views.import_reports, name="import_reports"),
    path("p/<slug:slug>/export.<str:fmt>", views.export_labels, name="export_labels"),
    path("p/<slug:slug>/annotate/", views.annotate, name="annotate"),
    path("p/<slug:slug>/adjudicate/", views.adjudication, name="adjudication"),
    path("p/<slug:slug>/review/", views.review, name="review"),
]
urlpatterns += [
    path("p/<slug:slug>/reports/", views.reports, name="reports"),
    # By id: an accession may hold '/', '..' or '?', which no URL path carries safely.
    path("p/<slug:slug>/reports/<int:report_id>/", views.report_detail, name="report_detail"),
]
urlpatterns += [path("p/<slug:slug>/agreement/", views.agreement, name="agreement")]

urlpatterns += [
    path("p/<slug:slug>/studies/", views_studies.study_list, name="study_list"),
    path("p/<slug:slug>/studies/<int:study_id>/", views_studies.study_detail,
         name="study_detail"),
    path("p/<slug:slug>/studies/<int:study_id>/update/", views_studies.study_update,
         name="study_update"),
    path("p/<slug:slug>/studies/<int:study_id>/responses.csv", views_studies.study_csv,
         name="study_csv"),
    path("studies/", views_studies.my_studies, name="my_studies"),
    path("read/<int:study_id>/", views_studies.read, name="read"),
]

urlpatterns += [
    path("api/p/<slug:slug>/categories/", api.categories, name="api_categories"),
    path("api/p/<slug:slug>/reports/", api.reports, name="api_reports"),
    path("api/p/<slug:slug>/studies/<int:study_id>/results/", api.study_results_api,
         name="api_study_results"),
]
