"""A database that goes away costs a retry, never a 500.

- Before a request: persistent connections are health-checked before reuse
  (settings CONN_HEALTH_CHECKS; centrali.db.postgresql makes the check a poll() of the socket, not a
  query), so the first request after a PostgreSQL restart reconnects.
- During a request: a connection lost or refused mid-way raises OperationalError/InterfaceError.
  Every write of a request runs in one transaction (the services' `transaction.atomic()`), which
  PostgreSQL rolls back when its connection dies, so nothing of the request is kept; the client is
  told to retry: 503 DATABASE_UNAVAILABLE with Retry-After. DRF views get that answer from
  centrali.api.errors.exception_handler, any other view from `DatabaseFaultMiddleware` below.
  Django closes the broken connection when the request ends; the next request opens a new one.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from centrali.api.errors import API_PREFIX, DATABASE_RETRY_AFTER_SECONDS, database_unavailable, domain_error_response

logger = structlog.get_logger(__name__)


class DatabaseFaultMiddleware:
    """503 for a database fault raised by a view outside DRF (the admin, plain Django views)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponseBase | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.warning("database_unavailable", method=request.method, path=request.path, error=type(exception).__name__)
        if request.path.startswith(API_PREFIX):
            return domain_error_response(request, database_unavailable())
        response = HttpResponse(
            "The database is unavailable; retry shortly.", status=503, content_type="text/plain; charset=utf-8"
        )
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
