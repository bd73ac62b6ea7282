from django.urls import path

from . import views

urlpatterns = [
    path("p/<slug:slug>/studies/", views.study_list, name="study_list"),
    path("p/<slug:slug>/studies/power/", views.study_power, name="study_power"),
    path("p/<slug:slug>/studies/<id:study_id>/", views.study_detail, name="study_detail"),
    path("p/<slug:slug>/studies/<id:study_id>/update/", views.study_update,
         name="study_update"),
    path("p/<slug:slug>/studies/<id:study_id>/responses.csv", views.study_csv,
         name="study_csv"),
    path("p/<slug:slug>/studies/<id:study_id>/paper.zip", views.study_paper_zip,
         name="study_paper_zip"),
    path("p/<slug:slug>/studies/<id:study_id>/paper/<path:name>", views.study_paper_file,
         name="study_paper_file"),
    path("studies/", views.my_studies, name="my_studies"),
    path("read/<id:study_id>/", views.read, name="read"),
]
