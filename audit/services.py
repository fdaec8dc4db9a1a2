import hashlib
import json

from django.db import transaction
from django.utils import timezone

from audit.events import EVENT_TYPES, ActorType
from audit.models import AuditEvent

_SECRET_KEYS = ("password", "secret", "token", "client_secret", "card_number", "cvc")


def _scrub(metadata):
    """Metadata never carries secrets, whatever a caller passes."""
    if isinstance(metadata, dict):
        return {
            key: "[redacted]" if any(s in key.lower() for s in _SECRET_KEYS) else _scrub(value)
            for key, value in metadata.items()
        }
    if isinstance(metadata, list):
        return [_scrub(item) for item in metadata]
    return metadata


def entry_hash(event):
    """SHA-256 over the entry's content and its predecessor's hash."""
    content = {
        "workspace": str(event.workspace_id),
        "type": event.type,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "actor_id": event.actor_id,
        "actor_type": event.actor_type,
        "summary": event.summary,
        "metadata": event.metadata,
        "created_at": event.created_at.isoformat(),
        "previous_hash": event.previous_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _client_ip(request):
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR") or None


def record(
    *,
    workspace,
    event_type,
    resource_type,
    resource_id,
    summary,
    actor=None,
    actor_type=None,
    metadata=None,
    request=None,
    event_id=None,
    occurred_at=None,
):
    """Append one audit event. The one way to write the audit log.

    Call it inside the transaction of the change it records. `actor` is a User (or
    None for the system); `actor_type` defaults to staff/user from the actor.
    """
    if event_type not in EVENT_TYPES and not event_type.startswith("platform."):
        raise ValueError(f"Unknown audit event type {event_type!r}; add it to audit.events.EVENT_TYPES")
    if actor_type is None:
        if actor is None:
            actor_type = ActorType.SYSTEM
        else:
            actor_type = ActorType.STAFF if getattr(actor, "is_staff", False) and request is None else ActorType.USER
    with transaction.atomic():
        # Appends to one workspace's chain are serialized by locking its row.
        type(workspace).objects.select_for_update().filter(pk=workspace.pk).values_list("pk", flat=True).get()
        previous = (
            AuditEvent.objects.filter(workspace_id=workspace.pk).order_by("-id").values_list("entry_hash", flat=True).first()
        )
        event = AuditEvent(
            workspace_id=workspace.pk,
            event_id=event_id,
            type=event_type,
            resource_type=resource_type,
            resource_id=str(resource_id),
            actor_id=str(actor.pk) if actor is not None and getattr(actor, "pk", None) else "",
            actor_type=actor_type,
            summary=summary[:500],
            metadata=_scrub(metadata or {}),
            ip_address=_client_ip(request) if request is not None else None,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:400] if request is not None else "",
            request_id=getattr(request, "request_id", "") if request is not None else "",
            created_at=occurred_at or timezone.now(),
            previous_hash=previous or "",
        )
        event.entry_hash = entry_hash(event)
        event.save(force_insert=True)
    return event


def purge_workspace_events(*, workspace):
    """Delete a purged workspace's events: the only path that may delete audit rows."""
    return AuditEvent.objects.filter(workspace_id=workspace.pk).delete()[0]
