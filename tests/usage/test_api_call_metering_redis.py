"""With Redis as the cache, counting a workspace's API call is one round trip to Redis."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import redis
from django.core.cache import cache
from freezegun import freeze_time

from tests.helpers import API, client_for
from tests.usage.helpers import utc
from usage import middleware
from usage.middleware import KEY_TIMEOUT_SECONDS, count_api_call, count_key, minute_of, slot_count_key
from usage.models import DailyUsage
from usage.services import flush_api_call_counts

pytestmark = pytest.mark.e2e

NOW = utc(2026, 3, 18, 15, 0, 10)


@pytest.fixture
def redis_round_trips(monkeypatch):
    """Every payload this process sends to Redis, one list per round trip. It wraps redis-py's
    Connection.send_packed_command (what both a single command and a pipeline's execute send
    through, once per round trip) and lets the real send happen: there is no other way to see a
    round trip from the client side without counting other helpers' commands on the server."""
    sent: list[bytes] = []
    real_send = redis.connection.Connection.send_packed_command

    def recording_send(connection, command, check_health=True):
        sent.append(b"".join(command) if isinstance(command, list) else command)
        return real_send(connection, command, check_health)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", recording_send)
    return sent


def test_a_call_never_reaches_redis_and_one_round_trip_flushes_many_calls(e2e, settings, workspace, other_workspace,
                                                                           redis_round_trips):  # fmt: skip
    settings.API_CALL_METERING_FLUSH_SECONDS = 3600  # the metering thread would not flush during the test
    keys = [cache.make_and_validate_key(count_key(minute_of(NOW), ws.pk)) for ws in (workspace, other_workspace)]
    with freeze_time(NOW):
        for ws in (workspace, other_workspace):
            client_for(ws.owner).get(f"{API}/{ws.slug}")  # first calls of the minute
        middleware.pending_api_calls.flush()
        owner, other_owner = client_for(workspace.owner), client_for(other_workspace.owner)
        redis_round_trips.clear()
        for _ in range(3):
            owner.get(f"{API}/{workspace.slug}")
            other_owner.get(f"{API}/{other_workspace.slug}")
        assert redis_round_trips == []  # six requests, nothing sent to Redis

        middleware.pending_api_calls.flush()

    [payload] = redis_round_trips
    assert payload.startswith(b"*1\r\n$5\r\nMULTI\r\n") and all(key.encode() in payload for key in keys)
    assert payload.count(b"INCRBY") == 2 and payload.count(b"EXPIRE") == 2 and b"NX" in payload
    assert [cache.get(count_key(minute_of(NOW), ws.pk)) for ws in (workspace, other_workspace)] == [4, 4]


def test_a_counter_expires_after_the_time_beat_has_to_flush_it(e2e, settings, workspace):
    key = cache.make_and_validate_key(count_key(minute_of(NOW), workspace.pk))
    with freeze_time(NOW):
        client_for(workspace.owner).get(f"{API}/{workspace.slug}")

    assert KEY_TIMEOUT_SECONDS - 60 < redis.Redis.from_url(settings.REDIS_URL).ttl(key) <= KEY_TIMEOUT_SECONDS


def test_a_later_call_does_not_push_back_the_counters_expiry(e2e, settings, workspace):
    client = redis.Redis.from_url(settings.REDIS_URL)
    key = cache.make_and_validate_key(count_key(minute_of(NOW), workspace.pk))
    with freeze_time(NOW):
        owner = client_for(workspace.owner)
        owner.get(f"{API}/{workspace.slug}")
        client.expire(key, 60)  # as if most of the timeout had passed since the minute's first call

        owner.get(f"{API}/{workspace.slug}")

    assert 0 < client.ttl(key) <= 60


def test_concurrent_first_calls_register_the_workspace_once_and_the_flush_reads_every_call(e2e, workspace):
    calls = 16
    start_together = threading.Barrier(calls)

    def call(_):
        start_together.wait()
        count_api_call(workspace.pk, NOW)

    with ThreadPoolExecutor(max_workers=calls) as pool:
        list(pool.map(call, range(calls)))

    assert cache.get(slot_count_key(minute_of(NOW))) == 1
    with freeze_time(NOW + timedelta(minutes=2)):
        assert flush_api_call_counts() == 1
    assert DailyUsage.objects.get(workspace=workspace, metric="api_calls").value == calls
