"""Paging for list endpoints, as DESIGN.md fixes it.

- page-based envelope: {"data": [...], "pagination": {"page", "limit", "total", "totalPages"}}
- bare arrays (where the spec types the body as an array): the same paging in headers
  (X-Total-Count, Link)
- keyset cursors: {"data": [...], "nextCursor", "hasMore"}

Invalid parameters answer 400, never a silent clamp.
"""

import base64
import binascii
import json
import math
from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError

from centrali.errors import InvalidInput


def _positive_int(query_params, name, *, default, maximum=None):
    raw = query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise InvalidInput.for_field(name, f"`{name}` must be an integer.", code="INVALID_PAGINATION") from None
    if value < 1 or (maximum is not None and value > maximum):
        bound = f"between 1 and {maximum}" if maximum else "at least 1"
        raise InvalidInput.for_field(name, f"`{name}` must be {bound}.", code="INVALID_PAGINATION")
    return value


# Far beyond any real list; keeps OFFSET within what databases accept.
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class PageParams:
    page: int
    limit: int

    @property
    def offset(self):
        return (self.page - 1) * self.limit


def parse_page_params(query_params, *, default_limit=20, max_limit=100):
    return PageParams(
        page=_positive_int(query_params, "page", default=1, maximum=MAX_PAGE),
        limit=_positive_int(query_params, "limit", default=default_limit, maximum=max_limit),
    )


def paginate(queryset, params):
    """(items of the page, total count): two queries."""
    total = queryset.count()
    items = list(queryset[params.offset : params.offset + params.limit]) if total else []
    return items, total


def page_envelope(data, params, total):
    return {
        "data": data,
        "pagination": {
            "page": params.page,
            "limit": params.limit,
            "total": total,
            "totalPages": math.ceil(total / params.limit) if total else 0,
        },
    }


def set_page_headers(response, request, params, total):
    """Paging of a bare-array body: X-Total-Count and an RFC 8288 Link header."""
    response["X-Total-Count"] = str(total)
    last_page = max(1, math.ceil(total / params.limit))
    links = []

    def url(page):
        query = request.GET.copy()
        query["page"] = str(page)
        query["limit"] = str(params.limit)
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

    if params.page < last_page:
        links.append(f'<{url(params.page + 1)}>; rel="next"')
    if params.page > 1:
        links.append(f'<{url(params.page - 1)}>; rel="prev"')
    links.append(f'<{url(1)}>; rel="first"')
    links.append(f'<{url(last_page)}>; rel="last"')
    response["Link"] = ", ".join(links)
    return response


@dataclass(frozen=True)
class CursorParams:
    limit: int
    after: object  # the key value of the last row already seen, or None for the first page


def encode_cursor(value):
    raw = json.dumps({"k": str(value)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_cursor_params(query_params, *, model_field, default_limit=50, max_limit=100, cursor_param="cursor"):
    """Parse `limit` and an opaque `cursor`; `model_field` validates the decoded key."""
    limit = _positive_int(query_params, "limit", default=default_limit, maximum=max_limit)
    raw = query_params.get(cursor_param)
    if not raw:
        return CursorParams(limit=limit, after=None)
    try:
        padded = raw + "=" * (-len(raw) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after = model_field.to_python(decoded["k"])
        if after is None:
            raise ValueError
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError, DjangoValidationError):
        raise InvalidInput.for_field(cursor_param, "Malformed cursor.", code="INVALID_CURSOR") from None
    return CursorParams(limit=limit, after=after)


def keyset_page(queryset, params, *, key="id"):
    """Newest first by a unique, monotonic `key`; stable while rows are inserted between pages.

    Returns (rows, next_cursor, has_more) with one query.
    """
    if params.after is not None:
        queryset = queryset.filter(**{f"{key}__lt": params.after})
    rows = list(queryset.order_by(f"-{key}")[: params.limit + 1])
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    next_cursor = encode_cursor(getattr(rows[-1], key)) if has_more else None
    return rows, next_cursor, has_more
