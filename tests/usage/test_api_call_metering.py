"""This service's own API calls count as the workspace's api_calls, through the cache, never a DB write per call."""

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from freezegun import freeze_time
from structlog.testing import capture_logs

from tests.helpers import API, client_for
from tests.usage.helpers import utc
from usage import middleware
from usage.middleware import count_api_call, count_key, minute_of
from usage.models import DailyUsage
from usage.services import API_CALLS_FLUSHED_THROUGH_KEY, flush_api_call_counts

pytestmark = pytest.mark.django_db

NOW = utc(2026, 3, 18, 15, 0, 10)


def _api_calls(workspace):
    row = DailyUsage.objects.filter(workspace=workspace, metric="api_calls").first()
    return row.value if row else 0


def test_calls_are_counted_per_workspace_once_their_minute_is_flushed(workspace, other_workspace):
    with freeze_time(NOW):
        owner = client_for(workspace.owner)
        for _ in range(3):
            owner.get(f"{API}/{workspace.slug}")
        client_for(other_workspace.owner).get(f"{API}/{other_workspace.slug}/usage/current")

        assert flush_api_call_counts() == 0  # the minute is still open
    with freeze_time(NOW + timedelta(minutes=2)):
        assert flush_api_call_counts() == 2

    assert (_api_calls(workspace), _api_calls(other_workspace)) == (3, 1)


def test_a_call_costs_no_database_write(workspace, django_assert_num_queries):
    owner = client_for(workspace.owner)
    with django_assert_num_queries(1):  # the membership with its user, as without metering
        owner.get(f"{API}/{workspace.slug}")


def test_flushing_a_minute_twice_counts_it_once(workspace):
    """Two beat runs may both read a minute before either clears it: its events' ids are the same."""
    with freeze_time(NOW):
        count_api_call(workspace.pk, NOW)
    with freeze_time(NOW + timedelta(minutes=2)):
        flush_api_call_counts()
        with freeze_time(NOW):
            count_api_call(workspace.pk, NOW)  # the counters as the second run read them
        cache.delete(API_CALLS_FLUSHED_THROUGH_KEY)

        assert flush_api_call_counts() == 0

    assert _api_calls(workspace) == 1


def test_refused_calls_are_not_counted(workspace, other_workspace, member_of):
    with freeze_time(NOW):
        member_of(other_workspace).get(f"{API}/{workspace.slug}")  # 403: not a member
    with freeze_time(NOW + timedelta(minutes=2)):
        flush_api_call_counts()

    assert _api_calls(workspace) == 0


def test_internal_endpoints_are_not_counted(workspace, service_client):
    with freeze_time(NOW):
        service_client.get(f"{API}/internal/workspaces/{workspace.slug}/quota")
    with freeze_time(NOW + timedelta(minutes=2)):
        flush_api_call_counts()

    assert _api_calls(workspace) == 0


def test_a_cache_outage_never_fails_the_call_and_its_count_waits_for_the_cache(workspace, settings, closed_port):
    cache_that_works = settings.CACHES
    # A real Redis client against a loopback port nothing listens on.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
        }
    }

    with freeze_time(NOW), capture_logs() as logs:
        response = client_for(workspace.owner).get(f"{API}/{workspace.slug}")

    assert response.status_code == 200
    (waiting,) = [entry for entry in logs if entry["event"] == "usage.api_calls_not_flushed"]
    assert (waiting["log_level"], waiting["pending_calls"], waiting["exc_info"]) == ("warning", 1, True)
    settings.CACHES = cache_that_works
    assert middleware.pending_api_calls.flush() == 1
    with freeze_time(NOW + timedelta(minutes=2)):
        flush_api_call_counts()
    assert _api_calls(workspace) == 1


def test_with_a_flush_interval_calls_wait_in_the_process_and_one_flush_adds_them_all(workspace, settings):
    settings.API_CALL_METERING_FLUSH_SECONDS = 3600  # the process's thread would not flush during the test
    with freeze_time(NOW):
        owner = client_for(workspace.owner)
        for _ in range(4):
            owner.get(f"{API}/{workspace.slug}")
        assert cache.get(count_key(minute_of(NOW), workspace.pk)) is None

        assert middleware.pending_api_calls.flush() == 4

        assert cache.get(count_key(minute_of(NOW), workspace.pk)) == 4  # (a locmem entry expires by the frozen clock)
    assert middleware.pending_api_calls.pending() == 0


def test_the_metering_thread_flushes_pending_calls_on_its_own(workspace, settings):
    settings.API_CALL_METERING_FLUSH_SECONDS = 0.05
    pending = middleware.PendingApiCalls()

    pending.add(workspace.pk, minute_of(NOW))

    deadline = time.monotonic() + 10
    while (counted := cache.get(count_key(minute_of(NOW), workspace.pk))) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    pending.stop()
    assert counted == 1


def test_calls_stay_with_their_workspace_when_its_slug_passes_to_another_before_the_flush(workspace, other_workspace):
    old_slug = workspace.slug
    with freeze_time(NOW):
        client_for(workspace.owner).get(f"{API}/{old_slug}")
    workspace.slug = "renamed"
    workspace.save(update_fields=["slug"])
    other_workspace.slug = old_slug
    other_workspace.save(update_fields=["slug"])

    with freeze_time(NOW + timedelta(minutes=2)):
        flush_api_call_counts()

    assert (_api_calls(workspace), _api_calls(other_workspace)) == (1, 0)


def test_a_counter_added_but_not_recorded_is_recorded_later_and_its_calls_counted_once(workspace, monkeypatch):
    # Redis failing between the counts' round trip and the slot's cannot be timed for real: the
    # slot recording is made to fail once, in process.
    real_register = middleware.register_counters
    failures = iter([ConnectionError("Redis went away")])

    def register_failing_once(counters):
        if (failure := next(failures, None)) is not None:
            raise failure
        real_register(counters)

    monkeypatch.setattr(middleware, "register_counters", register_failing_once)
    with freeze_time(NOW):
        for _ in range(3):
            count_api_call(workspace.pk, NOW)  # the first one's flush fails after adding its count
        assert middleware.pending_api_calls.pending() == 0  # nothing waits to be added again
    with freeze_time(NOW + timedelta(minutes=2)):
        flush_api_call_counts()

    assert _api_calls(workspace) == 3
