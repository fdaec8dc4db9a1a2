"""Periodic tasks run once per schedule, however many beat processes run (a rolling deploy starts
the new beat before the old one stops).

Beat uses `SingleRunScheduler` (settings.CELERY_BEAT_SCHEDULER). Before it sends a due entry it
claims the entry's schedule slot in the shared cache (Redis) with an atomic add; the beat that
loses the claim skips that run. A slot names the one run a schedule asks for at a moment, the same
in every beat whatever its own history: for an interval, the interval-long window of the epoch the
run falls in; for a crontab (or any other schedule), the scheduled time the run is due for, to
the minute.

One beat alone never loses a run: its runs are at least an interval apart, so each falls in a
slot of its own. Without Redis (embedded mode) the cache is the process's memory, which is right
for the one beat that mode runs. A cache outage does not stop periodic work: the entry is sent
unclaimed (the periodic tasks are safe to repeat; the claim only spares the duplicate work).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import structlog
from celery.beat import PersistentScheduler, ScheduleEntry
from celery.schedules import schedule as interval_schedule
from django.core.cache import cache

logger = structlog.get_logger(__name__)

KEY_PREFIX = "beat:slot"
# A claim outlives its slot by this much, so a beat running late still finds it.
CLAIM_GRACE = timedelta(hours=1)


def slot_of(entry: ScheduleEntry, now: datetime) -> tuple[str, timedelta]:
    """(the slot `entry` runs for when due at `now`, how long its claim must last)."""
    schedule = entry.schedule
    if isinstance(schedule, interval_schedule) and not schedule.relative:
        seconds = max(float(schedule.seconds), 1.0)  # `seconds` is run_every's total_seconds()
        return f"every{seconds:g}s:{math.floor(now.timestamp() / seconds)}", timedelta(seconds=seconds) + CLAIM_GRACE
    if schedule is None or entry.last_run_at is None:
        due_at = now
    else:
        due_at = now + schedule.remaining_estimate(entry.last_run_at)  # <= now: the moment it was due
    due_minute = datetime.fromtimestamp(round(due_at.timestamp() / 60) * 60, tz=due_at.tzinfo)
    return f"at:{due_minute.isoformat()}", CLAIM_GRACE


def claim(entry: ScheduleEntry, now: datetime) -> bool:
    """True when this beat may send `entry` now: it claimed the slot, or the cache is down."""
    slot, ttl = slot_of(entry, now)
    key = f"{KEY_PREFIX}:{entry.name}:{slot}"
    try:
        return bool(cache.add(key, now.isoformat(), timeout=math.ceil(ttl.total_seconds())))
    except Exception:
        logger.warning("beat.claim_failed", entry=entry.name, slot=slot, exc_info=True)
        return True


class SingleRunScheduler(PersistentScheduler):
    """Beat's default scheduler (schedule kept in the `--schedule` file), sending each due entry
    only when this beat claimed its slot."""

    def apply_entry(self, entry: ScheduleEntry, producer: Any = None) -> None:
        # `entry` is the entry as it was when found due: its last_run_at is the previous run.
        now = entry.default_now()
        if not claim(entry, now):
            logger.info("beat.entry_skipped", entry=entry.name, reason="another beat sent this run")
            # What apply_async does after a send: keep the schedule file fresh, which is also
            # what the beat's liveness probe watches (docker-compose.yml).
            if self.should_sync():
                self._do_sync()  # type: ignore[attr-defined]  # celery-types lacks it
            return
        super().apply_entry(entry, producer=producer)
