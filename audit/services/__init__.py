"""Writes of the audit log: `record()` appends (recording), platform services' events come in
through it (ingestion), `purge_workspace_events()` and retention (`apply_audit_retention()`) are
the only deletions, `erase_personal_data()` the only update (erasure)."""

from audit.services.erasure import ERASURE_SETTING, erase_personal_data
from audit.services.ingestion import PlatformEvent, ingest_platform_events
from audit.services.purge import PURGE_SETTING, purge_workspace_events
from audit.services.recording import record
from audit.services.retention import apply_audit_retention, drop_events_before

__all__ = [
    "ERASURE_SETTING",
    "PURGE_SETTING",
    "PlatformEvent",
    "apply_audit_retention",
    "drop_events_before",
    "erase_personal_data",
    "ingest_platform_events",
    "purge_workspace_events",
    "record",
]
