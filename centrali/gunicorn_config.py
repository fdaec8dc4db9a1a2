"""Gunicorn's configuration for the web process (`gunicorn -c centrali/gunicorn_config.py centrali.wsgi`).

/metrics must add up every worker's counters: with PROMETHEUS_MULTIPROC_DIR set, each worker
writes its samples to files there and any worker answering a scrape merges them all
(centrali.api.metrics). The directory is emptied when the master starts (an earlier run's
counts must not come back), and a worker that exits is marked dead, so its live gauges drop out
while its counters keep counting in the sums. Settings given on the command line (--bind,
--workers, ...) override the defaults here.
"""

from __future__ import annotations

import os
from typing import Any

from centrali.prometheus_dir import clear_multiprocess_dir

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")  # noqa: S104 -- inside the container
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
accesslog = "-"


def on_starting(server: Any) -> None:
    if clear_multiprocess_dir() is None:
        server.log.warning("PROMETHEUS_MULTIPROC_DIR is not set: /metrics reports the answering worker's counts only")


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
