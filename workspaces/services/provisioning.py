"""Provisioning: one `workspaces.provision_service` task per platform service, published after commit.

Publishing is best effort: a broker outage never fails the caller, the rows stay pending and
sweep_stalled_provisioning publishes them again later.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.services import record
from centrali.errors import InvalidInput
from centrali.metrics import observe_provisioning
from centrali.tasks import publish
from workspaces.models import ProvisioningStatus, ServiceProvisioning, Workspace, WorkspaceStatus
from workspaces.provisioning import registered_services

PROVISION_TASK = "workspaces.provision_service"
# Members can read last_error (provision-status): keep it a readable size.
ERROR_MAX_LENGTH = 2000


def start_provisioning(*, workspace: Workspace) -> None:
    """Inside the creating transaction: a pending row per registered service, tasks after commit."""
    services = registered_services()
    ServiceProvisioning.objects.bulk_create(
        [ServiceProvisioning(workspace=workspace, service=service) for service in services]
    )
    transaction.on_commit(partial(enqueue_provisioning, workspace_id=workspace.pk, services=services))


def enqueue_provisioning(*, workspace_id: UUID, services: Sequence[str]) -> None:
    """Publish one provisioning task per service; one the broker refuses is left to the sweeper."""
    for service in services:
        publish(PROVISION_TASK, str(workspace_id), service)


def start_provisioning_attempt(*, workspace_id: UUID | str, service: str) -> ServiceProvisioning | None:
    """Move the service to `provisioning` and count the attempt; None when there is nothing to do
    (already ready, failed until a manual retry, or the workspace is gone)."""
    with transaction.atomic():
        row = (
            ServiceProvisioning.objects.select_for_update(of=("self",))
            .select_related("workspace", "workspace__plan")
            .filter(workspace_id=workspace_id, service=service)
            .first()
        )
        if row is None or row.status in (ProvisioningStatus.READY, ProvisioningStatus.FAILED):
            return None
        row.status = ProvisioningStatus.PROVISIONING
        row.attempts += 1
        row.save(update_fields=["status", "attempts", "updated_at"])
    return row


# The outcome of an attempt (centrali.metrics): its new status, or still provisioning: a retry.
_OUTCOMES: dict[str, str] = {ProvisioningStatus.READY: "ready", ProvisioningStatus.FAILED: "failed"}


def _end_attempt(provisioning: ServiceProvisioning, **changes: Any) -> None:
    """Record an attempt's outcome, only while the row is still `provisioning` (not purged, not reset)."""
    # updated_at still says when start_provisioning_attempt began this attempt.
    observe_provisioning(
        service=provisioning.service,
        outcome=_OUTCOMES.get(str(changes.get("status")), "retry"),
        started_at=provisioning.updated_at,
    )
    changes["updated_at"] = timezone.now()
    ServiceProvisioning.objects.filter(pk=provisioning.pk, status=ProvisioningStatus.PROVISIONING).update(**changes)
    for field, value in changes.items():
        setattr(provisioning, field, value)


def mark_service_ready(*, provisioning: ServiceProvisioning) -> None:
    _end_attempt(provisioning, status=ProvisioningStatus.READY, ready_at=timezone.now(), last_error="")


def mark_service_retrying(*, provisioning: ServiceProvisioning, error: str) -> None:
    """A transient failure: stays `provisioning` while the task waits for its next attempt."""
    _end_attempt(provisioning, last_error=error[:ERROR_MAX_LENGTH])


def mark_service_failed(*, provisioning: ServiceProvisioning, error: str) -> None:
    _end_attempt(provisioning, status=ProvisioningStatus.FAILED, last_error=error[:ERROR_MAX_LENGTH])


def retry_provisioning(*, workspace: Workspace, service: str, reason: str = "") -> ServiceProvisioning:
    """Re-enqueue a failed service with a fresh attempt budget."""
    with transaction.atomic():
        provisioning = (
            ServiceProvisioning.objects.select_for_update().filter(workspace=workspace, service=service).first()
        )
        if provisioning is None:
            raise InvalidInput.for_field("service", f"Unknown service '{service}'.", code="UNKNOWN_SERVICE")
        if provisioning.status != ProvisioningStatus.FAILED:
            raise InvalidInput(
                f"Service '{service}' is {provisioning.status}; only a failed service can be retried.",
                code="SERVICE_NOT_FAILED",
                details={"service": [f"Status is {provisioning.status}, not failed."]},
            )
        previous_attempts, previous_error = provisioning.attempts, provisioning.last_error
        provisioning.status = ProvisioningStatus.PENDING
        provisioning.attempts = 0
        provisioning.save(update_fields=["status", "attempts", "updated_at"])
        record(
            workspace=workspace,
            event_type="provisioning.retried",
            resource_type="provisioning",
            resource_id=service,
            summary=f"Provisioning of '{service}' retried",
            metadata={
                "service": service,
                "previous_attempts": previous_attempts,
                "previous_error": previous_error,
                **({"reason": reason} if reason else {}),
            },
        )
        transaction.on_commit(partial(enqueue_provisioning, workspace_id=workspace.pk, services=[service]))
    return provisioning


def sweep_stalled_provisioning(*, now: datetime) -> int:
    """Re-enqueue services left pending/provisioning too long (lost message, dead worker); returns how many."""
    stalled = list(
        ServiceProvisioning.objects.filter(
            status__in=(ProvisioningStatus.PENDING, ProvisioningStatus.PROVISIONING),
            updated_at__lt=now - settings.PROVISIONING_STALLED_AFTER,
        ).values_list("pk", "workspace_id", "service")
    )
    ServiceProvisioning.objects.filter(pk__in=[pk for pk, _, _ in stalled]).update(updated_at=now)
    for _pk, workspace_id, service in stalled:
        enqueue_provisioning(workspace_id=workspace_id, services=[service])
    return len(stalled)


def provision_missing_services(*, workspaces: QuerySet[Workspace]) -> dict[str, list[str]]:
    """Add and enqueue the registered services `workspaces` lack (a service added to
    WORKSPACE_PROVISIONERS after they were created); returns {slug: [services added]}."""
    registered = registered_services()
    added = {}
    for workspace in workspaces.filter(status__in=(WorkspaceStatus.ACTIVE, WorkspaceStatus.SUSPENDED)):
        with transaction.atomic():
            present = set(workspace.provisioned_services.values_list("service", flat=True))
            missing = [service for service in registered if service not in present]
            if not missing:
                continue
            ServiceProvisioning.objects.bulk_create(
                [ServiceProvisioning(workspace=workspace, service=service) for service in missing],
                ignore_conflicts=True,  # a concurrent run added them: the unique constraint decides
            )
            transaction.on_commit(partial(enqueue_provisioning, workspace_id=workspace.pk, services=missing))
        added[workspace.slug] = missing
    return added
