"""Periodic tasks run once per schedule slot however many beat processes run (centrali.beat):
the slot arithmetic, the claim, and two real `celery beat` processes against Redis."""

import json
import math
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from celery.beat import ScheduleEntry
from celery.schedules import crontab, schedule

from centrali import beat
from centrali.celery import app as celery_app
from tests.e2e.harness import wait_for

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def entry(run_every, last_run_at, name="probe"):
    every = run_every if isinstance(run_every, crontab) else schedule(run_every)
    return ScheduleEntry(name=name, task="ops.probe", schedule=every, last_run_at=last_run_at)


@pytest.fixture
def fresh_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "beat"}}


def test_two_beats_started_apart_claim_the_same_interval_slot():
    first = entry(timedelta(minutes=1), last_run_at=T0 - timedelta(seconds=50))
    second = entry(timedelta(minutes=1), last_run_at=T0 - timedelta(seconds=20))

    assert beat.slot_of(first, T0 + timedelta(seconds=10)) == beat.slot_of(second, T0 + timedelta(seconds=40))


def test_one_beat_never_loses_a_run_even_as_it_drifts_late():
    every = entry(timedelta(minutes=1), last_run_at=T0)
    moments = [T0 + timedelta(seconds=59.99 + 60 * n + 0.003 * n) for n in range(500)]

    assert len({beat.slot_of(every, moment)[0] for moment in moments}) == len(moments)


def test_two_beats_with_different_histories_claim_the_same_crontab_slot():
    nightly = crontab(minute=30, hour=3)
    yesterday = entry(nightly, last_run_at=datetime(2026, 4, 30, 3, 30, 0, 400_000, tzinfo=UTC))
    started_today = entry(nightly, last_run_at=datetime(2026, 5, 1, 1, 5, tzinfo=UTC))
    due = datetime(2026, 5, 1, 3, 30, tzinfo=UTC)

    assert beat.slot_of(yesterday, due + timedelta(milliseconds=30)) == beat.slot_of(
        started_today, due + timedelta(milliseconds=800)
    )


def test_the_first_claim_of_a_slot_wins_and_the_next_slot_is_free_again(fresh_cache):
    every = entry(timedelta(minutes=1), last_run_at=T0)

    assert beat.claim(every, T0 + timedelta(seconds=61)) is True
    assert beat.claim(every, T0 + timedelta(seconds=75)) is False  # the other beat, same minute
    assert beat.claim(every, T0 + timedelta(seconds=121)) is True


def test_a_cache_outage_sends_the_entry_unclaimed(settings, closed_port):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
        }
    }

    assert beat.claim(entry(timedelta(minutes=1), last_run_at=T0), T0 + timedelta(seconds=61)) is True


def test_beat_uses_the_single_run_scheduler():
    assert celery_app.conf.beat_scheduler == "centrali.beat:SingleRunScheduler"


# --- two real beat processes

INTERVAL_SECONDS = 2
RUN_SECONDS = 12

BEAT_SETTINGS = """
from centrali.settings import *  # noqa: F403

CELERY_BEAT_SCHEDULE = {{
    "ops-beat-probe": {{"task": "ops.beat_probe", "schedule": {interval}, "options": {{"queue": "{queue}"}}}},
}}
"""


def start_beat(tmp_path, settings_module, name):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)]),
        "PYTHONUNBUFFERED": "1",
    }
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 -- closed by the test
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "centrali",
            "beat",
            "--loglevel",
            "INFO",
            "--max-interval",
            "1",
            "--schedule",
            str(tmp_path / f"{name}-schedule"),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process, log


@pytest.mark.e2e
def test_two_beat_processes_send_each_run_once(settings, tmp_path):
    if not settings.REDIS_URL:
        pytest.fail("Two beats share their claims through Redis: set REDIS_URL (see `make test-postgres`).")
    queue = f"ops-beat-probe-{uuid.uuid4().hex[:8]}"
    (tmp_path / "ops_beat_settings.py").write_text(BEAT_SETTINGS.format(interval=INTERVAL_SECONDS, queue=queue))
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(queue)

    started = time.time()
    beats = [start_beat(tmp_path, "ops_beat_settings", name) for name in ("beat-a", "beat-b")]
    try:
        wait_for(
            lambda: all("beat: Starting" in (tmp_path / f"{name}.log").read_text() for name in ("beat-a", "beat-b")),
            "both beats to start",
        )
        time.sleep(RUN_SECONDS)
    finally:
        for process, log in beats:
            process.terminate()
            process.wait(timeout=20)
            log.close()
    stopped = time.time()
    logs = [(tmp_path / f"{name}.log").read_text(errors="replace") for name in ("beat-a", "beat-b")]

    sent = [json.loads(message) for message in client.lrange(queue, 0, -1)]
    client.delete(queue)
    assert all(message["headers"]["task"] == "ops.beat_probe" for message in sent)
    # Each slot is an INTERVAL_SECONDS window of the epoch; at most one message per slot over the run.
    slots = math.floor(stopped / INTERVAL_SECONDS) - math.floor(started / INTERVAL_SECONDS) + 1
    assert 3 <= len(sent) <= slots, (len(sent), slots, logs)
    # Both beats were due for the runs; the other's claim made one of them skip.
    assert sum(log.count("beat.entry_skipped") for log in logs) >= 3, logs
