"""billing_terms: the current billing period and the overage settings in one query, the same answer
as current_billing_period and get_overage_settings give one at a time."""

from datetime import UTC, datetime

import pytest
from freezegun import freeze_time

from billing.models import OverageSettings
from billing.selectors import (
    BillingPeriod,
    billing_terms,
    billing_terms_of,
    current_billing_period,
    get_membership_with_billing_terms,
    get_overage_settings,
    with_billing_terms,
)
from tests.billing.helpers import synced_subscription
from tests.factories import WorkspaceFactory
from workspaces.models import Workspace
from workspaces.selectors import get_membership_of_user_id

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)
ANCHOR = datetime(2026, 1, 9, 8, tzinfo=UTC)  # the subscription's cycle starts on the 9th


def _subscribe(workspace, *, status="active", anchor=ANCHOR):
    synced_subscription(workspace, anchor=anchor, status=status)


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


def _read_with_the_workspace(workspace):
    [read] = with_billing_terms(Workspace.objects.filter(pk=workspace.pk), livemode=False)
    return read


def _terms_read_with_the_workspace(workspace):
    return billing_terms_of(_read_with_the_workspace(workspace), now=NOW)


def _terms_read_with_the_membership(workspace):
    membership = get_membership_with_billing_terms(slug=workspace.slug, user_id=workspace.owner_id)
    assert membership is not None
    return billing_terms(workspace=membership.workspace, now=NOW)


@pytest.mark.parametrize(
    "read_terms",
    [_terms_read_with_the_workspace, _terms_read_with_the_membership],
    ids=["with-the-workspace", "with-the-membership"],
)
@pytest.mark.parametrize("subscription", [None, "active", "canceled"])
@pytest.mark.parametrize("overage", [False, True])
def test_terms_read_with_the_workspace_are_the_terms_read_alone(workspace, read_terms, subscription, overage):
    if subscription:
        _subscribe(workspace, status=subscription)
    if overage:
        OverageSettings.objects.create(workspace=workspace, enabled=True, enabled_at=NOW, spending_cap_cents=5_000)
    alone = billing_terms(workspace=workspace, now=NOW)

    read = read_terms(workspace)

    assert read.period == alone.period
    assert [getattr(read.overage, f.attname) for f in OverageSettings._meta.concrete_fields] == [
        getattr(alone.overage, f.attname) for f in OverageSettings._meta.concrete_fields
    ]
    assert read.overage._state.adding is alone.overage._state.adding


def test_terms_read_with_the_workspace_take_no_query_of_their_own(workspace, django_assert_num_queries):
    _subscribe(workspace)
    OverageSettings.objects.create(workspace=workspace, enabled=True, enabled_at=NOW)

    with django_assert_num_queries(1):
        billing_terms_of(_read_with_the_workspace(workspace), now=NOW)


def test_the_membership_read_with_the_terms_is_the_membership_read_and_one_query(workspace, django_assert_num_queries):
    _subscribe(workspace)
    plain = get_membership_of_user_id(slug=workspace.slug, user_id=workspace.owner_id)
    assert plain is not None

    with django_assert_num_queries(1):
        membership = get_membership_with_billing_terms(slug=workspace.slug, user_id=workspace.owner_id)
        assert membership is not None
        billing_terms(workspace=membership.workspace, now=NOW)

    assert (membership.pk, membership.role, membership.user.pk, membership.workspace.plan.code) == (
        plain.pk, plain.role, plain.user.pk, plain.workspace.plan.code
    )  # fmt: skip


def test_no_membership_is_none_with_the_terms_too(workspace):
    stranger = WorkspaceFactory.create().owner

    assert get_membership_with_billing_terms(slug=workspace.slug, user_id=stranger.pk) is None
    assert get_membership_with_billing_terms(slug="no-such-workspace", user_id=workspace.owner_id) is None
