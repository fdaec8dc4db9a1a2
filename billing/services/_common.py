"""What the billing services share: the billing-change lease, reading and locking the
workspace, syncing Stripe's answers into dj-stripe, and the one audited plan write."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import record
from billing import gateway
from billing.gateway import translated_stripe_errors
from billing.models import BillingChangeLease
from centrali.errors import Conflict, NotFound
from workspaces import selectors as workspace_selectors

if TYPE_CHECKING:
    from billing.models import Plan
    from workspaces.models import Workspace

# A change makes at most a handful of Stripe calls, each bounded by STRIPE_TIMEOUT_SECONDS.
LEASE_STRIPE_CALLS = 6


@contextlib.contextmanager
def billing_change(workspace: Workspace, operation: str) -> Iterator[None]:
    """Run one billing change of the workspace at a time, without a lock held across Stripe calls.

    Why a lease and not "re-check and compensate": a removed card cannot be re-attached
    in Stripe, so a card removal that raced an upgrade could not be undone; and Stripe's
    idempotency keys only make a retry of the same request safe. So the changes whose
    checks depend on each other (plan change, card removal, overage) take the workspace's
    lease in a short transaction, and a second one meanwhile is refused (Conflict). The lease
    expires after the longest the holder can wait for Stripe, so a dead worker cannot
    block the workspace.
    """
    token = uuid.uuid4()
    now = timezone.now()
    with transaction.atomic():
        BillingChangeLease.objects.filter(workspace=workspace, expires_at__lte=now).delete()
        _, acquired = BillingChangeLease.objects.get_or_create(
            workspace=workspace,
            defaults={
                "token": token,
                "operation": operation,
                "expires_at": now + timedelta(seconds=settings.STRIPE_TIMEOUT_SECONDS * LEASE_STRIPE_CALLS),
            },
        )
    if not acquired:
        raise Conflict(
            "Another billing change of this workspace is in progress; try again in a moment.",
            code="BILLING_CHANGE_IN_PROGRESS",
        )
    try:
        yield
    finally:
        BillingChangeLease.objects.filter(workspace=workspace, token=token).delete()


def fresh_workspace(workspace: Workspace) -> Workspace:
    """The workspace's current row with its plan (the caller's copy may predate a change)."""
    fresh = workspace_selectors.get_workspace(workspace_id=workspace.pk)
    if fresh is None:
        raise NotFound(f"Workspace '{workspace.slug}' not found.", code="WORKSPACE_NOT_FOUND")
    return fresh


def locked_workspace(workspace: Workspace) -> Workspace:
    """The workspace's current row with its plan, locked until the caller's transaction ends."""
    return workspace_selectors.lock_workspace(workspace=workspace)


def sync_from_stripe(model: Any, data: Mapping[str, Any]) -> Any:
    """dj-stripe's copy of a Stripe object := what Stripe answered; returns the dj-stripe row."""
    with translated_stripe_errors():
        return model.sync_from_stripe_data(data, api_key=gateway.api_key())


def set_plan(workspace: Workspace, plan: Plan, *, subscription_id: str | None = None, reason: str = "") -> None:
    """Put the workspace on `plan` and audit it: within the caller's transaction, on a locked row.

    Who changed it comes from the acting context (the user, the staff member, or the system
    for webhooks, tasks and commands).
    """
    before = workspace.plan.code
    workspace.plan = plan
    workspace.save(update_fields=["plan", "updated_at"])
    record(
        workspace=workspace,
        event_type="plan.changed",
        resource_type="plan",
        resource_id=plan.pk,
        summary=f"Plan changed from '{before}' to '{plan.code}'" + (f" ({reason})" if reason else ""),
        metadata={"plan": {"before": before, "after": plan.code}, "subscription_id": subscription_id},
    )
