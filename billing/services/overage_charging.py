"""Charging the overage of ended billing periods: one Stripe invoice item per line, once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import stripe
from django.db import transaction

from audit.services import record
from billing import selectors
from billing.gateway import stripe_call
from billing.models import OverageCharge, OverageSettings
from usage import selectors as usage_selectors

if TYPE_CHECKING:
    from billing.selectors import BillingPeriod
    from usage.selectors import OverageLine
    from workspaces.models import Workspace


def charge_overage(*, workspace: Workspace, period: BillingPeriod) -> list[OverageCharge]:
    """Bill a workspace's overage for an ended period: one Stripe invoice item per line, once.

    The unique (workspace, period start, metric) row is inserted in the same transaction
    as the Stripe call's result, and the Stripe idempotency key repeats the same triple,
    so a rerun — or a crash after Stripe answered — never bills a line twice. Audited as
    whoever acts: the system, from the periodic task.
    """
    lines = _billable_overage(workspace, period)
    already = set(
        OverageCharge.objects.filter(workspace=workspace, period_start=period.start).values_list("metric", flat=True)
    )
    lines = [line for line in lines if line.metric not in already and line.amount_cents > 0]
    customer = selectors.customer_for(workspace=workspace)
    if not lines or customer is None:
        _settle_unbilled(workspace, period)
        return []
    charged = []
    for line in lines:
        key = f"overage-{workspace.pk}-{period.start:%Y%m%dT%H%M%S}-{line.metric}"
        item = stripe_call(
            stripe.InvoiceItem.create,
            customer=customer.id,
            amount=line.amount_cents,
            currency=workspace.plan.currency,
            description=line.description,
            metadata={
                "workspace_id": str(workspace.pk),
                "metric": line.metric,
                "period_start": period.start.isoformat(),
            },
            idempotency_key=key,
        )
        with transaction.atomic():
            charge, created = OverageCharge.objects.get_or_create(
                workspace=workspace,
                period_start=period.start,
                metric=line.metric,
                defaults={
                    "period_end": period.end,
                    "units": line.units,
                    "amount_cents": line.amount_cents,
                    "description": line.description[:500],
                    "stripe_invoice_item_id": item["id"],
                },
            )
            if created:
                record(
                    workspace=workspace,
                    event_type="overage.charged",
                    resource_type="overage_charge",
                    resource_id=charge.pk,
                    summary=f"Overage charged: {line.description}",
                    metadata={
                        "metric": line.metric,
                        "units": str(line.units),
                        "amount_cents": line.amount_cents,
                        "period_start": period.start.isoformat(),
                        "period_end": period.end.isoformat(),
                        "stripe_invoice_item_id": item["id"],
                    },
                )
                charged.append(charge)
    _settle_unbilled(workspace, period)
    return charged


def _billable_overage(workspace: Workspace, period: BillingPeriod) -> list[OverageLine]:
    """The overage lines of an ended period: overage is on, or was on in it and turned off since.

    Billing only workspaces that have overage on at charge time let a workspace run past
    its limits all period and turn overage off just before the charge.
    """
    settings_row = selectors.get_overage_settings(workspace=workspace)
    owed_after_turning_off = settings_row.unbilled_since is not None and settings_row.unbilled_since <= period.start
    if not (settings_row.enabled or owed_after_turning_off):
        return []
    lines: list[OverageLine] = usage_selectors.overage_for_period(workspace=workspace, period=period)
    return lines


def _settle_unbilled(workspace: Workspace, period: BillingPeriod) -> None:
    """The periods up to `period` are billed: forget that overage was owed for them."""
    OverageSettings.objects.filter(workspace=workspace, unbilled_since__lte=period.start).update(unbilled_since=None)
