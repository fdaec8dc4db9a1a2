"""Writes of the audit log: `record()` appends (recording), platform services' events come in
through it (ingestion), and `purge_workspace_events()` is the only deletion (purge)."""

from audit.services.ingestion import PlatformEvent, ingest_platform_events
from audit.services.purge import PURGE_SETTING, purge_workspace_events
from audit.services.recording import record

__all__ = ["PURGE_SETTING", "PlatformEvent", "ingest_platform_events", "purge_workspace_events", "record"]
