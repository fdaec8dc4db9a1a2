"""Liveness and readiness probes: `GET /healthz` and `GET /readyz`.

healthz answers 200 whenever this process can answer at all: it touches no dependency, so a
database outage never gets a healthy web process restarted. readyz checks each dependency a
request may need (the database, the Celery broker, the cache, the workspace file storage that
holds export archives) and answers 503 while one is down, so a load balancer stops routing here.

Both are unauthenticated, never rate limited nor metered (no workspace). Their answers name no
secret, host or URL: a failed check reports only the class of its error (the messages of
database and Redis errors name the host).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connections
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from centrali.api.schema import response_example
from centrali.celery import app as celery_app

logger = structlog.get_logger(__name__)

STORAGE_ALIAS = "workspace_files"  # settings.STORAGES; where the worker writes export archives
PROBE_PREFIX = "readyz"
BROKER_TIMEOUT_SECONDS = 2
UP, DOWN = "up", "down"


def check_database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
        connection.default_channel  # noqa: B018 -- opening the channel is the round trip (Redis: a PING)


def check_cache() -> None:
    key, value = f"{PROBE_PREFIX}:{uuid.uuid4().hex}", "ok"
    cache.set(key, value, timeout=10)
    try:
        if cache.get(key) != value:
            raise LookupError("the cache did not return what was just stored")
    finally:
        cache.delete(key)


def check_storage() -> None:
    storage = storages[STORAGE_ALIAS]
    name = storage.save(f"{PROBE_PREFIX}/{uuid.uuid4().hex}.probe", ContentFile(b"ok"))
    storage.delete(name)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "cache": check_cache,
    "storage": check_storage,
}


def run_checks() -> tuple[bool, dict[str, dict[str, Any]]]:
    """(every check passed, {name: {"status": "up"|"down", "latencyMs": float, "error"?: class name}})."""
    results: dict[str, dict[str, Any]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:
            result: dict[str, Any] = {"status": DOWN, "error": type(exc).__name__}
            logger.warning("readiness.check_failed", check=name, error=type(exc).__name__, exc_info=True)
        else:
            result = {"status": UP}
        result["latencyMs"] = round((time.perf_counter() - started) * 1000, 2)
        results[name] = result
    return all(result["status"] == UP for result in results.values()), results


_CHECK_RESULT = inline_serializer(
    "ReadinessCheck",
    fields={
        "status": serializers.ChoiceField(choices=[UP, DOWN]),
        "latencyMs": serializers.FloatField(),
        "error": serializers.CharField(required=False, help_text="The class of the error; only when down"),
    },
)
_READINESS = inline_serializer(
    "Readiness",
    fields={
        "status": serializers.ChoiceField(choices=["ready", "unavailable"]),
        "checks": inline_serializer("ReadinessChecks", fields=dict.fromkeys(CHECKS, _CHECK_RESULT)),
    },
)


class ProbeView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []


class HealthzView(ProbeView):
    @extend_schema(
        summary="Liveness",
        description="200 while the process can serve. Checks no dependency.",
        responses={200: inline_serializer("Liveness", fields={"status": serializers.CharField()})},
        examples=[response_example({"status": "ok"})],
        tags=["operations"],
    )
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class ReadyzView(ProbeView):
    @extend_schema(
        summary="Readiness",
        description="Checks the database, the task broker, the cache and the export storage; "
        "503 while one of them is down. Each check answers its status and latency in ms.",
        responses={200: _READINESS, 503: OpenApiResponse(_READINESS, description="A dependency is down")},
        examples=[
            response_example(
                {"status": "ready", "checks": {name: {"status": UP, "latencyMs": 1.2} for name in CHECKS}}
            ),
            response_example(
                {
                    "status": "unavailable",
                    "checks": {
                        **{name: {"status": UP, "latencyMs": 1.2} for name in CHECKS},
                        "broker": {"status": DOWN, "latencyMs": 2.5, "error": "OperationalError"},
                    },
                },
                status=503,
                summary="A dependency is down",
            ),
        ],
        tags=["operations"],
    )
    def get(self, request: Request) -> Response:
        ready, checks = run_checks()
        return Response({"status": "ready" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)
