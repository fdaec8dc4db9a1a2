"""The "audit_events" section of the workspace export archive."""

from __future__ import annotations

from typing import Any

from audit.models import AuditEvent
from audit.selectors import workspace_visible_events
from centrali.exports import ExportSection
from centrali.formats import iso_utc


def serialize_event(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": str(event.pk),
        "type": event.type,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "actor_id": event.actor_id,
        "actor_type": event.actor_type,
        "summary": event.summary,
        "metadata": event.metadata,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "created_at": iso_utc(event.created_at),
        "previous_hash": event.previous_hash,
        "hash": event.entry_hash,
    }


EXPORT_SECTIONS = (
    ExportSection(
        name="audit_events",
        queryset=lambda workspace: workspace_visible_events(workspace=workspace).order_by("id"),
        serialize=serialize_event,
    ),
)
