from django.urls import path

from . import views

urlpatterns = [
    path("p/<slug:slug>/models/", views.models_page, name="models"),
    path("p/<slug:slug>/models/jobs/", views.models_jobs, name="models_jobs"),
    path("p/<slug:slug>/models/health/", views.models_health, name="models_health"),
    path("p/<slug:slug>/models/train/", views.model_train, name="model_train"),
    path("p/<slug:slug>/models/policy/", views.retrain_policy_edit, name="retrain_policy"),
    path("p/<slug:slug>/models/prelabel/", views.prelabel_now, name="prelabel_now"),
    path("p/<slug:slug>/models/archives/", views.model_archive_upload,
         name="model_archive_upload"),
    path("p/<slug:slug>/models/v<id:number>/", views.model_detail, name="model_detail"),
    path("p/<slug:slug>/models/v<id:number>/cancel/", views.model_cancel, name="model_cancel"),
    path("p/<slug:slug>/models/v<id:number>/promote/", views.model_promote,
         name="model_promote"),
    path("p/<slug:slug>/models/v<id:number>/archive/", views.model_archive,
         name="model_archive"),
]
