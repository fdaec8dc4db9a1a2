"""POST /internal/usage-events: idempotent, validated batch ingestion folded into daily rollups."""

from datetime import timedelta
from decimal import Decimal

import pytest
from freezegun import freeze_time
from rest_framework_simplejwt.tokens import AccessToken

from tests.helpers import API, assert_error, client_for
from tests.usage.helpers import event, utc
from usage.models import DailyUsage, UsageEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

URL = f"{API}/internal/usage-events"
NOW = utc(2026, 3, 15, 12, 0)


@pytest.fixture
def frozen_now():
    with freeze_time(NOW):
        yield


def _rollup(workspace, metric, day):
    return DailyUsage.objects.get(workspace=workspace, metric=metric, day=day).value


def test_a_batch_is_stored_and_answered_with_counts(service_client, workspace, other_workspace):
    batch = [
        event(workspace, "function_invocations", 10, NOW),
        event(workspace, "function_invocations", 5, NOW - timedelta(hours=1)),
        event(other_workspace, "records", 42, NOW),
    ]

    response = service_client.post(URL, {"events": batch}, format="json")

    assert response.status_code == 200
    assert response.json() == {"accepted": 3, "duplicates": 0, "rejected": 0, "errors": []}
    assert _rollup(workspace, "function_invocations", NOW.date()) == 15
    assert _rollup(other_workspace, "records", NOW.date()) == 42
    assert UsageEvent.objects.filter(source="data-service").count() == 3


def test_a_replayed_batch_changes_nothing(service_client, workspace):
    batch = [event(workspace, "api_calls", 7, NOW), event(workspace, "records", 3, NOW)]
    service_client.post(URL, {"events": batch}, format="json")

    response = service_client.post(URL, {"events": batch}, format="json")

    assert response.json() == {"accepted": 0, "duplicates": 2, "rejected": 0, "errors": []}
    assert _rollup(workspace, "api_calls", NOW.date()) == 7
    assert UsageEvent.objects.count() == 2


def test_an_id_repeated_within_a_batch_counts_once(service_client, workspace):
    first = event(workspace, "api_calls", 7, NOW, id="same")

    response = service_client.post(URL, {"events": [first, {**first, "value": 9}]}, format="json")

    assert response.json()["accepted"] == 1 and response.json()["duplicates"] == 1
    assert _rollup(workspace, "api_calls", NOW.date()) == 7


def test_the_same_event_id_in_two_workspaces_is_counted_in_each(service_client, workspace, other_workspace):
    service_client.post(URL, {"events": [event(workspace, "records", 5, NOW, id="evt-shared")]}, format="json")

    response = service_client.post(
        URL, {"events": [event(other_workspace, "records", 7, NOW, id="evt-shared")]}, format="json"
    )

    assert response.json()["accepted"] == 1
    assert (_rollup(workspace, "records", NOW.date()), _rollup(other_workspace, "records", NOW.date())) == (5, 7)


def test_one_batch_may_carry_the_same_event_id_for_two_workspaces(service_client, workspace, other_workspace):
    batch = [
        event(workspace, "records", 5, NOW, id="evt-shared"),
        event(other_workspace, "records", 7, NOW, id="evt-shared"),
    ]

    response = service_client.post(URL, {"events": batch}, format="json")

    assert response.json() == {"accepted": 2, "duplicates": 0, "rejected": 0, "errors": []}


def test_events_may_name_the_workspace_by_id(service_client, workspace):
    response = service_client.post(
        URL, {"events": [{**event(workspace, "files", 4, NOW), "workspace": str(workspace.id)}]}, format="json"
    )

    assert response.json()["accepted"] == 1
    assert _rollup(workspace, "files", NOW.date()) == 4


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"metric": "coffee_cups"}, "Unknown metric 'coffee_cups'."),
        ({"workspace": "no-such-workspace"}, "Unknown workspace 'no-such-workspace'."),
        ({"value": -1}, "`value` of the counter 'api_calls' must not be negative."),
        ({"value": "lots"}, "`value` must be a number."),
        ({"value": True}, "`value` must be a number."),
        ({"timestamp": "2026-03-15T12:06:00Z"}, "`timestamp` is in the future."),
        ({"timestamp": "2026-03-15T12:00:00"}, "`timestamp` must carry a timezone (e.g. a trailing Z)."),
        ({"timestamp": "yesterday"}, "`timestamp` must be an ISO 8601 date-time."),
        ({"timestamp": "0001-01-01T00:00:00+05:00"}, "`timestamp` is out of range."),
        (
            {"timestamp": "2026-02-01T00:00:00Z"},
            "`timestamp` is older than the 35-day window late events may arrive in.",
        ),
        ({"id": ""}, "`id` is required: a non-empty string."),
        ({"id": "x" * 129}, "`id` is longer than 128 characters."),
    ],
)
def test_an_invalid_event_is_rejected_with_its_reason_and_the_rest_accepted(service_client, workspace, change, reason):
    good = event(workspace, "api_calls", 1, NOW)
    bad = {**event(workspace, "api_calls", 1, NOW), **change}

    response = service_client.post(URL, {"events": [good, bad]}, format="json")

    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (1, 0, 1)
    assert body["errors"] == [{"index": 1, "id": bad["id"] if bad["id"] else "", "reason": reason}]
    assert _rollup(workspace, "api_calls", NOW.date()) == 1


