"""Paging for list endpoints, as DESIGN.md fixes it.

- page-based envelope: {"data": [...], "pagination": {"page", "limit", "total", "totalPages"}}
- bare arrays (where the spec types the body as an array): the same paging in headers
  (X-Total-Count, Link)
- keyset cursors: {"data": [...], "nextCursor", "hasMore"}

Invalid parameters answer 400, never a silent clamp. The queries themselves are
centrali.paging's, which selectors use.
"""

from __future__ import annotations

import binascii
import math
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Field
from django.http import HttpRequest, HttpResponseBase, QueryDict

from centrali.errors import InvalidInput
from centrali.paging import MAX_LIMIT, MAX_PAGE, CursorParams, PageParams, decode_cursor

_Response = TypeVar("_Response", bound=HttpResponseBase)


def _positive_int(query_params: QueryDict, name: str, *, default: int, maximum: int | None = None) -> int:
    raw = query_params.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise InvalidInput.for_field(name, f"`{name}` must be an integer.", code="INVALID_PAGINATION") from None
    if value < 1 or (maximum is not None and value > maximum):
        bound = f"between 1 and {maximum}" if maximum else "at least 1"
        raise InvalidInput.for_field(name, f"`{name}` must be {bound}.", code="INVALID_PAGINATION")
    return value


def parse_page_params(query_params: QueryDict, *, default_limit: int = 20, max_limit: int = MAX_LIMIT) -> PageParams:
    return PageParams(
        page=_positive_int(query_params, "page", default=1, maximum=MAX_PAGE),
        limit=_positive_int(query_params, "limit", default=default_limit, maximum=max_limit),
    )


def page_envelope(data: object, params: PageParams, total: int) -> dict[str, Any]:
    """The page-based envelope around `data`, the page's serialized items."""
    return {
        "data": data,
        "pagination": {
            "page": params.page,
            "limit": params.limit,
            "total": total,
            "totalPages": math.ceil(total / params.limit) if total else 0,
        },
    }


def set_page_headers(response: _Response, request: HttpRequest, params: PageParams, total: int) -> _Response:
    """Paging of a bare-array body: X-Total-Count and an RFC 8288 Link header."""
    response["X-Total-Count"] = str(total)
    last_page = max(1, math.ceil(total / params.limit))
    links = []

    base = request.build_absolute_uri(request.path)  # once: it validates the host against ALLOWED_HOSTS
    query = request.GET.copy()
    query["page"], query["limit"] = str(params.page), str(params.limit)

    def url(page: int) -> str:
        query["page"] = str(page)
        return f"{base}?{query.urlencode()}"

    if params.page < last_page:
        links.append(f'<{url(params.page + 1)}>; rel="next"')
    if params.page > 1:
        links.append(f'<{url(params.page - 1)}>; rel="prev"')
    links.append(f'<{url(1)}>; rel="first"')
    links.append(f'<{url(last_page)}>; rel="last"')
    response["Link"] = ", ".join(links)
    return response


def parse_cursor_params(
    query_params: QueryDict,
    *,
    model_field: Field,
    default_limit: int = 50,
    max_limit: int = MAX_LIMIT,
    cursor_param: str = "cursor",
) -> CursorParams:
    """Parse `limit` and an opaque `cursor`; `model_field` validates the decoded key."""
    limit = _positive_int(query_params, "limit", default=default_limit, maximum=max_limit)
    raw = query_params.get(cursor_param)
    if not raw:
        return CursorParams(limit=limit, after=None)
    try:
        after = model_field.to_python(decode_cursor(raw))
        if after is None:
            raise ValueError
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError, DjangoValidationError):
        raise InvalidInput.for_field(cursor_param, "Malformed cursor.", code="INVALID_CURSOR") from None
    return CursorParams(limit=limit, after=after)
