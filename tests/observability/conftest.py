"""Fixtures of the observability tests: the real collaborators other apps' tests use (a platform
service over HTTP, the local Stripe, a platform service's client), and reading a metric."""

import io
import json
import logging

import pytest
import structlog
from django.conf import settings
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from centrali import tracing
from centrali.celery import app as celery_app
from tests.usage.conftest import service_client  # noqa: F401
from tests.workspaces.conftest import platform_service  # noqa: F401


@pytest.fixture
def metric():
    """metric(name, **labels) -> the sample's value in this process's registry (0 when absent)."""

    def read(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0.0

    return read


@pytest.fixture
def log_lines():
    """log_lines() -> the JSON log lines written so far in this test, parsed, rendered by the
    formatter the service logs with (settings.LOGGING)."""
    celery_app.loader.import_default_modules()  # Celery's Django fixup reconfigures logging once: before ours
    root = logging.getLogger()
    formatter = next(h.formatter for h in root.handlers if isinstance(h.formatter, structlog.stdlib.ProcessorFormatter))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    root.removeHandler(handler)
    root.setLevel(previous_level)


@pytest.fixture
def spans():
    """Tracing on, spans kept in memory; everything instrumented is undone afterwards."""
    middleware = list(settings.MIDDLEWARE)
    exporter = InMemorySpanExporter()
    assert tracing.configure_tracing(service_name="centrali-test", exporter=exporter)
    yield exporter
    tracing.shutdown_tracing()
    settings.MIDDLEWARE = middleware