def test_a_timestamp_within_the_clock_skew_is_accepted(service_client, workspace):
    response = service_client.post(
        URL, {"events": [event(workspace, "api_calls", 1, NOW + timedelta(minutes=4))]}, format="json"
    )

    assert response.json()["accepted"] == 1


def test_a_non_object_event_is_rejected(service_client):
    response = service_client.post(URL, {"events": ["not an event"]}, format="json")

    assert response.json()["errors"] == [{"index": 0, "id": None, "reason": "An event must be an object."}]


def test_a_batch_over_1000_events_is_refused_whole(service_client, workspace):
    batch = [event(workspace, "api_calls", 1, NOW) for _ in range(1001)]

    response = service_client.post(URL, {"events": batch}, format="json")

    body = assert_error(response, status=400, code="VALIDATION_ERROR")
    assert "events" in body["details"]
    assert not UsageEvent.objects.exists()


def test_a_body_without_events_is_400(service_client):
    body = assert_error(service_client.post(URL, {"items": []}, format="json"), status=400, code="VALIDATION_ERROR")
    assert body["details"] == {"events": ["This field is required."]}


def test_a_late_counter_event_lands_in_its_own_day(service_client, workspace):
    three_days_ago = NOW - timedelta(days=3)

    service_client.post(URL, {"events": [event(workspace, "cpu_seconds", "1.5", three_days_ago)]}, format="json")
    service_client.post(URL, {"events": [event(workspace, "cpu_seconds", "2.25", three_days_ago)]}, format="json")

    assert _rollup(workspace, "cpu_seconds", three_days_ago.date()) == Decimal("3.75")
    assert not DailyUsage.objects.filter(workspace=workspace, day=NOW.date()).exists()


def test_a_gauge_keeps_the_value_of_its_newest_event_whatever_the_arrival_order(service_client, workspace):
    service_client.post(URL, {"events": [event(workspace, "records", 500, NOW - timedelta(hours=1))]}, format="json")
    service_client.post(URL, {"events": [event(workspace, "records", 400, NOW - timedelta(hours=3))]}, format="json")

    assert _rollup(workspace, "records", NOW.date()) == 500


def test_a_gauge_takes_the_newest_value_within_one_batch(service_client, workspace):
    batch = [event(workspace, "records", 9, NOW), event(workspace, "records", 1, NOW - timedelta(hours=2))]

    service_client.post(URL, {"events": batch}, format="json")

    assert _rollup(workspace, "records", NOW.date()) == 9


def test_a_workspace_members_token_is_refused(workspace):
    response = client_for(workspace.owner).post(URL, {"events": [event(workspace, "api_calls", 1, NOW)]}, format="json")

    assert_error(response, status=401, code="INVALID_TOKEN")
    assert not UsageEvent.objects.exists()


def test_no_credentials_is_401(api_client):
    assert_error(api_client.post(URL, {"events": []}, format="json"), status=401, code="UNAUTHENTICATED")


def test_a_service_jwt_is_accepted(api_client, workspace):
    token = AccessToken()
    token["service"] = "compute"
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = api_client.post(URL, {"events": [event(workspace, "function_invocations", 3, NOW)]}, format="json")

    assert response.json()["accepted"] == 1
    assert UsageEvent.objects.get().source == "compute"


def test_a_full_batch_takes_a_fixed_number_of_queries(
    service_client, workspace, other_workspace, django_assert_num_queries
):
    batch = [
        event(ws, metric, n, NOW - timedelta(minutes=n))
        for n in range(500)
        for ws, metric in [(workspace, "api_calls"), (other_workspace, "records")]
    ]

    # the workspaces; savepoint, events, counter rollups, gauge rollups, release
    with django_assert_num_queries(6):
        response = service_client.post(URL, {"events": batch}, format="json")

    assert response.json()["accepted"] == 1000
