"""OpenTelemetry tracing, set up in one place: on when OTEL_EXPORTER_OTLP_ENDPOINT is set, else
entirely off (nothing of the SDK is imported, nothing is instrumented, no span is made).

Each process that serves calls `configure_tracing()` once, after any fork: the web process from
centrali.wsgi (gunicorn loads the app in each worker after forking; under --preload the SDK's
span processor restarts its thread in each child), a Celery worker's pool processes from the
worker_process_init signal (centrali.celery), a solo/threads worker from worker_init.

Instrumented: Django (the request span, outermost middleware), psycopg (each query), Celery
(publishing injects the trace context into the message headers beside centrali.celery's
request id header, and the worker continues that trace), Redis (broker and cache), requests
(Stripe's client and the platform services' provisioning), and Django storage writes (a span
around each Storage.save/delete: export archives, workspace areas), which no library covers.

The exporter reads the standard variables (OTEL_EXPORTER_OTLP_ENDPOINT, _HEADERS, _TIMEOUT;
OTEL_SERVICE_NAME names the service, else the process kind).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

_provider: TracerProvider | None = None
_instrumentors: list[Any] = []
_unpatch: list[Callable[[], None]] = []


def enabled() -> bool:
    return _provider is not None


def configure_tracing(*, service_name: str = "centrali-web", exporter: SpanExporter | None = None) -> bool:
    """Instrument this process and export its spans; True when tracing is on.

    Without `exporter` (a test's in-memory one, exported synchronously) spans go in batches to
    the OTLP/HTTP endpoint of OTEL_EXPORTER_OTLP_ENDPOINT; without that variable nothing happens.
    """
    global _provider
    if _provider is not None:
        return True
    if exporter is None and not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return False

    from opentelemetry import trace
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or service_name})
    )
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)  # once per process: libraries asking the API find it
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentations: tuple[tuple[Any, dict[str, Any]], ...] = (
        (DjangoInstrumentor(), {"request_hook": _drop_query_strings}),
        (PsycopgInstrumentor(), {"enable_commenter": False}),
        (CeleryInstrumentor(), {}),
        (RedisInstrumentor(), {}),
        (RequestsInstrumentor(), {"request_hook": _drop_query_strings}),
    )
    for instrumentor, options in instrumentations:
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider, **options)
            _instrumentors.append(instrumentor)
    _trace_storage_writes(provider)
    _provider = provider
    return True


def shutdown_tracing() -> None:
    """Undo configure_tracing (tests): uninstrument, flush and drop the provider."""
    global _provider
    for instrumentor in reversed(_instrumentors):
        instrumentor.uninstrument()
    _instrumentors.clear()
    for undo in reversed(_unpatch):
        undo()
    _unpatch.clear()
    if _provider is not None:
        _provider.shutdown()
    _provider = None


# Query strings hold credentials and personal data (an export's signed download token, an email
# Stripe is searched by): a span keeps the URL without them. Parameters are never recorded.
_URL_ATTRIBUTES = ("http.url", "url.full", "http.target")


def _drop_query_strings(span: Any, request: Any) -> None:
    attributes = getattr(span, "attributes", None) or {}
    for name in _URL_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str) and "?" in value:
            span.set_attribute(name, value.split("?", 1)[0])
    if attributes.get("url.query"):
        span.set_attribute("url.query", "")


def _trace_storage_writes(provider: TracerProvider) -> None:
    from django.core.files.storage import Storage

    tracer = provider.get_tracer("centrali.storage")
    for operation in ("save", "delete"):
        original = getattr(Storage, operation)
        setattr(Storage, operation, _traced_storage_call(original, operation, tracer))
        _unpatch.append(functools.partial(setattr, Storage, operation, original))


def _traced_storage_call(method: Callable[..., Any], operation: str, tracer: Any) -> Callable[..., Any]:
    @functools.wraps(method)
    def traced(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        attributes = {"storage.backend": type(self).__name__, "storage.file": str(name)}
        with tracer.start_as_current_span(f"storage.{operation}", attributes=attributes):
            return method(self, name, *args, **kwargs)

    return traced


def current_trace_ids() -> dict[str, str]:
    """trace_id and span_id of the current span for log lines; empty while tracing is off."""
    if _provider is None:
        return {}
    from opentelemetry import trace

    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return {}
    return {"trace_id": format(span_context.trace_id, "032x"), "span_id": format(span_context.span_id, "016x")}
