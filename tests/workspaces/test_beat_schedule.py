"""Celery beat runs the purge daily and the export-retention and stale-job sweeps."""

from celery.schedules import crontab
from django.conf import settings

from centrali.celery import app


def test_beat_runs_the_workspaces_periodic_tasks():
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert isinstance(schedule["workspaces.purge_deleted_workspaces"], crontab)
    assert schedule["workspaces.expire_export_files"].total_seconds() == 3600
    assert schedule["workspaces.sweep_stalled_work"].total_seconds() == 60


def test_every_scheduled_workspaces_task_is_registered():
    app.loader.import_default_modules()
    scheduled = {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"].startswith("workspaces.")
    }

    assert scheduled and scheduled <= set(app.tasks)
