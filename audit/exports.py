"""The "audit_events" section of the workspace export archive."""

from __future__ import annotations

from typing import Any

from audit.selectors import event_as_dict, log_complete_from, workspace_visible_events
from centrali.exports import ExportSection
from centrali.formats import iso_utc

serialize_event = event_as_dict


def _manifest_fields(workspace: Any) -> dict[str, Any]:
    """Since when the log is complete: retention (audit.services.apply_audit_retention) drops older events."""
    return {"auditLogCompleteFrom": iso_utc(log_complete_from(workspace=workspace))}


EXPORT_SECTIONS = (
    ExportSection(
        name="audit_events",
        queryset=lambda workspace: workspace_visible_events(workspace=workspace).order_by("id"),
        serialize=serialize_event,
        manifest=_manifest_fields,
    ),
)
