from __future__ import annotations

from celery import shared_task

from centrali.idempotency import store


@shared_task(name="centrali.purge_idempotency_records")
def purge_idempotency_records() -> int:
    """Idempotency keys are kept IDEMPOTENCY_KEY_TTL (24 h); older records are deleted."""
    return store.purge_expired()
