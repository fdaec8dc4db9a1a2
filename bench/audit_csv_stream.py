"""The audit CSV export over real HTTP against PostgreSQL's own COPY, and the web worker's memory.

For the workspaces of 100,000 and 1,000,000 events (bench.audit_seed), each round measures
1. the baseline: `COPY (SELECT <the export's columns> … ORDER BY id DESC) TO STDOUT WITH CSV` read
   with psycopg's copy in this process (rows per second), just before and just after the export (the
   mean of the two: load from other processes on a shared machine drifts);
2. GET /{slug}/audit/export from gunicorn (the Dockerfile's settings) read whole by a streaming
   client (http.client, 1 MiB reads), while the gunicorn workers' VmRSS is sampled every 20 ms.
It reports the medians over the rounds of the export's rows/s, its ratio to the baseline of the same
round, and the serving worker's RSS before the request and at its peak; the goal is a ratio of 0.5 or
more at 1,000,000 rows and a peak that grows less than 50 MB from 100,000 to 1,000,000 rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/centrali_a3_bench .venv/bin/python -m bench.audit_csv_stream

Environment: AUDIT_CSV_ROUNDS (default 5), AUDIT_BENCH_PORT (default 9301).
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from bench.audit_seed import access_token, bench_database_url, seed
from bench.harness import markdown_table

ROUNDS = int(os.environ.get("AUDIT_CSV_ROUNDS", 5))
PORT = int(os.environ.get("AUDIT_BENCH_PORT", 9301))
COLUMNS = (
    "id, created_at, type, resource_type, resource_id, actor_type, actor_id, summary, metadata, ip_address, "
    "user_agent, request_id, entry_hash"
)


def copy_rate(workspace_id: str) -> tuple[float, int]:
    """Rows per second (and rows) of PostgreSQL's own CSV COPY of the rows the export holds."""
    from django.db import connection

    from audit.events import STAFF_ONLY_EVENT_TYPES

    statement = (
        f"COPY (SELECT {COLUMNS} FROM audit_auditevent WHERE workspace_id = %s AND NOT type = ANY(%s) "
        "ORDER BY id DESC) TO STDOUT WITH CSV"
    )
    rows = 0
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(statement, [workspace_id, list(STAFF_ONLY_EVENT_TYPES)]) as copy,
    ):
        for _ in copy:
            rows += 1
    return rows / (time.perf_counter() - started), rows


def main():
    from bench.audit_http import Gunicorn, RssSampler, server_env, stream_count

    url = bench_database_url()
    workspaces = seed()
    log = Path("var") / "bench-audit-csv-gunicorn.log"
    log.parent.mkdir(exist_ok=True)
    web = Gunicorn(server_env(url), port=PORT, log_path=log).wait_until_ready()
    try:
        tokens = {slug: access_token(seeded.owner_id) for slug, seeded in workspaces.items()}
        small = "a3-100k"
        for _ in range(4):  # warm each worker: imports, connections
            stream_count(PORT, f"/workspace/api/v1/{small}/audit/export", tokens[small])
        samples: dict[str, list[dict[str, float]]] = {slug: [] for slug in workspaces}
        for round_number in range(ROUNDS):
            for slug, seeded in workspaces.items():
                before_rate, copied = copy_rate(seeded.workspace_id)
                with RssSampler(web.worker_pids()) as rss:
                    status, size, lines, seconds = stream_count(
                        PORT, f"/workspace/api/v1/{slug}/audit/export", tokens[slug]
                    )
                assert status == 200, status
                after_rate, _ = copy_rate(seeded.workspace_id)
                baseline = (before_rate + after_rate) / 2
                rows = lines - 1
                assert rows == copied == seeded.events, (rows, copied, seeded.events)
                pid, before, peak = rss.serving()
                sample = {
                    "copy": baseline,
                    "http": rows / seconds,
                    "ratio": rows / seconds / baseline,
                    "before": before / 1024,
                    "peak": peak / 1024,
                    "mib": size / 2**20,
                }
                samples[slug].append(sample)
                print(
                    f"round {round_number + 1} {slug}: COPY {baseline:,.0f} rows/s, HTTP {sample['http']:,.0f} rows/s "
                    f"(ratio {sample['ratio']:.2f}), {sample['mib']:.0f} MiB, worker {pid} RSS "
                    f"{sample['before']:.0f} -> {sample['peak']:.0f} MiB",
                    flush=True,
                )
    finally:
        web.stop()

    def median(slug, key):
        return statistics.median(sample[key] for sample in samples[slug])

    table = [
        [
            f"{workspaces[slug].events:,}",
            f"{median(slug, 'copy'):,.0f}",
            f"{median(slug, 'http'):,.0f}",
            f"{median(slug, 'ratio'):.2f}",
            f"{median(slug, 'mib'):.0f} MiB",
            f"{median(slug, 'before'):.0f} MiB",
            f"{median(slug, 'peak'):.0f} MiB",
        ]
        for slug in workspaces
    ]
    growth = median("a3-1m", "peak") - median("a3-100k", "peak")
    print()
    print(
        markdown_table(
            ["rows", "COPY rows/s", "HTTP export rows/s", "ratio", "body", "worker RSS before", "worker RSS peak"],
            table,
        )
    )
    print(f"\npeak RSS growth from 100,000 to 1,000,000 rows: {growth:+.1f} MiB; gunicorn {' '.join(web.arguments)}")


if __name__ == "__main__":
    main()
