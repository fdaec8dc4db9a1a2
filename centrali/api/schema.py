"""OpenAPI generation: the bearer scheme, the Error object and its codes on every operation, examples,
the constraints the service enforces (paging bounds, date patterns, non-blank and single-line text,
"at least one of" bodies, list bounds), the Idempotency-Key header of every POST, and OpenAPI links.

Operations and components say only what their `extend_schema` says (summary, description,
examples): docstrings are notes for maintainers and never reach the published document.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.validators import RegexValidator
from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import get_override
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from centrali.api.validators import single_line_text
from centrali.paging import MAX_LIMIT, MAX_PAGE

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


# What str.strip() removes (DRF's trim_whitespace), and the control characters single_line_text refuses.
_WHITESPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
_CONTROL = "\\x00-\\x1f\\x7f-\\x9f"
NOT_BLANK = f"[^{_WHITESPACE}]"
# The end of the text: `$` also matches before a final newline (in Python's re, which schemathesis uses).
_END = "(?![\\s\\S])"
SINGLE_LINE = f"^[^{_CONTROL}]*{_END}"
SINGLE_LINE_NOT_BLANK = f"^[^{_CONTROL}]*[^{_CONTROL}{_WHITESPACE}][^{_CONTROL}]*{_END}"


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
        # A body that must name at least one of these fields (its `validate` refuses one that names none).
        one_of: tuple[str, ...] = getattr(serializer, "at_least_one_of", ())
        if one_of and direction == "request":
            schema["minProperties"] = 1
            schema["anyOf"] = [{"required": [name]} for name in one_of]
        return schema

    def _map_serializer_field(
        self, field: serializers.Field, direction: str, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)
        # Either kind of address (drf-spectacular gives a format only to a field of one protocol).
        if isinstance(field, serializers.IPAddressField) and "format" not in schema:
            kept = {key: value for key, value in schema.items() if key not in {"type", "minLength", "maxLength"}}
            return {**kept, "anyOf": [{"type": "string", "format": kind} for kind in ("ipv4", "ipv6")]}
        # DRF trims a CharField's value before its blank check: all-whitespace is blank, so a field that
        # may not be blank needs one character that is not whitespace.
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and schema.get("type") == "string"
            and not {"pattern", "format", "enum"} & set(schema)
            and not any(isinstance(validator, RegexValidator) for validator in field.validators)  # its own pattern
        ):
            blank_refused = not field.allow_blank and field.trim_whitespace
            if single_line_text in field.validators:
                schema["pattern"] = SINGLE_LINE_NOT_BLANK if blank_refused else SINGLE_LINE
            elif blank_refused:
                schema["pattern"] = NOT_BLANK
        # The bounds of a list (drf-spectacular states them for a ListField, not for a ListSerializer).
        if schema.get("type") == "array":
            if getattr(field, "allow_empty", True) is False:
                schema.setdefault("minItems", max(1, getattr(field, "min_length", None) or 1))
            max_length = getattr(field, "max_length", None)
            if max_length is not None:
                schema.setdefault("maxItems", max_length)
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
    match_subclasses = True  # e.g. workspaces.tenancy.WorkspaceMemberAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: openapi.AutoSchema) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class PlatformServiceScheme(OpenApiAuthenticationExtension):
    target_class = "centrali.api.authentication.PlatformServiceAuthentication"
    name = "platformServiceAuth"

    def get_security_definition(self, auto_schema: openapi.AutoSchema) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "description": "PLATFORM_SERVICE_TOKEN or a service JWT"}


# --- Parameters whose constraints the service enforces, declared once for every view that takes them.


def page_parameter() -> OpenApiParameter:
    """`page` of a page-based list (centrali.api.pagination.parse_page_params)."""
    return OpenApiParameter(
        "page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        description=f"1..{MAX_PAGE}, default 1",
    )


def limit_parameter(*, default: int, maximum: int = MAX_LIMIT) -> OpenApiParameter:
    """`limit` of a page-based or cursor list (centrali.api.pagination)."""
    return OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
        description=f"1..{maximum}, default {default}",
    )


# A day the service takes in a query (YYYY-MM-DD, years 2000-2999: past them date arithmetic overflows).
DATE_QUERY_SCHEMA: dict[str, Any] = {"type": "string", "format": "date", "pattern": r"^2[0-9]{3}-[0-9]{2}-[0-9]{2}$"}
# A day or an instant (ISO 8601), in the same years.
DATE_OR_DATETIME_QUERY_SCHEMA: dict[str, Any] = {
    "anyOf": [
        DATE_QUERY_SCHEMA,
        {
            "type": "string",
            "format": "date-time",
            "pattern": r"^2[0-9]{3}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?([Zz]|[+-][0-9]{2}:[0-9]{2})$",
        },
    ]
}

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
_METHOD_NOT_ALLOWED = (
    "METHOD_NOT_ALLOWED: the answer to a method this path does not have (those it has are in `Allow`), "
    "whatever the caller's role or the workspace's state"
)
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
# Every POST honours an `Idempotency-Key` request header (centrali.idempotency): an optional header
# parameter of each (add_request_headers_and_links) and these two answers.
_IDEMPOTENCY_REUSED = (
    "IDEMPOTENCY_KEY_REUSED: this `Idempotency-Key` came with a different request. (Any POST may send an "
    "`Idempotency-Key` header, 1-255 printable ASCII characters, kept 24 hours per caller: a retry with the same "
    "key and body replays the first answer, with `Idempotent-Replayed: true`, without a second effect.)"
)
_IDEMPOTENCY_IN_PROGRESS = (
    "IDEMPOTENCY_REQUEST_IN_PROGRESS: the first request with this `Idempotency-Key` is still running; retry "
    "after `Retry-After`"
)


# Answered by the HTTP server (gunicorn's limit_request_line, 4094 bytes) before the service sees the request.
URI_TOO_LONG: dict[str, Any] = {
    "description": "URI Too Long: the request line (path and query string) is over 4094 bytes",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


def _standard_errors(path: str, method: str, operation: dict[str, Any]) -> dict[str, str]:
    secured = operation.get("security") != [{}] and operation.get("security", [None]) != []
    in_workspace = "{slug}" in path and not path.startswith("/internal/")
    errors = {"405": _METHOD_NOT_ALLOWED, "406": _NOT_ACCEPTABLE, "500": _INTERNAL}
    if secured:
        errors["401"] = _UNAUTHENTICATED
        errors["403"] = _WORKSPACE_FORBIDDEN if in_workspace else _SERVICE_FORBIDDEN
    if "{slug}" in path:
        errors["404"] = _WORKSPACE_NOT_FOUND
    if method in {"post", "put", "patch"}:
        errors["400"] = _MALFORMED + (_PENDING_DELETION if in_workspace else "")
    elif method == "delete" and in_workspace:
        errors["400"] = _PENDING_DELETION.removeprefix("; ")
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
            operation["responses"].setdefault("414", URI_TOO_LONG)
            for code, description in _standard_errors(path, method, operation).items():
                operation["responses"].setdefault(code, {"description": description, **ref})
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")) and "content" not in response:
                    response.update(ref)
            operation["responses"] = dict(sorted(operation["responses"].items()))
    return result


IDEMPOTENCY_KEY_HEADER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: the same key with the same request (within 24 hours, per caller) replays the first "
        "answer, with `Idempotent-Replayed: true`, without a second effect; with another request, 422 "
        "IDEMPOTENCY_KEY_REUSED. 1-255 printable ASCII characters, e.g. a UUID; otherwise 400 INVALID_IDEMPOTENCY_KEY."
    ),
    # No space at either end: an HTTP header's value is read without them.
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]([ -~]*[!-~])?$"},
}

# OpenAPI links (schemathesis's stateful phase follows them, as a client would): from the answer of
# (method, path, status) to operations by id, with their parameters' runtime expressions.
_SLUG = {"slug": "$request.path.slug"}
_ISSUE = {**_SLUG, "id": "$response.body#/id"}
_COMMENT = {**_SLUG, "id": "$request.path.id", "commentId": "$response.body#/id"}
_JOB = {**_SLUG, "jobId": "$response.body#/jobId"}
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, dict[str, str]]]] = {
    ("post", "/{slug}/support-issues", "201"): {
        "GetSupportIssue": ("support_issues_retrieve", _ISSUE),
        "UpdateSupportIssue": ("support_issues_update", _ISSUE),
        "ListComments": ("support_issue_comments_list", _ISSUE),
        "AddComment": ("support_issues_comments_create", _ISSUE),
    },
    ("post", "/{slug}/support-issues/{id}/comments", "200"): {
        "GetComment": ("support_issues_comments_retrieve", _COMMENT),
        "UpdateComment": ("support_issues_comments_update", _COMMENT),
        "DeleteComment": ("support_issues_comments_destroy", _COMMENT),
    },
    ("post", "/{slug}/export", "202"): {
        "GetExportJob": ("export_job_retrieve", _JOB),
        "DownloadExport": ("export_download", _JOB),
    },
}


def add_request_headers_and_links(
    result: dict[str, Any], generator: SchemaGenerator, request: Request | None, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the `Idempotency-Key` header of every POST, and LINKS."""
    paths = result.get("paths", {})
    for operations in paths.values():
        post = operations.get("post")
        if post is not None and not any(
            p["name"] == IDEMPOTENCY_KEY_HEADER["name"] for p in post.get("parameters", [])
        ):
            post.setdefault("parameters", []).append(IDEMPOTENCY_KEY_HEADER)
    schemas = result.get("components", {}).get("schemas", {})
    for operations in paths.values():
        for operation in operations.values():
            # A body that must name a field (AutoSchema's minProperties) cannot be left out either.
            content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = content.get("schema", {}).get("$ref", "")
            if schemas.get(ref.rsplit("/", 1)[-1], {}).get("minProperties"):
                operation["requestBody"]["required"] = True
    operation_ids = {op.get("operationId") for operations in paths.values() for op in operations.values()}
    for (method, path, status), links in LINKS.items():
        response = paths[path][method]["responses"][status]
        for name, (operation_id, parameters) in links.items():
            if operation_id not in operation_ids:
                raise LookupError(f"link {name} of {method.upper()} {path}: no operation {operation_id}")
            response.setdefault("links", {})[name] = {"operationId": operation_id, "parameters": parameters}
    return result
