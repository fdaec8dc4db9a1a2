"""The "audit_events" section of the workspace export archive."""

from audit.selectors import workspace_visible_events
from centrali.exports import ExportSection


def serialize_event(event):
    return {
        "id": str(event.pk),
        "type": event.type,
        "resourceType": event.resource_type,
        "resourceId": event.resource_id,
        "actorId": event.actor_id,
        "actorType": event.actor_type,
        "summary": event.summary,
        "metadata": event.metadata,
        "ipAddress": event.ip_address,
        "userAgent": event.user_agent,
        "requestId": event.request_id,
        "createdAt": event.created_at.isoformat().replace("+00:00", "Z"),
        "previousHash": event.previous_hash,
        "hash": event.entry_hash,
    }


EXPORT_SECTIONS = (
    ExportSection(
        name="audit_events",
        queryset=lambda workspace: workspace_visible_events(workspace=workspace).order_by("id"),
        serialize=serialize_event,
    ),
)
