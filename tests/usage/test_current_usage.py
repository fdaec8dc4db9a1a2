"""GET /{slug}/usage/current: the billing period's usage against the plan, overage and projection."""

from datetime import timedelta

import pytest
from freezegun import freeze_time

from billing.models import OverageSettings, Plan
from tests.helpers import API, assert_error, client_for
from tests.usage.helpers import utc
from usage.metrics import GB, METRICS
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

NOW = utc(2026, 3, 11, 0, 0)  # 10 of March's 31 days have passed


@pytest.fixture(autouse=True)
def frozen_now():
    with freeze_time(NOW):
        yield


def _current(client, workspace):
    response = client.get(f"{API}/{workspace.slug}/usage/current")
    assert response.status_code == 200, response.content
    return response.json()


def test_answers_the_def1_usage_fields_for_the_calendar_month(owner_client, workspace, other_workspace, report):
    report(workspace, "records", 1_200, NOW - timedelta(hours=2))
    report(workspace, "function_invocations", 300, utc(2026, 3, 2))
    report(workspace, "function_invocations", 700, utc(2026, 3, 9))
    report(workspace, "storage_bytes", 5_000, utc(2026, 3, 3))
    report(workspace, "api_calls", 90, utc(2026, 2, 27))  # last month
    report(other_workspace, "records", 99_999, NOW - timedelta(hours=1))

    body = _current(owner_client, workspace)

    assert body["workspace_id"] == str(workspace.id)
    assert (body["period_start"], body["period_end"]) == ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    assert (body["records_count"], body["storage_bytes"], body["function_invocations"], body["api_calls"]) == (
        1_200,
        5_000,
        1_000,
        0,
    )
    assert set(body["metrics"]) == set(METRICS)
    assert body["plan"] == "free"


def test_each_metric_shows_used_limit_and_percent(owner_client, workspace, report):
    report(workspace, "records", 8_000, NOW - timedelta(hours=2))

    records = _current(owner_client, workspace)["metrics"]["records"]

    assert records["kind"] == "gauge"
    assert (records["used"], records["limit_name"], records["limit"], records["percent"]) == (
        8_000,
        "records",
        10_000,
        80,
    )
    assert records["over_quota"] is False and records["quota_reason"] == "WITHIN_LIMIT"
    assert _current(owner_client, workspace)["metrics"]["smart_queries"]["limit"] is None


def test_a_reached_limit_without_overage_is_over_quota(owner_client, workspace, report):
    report(workspace, "api_calls", 100_000, utc(2026, 3, 5))

    body = _current(owner_client, workspace)

    assert body["metrics"]["api_calls"]["over_quota"] is True
    assert body["metrics"]["api_calls"]["quota_reason"] == "QUOTA_EXCEEDED"
    assert body["over_quota"] == ["api_calls_per_month"]


def test_with_overage_on_usage_past_the_limit_is_estimated_at_the_plans_rates(owner_client, workspace, report):
    workspace.plan = Plan.objects.get(code="starter")
    workspace.save()
    OverageSettings.objects.create(workspace=workspace, enabled=True, enabled_at=NOW, spending_cap_cents=None)
    report(workspace, "function_invocations", 300_000, utc(2026, 3, 5))  # 50,000 over: $1.00
    report(workspace, "storage_bytes", 27 * GB, utc(2026, 3, 5))  # 2 GB over: $0.50

    body = _current(owner_client, workspace)

    invocations = body["metrics"]["function_invocations"]
    assert (invocations["over_quota"], invocations["quota_reason"]) == (False, "OVERAGE")
    assert (invocations["overage_units"], invocations["estimated_overage_cost"]) == (50_000, 1.0)
    assert body["metrics"]["storage_bytes"]["overage_units"] == 2
    assert body["overage"]["enabled"] is True
    assert (body["overage"]["estimated_cost_cents"], body["overage"]["estimated_cost"]) == (150, 1.5)


def test_the_estimate_is_capped_and_growth_stops_at_the_spending_cap(owner_client, workspace, report):
    workspace.plan = Plan.objects.get(code="starter")
    workspace.save()
    OverageSettings.objects.create(workspace=workspace, enabled=True, enabled_at=NOW, spending_cap_cents=100)
    report(workspace, "function_invocations", 400_000, utc(2026, 3, 5))  # $3.00 uncapped

    body = _current(owner_client, workspace)

    assert body["overage"]["estimated_cost_cents"] == 100
    assert body["metrics"]["function_invocations"]["quota_reason"] == "SPENDING_CAP_REACHED"
    assert body["metrics"]["function_invocations"]["over_quota"] is True


def test_counters_are_projected_to_the_period_end_and_gauges_stay_level(owner_client, workspace, report):
    Workspace.objects.filter(pk=workspace.pk).update(created_at=utc(2026, 1, 10))
    report(workspace, "function_invocations", 1_000, utc(2026, 3, 5))
    report(workspace, "records", 50, utc(2026, 3, 5))

    metrics = _current(owner_client, workspace)["metrics"]

    # 1,000 in the trailing seven days (4 to 10 March), so 3,000 more in the 21 days left.
    assert metrics["function_invocations"]["projected"] == 4_000
    assert metrics["records"]["projected"] == 50


def test_a_new_period_starts_from_zero_at_the_month_boundary(workspace, report):
    with freeze_time("2026-03-31 23:59:00"):
        report(workspace, "function_invocations", 10, utc(2026, 3, 31, 23, 59))
    with freeze_time("2026-04-01 00:00:30"):
        report(workspace, "function_invocations", 1, utc(2026, 4, 1, 0, 0, 30))

        body = _current(client_for(workspace.owner), workspace)

    assert body["period_start"] == "2026-04-01T00:00:00Z"
    assert body["function_invocations"] == 1


def test_any_member_may_read_it(member_of, workspace):
    assert member_of(workspace, "member").get(f"{API}/{workspace.slug}/usage/current").status_code == 200


def test_a_non_member_gets_403(member_of, workspace, other_workspace):
    response = member_of(other_workspace).get(f"{API}/{workspace.slug}/usage/current")

    assert_error(response, status=403, code="NOT_A_MEMBER")


@pytest.mark.parametrize("today", ["2026-03-01 09:00", "2026-03-16 09:00"], ids=["period's-first-day", "mid-period"])
def test_reading_it_takes_a_fixed_number_of_queries(today, workspace, report, django_assert_num_queries):
    with freeze_time(today):
        report(workspace, "records", 10, utc(2026, 3, 1))
        report(workspace, "api_calls", 10, utc(2026, 3, 1))
        owner = client_for(workspace.owner)

        # the membership with its user and the billing terms (period and overage settings), then the
        # period's and the rate window's counters with the gauges
        with django_assert_num_queries(2):
            owner.get(f"{API}/{workspace.slug}/usage/current")


def test_a_late_event_after_the_boundary_lands_in_the_period_it_happened_in(workspace, report):
    with freeze_time("2026-04-02 08:00:00"):
        report(workspace, "function_invocations", 10, utc(2026, 3, 31, 23, 59, 59))
        owner = client_for(workspace.owner)

        current = _current(owner, workspace)
        march = owner.get(f"{API}/{workspace.slug}/usage/2026-03").json()

    assert current["function_invocations"] == 0
    assert march["function_invocations"] == 10
