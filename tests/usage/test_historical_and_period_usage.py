"""GET /{slug}/usage/historical (buckets) and GET /{slug}/usage/{billingPeriod} (one month's totals)."""

import pytest
from freezegun import freeze_time

from tests.helpers import API, assert_error
from tests.usage.helpers import utc
from usage.metrics import METRICS

pytestmark = pytest.mark.django_db

NOW = utc(2026, 3, 18, 12, 0)  # a Wednesday


@pytest.fixture(autouse=True)
def frozen_now():
    with freeze_time(NOW):
        yield


def _historical(client, workspace, **params):
    return client.get(f"{API}/{workspace.slug}/usage/historical", params)


def test_daily_buckets_are_a_bare_array_zero_filled(owner_client, workspace, other_workspace, report):
    report(workspace, "api_calls", 5, utc(2026, 3, 2, 9))
    report(workspace, "api_calls", 6, utc(2026, 3, 2, 17))
    report(other_workspace, "api_calls", 1_000, utc(2026, 3, 3))

    response = _historical(owner_client, workspace, startDate="2026-03-01", endDate="2026-03-03")

    assert response.status_code == 200
    buckets = response.json()
    assert [(b["periodStart"], b["periodEnd"], b["api_calls"]) for b in buckets] == [
        ("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", 0),
        ("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z", 11),
        ("2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z", 0),
    ]
    assert set(buckets[0]) == {"periodStart", "periodEnd", *METRICS}


def test_weekly_buckets_are_iso_weeks_starting_monday(owner_client, workspace, report):
    report(workspace, "function_invocations", 3, utc(2026, 3, 8))  # Sunday: the week of Mon 2 March
    report(workspace, "function_invocations", 4, utc(2026, 3, 9))  # Monday: a new week

    buckets = _historical(
        owner_client, workspace, startDate="2026-03-04", endDate="2026-03-10", granularity="week"
    ).json()

    assert [(b["periodStart"], b["function_invocations"]) for b in buckets] == [
        ("2026-03-02T00:00:00Z", 3),
        ("2026-03-09T00:00:00Z", 4),
    ]
    assert buckets[0]["periodEnd"] == "2026-03-09T00:00:00Z"


def test_monthly_buckets_show_a_gauges_last_value_and_carry_it_into_silent_months(owner_client, workspace, report):
    with freeze_time("2026-01-10"):
        report(workspace, "records", 10, utc(2026, 1, 5, 12))
        report(workspace, "records", 30, utc(2026, 1, 9, 12))

    response = _historical(owner_client, workspace, startDate="2026-01-01", endDate="2026-03-31", granularity="month")

    assert [(b["periodStart"][:7], b["records"]) for b in response.json()] == [
        ("2026-01", 30),
        ("2026-02", 30),
        ("2026-03", 30),
    ]


def test_defaults_are_the_last_30_days(owner_client, workspace):
    buckets = _historical(owner_client, workspace).json()

    assert len(buckets) == 30
    assert (buckets[0]["periodStart"], buckets[-1]["periodStart"]) == ("2026-02-17T00:00:00Z", "2026-03-18T00:00:00Z")


def test_weekly_defaults_are_the_last_12_weeks(owner_client, workspace):
    buckets = _historical(owner_client, workspace, granularity="week").json()

    assert len(buckets) == 12 and buckets[-1]["periodStart"] == "2026-03-16T00:00:00Z"


@pytest.mark.parametrize(
    "params",
    [
        {"startDate": "2026-13-01"},
        {"endDate": "03/01/2026"},
        {"granularity": "hour"},
        {"startDate": "0001-01-01"},
        {"endDate": "9999-12-31", "startDate": "9999-12-01"},
    ],
)
def test_malformed_parameters_are_400_naming_the_field(owner_client, workspace, params):
    body = assert_error(_historical(owner_client, workspace, **params), status=400, code="VALIDATION_ERROR")

    assert set(body["details"]) == set(params)


def test_end_before_start_is_400(owner_client, workspace):
    response = _historical(owner_client, workspace, startDate="2026-03-10", endDate="2026-03-09")

    assert assert_error(response, status=400, code="INVALID_DATE_RANGE")["details"].keys() == {"endDate"}


def test_more_than_366_buckets_is_400(owner_client, workspace):
    response = _historical(owner_client, workspace, startDate="2025-01-01", endDate="2026-01-02")

    assert_error(response, status=400, code="TOO_MANY_BUCKETS")


def test_366_daily_buckets_are_allowed(owner_client, workspace, django_assert_num_queries):
    # the membership with its user, the range's rollups, gauges before the range
    with django_assert_num_queries(3):
        response = _historical(owner_client, workspace, startDate="2025-03-18", endDate="2026-03-18")

    assert len(response.json()) == 366


def test_a_non_member_gets_403(member_of, workspace, other_workspace):
    assert_error(_historical(member_of(other_workspace), workspace), status=403, code="NOT_A_MEMBER")


# --- one billing period


def test_a_months_totals_in_the_def1_shape(owner_client, workspace, other_workspace, report):
    workspace.created_at = utc(2026, 1, 20)
    workspace.save()
    report(workspace, "function_invocations", 7, utc(2026, 2, 27))
    report(workspace, "function_invocations", 8, utc(2026, 3, 1))
    report(workspace, "storage_bytes", 2_048, utc(2026, 2, 14))
    report(other_workspace, "function_invocations", 500, utc(2026, 2, 27))

    response = owner_client.get(f"{API}/{workspace.slug}/usage/2026-02")

    assert response.status_code == 200
    body = response.json()
    assert body["workspace_id"] == str(workspace.id)
    assert (body["period_start"], body["period_end"]) == ("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")
    assert (body["function_invocations"], body["storage_bytes"], body["records_count"], body["api_calls"]) == (
        7,
        2_048,
        0,
        0,
    )
    assert body["billing_period"] == "2026-02"
    assert body["metrics"]["function_invocations"] == 7


@pytest.mark.parametrize("period", ["2026-2", "2026-13", "march", "2026-02-01", "0000-01"])
def test_a_malformed_period_is_400(owner_client, workspace, period):
    body = assert_error(
        owner_client.get(f"{API}/{workspace.slug}/usage/{period}"), status=400, code="INVALID_BILLING_PERIOD"
    )

    assert list(body["details"]) == ["billingPeriod"]


def test_a_month_before_the_workspace_existed_is_404(owner_client, workspace):
    workspace.created_at = utc(2026, 2, 10)
    workspace.save()

    assert owner_client.get(f"{API}/{workspace.slug}/usage/2026-02").status_code == 200
    assert_error(owner_client.get(f"{API}/{workspace.slug}/usage/2026-01"), status=404, code="BILLING_PERIOD_NOT_FOUND")


def test_a_future_month_is_404(owner_client, workspace):
    assert owner_client.get(f"{API}/{workspace.slug}/usage/2026-03").status_code == 200
    assert_error(owner_client.get(f"{API}/{workspace.slug}/usage/2026-04"), status=404, code="BILLING_PERIOD_NOT_FOUND")
