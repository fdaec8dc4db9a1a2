"""The service's URLs plus the floor of `bench.http`, mounted only by `bench.http_settings`.

The floor is a DRF view like every endpoint (same middleware, same renderer) that answers a
constant body without authentication, permission checks, throttling or the database: what a
request costs before any of the service's own work. The public URLconf (centrali.urls) never has it.
"""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from centrali.urls import API, handler400, handler403, handler404, handler500
from centrali.urls import urlpatterns as service_urlpatterns

FLOOR_PATH = "bench-floor"
FLOOR_BODY = {"service": "workspace-service", "floor": True}


class FloorView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    def get(self, request: Request) -> Response:
        return Response(FLOOR_BODY)


# First: under the API prefix every other single segment would resolve as a {slug}.
urlpatterns = [path(f"{API}{FLOOR_PATH}", FloorView.as_view(), name="bench-floor"), *service_urlpatterns]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
