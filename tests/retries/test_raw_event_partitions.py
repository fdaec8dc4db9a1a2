"""Raw usage events in day partitions on PostgreSQL (usage migration 0003): created ahead, dropped
whole by retention, and an event id stays unique per workspace across partitions."""

import importlib
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from tests.usage.helpers import event
from usage.models import DailyUsage, UsageEvent
from usage.services import ingest_events
from usage.services.retention import (
    DEFAULT_PARTITION,
    maintain_raw_event_partitions,
    prune_raw_events,
    raw_event_retention_cutoff,
    raw_events_are_partitioned,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

migration = importlib.import_module("usage.migrations.0003_partition_raw_events_by_day")


@pytest.fixture(scope="module", autouse=True)
def partitioned(django_db_setup, django_db_blocker):
    """The suite builds its tables without migrations (a plain table): partition it as migration
    0003 does for these tests, and put the plain table back for the others."""
    with django_db_blocker.unblock():
        assert connection.vendor == "postgresql", "run with DATABASE_URL=postgres://… (make test-postgres)"
        migration.partition(connection)
        yield
        migration.unpartition(connection)


def _partition_of(event_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM usage_usageevent WHERE event_id = %s", [event_id])
        return [row[0] for row in cursor.fetchall()]


def _day_partitions():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'usage_usageevent'::regclass"
        )
        return {row[0] for row in cursor.fetchall()} - {DEFAULT_PARTITION}


def test_events_land_in_the_partition_of_their_day(workspace):
    now = timezone.now()
    yesterday = now - timedelta(days=1)
    result = ingest_events(
        events=[event(workspace, "api_calls", 1, now, id="a"), event(workspace, "api_calls", 1, yesterday, id="b")]
    )

    assert raw_events_are_partitioned()
    assert result.accepted == 2
    assert _partition_of("a") == [f"usage_usageevent_p{now:%Y%m%d}"]
    assert _partition_of("b") == [f"usage_usageevent_p{yesterday:%Y%m%d}"]


def test_an_event_id_replayed_with_another_day_is_a_duplicate(workspace, other_workspace):
    now = timezone.now()
    first = ingest_events(events=[event(workspace, "api_calls", 5, now, id="replayed")])
    replay = ingest_events(events=[event(workspace, "api_calls", 5, now - timedelta(days=3), id="replayed")])
    same_time = ingest_events(events=[event(workspace, "api_calls", 5, now, id="replayed")])
    other_tenant = ingest_events(
        events=[event(other_workspace, "api_calls", 5, now - timedelta(days=3), id="replayed")]
    )

    assert (first.accepted, replay.accepted, same_time.accepted, other_tenant.accepted) == (1, 0, 0, 1)
    assert (replay.duplicates, same_time.duplicates) == (1, 1)
    assert UsageEvent.objects.filter(workspace=workspace).count() == 1
    assert DailyUsage.objects.get(workspace=workspace).value == 5


def test_concurrent_batches_with_one_id_on_different_days_count_it_once(workspace):
    now = timezone.now()
    batches = [
        [event(workspace, "api_calls", 1, now - timedelta(days=n), id=f"e-{i}") for i in range(50)] for n in range(6)
    ]
    barrier = threading.Barrier(len(batches))
    results, errors = [], []

    def ingest(batch):
        try:
            barrier.wait()
            results.append(ingest_events(events=batch))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ingest, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    assert sum(r.accepted for r in results) == 50
    assert UsageEvent.objects.count() == 50
    assert sum(row.value for row in DailyUsage.objects.filter(workspace=workspace)) == 50


def test_partitions_are_created_ahead_and_take_over_the_default_partitions_rows(workspace):
    now = timezone.now()
    far = now + timedelta(days=30)
    # A row for a day no partition covers yet goes to the default partition.
    UsageEvent.objects.create(
        workspace=workspace, event_id="early", metric="api_calls", value=1, occurred_at=far, received_at=now
    )
    assert _partition_of("early") == [DEFAULT_PARTITION]

    created = maintain_raw_event_partitions(now=far, days_ahead=2)

    assert f"usage_usageevent_p{far:%Y%m%d}" in created
    assert f"usage_usageevent_p{(far + timedelta(days=2)):%Y%m%d}" in created
    assert _partition_of("early") == [f"usage_usageevent_p{far:%Y%m%d}"]
    assert maintain_raw_event_partitions(now=far, days_ahead=2) == []


def test_retention_drops_the_partitions_past_the_window_whole(workspace):
    now = timezone.now()
    cutoff = raw_event_retention_cutoff(now)
    kept_at, pruned_at = cutoff + timedelta(hours=1), cutoff - timedelta(hours=1)
    for event_id, at in (("kept", kept_at), ("pruned", pruned_at)):
        UsageEvent.objects.create(
            workspace=workspace, event_id=event_id, metric="api_calls", value=1, occurred_at=at, received_at=now
        )
    # One older than any day partition: in the default partition, deleted like a plain table's.
    ancient = datetime(2000, 1, 1, tzinfo=UTC)
    UsageEvent.objects.create(
        workspace=workspace, event_id="ancient", metric="api_calls", value=1, occurred_at=ancient, received_at=now
    )
    before = _day_partitions()

    prune_raw_events(now=now)

    assert list(UsageEvent.objects.values_list("event_id", flat=True)) == ["kept"]
    dropped = before - _day_partitions()
    assert f"usage_usageevent_p{pruned_at:%Y%m%d}" in dropped
    assert f"usage_usageevent_p{kept_at:%Y%m%d}" not in dropped
    assert all(name < f"usage_usageevent_p{cutoff:%Y%m%d}" for name in dropped)
