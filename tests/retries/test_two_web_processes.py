"""Two web processes (gunicorn, two ports) against one PostgreSQL and one Redis share one rate
limit and one API-call meter: both live in Redis (settings CACHES with REDIS_URL)."""

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from bench.servers import WebProcess, free_port
from centrali.api.authentication import issue_access_token
from tests.e2e.harness import _database_url
from usage.middleware import count_key, minute_of

pytestmark = pytest.mark.e2e

REQUESTS_PER_PROCESS = 6
LIMIT = 10


def _web_env():
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "centrali.settings",
        "DATABASE_URL": _database_url(),
        "DATABASE_CONN_MAX_AGE": "0",  # the test database is flushed, then dropped
        "REDIS_URL": settings.REDIS_URL,
        "MEDIA_ROOT": settings.MEDIA_ROOT,
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "JWT_SIGNING_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
        "RATE_LIMITS": f"workspace_create={LIMIT}/min",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }


@pytest.fixture
def two_web_processes(e2e, tmp_path):
    env = _web_env()
    processes = [WebProcess(env, port=free_port(), log_path=tmp_path / f"web-{n}.log", workers=1) for n in range(2)]
    try:
        yield [process.wait_until_ready() for process in processes]
    finally:
        for process in processes:
            process.stop()


def _sign_up(base_url, n):
    body = {
        "name": f"Shared Limit {n}",
        "email": f"owner-{n}@limit.test",
        "username": f"owner{n}",
        "password": "a-long-and-unusual-passphrase",
        "passwordConfirmation": "a-long-and-unusual-passphrase",
        "description": "",
    }
    return requests.post(f"{base_url}/", json=body, timeout=30)


def test_one_rate_limit_across_two_web_processes(two_web_processes):
    cache.delete("throttle_workspace_create_127.0.0.1")  # the anonymous sign-up limit of loopback
    first, second = two_web_processes
    sends = [(process.base_url, n) for n in range(REQUESTS_PER_PROCESS) for process in (first, second)]

    # One at a time, alternating processes: what the limit counts does not depend on a race.
    responses = [_sign_up(base_url, n * 2 + (base_url == second.base_url)) for base_url, n in sends]

    statuses = [response.status_code for response in responses]
    assert statuses[:LIMIT] == [201] * LIMIT, [r.text[:200] for r in responses]
    assert statuses[LIMIT:] == [429] * (len(sends) - LIMIT)
    assert {response.json()["error"] for response in responses[LIMIT:]} == {"RATE_LIMITED"}


def test_api_calls_of_both_processes_are_counted_in_one_meter(two_web_processes, workspace):
    token = issue_access_token(workspace.owner)
    urls = [f"{process.base_url}/{workspace.slug}" for process in two_web_processes] * REQUESTS_PER_PROCESS
    minute = minute_of(timezone.now())

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(
            pool.map(
                lambda url: requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code,
                urls,
            )
        )

    assert statuses == [200] * len(urls)
    # Each process adds its counts to Redis within API_CALL_METERING_FLUSH_SECONDS (1 s, the
    # default) of the call, from its metering thread.
    deadline = time.monotonic() + 15
    while (counted := _counted(workspace, minute)) < len(urls) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert counted == len(urls)


def test_a_worker_that_exits_flushes_its_pending_counts_first(e2e, tmp_path, workspace):
    env = {**_web_env(), "API_CALL_METERING_FLUSH_SECONDS": "3600"}  # the thread would not flush in time
    process = WebProcess(env, port=free_port(), log_path=tmp_path / "web.log", workers=1).wait_until_ready()
    token = issue_access_token(workspace.owner)
    minute = minute_of(timezone.now())
    try:
        for _ in range(3):
            response = requests.get(
                f"{process.base_url}/{workspace.slug}", headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
            assert response.status_code == 200
        assert _counted(workspace, minute) == 0  # pending in the worker
    finally:
        process.stop()  # SIGTERM: the worker exits, and flushes them at exit

    assert _counted(workspace, minute) == 3


def _counted(workspace, minute):
    return sum(cache.get(count_key(m, workspace.pk)) or 0 for m in (minute, minute + 1))
