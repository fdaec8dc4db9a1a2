"""Safe retries of POST requests: the `Idempotency-Key` header, as Stripe's API honours it.

A client that sends `Idempotency-Key: <its own unique key>` with a POST may send the same request
again (after a timeout, a lost answer) and gets the first answer back, status, body and headers,
without a second effect. `store` keeps the records (`centrali.models.IdempotencyRecord`),
`middleware` applies them to every API POST, `tasks` purges those past `IDEMPOTENCY_KEY_TTL`.
"""

from centrali.idempotency.store import (
    Claim,
    KeyReused,
    RequestInProgress,
    StoredResponse,
    begin,
    complete,
    purge_expired,
    release,
)

__all__ = [
    "Claim",
    "KeyReused",
    "RequestInProgress",
    "StoredResponse",
    "begin",
    "complete",
    "purge_expired",
    "release",
]
