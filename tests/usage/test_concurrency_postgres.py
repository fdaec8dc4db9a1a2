"""Concurrent batches on PostgreSQL: the unique event id and the rollup upsert count every event once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from tests.usage.helpers import event
from usage.models import DailyUsage, UsageEvent
from usage.services import ingest_events

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


@pytest.fixture(autouse=True)
def _needs_postgres():
    assert connection.vendor == "postgresql", "run with DATABASE_URL=postgres://… (make test-postgres)"


def _run_concurrently(batches):
    barrier = threading.Barrier(len(batches))
    results, errors = [], []

    def ingest(batch):
        try:
            barrier.wait()
            results.append(ingest_events(events=batch))
        except Exception as exc:  # reported by the assertion below, with the thread's error
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ingest, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_the_same_batch_sent_concurrently_is_counted_once(workspace):
    now = timezone.now()
    batch = [event(workspace, "api_calls", 1, now - timedelta(seconds=n), id=f"dup-{n}") for n in range(300)]

    results = _run_concurrently([batch] * THREADS)

    assert sum(result.accepted for result in results) == 300
    assert sum(result.duplicates for result in results) == 300 * (THREADS - 1)
    assert UsageEvent.objects.count() == 300
    assert DailyUsage.objects.get(workspace=workspace, metric="api_calls", day=now.date()).value == 300


def test_overlapping_batches_add_up_in_one_rollup_row(workspace, other_workspace):
    now = timezone.now()
    shared = [event(workspace, "function_invocations", 2, now, id=f"shared-{n}") for n in range(100)]
    batches = [
        shared
        + [event(workspace, "function_invocations", 1, now, id=f"own-{t}-{n}") for n in range(50)]
        + [event(other_workspace, "records", t, now - timedelta(minutes=t), id=f"gauge-{t}")]
        for t in range(THREADS)
    ]

    _run_concurrently(batches)

    invocations = DailyUsage.objects.get(workspace=workspace, metric="function_invocations", day=now.date())
    assert invocations.value == 100 * 2 + THREADS * 50
    # the gauge keeps the value of its newest event (t=0, reported at `now`), whichever batch committed last
    assert DailyUsage.objects.get(workspace=other_workspace, metric="records", day=now.date()).value == 0
