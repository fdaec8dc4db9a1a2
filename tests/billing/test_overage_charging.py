"""billing.charge_overage_for_ended_periods: last period's overage billed to Stripe once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from billing.models import OverageCharge
from billing.selectors import current_billing_period, previous_billing_period
from billing.tasks import charge_overage_for_ended_periods
from tests.billing.helpers import subscribe
from tests.helpers import API, client_for
from usage.services import ingest_events


def _use_invocations(workspace, count, *, days_ago):
    ingest_events(
        events=[
            {
                "id": f"inv-{workspace.slug}-{days_ago}-{count}",
                "workspace": workspace.slug,
                "metric": "function_invocations",
                "value": count,
                "timestamp": (timezone.now() - timedelta(days=days_ago)).isoformat(),
            }
        ]
    )


@pytest.fixture
def on_overage(stripe_sandbox, workspace):
    """Pro (2M invocations included) with overage on; 2.5M invocations two days ago, i.e. last period."""
    client = client_for(workspace.owner)
    subscribe(client, workspace, stripe_sandbox, plan="pro")
    client.patch(f"{API}/{workspace.slug}/overage", {"overageEnabled": True}, format="json")
    _use_invocations(workspace, 2_500_000, days_ago=2)
    workspace.refresh_from_db()
    return workspace


def _stripe_items(sandbox, workspace):
    return sandbox.get("invoiceitems", customer=workspace.djstripe_customers.get().id)["data"]


def test_the_period_follows_the_subscription(on_overage):
    now = timezone.now()
    current = current_billing_period(workspace=on_overage, now=now)
    previous = previous_billing_period(workspace=on_overage, now=now)
    assert current.start <= now < current.end
    assert previous.end == current.start
    assert current.start == on_overage.djstripe_customers.get().subscriptions.get().current_period_start


def test_last_periods_overage_becomes_one_stripe_invoice_item_per_metric(on_overage, stripe_sandbox):
    assert charge_overage_for_ended_periods() == 1

    [charge] = OverageCharge.objects.filter(workspace=on_overage)
    assert (charge.metric, charge.amount_cents) == ("function_invocations", 750)  # 500,000 × 0.000015 USD
    [item] = _stripe_items(stripe_sandbox, on_overage)
    assert (item["id"], item["amount"], item["currency"]) == (charge.stripe_invoice_item_id, 750, "usd")
    event = AuditEvent.objects.get(workspace_id=on_overage.pk, type="overage.charged")
    assert (event.actor_type, event.actor_id, event.metadata["amount_cents"]) == (
        "system",
        "task:billing.charge_overage_for_ended_periods",
        750,
    )


def test_running_again_bills_nothing_twice(on_overage, stripe_sandbox):
    charge_overage_for_ended_periods()

    assert charge_overage_for_ended_periods() == 0

    assert OverageCharge.objects.filter(workspace=on_overage).count() == 1
    assert len(_stripe_items(stripe_sandbox, on_overage)) == 1


def test_the_spending_cap_limits_the_charge(on_overage):
    client_for(on_overage.owner).patch(
        f"{API}/{on_overage.slug}/overage", {"overageEnabled": True, "overageSpendingCapCents": 300}, format="json"
    )
    charge_overage_for_ended_periods()
    assert OverageCharge.objects.get(workspace=on_overage).amount_cents == 300


def test_workspaces_without_overage_are_not_billed(on_overage, stripe_sandbox):
    client_for(on_overage.owner).patch(f"{API}/{on_overage.slug}/overage", {"overageEnabled": False}, format="json")
    assert charge_overage_for_ended_periods() == 0
    assert _stripe_items(stripe_sandbox, on_overage) == []


def test_current_period_usage_waits_for_the_period_to_end(stripe_sandbox, workspace):
    client = client_for(workspace.owner)
    subscribe(client, workspace, stripe_sandbox, plan="pro")
    client.patch(f"{API}/{workspace.slug}/overage", {"overageEnabled": True}, format="json")
    _use_invocations(workspace, 2_500_000, days_ago=0)

    assert charge_overage_for_ended_periods() == 0


def test_stripe_down_leaves_the_charge_for_the_next_run(on_overage, stripe_unreachable):
    assert charge_overage_for_ended_periods() == 0
    assert not OverageCharge.objects.exists()


def test_turning_overage_off_before_the_period_ends_does_not_skip_its_charge(stripe_sandbox, workspace):
    client = client_for(workspace.owner)
    subscribe(client, workspace, stripe_sandbox, plan="pro")
    client.patch(f"{API}/{workspace.slug}/overage", {"overageEnabled": True}, format="json")
    _use_invocations(workspace, 2_500_000, days_ago=0)
    client.patch(f"{API}/{workspace.slug}/overage", {"overageEnabled": False}, format="json")
    period = current_billing_period(workspace=workspace, now=timezone.now())

    assert charge_overage_for_ended_periods(now=period.end + timedelta(hours=1)) == 1

    [charge] = OverageCharge.objects.filter(workspace=workspace)
    assert (charge.period_start, charge.amount_cents) == (period.start, 750)
    assert len(_stripe_items(stripe_sandbox, workspace)) == 1
