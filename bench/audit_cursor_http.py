"""A cursor walk of GET /{slug}/audit/activity over 1,000,000 events, over real HTTP (gunicorn).

The client follows `nextCursor` from the first page to the last (limit=100: 10,000 pages) on one
keep-alive connection and times every page. Reported: the median latency of the first and of the
last AUDIT_WALK_EDGE pages of the walk, and, measured again after it, the first page and the last
page (its cursor kept from the walk) requested alternately AUDIT_WALK_REPEAT times each; the goal is
the last page within 1.5x the first.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/centrali_a3_bench .venv/bin/python -m bench.audit_cursor_http

Environment: AUDIT_WALK_LIMIT (page size, default 100), AUDIT_WALK_EDGE (default 100),
AUDIT_WALK_REPEAT (default 50), AUDIT_BENCH_PORT (default 9301).
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import time
from pathlib import Path
from urllib.parse import quote

from bench.audit_seed import access_token, bench_database_url, seed
from bench.harness import markdown_table

LIMIT = int(os.environ.get("AUDIT_WALK_LIMIT", 100))
EDGE = int(os.environ.get("AUDIT_WALK_EDGE", 100))
REPEAT = int(os.environ.get("AUDIT_WALK_REPEAT", 50))
PORT = int(os.environ.get("AUDIT_BENCH_PORT", 9301))
SLUG = "a3-1m"


def main():
    from bench.audit_http import Gunicorn, get, server_env

    url = bench_database_url()
    seeded = seed()[SLUG]
    log = Path("var") / "bench-audit-cursor-gunicorn.log"
    log.parent.mkdir(exist_ok=True)
    web = Gunicorn(server_env(url), port=PORT, log_path=log).wait_until_ready()
    try:
        token = access_token(seeded.owner_id)
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        first_path = f"/workspace/api/v1/{SLUG}/audit/activity?limit={LIMIT}"
        for _ in range(20):
            get(PORT, first_path, token, connection)
        latencies, paths, entries = [], [], 0
        path: str | None = first_path
        started = time.perf_counter()
        while path:
            status, body, seconds = get(PORT, path, token, connection)
            assert status == 200, (status, body[:300])
            page = json.loads(body)
            latencies.append(seconds)
            paths.append(path)
            entries += len(page["entries"])
            path = f"{first_path}&cursor={quote(page['nextCursor'])}" if page["hasMore"] else None
        walk_seconds = time.perf_counter() - started
        assert entries == seeded.events, (entries, seeded.events)
        again: dict[str, list[float]] = {"first": [], "last": []}
        for _ in range(REPEAT):
            for name, page_path in (("first", paths[0]), ("last", paths[-1])):
                again[name].append(get(PORT, page_path, token, connection)[2])
        connection.close()
    finally:
        web.stop()

    def ms(samples):
        return statistics.median(samples) * 1000

    walk_first, walk_last = ms(latencies[:EDGE]), ms(latencies[-EDGE:])
    first, last = ms(again["first"]), ms(again["last"])
    print(
        f"{entries:,} events in {len(latencies):,} pages of {LIMIT} in {walk_seconds:.0f} s; "
        f"gunicorn {' '.join(web.arguments)}\n"
    )
    print(
        markdown_table(
            ["measure", "first page", "last page", "last / first"],
            [
                [
                    f"during the walk (median of {EDGE} pages each)",
                    f"{walk_first:.1f} ms",
                    f"{walk_last:.1f} ms",
                    f"{walk_last / walk_first:.2f}",
                ],
                [
                    f"after it, alternating (median of {REPEAT} each)",
                    f"{first:.1f} ms",
                    f"{last:.1f} ms",
                    f"{last / first:.2f}",
                ],
            ],  # fmt: skip
        )
    )


if __name__ == "__main__":
    main()
