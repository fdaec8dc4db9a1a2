from __future__ import annotations

import platform
import subprocess
from functools import lru_cache
from typing import Any

import django
from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from centrali.api.metrics import render_metrics


@lru_cache(maxsize=1)
def _git_commit() -> str | None:
    if settings.GIT_COMMIT:
        return str(settings.GIT_COMMIT)
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 -- a fixed command, git from PATH
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=2,
            check=True,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


class VersionView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response(
            {
                "service": "workspace-service",
                "version": settings.SERVICE_VERSION,
                "commit": _git_commit(),
                "django": django.get_version(),
                "python": platform.python_version(),
            }
        )


class MetricsView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR}, description="Prometheus text format")
    def get(self, request: Request) -> HttpResponse:
        body, content_type = render_metrics()
        return HttpResponse(body, content_type=content_type)


class OpenApiDocumentView(SpectacularAPIView):
    """GET /openapi.json: the schema drf-spectacular generates from the code, as JSON."""

    authentication_classes = []
    permission_classes = [AllowAny]
    renderer_classes = [OpenApiJsonRenderer]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response: Response = super().get(request, *args, **kwargs)
        return response
