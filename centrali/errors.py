"""Domain errors: what services and selectors raise when a rule refuses an action.

They carry a stable machine `code` (UPPER_SNAKE, the spec's `error` field), a `message` for
people and, for invalid input, `details` naming the field at fault. They know nothing of
HTTP: the API edge (`centrali.api.errors`) maps each class to a status code in one table, and
Celery tasks, admin actions and management commands handle them as plain exceptions.

    raise NotFound("Workspace 'acme' not found.", code="WORKSPACE_NOT_FOUND")
    raise InvalidInput.for_field("service", "Unknown service 'dns'.", code="UNKNOWN_SERVICE")
"""

from __future__ import annotations

from typing import Self


class DomainError(Exception):
    """Base of every error a service or selector raises on purpose."""

    code: str = "DOMAIN_ERROR"  # each class's default; an instance may name a more precise one

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, list[str]] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = str(message)
        if code is not None:
            self.code = code
        self.details = details
        self.retry_after = retry_after

    @classmethod
    def for_field(cls, field: str, message: str, *, code: str = "VALIDATION_ERROR") -> Self:
        """The error naming the one field at fault."""
        return cls(message, code=code, details={field: [str(message)]})

    def __str__(self) -> str:
        return self.message


class InvalidInput(DomainError):
    """The request asks for something the rules refuse (400)."""

    code = "INVALID_INPUT"


class PermissionDenied(DomainError):
    """The caller is known but may not do this (403)."""

    code = "FORBIDDEN"


class NotFound(DomainError):
    """The thing does not exist, or not in this workspace (404)."""

    code = "NOT_FOUND"


class Conflict(DomainError):
    """The current state conflicts with the request: a duplicate, or a change in flight (409)."""

    code = "CONFLICT"


class PreconditionFailed(DomainError):
    """The caller's precondition (If-Match) no longer holds: the thing changed since they read it (412)."""

    code = "PRECONDITION_FAILED"


class Gone(DomainError):
    """It existed, and is no longer available (410)."""

    code = "GONE"


class PayloadTooLarge(DomainError):
    """The input is larger than accepted (413)."""

    code = "PAYLOAD_TOO_LARGE"


class UpstreamError(DomainError):
    """A provider we depend on refused the request (502)."""

    code = "UPSTREAM_ERROR"


class Unavailable(DomainError):
    """A dependency is down or not configured; trying again later may work (503)."""

    code = "SERVICE_UNAVAILABLE"
