"""Prometheus metrics: request counts and latency by route template, plus the apps' scrape-time collectors."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

REQUESTS = Counter("centrali_http_requests_total", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram(
    "centrali_http_request_duration_seconds",
    "HTTP request latency",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


# Collectors that read the database at scrape time (the apps register theirs from ready()),
# so their figures are the database's, not one process's.
_scrape_time_collectors: list[Collector] = []


def register_scrape_time_collector(collector: Collector) -> None:
    """Add a collector whose samples are computed at each scrape, in any worker."""
    _scrape_time_collectors.append(collector)
    REGISTRY.register(collector)


def render_metrics() -> tuple[bytes, str]:
    """(body, content type). Under gunicorn with PROMETHEUS_MULTIPROC_DIR, all workers' samples are merged."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        for collector in _scrape_time_collectors:
            registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


_KNOWN_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})


def _method_of(request: HttpRequest) -> str:
    """Clients choose the method: any other one is `OTHER`, so labels stay a bounded set."""
    method = request.method or ""
    return method if method in _KNOWN_METHODS else "OTHER"


def _route_of(request: HttpRequest) -> str:
    match = request.resolver_match
    if match is None:
        return "unmatched"
    return "/" + match.route if match.route else match.view_name or "unknown"


class PrometheusMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        route = _route_of(request)
        method = _method_of(request)
        LATENCY.labels(route, method).observe(time.perf_counter() - started)
        REQUESTS.labels(route, method, str(response.status_code)).inc()
        return response
