from django.db import models
from django.db.models import Q

from audit.events import ActorType


class AuditEvent(models.Model):
    """One append-only entry of a workspace's audit log.

    Entries of a workspace form a hash chain (audit.chain): `entry_hash` covers the
    entry's content and `previous_hash`, the hash of the workspace's entry before it.
    On PostgreSQL a trigger refuses UPDATE and DELETE outside the purge path
    (migration 0002).
    """

    id = models.BigAutoField(primary_key=True)
    # No index of its own: audit_ws_id (workspace, -id) serves every lookup by workspace.
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="audit_events", db_index=False
    )
    # NULL, not "", for events without a caller's id: the unique constraint ignores NULLs.
    event_id = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True, help_text="Caller's id (unique per workspace), for idempotent ingestion."
    )
    type = models.CharField(max_length=64)
    resource_type = models.CharField(max_length=64)
    resource_id = models.CharField(max_length=128)
    actor_id = models.CharField(max_length=128, blank=True, default="")
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    summary = models.CharField(max_length=500)
    metadata = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True, default="")
    request_id = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField()
    previous_hash = models.CharField(max_length=64, blank=True, default="")
    entry_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-id"]
        # Every read pages newest-first by id within one workspace; each filter has an index
        # that yields rows already in that order, so a page is an index scan that stops at `limit`.
        indexes = [
            models.Index(fields=["workspace", "-id"], name="audit_ws_id"),
            models.Index(fields=["workspace", "resource_type", "resource_id", "-id"], name="audit_ws_resource"),
            models.Index(fields=["workspace", "resource_type", "-id"], name="audit_ws_rtype"),
            models.Index(fields=["workspace", "type", "-id"], name="audit_ws_type"),
            models.Index(fields=["workspace", "actor_id", "-id"], name="audit_ws_actor"),
            models.Index(fields=["workspace", "created_at"], name="audit_ws_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(actor_type__in=ActorType.values), name="audit_actor_type_valid"),
            # Per workspace: one tenant's event ids never make another's look like duplicates.
            models.UniqueConstraint(fields=["workspace", "event_id"], name="audit_event_unique_per_workspace"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.resource_type}:{self.resource_id}"


class AuditChain(models.Model):
    """The head of a workspace's hash chain.

    Appends to the chain are serialized by the lock on the workspace's row
    (workspaces.selectors.lock_workspace_for_append, taken by audit.services.record), not by
    this row: the head is read and moved only while that lock is held.
    """

    workspace = models.OneToOneField(
        "workspaces.Workspace", on_delete=models.CASCADE, primary_key=True, related_name="audit_chain"
    )
    head_hash = models.CharField(max_length=64, blank=True, default="")
    length = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"audit chain of {self.workspace_id} ({self.length} events)"
