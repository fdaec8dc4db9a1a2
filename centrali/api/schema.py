"""OpenAPI generation: the bearer scheme, the Error object and its codes on every operation, examples.

Operations and components say only what their `extend_schema` says (summary, description,
examples): docstrings are notes for maintainers and never reach the published document.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import get_override
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

if TYPE_CHECKING:
    from drf_spectacular.generators import SchemaGenerator
    from rest_framework.request import Request
    from rest_framework.serializers import Serializer

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "message", "status", "timestamp", "path"],
    "properties": {
        "error": {"type": "string", "example": "WORKSPACE_NOT_FOUND", "description": "Machine-readable error code"},
        "message": {"type": "string", "description": "Human-readable error message"},
        "status": {"type": "integer", "example": 404, "description": "HTTP status code"},
        "timestamp": {"type": "string", "format": "date-time"},
        "path": {"type": "string", "description": "Request path"},
        "requestId": {"type": "string", "description": "Request ID for tracing (X-Request-ID)"},
        "details": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Messages per field at fault",
        },
    },
}


class AutoSchema(openapi.AutoSchema):
    """DEFAULT_SCHEMA_CLASS: no description from a view's or a serializer's docstring."""

    def get_description(self) -> str:  # type: ignore[override]  # the stubs type it loosely
        return ""

    def _map_basic_serializer(self, serializer: Serializer[Any], direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        description = get_override(serializer, "description")  # extend_schema_serializer(description=...)
        if description:
            schema["description"] = description
        else:
            schema.pop("description", None)
        return schema


def request_example(value: Any, summary: str = "Request") -> OpenApiExample:
    """The example body of an operation's request."""
    return OpenApiExample(summary, value=value, request_only=True)


def response_example(
    value: Any, *, status: int = 200, summary: str = "Success", media_type: str = "application/json"
) -> OpenApiExample:
    """The example body of an operation's answer with `status` (of a list endpoint: one item)."""
    return OpenApiExample(
        f"{summary} ({status})", value=value, response_only=True, status_codes=[str(status)], media_type=media_type
    )


class BearerJWTScheme(OpenApiAuthenticationExtension):
    target_class = "centrali.api.authentication.BearerJWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: openapi.AutoSchema) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class PlatformServiceScheme(OpenApiAuthenticationExtension):
    target_class = "centrali.api.authentication.PlatformServiceAuthentication"
    name = "platformServiceAuth"

    def get_security_definition(self, auto_schema: openapi.AutoSchema) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "description": "PLATFORM_SERVICE_TOKEN or a service JWT"}


# GET and PUT of a resource with a version (centrali.api.conditional).
ETAG_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200],
    description=(
        "The version of the resource (a strong entity tag). Send it back as `If-Match` on PUT: the update "
        "applies only while the resource is still at that version, else 412 PRECONDITION_FAILED."
    ),
)


def error_response(description: str) -> OpenApiResponse:
    """An error answer an operation documents beyond the usual ones (e.g. a 409); the hook
    below gives it the Error object as body."""
    return OpenApiResponse(description=description)


# The codes an operation can answer whatever it does, by status; an operation documents its own
# (a 409, a 404 beyond its workspace's) with `error_response`.
_UNAUTHENTICATED = "UNAUTHENTICATED: no bearer token; INVALID_TOKEN: it is expired, malformed or badly signed"
_NOT_ACCEPTABLE = "NOT_ACCEPTABLE: the Accept header lists no media type this operation answers"
_INTERNAL = "INTERNAL_ERROR: an unexpected failure; quote the requestId when reporting it"
_MALFORMED = (
    "VALIDATION_ERROR: a field is missing or has the wrong type or value (each named in `details`); "
    "MALFORMED_REQUEST: the body is not valid JSON"
)
_UNSUPPORTED = "UNSUPPORTED_MEDIA_TYPE: the body is not application/json"
_WORKSPACE_FORBIDDEN = (
    "NOT_A_MEMBER: the caller is not a member of the workspace; INSUFFICIENT_ROLE: the caller's role may not "
    "do this; WORKSPACE_SUSPENDED: a write to a suspended workspace"
)
_SERVICE_FORBIDDEN = "FORBIDDEN: these credentials may not call this operation"
_WORKSPACE_NOT_FOUND = "WORKSPACE_NOT_FOUND: no workspace has this slug"
_PENDING_DELETION = "; WORKSPACE_PENDING_DELETION: a write to a workspace pending deletion (restore it first)"
# Every POST honours an `Idempotency-Key` request header (centrali.idempotency): documented here, not
# as a parameter, because the contract lists each operation's parameters exactly.
_IDEMPOTENCY_REUSED = (
    "IDEMPOTENCY_KEY_REUSED: this `Idempotency-Key` came with a different request. (Any POST may send an "
    "`Idempotency-Key` header, 1-255 printable ASCII characters, kept 24 hours per caller: a retry with the same "
    "key and body replays the first answer, with `Idempotent-Replayed: true`, without a second effect.)"
)
_IDEMPOTENCY_IN_PROGRESS = (
    "IDEMPOTENCY_REQUEST_IN_PROGRESS: the first request with this `Idempotency-Key` is still running; retry "
    "after `Retry-After`"
)


def _standard_errors(path: str, method: str, operation: dict[str, Any]) -> dict[str, str]:
    secured = operation.get("security") != [{}] and operation.get("security", [None]) != []
    in_workspace = "{slug}" in path and not path.startswith("/internal/")
    errors = {"406": _NOT_ACCEPTABLE, "500": _INTERNAL}
    if secured:
        errors["401"] = _UNAUTHENTICATED
        errors["403"] = _WORKSPACE_FORBIDDEN if in_workspace else _SERVICE_FORBIDDEN
    if "{slug}" in path:
        errors["404"] = _WORKSPACE_NOT_FOUND
    if method in {"post", "put", "patch"}:
        errors["400"] = _MALFORMED + (_PENDING_DELETION if in_workspace else "")
        if "requestBody" in operation:
            errors["415"] = _UNSUPPORTED
    if method == "post":
        errors["409"] = _IDEMPOTENCY_IN_PROGRESS
        errors["422"] = _IDEMPOTENCY_REUSED
    return errors


def add_error_responses(
    result: dict[str, Any], generator: SchemaGenerator, request: Request | None, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation documents the Error object and the codes
    it can answer."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            for code, description in _standard_errors(path, method, operation).items():
                operation["responses"].setdefault(code, {"description": description, **ref})
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")) and "content" not in response:
                    response.update(ref)
            operation["responses"] = dict(sorted(operation["responses"].items()))
    return result
