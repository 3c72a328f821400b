from django.contrib import admin
from django.urls import include, path

from endpoints.admin.overview import overview_view
from kongflow import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.prometheus_metrics, name="metrics"),
    path("admin/overview/", admin.site.admin_view(overview_view), name="kongflow-overview"),
    path("admin/", admin.site.urls),
    path("api/", include("endpoints.api.urls")),
]
