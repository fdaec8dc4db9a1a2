"""Deleting a purged workspace's audit log. Only it and retention (audit.services.retention) may
delete audit rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import connection, transaction

from audit.models import AuditChain, AuditCheckpoint, AuditEvent

if TYPE_CHECKING:
    from workspaces.models import Workspace

# The PostgreSQL trigger of migration 0002 (audit.db) lets DELETE through only while this
# transaction-local setting is on; purge_workspace_events() and retention set it.
PURGE_SETTING = "centrali.audit_purge"


def purge_workspace_events(*, workspace: Workspace) -> int:
    """Delete the workspace's events and chain; returns how many events were deleted.

    On PostgreSQL the append-only trigger allows it because of the transaction-local
    setting; call it inside the purge transaction, before the workspace row is deleted.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'on', true)", [PURGE_SETTING])
        deleted = AuditEvent.objects.filter(workspace_id=workspace.pk).delete()[0]
        AuditChain.objects.filter(workspace_id=workspace.pk).delete()
        AuditCheckpoint.objects.filter(workspace_id=workspace.pk).delete()
    return deleted
