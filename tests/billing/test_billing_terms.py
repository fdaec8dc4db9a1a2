"""billing_terms: the current billing period and the overage settings in one query, the same answer
as current_billing_period and get_overage_settings give one at a time."""

from datetime import UTC, datetime

import pytest
from djstripe.models import Customer, Subscription
from freezegun import freeze_time

from billing.models import OverageSettings
from billing.selectors import BillingPeriod, billing_terms, current_billing_period, get_overage_settings
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)
ANCHOR = datetime(2026, 1, 9, 8, tzinfo=UTC)  # the subscription's cycle starts on the 9th


def _subscribe(workspace, *, status="active", anchor=ANCHOR):
    customer = Customer.objects.create(
        id=f"cus_{workspace.slug}", subscriber=workspace, livemode=False, stripe_data={"id": f"cus_{workspace.slug}"}
    )
    stamp = int(anchor.timestamp())
    Subscription.objects.create(
        id=f"sub_{workspace.slug}",
        livemode=False,
        customer=customer,
        stripe_data={"id": f"sub_{workspace.slug}", "status": status, "customer": customer.id,
                     "current_period_start": stamp, "current_period_end": stamp + 31 * 86400},
    )  # fmt: skip


@pytest.fixture
def workspace():
    WorkspaceFactory.create()  # a neighbour with no subscription and no overage settings
    return WorkspaceFactory.create()


def test_without_a_subscription_the_period_is_the_calendar_month(workspace):
    terms = billing_terms(workspace=workspace, now=NOW)

    assert terms.period == BillingPeriod(start=datetime(2026, 5, 1, tzinfo=UTC), end=datetime(2026, 6, 1, tzinfo=UTC))


def test_with_a_live_subscription_the_period_follows_its_cycle(workspace):
    _subscribe(workspace)

    terms = billing_terms(workspace=workspace, now=NOW)

    assert terms.period == BillingPeriod(
        start=datetime(2026, 5, 9, 8, tzinfo=UTC), end=datetime(2026, 6, 9, 8, tzinfo=UTC)
    )
    assert terms.period == current_billing_period(workspace=workspace, now=NOW)


def test_a_cancelled_subscription_leaves_the_calendar_month(workspace):
    _subscribe(workspace, status="canceled")

    assert billing_terms(workspace=workspace, now=NOW).period.start == datetime(2026, 5, 1, tzinfo=UTC)


def test_another_workspaces_subscription_is_not_this_ones(workspace):
    _subscribe(WorkspaceFactory.create())

    assert billing_terms(workspace=workspace, now=NOW).period.start == datetime(2026, 5, 1, tzinfo=UTC)


def test_overage_never_set_is_the_unsaved_default(workspace):
    overage = billing_terms(workspace=workspace, now=NOW).overage

    assert (overage.enabled, overage.spending_cap_cents, overage._state.adding) == (False, None, True)


@freeze_time(NOW)
def test_saved_overage_settings_are_read_as_saved(workspace):
    OverageSettings.objects.create(workspace=WorkspaceFactory.create(), enabled=False)  # the neighbour's
    OverageSettings.objects.create(workspace=workspace, enabled=True, enabled_at=NOW, spending_cap_cents=5_000)

    overage = billing_terms(workspace=workspace, now=NOW).overage

    saved = get_overage_settings(workspace=workspace)
    assert [getattr(overage, f.attname) for f in OverageSettings._meta.concrete_fields] == [
        getattr(saved, f.attname) for f in OverageSettings._meta.concrete_fields
    ]
    assert overage.workspace is workspace and not overage._state.adding


def test_it_takes_one_query(workspace, django_assert_num_queries):
    _subscribe(workspace)
    OverageSettings.objects.create(workspace=workspace, enabled=True, enabled_at=NOW)

    with django_assert_num_queries(1):
        billing_terms(workspace=workspace, now=NOW)
