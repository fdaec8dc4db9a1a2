"""Overage settings: whether a workspace may go past its plan's limits, and up to what cap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from django.db import transaction
from django.utils import timezone

from audit.services import record
from billing import selectors
from billing.models import OverageSettings
from billing.services._common import billing_change, locked_workspace
from centrali.errors import InvalidInput

if TYPE_CHECKING:
    from workspaces.models import Workspace


class _Unset:
    """The type of UNSET: "leave this setting as it is"."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


def update_overage(
    *, workspace: Workspace, enabled: bool, spending_cap_cents: int | None | _Unset = UNSET
) -> OverageSettings:
    """Turn overage billing on/off and set its cap (None = no cap; UNSET = keep). Audited as whoever acts.

    Takes the billing-change lease: enabling checks the default card, which a concurrent
    card removal must not take away in between.
    """
    with billing_change(workspace, "overage change"), transaction.atomic():
        workspace = locked_workspace(workspace)
        if enabled:
            if workspace.plan.overage_rates is None:
                raise InvalidInput(
                    f"Plan '{workspace.plan.code}' does not offer overage; upgrade first.",
                    code="OVERAGE_NOT_OFFERED",
                    details={"overageEnabled": ["Not offered on this plan."]},
                )
            if not selectors.has_default_payment_method(workspace=workspace):
                raise InvalidInput(
                    "Overage billing needs a default payment method; add a card first.",
                    code="PAYMENT_METHOD_REQUIRED",
                    details={"overageEnabled": ["No default payment method."]},
                )
        settings_row, _ = OverageSettings.objects.select_for_update().get_or_create(workspace=workspace)
        before = {"enabled": settings_row.enabled, "spending_cap_cents": settings_row.spending_cap_cents}
        if enabled and not settings_row.enabled:
            settings_row.enabled_at = timezone.now()
        elif not enabled:
            if settings_row.enabled and settings_row.unbilled_since is None:
                # The period's overage so far is still billed at its end (see charge_overage).
                settings_row.unbilled_since = selectors.current_billing_period(
                    workspace=workspace, now=timezone.now()
                ).start
            settings_row.enabled_at = None
        settings_row.enabled = enabled
        if not isinstance(spending_cap_cents, _Unset):
            settings_row.spending_cap_cents = spending_cap_cents
        settings_row.save()
        after = {"enabled": settings_row.enabled, "spending_cap_cents": settings_row.spending_cap_cents}
        if before != after:
            record(
                workspace=workspace,
                event_type="overage.changed",
                resource_type="overage_settings",
                resource_id=workspace.pk,
                summary=f"Overage billing {'enabled' if enabled else 'disabled'}"
                + (
                    f", cap {after['spending_cap_cents']} cents"
                    if enabled and after["spending_cap_cents"] is not None
                    else ""
                ),
                metadata={
                    key: {"before": before[key], "after": after[key]} for key in after if before[key] != after[key]
                },
            )
    return settings_row
