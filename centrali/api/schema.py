"""OpenAPI generation: the bearer scheme and the Error object on every operation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse

if TYPE_CHECKING:
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.openapi import AutoSchema
    from rest_framework.request import Request

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


class BearerJWTScheme(OpenApiAuthenticationExtension):
    target_class = "centrali.api.authentication.BearerJWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class PlatformServiceScheme(OpenApiAuthenticationExtension):
    target_class = "centrali.api.authentication.PlatformServiceAuthentication"
    name = "platformServiceAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "description": "PLATFORM_SERVICE_TOKEN or a service JWT"}


def error_response(description: str) -> OpenApiResponse:
    """An error answer an operation documents beyond the usual ones (e.g. a 409); the hook
    below gives it the Error object as body."""
    return OpenApiResponse(description=description)


def add_error_responses(
    result: dict[str, Any], generator: SchemaGenerator, request: Request | None, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation documents the Error object."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            codes = ["500"]
            if operation.get("security") != [{}] and operation.get("security", [None]) != []:
                codes += ["401", "403"]
            if "{slug}" in path:
                codes.append("404")
            if method in {"post", "put", "patch"}:
                codes.append("400")
            for code in codes:
                operation["responses"].setdefault(code, {"description": "Error", **ref})
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")) and "content" not in response:
                    response.update(ref)
    return result
