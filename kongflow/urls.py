from django.contrib import admin
from django.urls import include, path

from kongflow import health, metrics_auth

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.prometheus_metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/", include("endpoints.api.urls")),
    path("metrics", metrics_auth.metrics, name="prometheus-django-metrics"),
]
