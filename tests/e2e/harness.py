"""End-to-end harness: a real Celery worker process on Redis, against the PostgreSQL test database,
behind a live server. A pytest plugin (registered in tests/conftest.py), so every app's tests
may use these fixtures:

    @pytest.mark.e2e
    def test_something(celery_worker_process, live_api):
        response = requests.post(f"{live_api}/...", ...)
        wait_for(lambda: ..., "the worker did X")

`e2e` fails (never skips) when REDIS_URL or PostgreSQL is missing, and makes tasks published by
this process go to Redis for real. `celery_worker_process` starts a worker subprocess with the test
database's URL and this test's MEDIA_ROOT; `start_celery_worker()` starts more (or restarts).
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.db import connection

from centrali.celery import app as celery_app
from tests.workspaces.platform_service import PlatformService

WORKER_READY_TIMEOUT = 60
REPO = Path(__file__).resolve().parents[2]


def wait_for(condition, what, *, timeout=60, interval=0.2):
    """Poll `condition` until it returns a truthy value (returned); fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def _database_url():
    db = connection.settings_dict
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def e2e(transactional_db, settings, tmp_path):
    """Real services or a clear failure; tasks published from here reach Redis (not eager)."""
    problems = []
    if not settings.REDIS_URL:
        problems.append("REDIS_URL is not set")
    else:
        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            problems.append(f"Redis at {settings.REDIS_URL} is unreachable ({exc})")
    if connection.vendor != "postgresql":
        problems.append(f"the database is {connection.vendor}, not PostgreSQL (set DATABASE_URL=postgres://...)")
    if problems:
        pytest.fail(
            "End-to-end tests need a real Redis and PostgreSQL: " + "; ".join(problems) + ". Run `make test-postgres`."
        )
    settings.MEDIA_ROOT = str(tmp_path / "media")
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()  # nothing left over from an earlier run reaches this test's worker
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def platform_service(settings):
    """The `compute` platform service on loopback, provisioned over HTTP by web and worker alike."""
    service = PlatformService().start()
    settings.WORKSPACE_PROVISIONERS = {
        "storage": {"class": "workspaces.provisioning.StorageProvisioner"},
        "compute": {"class": "workspaces.provisioning.HttpProvisioner", "url": f"{service.base_url}/compute"},
    }
    yield service
    service.stop()


class CeleryWorker:
    """A `celery worker` subprocess in its own process group (so a kill reaches its pool children)."""

    def __init__(self, env, log_path):
        self.hostname = f"e2e-{uuid.uuid4().hex[:8]}@localhost"
        self.log_path = log_path
        self.log = open(log_path, "ab")  # noqa: SIM115 -- the worker writes to it until stop() closes it
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "centrali",
                "worker",
                "--loglevel",
                "INFO",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "--hostname",
                self.hostname,
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self):
        return Path(self.log_path).read_text(errors="replace")[-4000:]

    def wait_until_ready(self):
        def answers_ping():
            if self.process.poll() is not None:
                pytest.fail(f"the Celery worker exited with {self.process.returncode}:\n{self.output()}")
            return celery_app.control.ping(destination=[self.hostname], timeout=0.5)

        wait_for(answers_ping, f"the Celery worker {self.hostname} to answer a ping", timeout=WORKER_READY_TIMEOUT)
        return self

    def kill(self):
        """SIGKILL the worker and its pool: what an OOM kill or a lost machine does."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def start_celery_worker(e2e, settings, tmp_path):
    """start_celery_worker(wait=True, **env) -> a running CeleryWorker (stopped after the test)."""
    workers: list[CeleryWorker] = []

    def start(*, wait=True, **extra_env):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "centrali.settings",
            "DATABASE_URL": _database_url(),
            # No idle connection may outlive a task: the test database is flushed, then dropped.
            "DATABASE_CONN_MAX_AGE": "0",
            "REDIS_URL": settings.REDIS_URL,
            "MEDIA_ROOT": settings.MEDIA_ROOT,
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            **{key: str(value) for key, value in extra_env.items()},
        }
        worker = CeleryWorker(env, tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        return worker.wait_until_ready() if wait else worker

    yield start
    for worker in workers:
        worker.stop()
        print(f"--- log of {worker.hostname} (shown when the test fails) ---\n{worker.output()}")


@pytest.fixture
def celery_worker_process(start_celery_worker):
    return start_celery_worker()


@pytest.fixture
def live_api(live_server):
    return f"{live_server.url}/workspace/api/v1"
