"""Counts this service's own API calls as the `api_calls` metric of the workspace they address.

The workspace is the one the view resolved and authorized (`request.workspace`), counted by its
id: a slug can change hands between the call and the flush, an id cannot. A call that resolved
no workspace (unknown slug, not authenticated, not a member) is not counted.

A request only increments a counter in the shared cache (Redis; one round trip of INCR and
EXPIRE NX, plus the slot registration on the workspace's first call of the minute), per
workspace and minute; it never writes to the database. The beat task `usage.flush_api_calls`
(usage.services.flush_api_call_counts) turns each closed minute into usage events whose ids
are derived from the minute and the workspace, so a flush that runs twice counts once.

Without REDIS_URL the cache is each process's memory, which the worker cannot read: API calls
are metered only with Redis configured.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

logger = structlog.get_logger(__name__)

WORKSPACE_ROUTE_PREFIX = "workspace/api/v1/<slug:slug>"
# Refused calls are not the workspace's usage: not authenticated, not a member, rate limited.
UNCOUNTED_STATUSES = frozenset({401, 403, 429})
KEY_PREFIX = "usage:api_calls"
KEY_TIMEOUT_SECONDS = 2 * 24 * 3600  # what beat has to flush a minute before its counts expire


def minute_of(moment: datetime) -> int:
    return int(moment.timestamp() // 60)


def count_key(minute: int, workspace_id: UUID | str) -> str:
    return f"{KEY_PREFIX}:{minute}:count:{workspace_id}"


def slot_count_key(minute: int) -> str:
    return f"{KEY_PREFIX}:{minute}:slots"


def slot_key(minute: int, number: int) -> str:
    return f"{KEY_PREFIX}:{minute}:slot:{number}"


def count_api_call(workspace_id: UUID | str, now: datetime) -> None:
    """Add one call to the workspace's counter for this minute; the first call of the minute
    also records the workspace id in the minute's numbered slots, so the flush can find it."""
    workspace_id = str(workspace_id)
    minute = minute_of(now)
    key = count_key(minute, workspace_id)
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        first_call = _incr_in_one_round_trip(backend, key) == 1
    else:
        first_call = _incr_through_cache_api(key)
    if first_call:
        cache.add(slot_count_key(minute), 0, KEY_TIMEOUT_SECONDS)
        cache.set(slot_key(minute, cache.incr(slot_count_key(minute))), workspace_id, KEY_TIMEOUT_SECONDS)


def _incr_in_one_round_trip(backend: RedisCache, key: str) -> int:
    """INCR creates the counter at 1 when absent, so its answer alone says whether this is the
    minute's first call; EXPIRE NX (Redis 7, as in docker-compose.yml) gives a new counter its
    timeout without pushing back an existing one's. RedisCache.incr would cost EXISTS then INCR
    and its API has no pipeline, so the raw client comes from its private `_cache` (a
    django.core.cache.backends.redis.RedisCacheClient), the one RedisCache itself uses. Django
    stores ints unpickled, so cache.get / get_many (the flush) read this counter as an int."""
    full_key = backend.make_and_validate_key(key)
    pipeline = _write_client(backend).pipeline(transaction=False)
    pipeline.incr(full_key)
    pipeline.expire(full_key, KEY_TIMEOUT_SECONDS, nx=True)
    count, _ = pipeline.execute()
    return int(count)


_thread = threading.local()


def _write_client(backend: RedisCache) -> Any:
    """The backend's write client, made once per thread: RedisCacheClient.get_client builds a new
    redis.Redis object on every call, a third of the metering's cost (the pool underneath is shared;
    Django gives each thread its own backend, and a new backend, as in tests, gets a new client)."""
    cached = getattr(_thread, "redis_write_client", None)
    if cached is None or cached[0] is not backend:
        client = backend._cache.get_client(write=True)  # type: ignore[attr-defined]  # not in the stubs
        cached = _thread.redis_write_client = (backend, client)
    return cached[1]


def _incr_through_cache_api(key: str) -> bool:
    """Count with any cache backend; True when this call created the counter."""
    try:
        cache.incr(key)
        return False
    except ValueError:
        pass  # the workspace's first call in this minute
    if not cache.add(key, 1, KEY_TIMEOUT_SECONDS):
        cache.incr(key)  # a concurrent request registered it first
        return False
    return True


class ApiCallMeteringMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if (
            match is not None
            and match.route.startswith(WORKSPACE_ROUTE_PREFIX)
            and response.status_code not in UNCOUNTED_STATUSES
            and (workspace := getattr(request, "workspace", None)) is not None
        ):
            try:
                count_api_call(workspace.pk, timezone.now())
            except Exception:
                # Metering never fails a request: a cache outage loses these counts, nothing else.
                logger.warning("usage.api_call_not_counted", workspace_id=str(workspace.pk), exc_info=True)
        return response
