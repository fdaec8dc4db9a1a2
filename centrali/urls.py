from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from centrali import health, views

API = "workspace/api/v1/"

# Fixed routes come first: their names are reserved and never resolve as a {slug}.
fixed_routes = [
    path("healthz", health.HealthzView.as_view(), name="healthz"),
    path("readyz", health.ReadyzView.as_view(), name="readyz"),
    path("version", views.VersionView.as_view(), name="version"),
    path("metrics", views.MetricsView.as_view(), name="metrics"),
    path("openapi.json", views.OpenApiDocumentView.as_view(), name="openapi"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi", authentication_classes=[]), name="docs"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path(API, include(fixed_routes)),
    path(API, include("billing.urls")),
    path(API, include("usage.urls")),
    path(API, include("support.urls")),
    path(API, include("audit.urls")),
    path(API, include("workspaces.urls")),
]

handler400 = "centrali.api.errors.handler400"
handler403 = "centrali.api.errors.handler403"
handler404 = "centrali.api.errors.handler404"
handler500 = "centrali.api.errors.handler500"
