"""Counts this service's own API calls as the `api_calls` metric of the workspace they address.

The workspace is the one the view resolved and authorized (`request.workspace`), counted by its
id: a slug can change hands between the call and the flush, an id cannot. A call that resolved
no workspace (unknown slug, not authenticated, not a member) is not counted.

A request adds one to this process's pending count of its workspace and minute, in memory; a
daemon thread adds the pending counts to the shared cache (Redis) every
API_CALL_METERING_FLUSH_SECONDS (1 s), all of them in one round trip (INCRBY and EXPIRE NX per
counter, plus the slot registration of counters that are new this minute). A request never waits
for Redis nor writes to the database. The beat task `usage.flush_api_calls`
(usage.services.flush_api_call_counts) turns each closed minute into usage events whose ids are
derived from the minute and the workspace, so a flush that runs twice counts once; it leaves a
minute of grace, well beyond the second a count may wait here.

What a cache outage costs: nothing, while it lasts under the counters' two days; the pending
counts stay in memory and go with the next flush that reaches Redis. What a crash costs: the
last second's counts of the process that died (a process that exits normally, as a gunicorn
worker does on SIGTERM, flushes first, at exit). With API_CALL_METERING_FLUSH_SECONDS=0 (the tests) each
request flushes its own count before it answers.

Without REDIS_URL the cache is each process's memory, which the worker cannot read: API calls
are metered only with Redis configured.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from django.conf import settings
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
    """One call of the workspace in `now`'s minute, pending until this process's next flush."""
    pending_api_calls.add(workspace_id, minute_of(now))


def add_api_call_counts(counts: Mapping[tuple[int, str], int]) -> list[tuple[int, str]]:
    """Add `counts` ({(minute, workspace id): calls}) to the shared counters; the counters this
    created, which `register_counters` must record so that the flush finds them."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        return _incr_in_one_round_trip(backend, counts)
    return [(minute, workspace_id) for (minute, workspace_id), calls in counts.items()
            if _incr_through_cache_api(count_key(minute, workspace_id), calls)]  # fmt: skip


def register_counters(counters: list[tuple[int, str]]) -> None:
    """Record each (minute, workspace id) in the minute's numbered slots. Recording one twice is
    harmless: the flush's event ids are the minute and the workspace, so it counts once."""
    for minute, workspace_id in counters:
        cache.add(slot_count_key(minute), 0, KEY_TIMEOUT_SECONDS)
        cache.set(slot_key(minute, cache.incr(slot_count_key(minute))), workspace_id, KEY_TIMEOUT_SECONDS)


def _incr_in_one_round_trip(backend: RedisCache, counts: Mapping[tuple[int, str], int]) -> list[tuple[int, str]]:
    """The counters of `counts` that this created, after one round trip of INCRBY and EXPIRE NX
    each, in MULTI/EXEC so that a failure applies none of them (they are retried whole).

    INCRBY creates a counter at its increment when absent, so its answer alone says whether this
    created it; EXPIRE NX (Redis 7, as in docker-compose.yml) gives a new counter its timeout
    without pushing back an existing one's. RedisCache.incr would cost EXISTS then INCR and its
    API has no pipeline, so the raw client comes from its private `_cache` (a
    django.core.cache.backends.redis.RedisCacheClient), the one RedisCache itself uses. Django
    stores ints unpickled, so cache.get / get_many (the flush) read these counters as ints."""
    pipeline = _write_client(backend).pipeline(transaction=True)
    for (minute, workspace_id), calls in counts.items():
        full_key = backend.make_and_validate_key(count_key(minute, workspace_id))
        pipeline.incrby(full_key, calls)
        pipeline.expire(full_key, KEY_TIMEOUT_SECONDS, nx=True)
    answers = pipeline.execute()
    return [key for key, total, calls in zip(counts, answers[::2], counts.values(), strict=True) if total == calls]


_thread = threading.local()


def _write_client(backend: RedisCache) -> Any:
    """The backend's write client, made once per thread: RedisCacheClient.get_client builds a new
    redis.Redis object on every call (the pool underneath is shared; Django gives each thread its
    own backend, and a new backend, as in tests, gets a new client)."""
    cached = getattr(_thread, "redis_write_client", None)
    if cached is None or cached[0] is not backend:
        client = backend._cache.get_client(write=True)  # type: ignore[attr-defined]  # not in the stubs
        cached = _thread.redis_write_client = (backend, client)
    return cached[1]


def _incr_through_cache_api(key: str, calls: int) -> bool:
    """Count with any cache backend; True when this created the counter."""
    try:
        cache.incr(key, calls)
        return False
    except ValueError:
        pass  # the workspace's first calls in this minute
    if not cache.add(key, calls, KEY_TIMEOUT_SECONDS):
        cache.incr(key, calls)  # a concurrent flush registered it first
        return False
    return True


class PendingApiCalls:
    """This process's API calls not yet in the shared counters, and the daemon thread that flushes
    them. A forked process (a gunicorn worker) starts its own thread on its first call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[int, str]] = Counter()
        self._unrecorded: list[tuple[int, str]] = []  # counters added but not yet in their minute's slots
        self._flusher_pid: int | None = None
        self._stop = threading.Event()

    def add(self, workspace_id: UUID | str, minute: int) -> None:
        interval = settings.API_CALL_METERING_FLUSH_SECONDS
        with self._lock:
            self._counts[(minute, str(workspace_id))] += 1
            if interval > 0 and self._flusher_pid != os.getpid():
                self._start_flusher(interval)
        if interval <= 0:
            self._flush_logging_failure()

    def pending(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def flush(self) -> int:
        """Add every pending count to the shared counters and record the new counters; the number
        of calls added. When the cache cannot take the counts they stay pending, whole; when it
        took them but a new counter could not be recorded, that counter alone waits to be
        recorded (the counts are not added twice). Either way the error is raised."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
            unrecorded, self._unrecorded = self._unrecorded, []
        if not counts and not unrecorded:
            return 0
        try:
            created = add_api_call_counts(counts) if counts else []
        except Exception:
            with self._lock:
                self._counts.update(counts)
                self._unrecorded.extend(unrecorded)
            raise
        try:
            register_counters(unrecorded + created)
        except Exception:
            with self._lock:
                self._unrecorded.extend(unrecorded + created)
            raise
        return sum(counts.values())

    def stop(self) -> None:
        """Stop the flushing thread and flush what is pending (a worker about to exit)."""
        self._stop.set()
        self._flush_logging_failure()

    def _start_flusher(self, interval: float) -> None:
        self._flusher_pid = os.getpid()
        self._stop = threading.Event()
        thread = threading.Thread(
            target=self._flush_every, args=(interval, self._stop), name="api-call-metering", daemon=True
        )
        thread.start()

    def _flush_every(self, interval: float, stop: threading.Event) -> None:
        while not stop.wait(interval):
            self._flush_logging_failure()

    def _flush_logging_failure(self) -> None:
        try:
            self.flush()
        except Exception:
            # Metering never fails a request: the counts wait for the cache to come back.
            logger.warning("usage.api_calls_not_flushed", pending_calls=self.pending(), exc_info=True)


pending_api_calls = PendingApiCalls()
atexit.register(pending_api_calls.stop)


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
            count_api_call(workspace.pk, timezone.now())
        return response
