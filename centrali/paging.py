"""Paging of querysets, for selectors: offset pages and keyset cursors. No HTTP here: the API
edge (centrali.api.pagination) parses the parameters and shapes the envelopes and headers."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TypeVar, cast

from django.db.models import Count, Model, QuerySet, Window

# Far beyond any real list; keeps OFFSET within what databases accept.
MAX_PAGE = 1_000_000
# The most items one page or cursor step of a list may hold.
MAX_LIMIT = 100

_Row = TypeVar("_Row", bound=Model)


@dataclass(frozen=True)
class PageParams:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def paginate(queryset: QuerySet[_Row], params: PageParams) -> tuple[list[_Row], int]:
    """(items of the page, total count): one query, each row carrying the count of all rows
    (COUNT(*) OVER ()); a second, the plain count, only for a page past the end, which has no row
    to carry it."""
    window = params.offset + params.limit
    items = list(with_total(queryset)[params.offset : window])
    if items or not params.offset:
        return first_page_result(items)
    return items, queryset.count()


def with_total(queryset: QuerySet[_Row]) -> QuerySet[_Row]:
    """Each row with the count of all rows (`_paging_total`): how `paginate` reads a page and its
    total in one query, and how a compiled first page (a CompiledQuery) does too."""
    return cast("QuerySet[_Row]", queryset.annotate(_paging_total=Window(Count("pk"))))


def first_page_result(items: list[_Row]) -> tuple[list[_Row], int]:
    """paginate's answer from the rows of a `with_total` queryset (for a page past the end, which
    has no row to carry the total, paginate counts)."""
    return items, (items[0]._paging_total if items else 0)  # type: ignore[attr-defined]  # the annotation


@dataclass(frozen=True)
class CursorParams:
    limit: int
    after: object  # the key value of the last row already seen, or None for the first page


def encode_cursor(value: object) -> str:
    raw = json.dumps({"k": str(value)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(raw: str) -> object:
    """The key inside a cursor (raises ValueError, KeyError, binascii.Error... when malformed)."""
    padded = raw + "=" * (-len(raw) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode()))["k"]


def keyset_page(
    queryset: QuerySet[_Row], params: CursorParams, *, key: str = "id"
) -> tuple[list[_Row], str | None, bool]:
    """Newest first by a unique, monotonic `key`; stable while rows are inserted between pages.

    Returns (rows, next_cursor, has_more) with one query.
    """
    if params.after is not None:
        queryset = queryset.filter(**{f"{key}__lt": params.after})
    return keyset_result(list(queryset.order_by(f"-{key}")[: params.limit + 1]), params, key=key)


def keyset_result(rows: list[_Row], params: CursorParams, *, key: str = "id") -> tuple[list[_Row], str | None, bool]:
    """keyset_page's answer from the up to `limit + 1` rows a query read after the cursor, newest first."""
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    next_cursor = encode_cursor(getattr(rows[-1], key)) if has_more else None
    return rows, next_cursor, has_more
