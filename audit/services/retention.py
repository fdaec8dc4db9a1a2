"""Audit retention: each workspace keeps its events for its plan's `audit_retention_days`.

Only the chain's oldest events go, in id order (a prefix of the chain), and each cut leaves an
AuditCheckpoint: the hash of the last dropped event and the count dropped, signed, so what
remains still verifies (audit.chain).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import takewhile

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.chain import checkpoint_signature
from audit.models import AuditCheckpoint, AuditEvent
from audit.selectors import latest_checkpoint
from audit.services.purge import PURGE_SETTING
from workspaces.models import Workspace
from workspaces.selectors import lock_workspace_for_append

logger = structlog.get_logger(__name__)


def drop_events_before(*, workspace: Workspace, before: datetime, now: datetime, batch_size: int) -> int:
    """Drop the workspace's oldest events created before `before`, up to the first one that is not;
    returns how many were dropped. One transaction (and checkpoint) per batch of `batch_size`."""
    dropped = 0
    while True:
        with transaction.atomic():
            # Serialized with appends: the chain's head and its checkpoint move under the same lock.
            lock_workspace_for_append(workspace_id=workspace.pk)
            oldest = list(
                AuditEvent.objects.filter(workspace_id=workspace.pk)
                .order_by("id")
                .values("id", "created_at", "entry_hash")[:batch_size]
            )
            cut = list(takewhile(lambda event: event["created_at"] < before, oldest))
            if not cut:
                return dropped
            previous = latest_checkpoint(workspace_id=workspace.pk)
            events_dropped = (previous.events_dropped if previous else 0) + len(cut)
            # Never move the date back: a plan with a longer retention does not bring events back.
            complete_from = max(before, previous.complete_from) if previous else before
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config(%s, 'on', true)", [PURGE_SETTING])
            AuditEvent.objects.filter(workspace_id=workspace.pk, id__lte=cut[-1]["id"]).delete()
            AuditCheckpoint.objects.create(
                workspace_id=workspace.pk,
                head_hash=cut[-1]["entry_hash"],
                events_dropped=events_dropped,
                complete_from=complete_from,
                signature=checkpoint_signature(
                    workspace_id=workspace.pk,
                    head_hash=cut[-1]["entry_hash"],
                    events_dropped=events_dropped,
                    complete_from=complete_from,
                ),
                created_at=now,
            )
        dropped += len(cut)
        if len(cut) < batch_size:
            return dropped


def apply_audit_retention(*, now: datetime | None = None) -> dict[str, int]:
    """Drop every workspace's events older than its plan keeps them (none when the plan's
    `audit_retention_days` is empty: kept for good). Returns {workspace id: events dropped}."""
    now = now or timezone.now()
    dropped = {}
    workspaces = (
        Workspace.objects.filter(plan__audit_retention_days__isnull=False).select_related("plan").order_by("pk")
    )
    for workspace in workspaces.iterator(chunk_size=500):
        days = workspace.plan.audit_retention_days
        if days is None:  # the plan changed since the query
            continue
        count = drop_events_before(
            workspace=workspace,
            before=now - timedelta(days=days),
            now=now,
            batch_size=settings.AUDIT_RETENTION_BATCH_SIZE,
        )
        if count:
            dropped[str(workspace.pk)] = count
            logger.info("audit.retention_applied", workspace_id=str(workspace.pk), events=count, retention_days=days)
    return dropped
