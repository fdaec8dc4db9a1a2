"""Conditional requests on a resource with a version: `ETag` on reads, `If-Match` on writes.

A resource's version is its `updated_at` (every write saves it); its ETag is strong and names the
resource too: `"<id>.<microseconds since the epoch>"`. A PUT that sends `If-Match` applies only
while the resource is at that version: the view passes the version to the service, which
compares it under the row lock of its write and raises PreconditionFailed (412) when it moved.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from rest_framework.request import Request
from rest_framework.response import Response

from centrali.errors import PreconditionFailed

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


class Versioned(Protocol):
    @property
    def pk(self) -> object: ...

    @property
    def updated_at(self) -> datetime: ...


def etag_of(resource: Versioned) -> str:
    return f'"{resource.pk}.{(resource.updated_at - EPOCH) // MICROSECOND}"'


def with_etag(response: Response, resource: Versioned) -> Response:
    response["ETag"] = etag_of(resource)
    return response


def expected_version(request: Request, resource: Versioned) -> datetime | None:
    """The version `If-Match` requires of `resource`: None without the header (or with `*`).

    Raises PreconditionFailed when no tag listed can be this resource's (another resource's,
    weak, malformed): it cannot match whatever the current version is.
    """
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    prefix = f'"{resource.pk}.'
    for tag in (part.strip() for part in header.split(",")):
        if tag.startswith(prefix) and tag.endswith('"') and tag[len(prefix) : -1].isdigit():
            return EPOCH + int(tag[len(prefix) : -1]) * MICROSECOND
    raise changed_since()


def changed_since() -> PreconditionFailed:
    return PreconditionFailed(
        "The resource changed since it was read (If-Match does not match its ETag); read it again and retry.",
        code="PRECONDITION_FAILED",
    )
