"""Platform plumbing that needs a table: the idempotency records of POST requests."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

IDEMPOTENCY_KEY_MAX_LENGTH = 255


class IdempotencyRecord(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key`, replayed to its retries.

    One row per caller scope and key (`centrali.idempotency`): created when the first request
    starts (`completed_at` empty while it runs), completed with its answer, deleted when that
    answer is not final (a 5xx, a 429) so that a retry runs again. `fingerprint` is a hash of the
    method, path and body: the same key with another request is refused.
    """

    id = models.BigAutoField(primary_key=True)
    scope = models.CharField(max_length=200, help_text="user:<id>, service:<name> or anonymous:<body hash>")
    key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.BinaryField(default=b"", blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="centrali_idempotency_key_once_per_scope"),
        ]
        indexes = [models.Index(fields=["created_at"], name="centrali_idempotency_created")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
