"""Idempotency records: claim a key before the request runs, complete it with the answer, or release it.

Keys are scoped to the caller (`scope`): one caller's key never replays another caller's answer.
The unique (scope, key) row is the lock: the first request inserts it (committed at once, outside
the request's own transactions), a concurrent duplicate finds it unfinished and waits up to
`IDEMPOTENCY_WAIT_SECONDS` for the answer, then gives up with `RequestInProgress`. A claim older
than `IDEMPOTENCY_STALE_AFTER` whose request never finished (its process died) may be taken over.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from centrali.models import IdempotencyRecord

logger = structlog.get_logger(__name__)

POLL_INTERVAL_SECONDS = 0.05


class KeyReused(Exception):
    """The key was first used with another request (method, path or body)."""


class RequestInProgress(Exception):
    """The first request with this key is still running."""


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Claim:
    """The right to run the request for (scope, key), held until completed or released."""

    record_id: int


def begin(*, scope: str, key: str, fingerprint: str) -> Claim | StoredResponse:
    """Claim (scope, key) for a new request, or return the answer stored for it.

    Raises KeyReused when the key came with another request, RequestInProgress when the first
    request has not answered within the wait.
    """
    deadline = time.monotonic() + settings.IDEMPOTENCY_WAIT_SECONDS
    while True:
        now = timezone.now()
        try:
            with transaction.atomic():
                created = IdempotencyRecord.objects.create(
                    scope=scope, key=key, fingerprint=fingerprint, created_at=now
                )
            return Claim(record_id=created.pk)
        except IntegrityError:
            pass  # the key is known: look at what it holds
        record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if record is None:
            continue  # released (or purged) since: claim it again
        if record.created_at < now - settings.IDEMPOTENCY_KEY_TTL:
            # Expired and not purged yet: as good as absent.
            IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at).delete()
            continue
        if record.fingerprint != fingerprint:
            raise KeyReused(key)
        if record.completed_at is not None and record.response_status is not None:
            return StoredResponse(
                status=record.response_status,
                headers=dict(record.response_headers),
                body=bytes(record.response_body),
            )
        if record.created_at < now - settings.IDEMPOTENCY_STALE_AFTER and _take_over(record, now=now):
            logger.warning("idempotency.stale_claim_taken_over", scope=scope, record_id=record.pk)
            return Claim(record_id=record.pk)
        if time.monotonic() >= deadline:
            raise RequestInProgress(key)
        time.sleep(POLL_INTERVAL_SECONDS)


def _take_over(record: IdempotencyRecord, *, now: datetime) -> bool:
    """Restart the clock of an abandoned claim; only one of several takers wins."""
    return (
        IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at, completed_at__isnull=True).update(
            created_at=now
        )
        == 1
    )


def complete(claim: Claim, response: StoredResponse) -> None:
    """Keep the request's answer for its retries."""
    IdempotencyRecord.objects.filter(pk=claim.record_id).update(
        completed_at=timezone.now(),
        response_status=response.status,
        response_headers=response.headers,
        response_body=response.body,
    )


def release(claim: Claim) -> None:
    """Forget the claim: the answer was not final, a retry runs the request again."""
    IdempotencyRecord.objects.filter(pk=claim.record_id, completed_at__isnull=True).delete()


def purge_expired(*, now: datetime | None = None) -> int:
    """Delete the records older than IDEMPOTENCY_KEY_TTL; returns how many."""
    cutoff = (now or timezone.now()) - settings.IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
