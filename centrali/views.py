from __future__ import annotations

import platform
import subprocess
from functools import lru_cache
from typing import Any

import django
from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiJsonRenderer2
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from centrali.api.metrics import render_metrics
from centrali.api.renderers import PrometheusTextRenderer
from centrali.api.schema import response_example


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

    @extend_schema(
        summary="Service version",
        description="The contract version this service implements, the deployed commit and the runtime versions.",
        responses={
            200: OpenApiResponse(
                {
                    "type": "object",
                    "properties": {
                        "service": {"type": "string"},
                        "version": {"type": "string"},
                        "commit": {"type": "string", "nullable": True},
                        "django": {"type": "string"},
                        "python": {"type": "string"},
                    },
                },
                description="Versions",
            )
        },
        examples=[
            response_example(
                {
                    "service": "workspace-service",
                    "version": "1.0.0",
                    "commit": "eadc2ad0c1b5",
                    "django": "5.2.19",
                    "python": "3.11.7",
                }
            )
        ],
        tags=["Service"],
    )
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
    renderer_classes = [PrometheusTextRenderer]

    @extend_schema(
        summary="Prometheus metrics",
        description=(
            "Request counts and latencies by route, and the service's gauges (workspaces by status, ...), in the "
            "Prometheus text exposition format. Answers `text/plain`, `*/*`, a request without Accept, and "
            "Prometheus' own OpenMetrics-first Accept header."
        ),
        responses={(200, "text/plain"): OpenApiTypes.STR},
        examples=[
            response_example(
                "# HELP centrali_workspaces Workspaces by status\n"
                "# TYPE centrali_workspaces gauge\n"
                'centrali_workspaces{status="active"} 42.0\n',
                media_type="text/plain",
            )
        ],
        tags=["Service"],
    )
    def get(self, request: Request) -> HttpResponse:
        body, content_type = render_metrics()
        return HttpResponse(body, content_type=content_type)


_OPENAPI_EXAMPLE = {"openapi": "3.0.3", "info": {"title": "Centrali Workspace Service API"}, "paths": {}}


class OpenApiDocumentView(SpectacularAPIView):
    """GET /openapi.json: the schema drf-spectacular generates from the code, as JSON (the OpenAPI
    media type first, plain `application/json` for clients that ask for it)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    renderer_classes = [OpenApiJsonRenderer, OpenApiJsonRenderer2]

    @extend_schema(
        summary="OpenAPI document",
        description=(
            "This API's OpenAPI 3 document, as `application/vnd.oai.openapi+json` or, when asked for, "
            "`application/json`. The interactive documentation at /docs renders it."
        ),
        responses={200: OpenApiTypes.OBJECT},
        examples=[
            response_example(_OPENAPI_EXAMPLE, media_type=media_type)
            for media_type in ("application/vnd.oai.openapi+json", "application/json")
        ],
        tags=["Service"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response: Response = super().get(request, *args, **kwargs)
        return response
