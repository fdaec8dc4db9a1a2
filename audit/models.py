from django.db import models
from django.db.models import Q

from audit.events import ActorType

SUMMARY_MAX_LENGTH, RESOURCE_ID_MAX_LENGTH = 500, 128


class AuditEvent(models.Model):
    """One append-only entry of a workspace's audit log.

    Entries of a workspace form a hash chain (audit.chain): `entry_hash` covers the
    entry's content and `previous_hash`, the hash of the workspace's entry before it; personal
    fields are covered through keyed digests, so they can be erased (audit.chain's docstring).
    On PostgreSQL a trigger refuses UPDATE and DELETE outside the purge, retention and erasure
    paths (audit.db).
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
    resource_id = models.CharField(max_length=RESOURCE_ID_MAX_LENGTH)
    actor_id = models.CharField(max_length=128, blank=True, default="")
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    summary = models.CharField(max_length=SUMMARY_MAX_LENGTH)
    metadata = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True, default="")
    request_id = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField()
    previous_hash = models.CharField(max_length=64, blank=True, default="")
    entry_hash = models.CharField(max_length=64)
    # Personal data (audit.chain): the salt and the twin go at erasure, the digests stay.
    personal_salt = models.CharField(max_length=32, blank=True, default="")
    personal_digest = models.CharField(max_length=64, blank=True, default="")
    content_digest = models.CharField(max_length=64, blank=True, default="")
    redacted = models.JSONField(
        null=True, blank=True, help_text="Summary and metadata with personal values masked, when they name someone."
    )
    erasure_seal = models.CharField(max_length=64, blank=True, default="")

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
            models.Index(fields=["workspace", "actor_id", "created_at"], name="audit_ws_actor_created"),
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


class AuditCheckpoint(models.Model):
    """Where a workspace's chain resumes after retention dropped its oldest events.

    `head_hash` is the hash of the last dropped event (the first remaining one links to it) and
    `events_dropped` how many events the chain lost from its start; `signature` is an HMAC over
    both and `complete_from` (audit.chain.checkpoint_signature). The newest checkpoint counts.
    """

    id = models.BigAutoField(primary_key=True)
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="audit_checkpoints", db_index=False
    )
    head_hash = models.CharField(max_length=64)
    events_dropped = models.PositiveBigIntegerField()
    complete_from = models.DateTimeField(help_text="Every event since this moment is still in the log.")
    signature = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["workspace", "-events_dropped"], name="audit_checkpoint_ws")]

    def __str__(self) -> str:
        return f"audit checkpoint of {self.workspace_id} ({self.events_dropped} dropped)"
