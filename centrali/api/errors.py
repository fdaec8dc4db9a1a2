"""One error shape for the whole API: the spec's Error object (def-4).

Every 4xx/5xx carries the body `error_body` builds: domain errors (`centrali.errors`, mapped to
a status by `STATUS_OF_DOMAIN_ERROR`) and DRF's exceptions via `exception_handler`, Django's own
400/403/404/500 and CSRF failures via the `handler*` views and `csrf_failure`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found, server_error
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings

from centrali.api.renderers import JSONRenderer
from centrali.context import current_context
from centrali.errors import (
    Conflict,
    DomainError,
    Gone,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    PreconditionFailed,
    Unavailable,
    UpstreamError,
)

logger = structlog.get_logger(__name__)

API_PREFIX = "/workspace/api/"


# The one table from domain errors to HTTP statuses; the most specific class wins.
STATUS_OF_DOMAIN_ERROR: dict[type[DomainError], int] = {
    InvalidInput: 400,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    PreconditionFailed: 412,
    PayloadTooLarge: 413,
    UpstreamError: 502,
    Unavailable: 503,
}


# What a client is told when the database connection is lost or refused mid-request (a restart, a
# failover, a terminated backend): the request's transaction never committed, so it may retry.
DATABASE_RETRY_AFTER_SECONDS = 5


def database_unavailable() -> Unavailable:
    return Unavailable(
        "The database is unavailable; retry shortly.",
        code="DATABASE_UNAVAILABLE",
        retry_after=DATABASE_RETRY_AFTER_SECONDS,
    )


class ErrorResponse(Response):
    """The Error object as JSON, whatever renderer content negotiation chose (or failed to choose):
    an endpoint answering text or files still reports its failures in the one error shape."""

    @property
    def rendered_content(self) -> Any:
        self.accepted_renderer = JSONRenderer()
        self.accepted_media_type = JSONRenderer.media_type
        return super().rendered_content


def status_of(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_OF_DOMAIN_ERROR:
            return STATUS_OF_DOMAIN_ERROR[cls]
    return 400


def error_body(
    request: HttpRequest,
    *,
    status_code: int,
    code: str,
    message: str,
    details: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "error": code,
        "message": message,
        "status": status_code,
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "path": request.path,
        "requestId": current_context().request_id or None,  # each request has one (RequestContextMiddleware)
    }
    if details:
        body["details"] = details
    return body


def _error_json_response(request: HttpRequest, *, status_code: int, code: str, message: str) -> JsonResponse:
    """The Error object answered by a plain Django view (outside DRF)."""
    return JsonResponse(error_body(request, status_code=status_code, code=code, message=message), status=status_code)


def domain_error_response(request: HttpRequest, error: DomainError) -> JsonResponse:
    """The Error object of a domain error, answered outside DRF (middleware, plain views)."""
    status_code = status_of(error)
    response = JsonResponse(
        error_body(request, status_code=status_code, code=error.code, message=error.message, details=error.details),
        status=status_code,
    )
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response


def _flatten_validation_detail(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested ValidationError detail -> {"field.sub": ["message", ...]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            # A nested serializer's own errors (e.g. a list that is not one) belong to the field holding it.
            nested_own = key == api_settings.NON_FIELD_ERRORS_KEY and prefix
            flat.update(_flatten_validation_detail(value, prefix if nested_own else f"{prefix}{key}."))
        return flat
    if isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        for index, item in enumerate(detail):
            flat.update(_flatten_validation_detail(item, f"{prefix}{index}."))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    if not messages:
        return {}
    return {prefix.rstrip(".") or "non_field_errors": [str(m) for m in messages]}


# DRF's exceptions -> (our code, a fixed message or None for the exception's own).
_DRF_CODES: dict[type[exceptions.APIException], tuple[str, str | None]] = {
    exceptions.NotAuthenticated: ("UNAUTHENTICATED", "Authentication credentials were not provided."),
    exceptions.AuthenticationFailed: ("INVALID_TOKEN", None),
    exceptions.PermissionDenied: ("FORBIDDEN", None),
    exceptions.NotFound: ("NOT_FOUND", None),
    exceptions.MethodNotAllowed: ("METHOD_NOT_ALLOWED", None),
    exceptions.NotAcceptable: ("NOT_ACCEPTABLE", None),
    exceptions.UnsupportedMediaType: ("UNSUPPORTED_MEDIA_TYPE", None),
    exceptions.ParseError: ("MALFORMED_REQUEST", None),
    exceptions.Throttled: ("RATE_LIMITED", None),
}


def _message_of(detail: Any) -> str:
    if isinstance(detail, dict):
        if "detail" in detail:
            return str(detail["detail"])
        return "; ".join(_message_of(v) for v in detail.values())
    if isinstance(detail, list):
        return "; ".join(_message_of(v) for v in detail)
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception becomes the spec's Error object."""
    request: HttpRequest = context["request"]
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge("The request body is too large.")
    elif isinstance(exc, SuspiciousOperation):
        exc = InvalidInput("The request was refused as malformed.", code="BAD_REQUEST")
    elif isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database_unavailable", method=request.method, path=request.path, error=type(exc).__name__)
        exc = database_unavailable()

    if isinstance(exc, DomainError):
        status_code = status_of(exc)
        response = ErrorResponse(
            error_body(request, status_code=status_code, code=exc.code, message=exc.message, details=exc.details),
            status=status_code,
        )
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response

    if isinstance(exc, exceptions.ValidationError):
        details = _flatten_validation_detail(exc.detail)
        fields = ", ".join(sorted(details))
        body = error_body(
            request,
            status_code=400,
            code="VALIDATION_ERROR",
            message=f"Invalid input: {fields}.",
            details=details,
        )
        return ErrorResponse(body, status=400)

    if isinstance(exc, exceptions.APIException):
        code, default_message = next(
            ((c, m) for cls, (c, m) in _DRF_CODES.items() if isinstance(exc, cls)),
            ("ERROR", None),
        )
        message = default_message or _message_of(exc.detail)
        response = ErrorResponse(
            error_body(request, status_code=exc.status_code, code=code, message=message), status=exc.status_code
        )
        # Set by DRF: the challenge of a 401 (APIView.handle_exception), the wait of a 429 (Throttled).
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            response["WWW-Authenticate"] = auth_header
        wait = getattr(exc, "wait", None)
        if wait:
            response["Retry-After"] = str(int(wait))
        return response

    logger.error("unhandled_error", method=request.method, path=request.path, exc_info=exc)
    return ErrorResponse(
        error_body(request, status_code=500, code="INTERNAL_ERROR", message="An unexpected error occurred."),
        status=500,
    )


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_json_response(request, status_code=400, code="BAD_REQUEST", message="Bad request.")


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_json_response(request, status_code=403, code="FORBIDDEN", message="Forbidden.")


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _is_api(request):
        return page_not_found(request, exception)
    return _error_json_response(
        request, status_code=404, code="ROUTE_NOT_FOUND", message=f"No route for {request.method} {request.path}."
    )


def handler500(request: HttpRequest) -> HttpResponse:
    if not _is_api(request):
        return server_error(request)
    return _error_json_response(
        request, status_code=500, code="INTERNAL_ERROR", message="An unexpected error occurred."
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _error_json_response(request, status_code=403, code="CSRF_FAILED", message="CSRF verification failed.")
