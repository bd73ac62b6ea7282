from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("accounts.urls")),
    path("", include("ctir_site.api_urls")),
    path("", include("annotation.urls")),
    path("", include("modeling.urls")),
    path("", include("studies.urls")),
]
handler400 = "ctir_site.errors.bad_request"
handler500 = "ctir_site.errors.server_error"
