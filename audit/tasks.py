"""Periodic work on the audit log: chain checks and retention."""

import structlog
from celery import shared_task

from audit import services
from audit.selectors import verify_chain, workspaces_with_audit_log

logger = structlog.get_logger(__name__)


@shared_task(name="audit.verify_audit_chains")
def verify_audit_chains() -> int:
    """Nightly: recompute every workspace's hash chain; a break is logged at ERROR for alerting."""
    broken = 0
    for workspace_id in workspaces_with_audit_log():
        chain_break = verify_chain(workspace_id=workspace_id)
        if chain_break is not None:
            broken += 1
            logger.error(
                "audit.chain_broken",
                workspace_id=chain_break.workspace_id,
                event_id=chain_break.event_id,
                reason=chain_break.reason,
            )
    return broken


@shared_task(name="audit.apply_audit_retention")
def apply_audit_retention() -> int:
    """Nightly: drop the events each workspace's plan no longer keeps (signed checkpoints keep the
    rest verifiable); returns how many events were dropped."""
    return sum(services.apply_audit_retention().values())
