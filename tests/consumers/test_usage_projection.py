"""GET /{slug}/usage/current's projection: the recent daily rate, not a straight line from the period so far
(issue 11, item 7)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from freezegun import freeze_time

from tests.helpers import API, client_for
from tests.usage.helpers import utc
from usage.services import ingest_events
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def _report(workspace, metric, value, at):
    ingest_events(
        events=[
            {
                "id": f"{metric}-{at.isoformat()}",
                "workspace": workspace.slug,
                "metric": metric,
                "value": value,
                "timestamp": at.isoformat(),
            }
        ]
    )


def _projected(workspace, metric="function_invocations"):
    """The projection as the owner reads it now (the token is issued at the frozen time)."""
    response = client_for(workspace.owner).get(f"{API}/{workspace.slug}/usage/current")
    assert response.status_code == 200, response.content
    return response.json()["metrics"][metric]["projected"]


@pytest.fixture
def established(workspace):
    """The workspace, created long before the periods these tests look at."""
    Workspace.objects.filter(pk=workspace.pk).update(created_at=utc(2025, 6, 1))
    workspace.refresh_from_db()
    return workspace


def test_a_busy_first_hour_of_the_month_is_read_as_a_busy_day(established):
    with freeze_time(utc(2026, 4, 1, 1, 0)):
        _report(established, "function_invocations", 20_000, utc(2026, 4, 1, 0, 30))

        projected = _projected(established)

    # At most one day's worth per day left (29 days 23 hours), never 720 hours' worth of that hour.
    assert projected != 14_400_000
    assert Decimal(str(projected)) == (20_000 + Decimal(20_000) * Decimal(29 * 24 + 23) / 24).quantize(Decimal("0.01"))


def test_the_rate_of_the_trailing_seven_days_is_projected(established):
    with freeze_time(utc(2026, 3, 21)):
        _report(established, "function_invocations", 10_000, utc(2026, 3, 2))  # a burst early in the month
        for day in range(14, 21):
            _report(established, "function_invocations", 100, utc(2026, 3, day, 12))  # then 100 a day

        projected = _projected(established)

    # 10,700 used; 100 a day over the 11 days left. A straight line would say 16,585.
    assert projected == 11_800


def test_a_quiet_week_never_projects_below_what_is_used(established):
    with freeze_time(utc(2026, 3, 21)):
        _report(established, "function_invocations", 5_000, utc(2026, 3, 1, 8))

        assert _projected(established) == 5_000


def test_a_young_period_takes_its_rate_from_the_period_so_far(established):
    with freeze_time(utc(2026, 4, 3)):
        _report(established, "function_invocations", 7_000, utc(2026, 3, 28))  # the last period: not counted
        _report(established, "function_invocations", 200, utc(2026, 4, 1, 9))

        projected = _projected(established)

    assert projected == 200 + 100 * 28  # 200 over the period's first two days, 28 days left


def test_a_young_workspace_takes_its_rate_from_its_own_days(workspace):
    Workspace.objects.filter(pk=workspace.pk).update(created_at=utc(2026, 3, 19, 12))
    with freeze_time(utc(2026, 3, 21)):
        _report(workspace, "function_invocations", 300, utc(2026, 3, 20))

        projected = _projected(workspace)

    assert projected == 300 + 150 * 11  # 300 over its two days (19 and 20 March), 11 days left


def test_gauges_stay_at_their_level(established):
    with freeze_time(utc(2026, 3, 21)):
        _report(established, "records", 4_000, utc(2026, 3, 20))
        _report(established, "records", 3_000, utc(2026, 3, 20) + timedelta(hours=1))

        assert _projected(established, metric="records") == 3_000
