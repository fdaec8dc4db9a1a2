"""Through the HTTP API of a live server, with a real Celery worker on Redis and PostgreSQL:
sign-up provisions its services (retrying a flaky one), and an export ends in a downloaded,
verified archive; a worker killed mid-export leaves a job the sweeper fails."""

import hashlib
import io
import json
import zipfile
from datetime import timedelta

import psycopg
import pytest
import requests
from django.db import connection

from tests.e2e.harness import wait_for
from workspaces import services
from workspaces.models import ExportJob

pytestmark = pytest.mark.e2e

SIGN_UP = {
    "name": "Globex",
    "email": "hank@globex.test",
    "username": "hank",
    "password": "a-long-and-unusual-passphrase",
    "passwordConfirmation": "a-long-and-unusual-passphrase",
}


def sign_up(live_api):
    response = requests.post(f"{live_api}/", json=SIGN_UP, timeout=30)
    assert response.status_code == 201, response.text
    body = response.json()
    return body["workspace"]["slug"], {"Authorization": f"Bearer {body['auth_token']}"}


def poll(url, headers, done, what):
    def check():
        body = requests.get(url, headers=headers, timeout=30).json()
        return body if done(body) else None

    return wait_for(check, what)


def test_sign_up_provisions_and_an_export_downloads_as_a_verified_archive(
    start_celery_worker, platform_service, live_api
):
    platform_service.fail_first(1)  # compute answers 503 once: the worker must retry it
    start_celery_worker(
        PROVISIONING_HTTP_BASE_URL=platform_service.base_url,
        PROVISIONING_HTTP_SERVICES="compute",
        PROVISIONING_RETRY_BACKOFF_SECONDS="0.2",
    )
    slug, auth = sign_up(live_api)

    status = poll(
        f"{live_api}/{slug}/provision-status", auth, lambda body: body["status"] == "ready", "provisioning to finish"
    )
    assert status["services"] == {"compute": "ready", "storage": "ready"}
    assert status["details"]["compute"]["attempts"] == 2
    assert len(platform_service.calls_for("compute")) == 2

    requested = requests.post(f"{live_api}/{slug}/export", headers=auth, timeout=30)
    assert requested.status_code == 202, requested.text
    job_id = requested.json()["jobId"]
    job = poll(
        f"{live_api}/{slug}/export/{job_id}", auth, lambda body: body["status"] in {"completed", "failed"}, "the export"
    )
    assert job["status"] == "completed", job
    assert job["progress"]["percent"] == 100 and job["progress"]["rowsDone"] == job["progress"]["rowsTotal"]

    download = requests.get(job["downloadUrl"], timeout=30)  # the signed link alone is the credential
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["workspace"]["slug"] == slug
    for name, meta in manifest["files"].items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == meta["sha256"], name
    [member] = [json.loads(line) for line in archive.read("members.jsonl").decode().splitlines()]
    assert (member["email"], member["role"]) == ("hank@globex.test", "owner")


def test_a_worker_killed_mid_export_leaves_a_job_the_sweeper_fails(start_celery_worker, live_api, settings):
    slug, auth = sign_up(live_api)
    requested = requests.post(f"{live_api}/{slug}/export", headers=auth, timeout=30)
    assert requested.status_code == 202, requested.text
    job = ExportJob.objects.get(pk=requested.json()["jobId"])

    # Hold the members table so the export blocks mid-way, deterministically: the worker claims the
    # job, then waits on this lock while counting rows; it is killed there.
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
    ) as blocker:
        blocker.execute("LOCK TABLE workspaces_membership IN ACCESS EXCLUSIVE MODE")
        worker = start_celery_worker()
        wait_for(lambda: ExportJob.objects.filter(pk=job.pk, status="running").exists(), "the worker to claim the job")
        wait_for(lambda: _backends_waiting_on("workspaces_membership"), "the export to block on the members table")
        worker.kill()
        blocker.rollback()

    job.refresh_from_db()
    assert (job.status, job.stage) == ("running", "counting")

    heartbeat_timed_out = job.heartbeat_at + settings.EXPORT_HEARTBEAT_TIMEOUT + timedelta(seconds=1)
    swept = services.sweep_stalled_exports(now=heartbeat_timed_out)

    assert swept == 1
    body = requests.get(f"{live_api}/{slug}/export/{job.pk}", headers=auth, timeout=30).json()
    assert body["status"] == "failed"
    assert body["errorMessage"] == "The export stopped: its worker stopped responding. Request a new export."

    start_celery_worker()
    again = requests.post(f"{live_api}/{slug}/export", headers=auth, timeout=30)
    assert again.status_code == 202, again.text
    retried = poll(
        f"{live_api}/{slug}/export/{again.json()['jobId']}",
        auth,
        lambda body: body["status"] in {"completed", "failed"},
        "the new export",
    )
    assert retried["status"] == "completed", retried


def _backends_waiting_on(table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE %s",
            [f"%{table}%"],
        )
        return cursor.fetchone()[0]
