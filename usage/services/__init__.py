"""Writes of the usage app, one module per seam:

- ingestion: idempotent ingestion of reported events, folded into the daily rollups;
- api_call_metering: this service's own API calls, flushed from the cache into usage;
- quota_alerts: the 80%/100% alerts and their emails;
- retention: pruning raw events, and rebuilding the rollups from those kept.
"""

from usage.services.api_call_metering import API_CALLS_FLUSHED_THROUGH_KEY, flush_api_call_counts
from usage.services.ingestion import MAX_BATCH_SIZE, IngestResult, Rejection, ingest_events
from usage.services.quota_alerts import mark_alert_emailed, raise_quota_alerts, resend_unsent_quota_alerts
from usage.services.retention import RollupDifference, prune_raw_events, raw_event_retention_cutoff, reconcile_rollups

__all__ = [
    "API_CALLS_FLUSHED_THROUGH_KEY",
    "MAX_BATCH_SIZE",
    "IngestResult",
    "Rejection",
    "RollupDifference",
    "flush_api_call_counts",
    "ingest_events",
    "mark_alert_emailed",
    "prune_raw_events",
    "raise_quota_alerts",
    "raw_event_retention_cutoff",
    "reconcile_rollups",
    "resend_unsent_quota_alerts",
]
