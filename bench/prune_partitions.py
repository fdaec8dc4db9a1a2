"""Pruning raw usage events: dropping day partitions (PostgreSQL) costs the same at 1M and 10M rows.

Each case fills a fresh day-partitioned raw event table (usage migration 0003) with N events spread
evenly over the 36 days of the retention window plus 10 days past it (`generate_series`, one
INSERT … SELECT), then times `prune_raw_events`, which drops the 10 expired day partitions, one day
per call. The baseline is the smallest N; the ratio is each case's prune time over it.

Dropping a partition does no per-row work, but it hands the partition's files back to the file
system, and the kernel's `truncate` of a file costs time in proportion to its bytes (on this
machine's ext4, mounted with online discard, about 0.5 ms per MB), whatever wrote them. So while each
prune runs, `strace` on the database backend sums the time spent in the file system calls that
free the dropped files (truncate, unlink); the prune's time without them is PostgreSQL's own cost,
and that is what must not grow. For contrast, the same prune by batched DELETE (the plain table, as
before partitioning) at the smallest N only: its cost grows with the rows it deletes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/centrali_bench .venv/bin/python -m bench.prune_partitions
    PRUNE_BENCH_SIZES=1000000,5000000 …   # the row counts (default 1,000,000 and 10,000,000)

The file system split needs the database server on this machine and `strace` allowed to attach to
its backend (root, or the server's user); without them only the total is reported.
"""

import importlib
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta

from bench.harness import markdown_table, throwaway_database

SIZES = [int(n) for n in os.environ.get("PRUNE_BENCH_SIZES", "1000000,10000000").split(",")]
EXPIRED_DAYS = 10
# The calls by which a dropped relation's files go back to the file system.
_FREEING_CALLS = "truncate,ftruncate,unlink,unlinkat"
_SYSCALL_TIME = re.compile(r"<(\d+\.\d+)>\s*$")


def _fill(cursor, workspace_id, rows, now, days):
    span_seconds = days * 86400
    cursor.execute(
        "INSERT INTO usage_usageevent (event_id, workspace_id, metric, value, occurred_at, received_at, source) "
        "SELECT 'e-' || n, %s, 'api_calls', 1, %s - make_interval(secs => (n::float8 * %s / %s)), %s, 'bench' "
        "FROM generate_series(1, %s) AS n",
        [workspace_id, now, span_seconds, rows, now, rows],
    )
    cursor.execute("ANALYZE usage_usageevent")


def _expired_partition_bytes(cursor):
    """Median on-disk size (heap and indexes) of the whole day partitions the prune will drop."""
    cursor.execute(
        "SELECT pg_total_relation_size(inhrelid) FROM pg_inherits "
        "WHERE inhparent = 'usage_usageevent'::regclass ORDER BY inhrelid::regclass::text LIMIT %s",
        [EXPIRED_DAYS],
    )
    sizes = [row[0] for row in cursor.fetchall()]
    return int(statistics.median(sizes[1:] or sizes))  # the oldest day is partly filled


@contextmanager
def _file_freeing_time(backend_pid):
    """Yields a list that receives, on exit, the seconds the backend spent in _FREEING_CALLS meanwhile
    (nothing when strace cannot attach)."""
    spent: list[float] = []
    strace = shutil.which("strace")
    if strace is None:
        yield spent
        return
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as log:
        tracer = subprocess.Popen(  # noqa: S603
            [
                strace,
                "-q",
                "-f",
                "--seccomp-bpf",
                "-T",
                "-e",
                f"trace={_FREEING_CALLS}",
                "-p",
                str(backend_pid),
                "-o",
                log.name,
            ],
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.3)  # attached
        try:
            yield spent
        finally:
            tracer.terminate()
            tracer.wait()
            times = [float(m.group(1)) for line in log if (m := _SYSCALL_TIME.search(line))]
            if tracer.returncode in (0, -15) and times:
                spent.append(sum(times))


