"""Pruning raw usage events: dropping day partitions (PostgreSQL) costs the same at 1M and 10M rows.

Each case fills a fresh day-partitioned raw event table (usage migration 0003) with N events spread
evenly over the 36 days of the retention window plus 10 days past it (`generate_series`, one
INSERT … SELECT), then times `prune_raw_events`, which drops the 10 expired day partitions. The
baseline is the smallest N; the ratio is each case's prune time over it. For contrast, the same
prune by batched DELETE (the plain table, as before partitioning) at the smallest N only: its cost
grows with the rows it deletes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/centrali_bench .venv/bin/python -m bench.prune_partitions
    PRUNE_BENCH_SIZES=1000000,5000000 …   # the row counts (default 1,000,000 and 10,000,000)
"""

import importlib
import os
import statistics
import time
from datetime import timedelta

from bench.harness import markdown_table, throwaway_database

SIZES = [int(n) for n in os.environ.get("PRUNE_BENCH_SIZES", "1000000,10000000").split(",")]
EXPIRED_DAYS = 10


def _fill(cursor, workspace_id, rows, now, days):
    span_seconds = days * 86400
    cursor.execute(
        "INSERT INTO usage_usageevent (event_id, workspace_id, metric, value, occurred_at, received_at, source) "
        "SELECT 'e-' || n, %s, 'api_calls', 1, %s - make_interval(secs => (n::float8 * %s / %s)), %s, 'bench' "
        "FROM generate_series(1, %s) AS n",
        [workspace_id, now, span_seconds, rows, now, rows],
    )
    cursor.execute("ANALYZE usage_usageevent")


def _case(rows, *, partitioned):
    """Fill, settle (VACUUM ANALYZE, CHECKPOINT: expired partitions are old and quiet in real life),
    then prune one day at a time; returns (fill s, [prune s per day], removed, rows left)."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from tests.factories import WorkspaceFactory
    from usage.services.retention import prune_raw_events

    migration = importlib.import_module("usage.migrations.0003_partition_raw_events_by_day")
    now = timezone.now()
    days = settings.USAGE_RAW_EVENT_RETENTION_DAYS + EXPIRED_DAYS
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE usage_usageevent")
    migration.unpartition(connection)
    if partitioned:
        # Day partitions from the oldest day filled up to a week ahead of today.
        migration.partition(connection, now=now - timedelta(days=EXPIRED_DAYS))
        from usage.services.retention import maintain_raw_event_partitions

        maintain_raw_event_partitions(now=now)
    workspace = WorkspaceFactory.create()
    with connection.cursor() as cursor:
        started = time.perf_counter()
        _fill(cursor, workspace.pk, rows, now, days)
        fill_seconds = time.perf_counter() - started
        cursor.execute("VACUUM ANALYZE usage_usageevent")
        cursor.execute("CHECKPOINT")
    samples, removed = [], 0
    for day in range(EXPIRED_DAYS, 0, -1):  # each call moves the cutoff one day: one more day expires
        started = time.perf_counter()
        removed += prune_raw_events(now=now - timedelta(days=day - 1))
        samples.append(time.perf_counter() - started)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM usage_usageevent")
        left = cursor.fetchone()[0]
    return fill_seconds, samples, removed, left


def main():
    with throwaway_database():
        from django.db import connection

        assert connection.vendor == "postgresql", "needs DATABASE_URL=postgres://…"
        results = []
        for rows in SIZES:
            fill, samples, removed, left = _case(rows, partitioned=True)
            results.append(("day partition dropped", rows, samples, removed, left))
            print(f"partitioned {rows:,}: fill {fill:.1f} s, prune per day {[round(s * 1000, 1) for s in samples]} ms")
        fill, samples, removed, left = _case(SIZES[0], partitioned=False)
        results.append(("batched DELETE (plain table)", SIZES[0], samples, removed, left))
        print(f"plain {SIZES[0]:,}: prune per day {[round(s * 1000, 1) for s in samples]} ms", flush=True)
        baseline = statistics.median(results[0][2])
        table = [
            (
                how,
                f"{n:,}",
                f"{removed:,}",
                f"{left:,}",
                f"{statistics.median(samples) * 1000:.1f} ms",
                "1.00 (baseline)" if i == 0 else f"{statistics.median(samples) / baseline:.2f}",
            )
            for i, (how, n, samples, removed, left) in enumerate(results)
        ]
        print(markdown_table(["prune of one day by", "raw events", "removed", "left", "median", "ratio"], table))


if __name__ == "__main__":
    main()
