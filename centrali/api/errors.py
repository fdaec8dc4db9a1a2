"""One error shape for the whole API: the spec's Error object (def-4).

Every 4xx/5xx leaves through `error_response`: domain errors (`centrali.errors`, mapped to a
status by `STATUS_OF_DOMAIN_ERROR`) and DRF's exceptions via `exception_handler`, Django's own
404/500 via `handler404`/`handler500`.
"""

import logging
from datetime import UTC, datetime

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

from centrali.errors import (
    Conflict,
    DomainError,
    Gone,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    Unavailable,
    UpstreamError,
)

logger = logging.getLogger(__name__)

API_PREFIX = "/workspace/api/"


# The one table from domain errors to HTTP statuses; the most specific class wins.
STATUS_OF_DOMAIN_ERROR: dict[type[DomainError], int] = {
    InvalidInput: 400,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    PayloadTooLarge: 413,
    UpstreamError: 502,
    Unavailable: 503,
}


def status_of(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_OF_DOMAIN_ERROR:
            return STATUS_OF_DOMAIN_ERROR[cls]  # type: ignore[index]
    return 400


def error_body(request, *, status_code, code, message, details=None):
    body = {
        "error": code,
        "message": message,
        "status": status_code,
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "path": request.path,
        "requestId": getattr(request, "request_id", None),
    }
    if details:
        body["details"] = details
    return body


def error_response(request, *, status_code, code, message, details=None, headers=None):
    body = error_body(request, status_code=status_code, code=code, message=message, details=details)
    response = JsonResponse(body, status=status_code)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _flatten_validation_detail(detail, prefix=""):
    """DRF's nested ValidationError detail -> {"field.sub": ["message", ...]}."""
    if isinstance(detail, dict):
        flat = {}
        for key, value in detail.items():
            flat.update(_flatten_validation_detail(value, f"{prefix}{key}."))
        return flat
    if isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        flat = {}
        for index, item in enumerate(detail):
            flat.update(_flatten_validation_detail(item, f"{prefix}{index}."))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    if not messages:
        return {}
    return {prefix.rstrip(".") or "non_field_errors": [str(m) for m in messages]}


_DRF_CODES = {
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


def _message_of(detail):
    if isinstance(detail, dict):
        if "detail" in detail:
            return str(detail["detail"])
        return "; ".join(_message_of(v) for v in detail.values())
    if isinstance(detail, list):
        return "; ".join(_message_of(v) for v in detail)
    return str(detail)


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every exception becomes the spec's Error object."""
    request = context["request"]
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge("The request body is too large.")
    elif isinstance(exc, SuspiciousOperation):
        exc = InvalidInput("The request was refused as malformed.", code="BAD_REQUEST")

    if isinstance(exc, DomainError):
        status_code = status_of(exc)
        response = Response(
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
        return Response(body, status=400)

    if isinstance(exc, exceptions.APIException):
        code, default_message = next(
            ((c, m) for cls, (c, m) in _DRF_CODES.items() if isinstance(exc, cls)),
            ("ERROR", None),
        )
        message = default_message or _message_of(exc.detail)
        response = Response(
            error_body(request, status_code=exc.status_code, code=code, message=message), status=exc.status_code
        )
        if getattr(exc, "auth_header", None):
            response["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            response["Retry-After"] = str(int(exc.wait))
        return response

    logger.error("Unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return Response(
        error_body(request, status_code=500, code="INTERNAL_ERROR", message="An unexpected error occurred."),
        status=500,
    )


def _is_api(request):
    return request.path.startswith(API_PREFIX)


def handler400(request, exception=None):
    return error_response(request, status_code=400, code="BAD_REQUEST", message="Bad request.")


def handler403(request, exception=None):
    return error_response(request, status_code=403, code="FORBIDDEN", message="Forbidden.")


def handler404(request, exception=None):
    if not _is_api(request):
        from django.views.defaults import page_not_found

        return page_not_found(request, exception)
    return error_response(
        request, status_code=404, code="ROUTE_NOT_FOUND", message=f"No route for {request.method} {request.path}."
    )


def handler500(request):
    if not _is_api(request):
        from django.views.defaults import server_error

        return server_error(request)
    return error_response(request, status_code=500, code="INTERNAL_ERROR", message="An unexpected error occurred.")


def csrf_failure(request, reason=""):
    return error_response(request, status_code=403, code="CSRF_FAILED", message="CSRF verification failed.")