def _case(rows, *, partitioned):
    """Fill, settle (VACUUM ANALYZE, CHECKPOINT: expired partitions are old and quiet in real life),
    then prune one day at a time. Returns (fill s, [(prune s, file freeing s or None) per day],
    removed, rows left, bytes of one expired day)."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from tests.factories import WorkspaceFactory
    from usage.services.retention import maintain_raw_event_partitions, prune_raw_events

    migration = importlib.import_module("usage.migrations.0003_partition_raw_events_by_day")
    now = timezone.now()
    days = settings.USAGE_RAW_EVENT_RETENTION_DAYS + EXPIRED_DAYS
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE usage_usageevent")
    migration.unpartition(connection)
    if partitioned:
        # Day partitions from the oldest day filled up to a week ahead of today.
        migration.partition(connection, now=now - timedelta(days=EXPIRED_DAYS))
        maintain_raw_event_partitions(now=now)
    workspace = WorkspaceFactory.create()
    with connection.cursor() as cursor:
        started = time.perf_counter()
        _fill(cursor, workspace.pk, rows, now, days)
        fill_seconds = time.perf_counter() - started
        cursor.execute("VACUUM ANALYZE usage_usageevent")
        cursor.execute("CHECKPOINT")
        day_bytes = _expired_partition_bytes(cursor) if partitioned else 0
        cursor.execute("SELECT pg_backend_pid()")
        backend_pid = cursor.fetchone()[0]
    samples, removed = [], 0
    for day in range(EXPIRED_DAYS, 0, -1):  # each call moves the cutoff one day: one more day expires
        with _file_freeing_time(backend_pid) as freeing:
            started = time.perf_counter()
            removed += prune_raw_events(now=now - timedelta(days=day - 1))
            elapsed = time.perf_counter() - started
        samples.append((elapsed, freeing[0] if freeing else None))
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM usage_usageevent")
        left = cursor.fetchone()[0]
    return fill_seconds, samples, removed, left, day_bytes


def _ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def main():
    with throwaway_database():
        from django.db import connection

        assert connection.vendor == "postgresql", "needs DATABASE_URL=postgres://…"
        results = []
        for rows in SIZES:
            fill, samples, removed, left, day_bytes = _case(rows, partitioned=True)
            results.append(("day partition dropped", rows, samples, removed, left, day_bytes))
            print(
                f"partitioned {rows:,}: fill {fill:.1f} s, {day_bytes / (1 << 20):.1f} MB per day, "
                f"prune per day {[round(total * 1000, 1) for total, _ in samples]} ms, "
                f"of which freeing files {[round((f or 0) * 1000, 1) for _, f in samples]} ms",
                flush=True,
            )
        fill, samples, removed, left, _ = _case(SIZES[0], partitioned=False)
        results.append(("batched DELETE (plain table, as before)", SIZES[0], samples, removed, left, 0))
        print(f"plain {SIZES[0]:,}: prune per day {[round(total * 1000, 1) for total, _ in samples]} ms", flush=True)

        dropped = [samples for how, _, samples, *_ in results if how == "day partition dropped"]
        traced = all(freeing is not None for samples in dropped for _, freeing in samples)
        base_total = statistics.median(total for total, _ in results[0][2])
        base_own = statistics.median(total - (freeing or 0) for total, freeing in results[0][2])
        table = []
        for i, (how, n, samples, removed, left, day_bytes) in enumerate(results):
            total = statistics.median(t for t, _ in samples)
            row = [how, f"{n:,}", f"{day_bytes / (1 << 20):.1f} MB" if day_bytes else "", f"{removed:,}", f"{left:,}"]
            row += [_ms(total), "1.00 (baseline)" if i == 0 else f"{total / base_total:.2f}"]
            if traced:
                if day_bytes:
                    own = statistics.median(t - (f or 0) for t, f in samples)
                    freeing = statistics.median(f or 0 for _, f in samples)
                    row += [_ms(freeing), _ms(own), "1.00 (baseline)" if i == 0 else f"{own / base_own:.2f}"]
                else:
                    row += ["", "", ""]
            table.append(row)
        header = ["prune of one day by", "raw events", "day partition", "removed", "left", "median", "ratio"]
        if traced:
            header += ["of it: file system freeing", "the rest (PostgreSQL)", "ratio"]
        print(markdown_table(header, table))


if __name__ == "__main__":
    main()
