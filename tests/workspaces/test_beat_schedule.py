"""Celery beat runs the purge daily and the export-retention and stale-job sweeps."""

from datetime import timedelta

from celery.schedules import crontab
from django.conf import settings

from centrali.celery import app


def test_beat_runs_the_workspaces_periodic_tasks():
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert isinstance(schedule["workspaces.purge_deleted_workspaces"], crontab)
    assert schedule["workspaces.expire_export_files"] == timedelta(hours=1)
    assert schedule["workspaces.sweep_stalled_work"] == timedelta(minutes=1)


def test_every_scheduled_workspaces_task_is_registered():
    app.loader.import_default_modules()
    tasks = {str(entry["task"]) for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    scheduled = {task for task in tasks if task.startswith("workspaces.")}

    assert scheduled and scheduled <= set(app.tasks)
