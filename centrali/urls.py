from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

import audit.urls
import billing.urls
import support.urls
import usage.urls
import workspaces.urls
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

# One list under the prefix, not an include per app: Django tries an include's patterns and raises and
# catches a Resolver404 for each include that does not match, which made resolving `GET /{slug}` (the
# last app's) cost two and a half times the floor's resolving (bench/RESULTS.md). Each app keeps the
# order of its own patterns.
urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        API,
        include(
            [
                *fixed_routes,
                *billing.urls.urlpatterns,
                *usage.urls.urlpatterns,
                *support.urls.urlpatterns,
                *audit.urls.urlpatterns,
                *workspaces.urls.urlpatterns,
            ]
        ),
    ),
]

handler400 = "centrali.api.errors.handler400"
handler403 = "centrali.api.errors.handler403"
handler404 = "centrali.api.errors.handler404"
handler500 = "centrali.api.errors.handler500"
