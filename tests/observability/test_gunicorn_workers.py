"""/metrics under several gunicorn workers: every scrape, whichever worker answers it, adds up the
counters of all of them, including a worker that died; the multiprocess directory is emptied at start.

Two real workers (the service's gunicorn config, subprocess, real HTTP) against the PostgreSQL
test database, which they share with this process."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from devtools.runlocal import LocalService
from tests.e2e.harness import _database_url, wait_for
from tests.observability.helpers import free_port, scrape, total

REPO = Path(__file__).resolve().parents[2]
REQUESTS = 40


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        pytest.fail("Needs PostgreSQL (the workers share the test database): set DATABASE_URL=postgres://...")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left by an earlier run")  # must be gone: unreadable
    port = free_port(start=9700)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "centrali.settings",
        "DATABASE_URL": _database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "REDIS_URL": settings.REDIS_URL,
    }
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 -- closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "centrali/gunicorn_config.py",
            "centrali.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "1",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}/workspace/api/v1"

    def answers():
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited: {(tmp_path / 'gunicorn.log').read_text()[-3000:]}")
        try:
            return requests.get(f"{base}/healthz", timeout=10).status_code == 200
        except requests.RequestException:
            return False

    wait_for(answers, "gunicorn to answer")
    yield base, metrics_dir, process
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)
    log.close()


def worker_pids(metrics_dir):
    return {int(path.stem.rsplit("_", 1)[1]) for path in metrics_dir.glob("counter_*.db")}


def healthz_count(base):
    return total(
        scrape(f"{base}/metrics"),
        "centrali_http_requests_total",
        method="GET",
        status="200",
        route="/workspace/api/v1/healthz",
    )


@pytest.mark.postgres
def test_every_scrape_adds_up_all_workers_counters(gunicorn):
    base, metrics_dir, _ = gunicorn
    assert not (metrics_dir / "counter_1.db").exists()
    served_before = healthz_count(base)

    for _ in range(REQUESTS):
        # A new connection each time, so both workers get some of them.
        requests.get(f"{base}/healthz", headers={"Connection": "close"}, timeout=5)

    assert len(worker_pids(metrics_dir)) >= 2  # both workers counted something
    assert [healthz_count(base) - served_before for _ in range(6)] == [REQUESTS] * 6


@pytest.mark.postgres
def test_a_dead_workers_counts_stay_in_the_sum(gunicorn):
    base, metrics_dir, _ = gunicorn
    for _ in range(REQUESTS):
        requests.get(f"{base}/healthz", headers={"Connection": "close"}, timeout=5)
    counted = healthz_count(base)
    victim = max(worker_pids(metrics_dir))

    os.kill(victim, signal.SIGKILL)  # gunicorn starts another (its child_exit hook marks the dead one)

    wait_for(lambda: _answers(f"{base}/metrics"), "the workers to answer again")
    assert [healthz_count(base) for _ in range(6)] == [counted] * 6


def _answers(url):
    try:
        return requests.get(url, timeout=10).status_code == 200
    except requests.RequestException:
        return False


def test_make_run_gives_web_and_worker_metrics_directories_of_their_own(tmp_path):
    service = LocalService(bind="127.0.0.1:8000", var_dir=tmp_path)
    web, worker, beat = (service.process_environment(name, {"PATH": "/bin"}) for name in ("web", "worker", "beat"))

    assert "--config" in service.processes()["web"]
    assert web["PROMETHEUS_MULTIPROC_DIR"] != worker["PROMETHEUS_MULTIPROC_DIR"]
    assert worker["CELERY_METRICS_PORT"] and "CELERY_METRICS_PORT" not in web
    assert "PROMETHEUS_MULTIPROC_DIR" not in beat
