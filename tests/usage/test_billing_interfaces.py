"""The selectors billing calls: limits_exceeded (before a downgrade) and overage_for_period (at period end)."""

from decimal import Decimal

import pytest
from freezegun import freeze_time

from billing.models import OverageSettings, Plan
from billing.selectors import calendar_month_period
from tests.usage.helpers import utc
from usage.metrics import GB
from usage.selectors import OverageLine, limits_exceeded, overage_for_period

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_mid_march")]


@pytest.fixture
def frozen_mid_march():
    with freeze_time("2026-03-15 12:00:00"):
        yield


@pytest.fixture
def starter(workspace):
    workspace.plan = Plan.objects.get(code="starter")
    workspace.save()
    return workspace


def _overage(workspace, *, cap_cents=None):
    OverageSettings.objects.create(
        workspace=workspace, enabled=True, enabled_at=utc(2026, 3, 1), spending_cap_cents=cap_cents
    )


MARCH = calendar_month_period(utc(2026, 3, 10))


def test_limits_exceeded_names_the_def2_limits_current_usage_is_over(workspace, other_workspace, report):
    free = Plan.objects.get(code="free")
    report(workspace, "records", 10_001, utc(2026, 3, 14))
    report(workspace, "api_calls", 100_000, utc(2026, 3, 2))  # at the limit, not over it
    report(other_workspace, "function_invocations", 50_000, utc(2026, 3, 2))

    assert limits_exceeded(workspace=workspace, plan=free) == ["records"]
    assert limits_exceeded(workspace=workspace, plan=Plan.objects.get(code="starter")) == []
    assert limits_exceeded(workspace=other_workspace, plan=free) == ["function_invocations"]


def test_limits_exceeded_counts_counters_of_this_period_only_and_gauges_at_their_latest(workspace, report):
    free = Plan.objects.get(code="free")
    report(workspace, "function_invocations", 20_000, utc(2026, 2, 27))  # last period
    report(workspace, "storage_bytes", 2 * GB, utc(2026, 2, 20))  # a level reported last period still holds

    assert limits_exceeded(workspace=workspace, plan=free) == ["storage_gb"]


def test_overage_is_priced_whether_or_not_overage_is_on_now(starter, report):
    # Billing decides what is billable: overage turned off late in the period is still owed.
    report(starter, "function_invocations", 300_000, utc(2026, 3, 5))

    assert [line.metric for line in overage_for_period(workspace=starter, period=MARCH)] == ["function_invocations"]


def test_overage_lines_price_usage_beyond_the_plan_at_its_rates(starter, other_workspace, report):
    _overage(starter)
    report(starter, "function_invocations", 300_000, utc(2026, 3, 5))  # 50,000 over 250,000
    report(starter, "cpu_seconds", 1_000, utc(2026, 3, 5))  # 1/6 of the invocations were over
    report(starter, "storage_bytes", 27 * GB, utc(2026, 3, 9))  # 2 GB over 25 GB
    report(other_workspace, "function_invocations", 900_000, utc(2026, 3, 5))

    lines = overage_for_period(workspace=starter, period=MARCH)

    assert [(line.metric, line.units, line.amount_cents) for line in lines] == [
        ("function_invocations", Decimal("50000"), 100),  # 50,000 × $0.00002
        ("cpu_seconds", Decimal("166.666667"), 1),  # 166.67 s × $0.00005 = $0.0083
        ("storage_bytes", Decimal("2"), 50),  # 2 GB × $0.25
    ]
    assert all(isinstance(line, OverageLine) and line.description for line in lines)


def test_blob_storage_shares_the_storage_allowance_file_storage_leaves(starter, report):
    _overage(starter)
    report(starter, "storage_bytes", 20 * GB, utc(2026, 3, 9))
    report(starter, "blob_storage_bytes", 15 * GB, utc(2026, 3, 9))  # 5 GB fit, 10 GB over

    lines = overage_for_period(workspace=starter, period=MARCH)

    assert [(line.metric, line.units, line.amount_cents) for line in lines] == [
        ("blob_storage_bytes", Decimal("10"), 50)
    ]


def test_overage_total_never_exceeds_the_spending_cap(starter, report):
    _overage(starter, cap_cents=120)
    report(starter, "function_invocations", 300_000, utc(2026, 3, 5))  # $1.00
    report(starter, "storage_bytes", 27 * GB, utc(2026, 3, 9))  # $0.50, capped to $0.20

    lines = overage_for_period(workspace=starter, period=MARCH)

    assert [(line.metric, line.amount_cents) for line in lines] == [
        ("function_invocations", 100),
        ("storage_bytes", 20),
    ]


def test_overage_of_a_period_ignores_other_periods(starter, report):
    _overage(starter)
    report(starter, "function_invocations", 300_000, utc(2026, 3, 5))

    february = calendar_month_period(utc(2026, 2, 10))

    assert overage_for_period(workspace=starter, period=february) == []
