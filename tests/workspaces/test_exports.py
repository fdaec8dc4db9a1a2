"""Full-data exports: requesting, running, reading the job, downloading, expiry, and faults."""

import hashlib
import io
import json
import zipfile
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.utils import timezone
from freezegun import freeze_time

from audit.models import AuditEvent
from centrali import exports as export_registry
from centrali.exports import ExportSection
from tests.factories import MembershipFactory, WorkspaceFactory
from tests.helpers import API, assert_error, client_for
from workspaces import services
from workspaces.exporter import ARCHIVE_FORMAT, MANIFEST_NAME
from workspaces.models import ExportJob
from workspaces.services.exports import QUEUE_RETRY_AFTER_SECONDS

pytestmark = pytest.mark.django_db


def request_export(client, workspace, capture):
    with capture(execute=True):
        response = client.post(f"{API}/{workspace.slug}/export")
    assert response.status_code == 202, response.content
    return ExportJob.objects.get(pk=response.json()["jobId"])


def download(client, url):
    """Fetch a downloadUrl through the test client (it is an absolute link to this service)."""
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def read_archive(response):
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def jsonl(archive, name):
    return [json.loads(line) for line in archive.read(name).decode().splitlines()]


@pytest.fixture
def exported(workspace, owner_client, django_capture_on_commit_callbacks):
    """A completed export of `workspace` (three members besides the owner)."""
    for role in ("admin", "billing", "member"):
        MembershipFactory.create(workspace=workspace, role=role)
    return request_export(owner_client, workspace, django_capture_on_commit_callbacks)


# --- POST /{slug}/export


def test_request_answers_202_with_the_queued_job(workspace, owner_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = owner_client.post(f"{API}/{workspace.slug}/export")

    assert response.status_code == 202
    job = ExportJob.objects.get()
    assert response.json() == {
        "jobId": str(job.pk),
        "status": "queued",
        "message": "Export queued; poll the job for progress.",
    }
    assert response["Location"] == f"{API}/{workspace.slug}/export/{job.pk}"
    assert AuditEvent.objects.filter(workspace=workspace, type="export.requested", resource_id=str(job.pk)).exists()


def test_second_request_while_one_is_queued_is_a_409(workspace, owner_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        owner_client.post(f"{API}/{workspace.slug}/export")
        response = owner_client.post(f"{API}/{workspace.slug}/export")

    assert_error(response, status=409, code="EXPORT_IN_PROGRESS")
    assert ExportJob.objects.count() == 1


def test_another_workspaces_running_export_does_not_block(
    workspace, owner_client, other_workspace, django_capture_on_commit_callbacks
):
    ExportJob.objects.create(workspace=other_workspace, status="running")

    with django_capture_on_commit_callbacks(execute=False):
        response = owner_client.post(f"{API}/{workspace.slug}/export")

    assert response.status_code == 202


def test_a_new_export_is_accepted_once_the_previous_one_finished(
    exported, workspace, owner_client, django_capture_on_commit_callbacks
):
    second = request_export(owner_client, workspace, django_capture_on_commit_callbacks)

    assert second.pk != exported.pk and second.status == "completed"


@pytest.mark.parametrize("role", ["member", "billing"])
def test_only_owners_and_admins_may_export(workspace, member_of, role):
    client = member_of(workspace, role)

    assert_error(client.post(f"{API}/{workspace.slug}/export"), status=403, code="INSUFFICIENT_ROLE")
    assert_error(client.get(f"{API}/{workspace.slug}/export"), status=403, code="INSUFFICIENT_ROLE")


def test_an_admin_may_export(workspace, member_of, django_capture_on_commit_callbacks):
    job = request_export(member_of(workspace, "admin"), workspace, django_capture_on_commit_callbacks)

    assert job.status == "completed"


def test_a_workspace_pending_deletion_stays_exportable(owner_client, django_capture_on_commit_callbacks):
    workspace = WorkspaceFactory.create(pending_deletion=True)

    job = request_export(client_for(workspace.owner), workspace, django_capture_on_commit_callbacks)

    assert job.status == "completed"


# --- the archive


def test_archive_holds_one_jsonl_file_per_section_and_a_manifest(exported, workspace, owner_client):
    body = owner_client.get(f"{API}/{workspace.slug}/export/{exported.pk}").json()

    archive = read_archive(download(owner_client, body["downloadUrl"]))

    expected_files = {f"{section.name}.jsonl" for section in export_registry.export_sections()} | {"manifest.json"}
    assert set(archive.namelist()) == expected_files
    assert {"workspace.jsonl", "members.jsonl", "plan.jsonl"} <= expected_files


def test_manifest_counts_and_checksums_match_the_files(exported, workspace, owner_client):
    body = owner_client.get(f"{API}/{workspace.slug}/export/{exported.pk}").json()
    archive = read_archive(download(owner_client, body["downloadUrl"]))

    manifest = json.loads(archive.read("manifest.json"))

    assert manifest["workspace"] == {"id": str(workspace.pk), "slug": workspace.slug, "name": workspace.name}
    assert manifest["jobId"] == str(exported.pk)
    assert manifest["counts"]["members"] == 4 and manifest["counts"]["workspace"] == 1
    for name, meta in manifest["files"].items():
        content = archive.read(name)
        assert hashlib.sha256(content).hexdigest() == meta["sha256"]
        assert len(content.decode().splitlines()) == meta["rows"] == manifest["counts"][meta["section"]]


def test_manifest_says_which_format_it_is(exported, workspace, owner_client):
    body = owner_client.get(f"{API}/{workspace.slug}/export/{exported.pk}").json()
    archive = read_archive(download(owner_client, body["downloadUrl"]))

    manifest = json.loads(archive.read(MANIFEST_NAME))

    assert manifest["format"] == ARCHIVE_FORMAT == "centrali.workspace-export"
    assert manifest["formatVersion"] == 2  # 2: every section's rows have snake_case keys


def test_the_workspaces_sections_have_snake_case_keys(exported, workspace, owner_client):
    body = owner_client.get(f"{API}/{workspace.slug}/export/{exported.pk}").json()
    archive = read_archive(download(owner_client, body["downloadUrl"]))

    [exported_workspace] = jsonl(archive, "workspace.jsonl")
    owner = next(member for member in jsonl(archive, "members.jsonl") if member["role"] == "owner")
    [plan] = jsonl(archive, "plan.jsonl")

    assert set(exported_workspace) == {
        "id",
        "name",
        "slug",
        "description",
        "owner_id",
        "status",
        "deleted_at",
        "restore_deadline",
        "created_at",
        "updated_at",
    }
    assert exported_workspace["owner_id"] == str(workspace.owner_id)
    assert exported_workspace["created_at"] == workspace.created_at.isoformat().replace("+00:00", "Z")
    assert owner == {
        "user_id": str(workspace.owner.pk),
        "username": workspace.owner.username,
        "email": workspace.owner.email,
        "first_name": "",
        "last_name": "",
        "role": "owner",
        "joined_at": owner["joined_at"],
    }
    assert owner["joined_at"].endswith("Z")
    assert {"price_monthly", "price_yearly", "limits", "capabilities"} <= set(plan)


def test_archive_holds_the_workspace_its_members_and_its_plan(exported, workspace, owner_client, other_workspace):
    body = owner_client.get(f"{API}/{workspace.slug}/export/{exported.pk}").json()
    archive = read_archive(download(owner_client, body["downloadUrl"]))

    [exported_workspace] = jsonl(archive, "workspace.jsonl")
    members = jsonl(archive, "members.jsonl")
    [plan] = jsonl(archive, "plan.jsonl")

    assert exported_workspace["id"] == str(workspace.pk) and exported_workspace["slug"] == workspace.slug
    assert sorted(m["role"] for m in members) == ["admin", "billing", "member", "owner"]
    assert other_workspace.owner.email not in archive.read("members.jsonl").decode()
    assert plan["code"] == "free" and "capabilities" in plan


def test_archive_never_holds_another_tenants_rows(exported, workspace, owner_client, other_workspace):
    body = owner_client.get(f"{API}/{workspace.slug}/export/{exported.pk}").json()
    archive = read_archive(download(owner_client, body["downloadUrl"]))

    everything = b"".join(archive.read(name) for name in archive.namelist()).decode()

    assert str(other_workspace.pk) not in everything and other_workspace.slug not in everything


def test_rows_stream_in_batches_and_progress_is_reported_per_batch(
    settings, workspace, owner_client, django_capture_on_commit_callbacks, monkeypatch
):
    settings.EXPORT_BATCH_SIZE = 2
    for _ in range(5):
        MembershipFactory.create(workspace=workspace)
    reported: list[tuple[str, Any]] = []  # (stage, rows_done)
    record_progress = services.record_export_progress

    def spy(**kwargs):  # observes the calls; the real progress write still happens
        reported.append((kwargs["stage"], kwargs.get("rows_done")))
        record_progress(**kwargs)

    monkeypatch.setattr(services, "record_export_progress", spy)

    job = request_export(owner_client, workspace, django_capture_on_commit_callbacks)

    member_batches = [done for stage, done in reported if stage == "writing:members"]
    assert len(member_batches) == 4  # rows 2 and 4 of 6, then the section's end (6), counted cumulatively
    assert member_batches == sorted(member_batches)
    assert job.rows_done == job.rows_total and job.progress["percent"] == 100


# --- GET /{slug}/export and /{slug}/export/{jobId}


def test_latest_export_is_null_when_the_workspace_was_never_exported(workspace, owner_client, other_workspace):
    ExportJob.objects.create(workspace=other_workspace)

    response = owner_client.get(f"{API}/{workspace.slug}/export")

    assert response.status_code == 200
    assert response.content == b"null"


def test_latest_export_is_the_most_recent_job(exported, workspace, owner_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        newest = owner_client.post(f"{API}/{workspace.slug}/export").json()["jobId"]

    body = owner_client.get(f"{API}/{workspace.slug}/export").json()

    assert body["jobId"] == newest and body["status"] == "queued"


def test_completed_job_has_progress_and_an_expiring_link(exported, workspace, owner_client, settings):
    with freeze_time(timezone.now()):
        body = owner_client.get(f"{API}/{workspace.slug}/export/{exported.pk}").json()
        expected_expiry = timezone.now() + settings.EXPORT_DOWNLOAD_LINK_TTL

    assert body["jobId"] == str(exported.pk)
    assert body["status"] == "completed"
    assert body["progress"] == {
        "stage": "done",
        "rowsDone": exported.rows_total,
        "rowsTotal": exported.rows_total,
        "percent": 100,
    }
    assert body["downloadUrl"].startswith(
        f"http://testserver{API}/{workspace.slug}/export/{exported.pk}/download?token="
    )
    assert body["downloadExpiresAt"] == expected_expiry.isoformat().replace("+00:00", "Z")
    assert body["errorMessage"] is None
    assert body["createdAt"].endswith("Z")


def test_queued_job_has_no_link_yet(workspace, owner_client):
    job = ExportJob.objects.create(workspace=workspace)

    body = owner_client.get(f"{API}/{workspace.slug}/export/{job.pk}").json()

    assert (body["status"], body["downloadUrl"], body["downloadExpiresAt"]) == ("queued", None, None)
    assert body["progress"] == {"stage": "queued", "rowsDone": 0, "rowsTotal": None, "percent": 0}


def test_progress_percent_of_a_running_job(workspace, owner_client):
    job = ExportJob.objects.create(
        workspace=workspace, status="running", stage="writing:members", rows_done=50, rows_total=200
    )

    body = owner_client.get(f"{API}/{workspace.slug}/export/{job.pk}").json()

    assert body["progress"] == {"stage": "writing:members", "rowsDone": 50, "rowsTotal": 200, "percent": 25}


def test_job_of_another_workspace_is_not_found(workspace, owner_client, other_workspace):
    foreign = ExportJob.objects.create(workspace=other_workspace)

    response = owner_client.get(f"{API}/{workspace.slug}/export/{foreign.pk}")

    assert_error(response, status=404, code="EXPORT_NOT_FOUND")


def test_malformed_job_id_is_not_found(workspace, owner_client):
    assert_error(owner_client.get(f"{API}/{workspace.slug}/export/not-a-uuid"), status=404, code="EXPORT_NOT_FOUND")


def test_reading_a_job_takes_two_queries(exported, workspace, owner_client, django_assert_num_queries):
    with django_assert_num_queries(2):  # the membership with its user, workspace and plan, the job
        response = owner_client.get(f"{API}/{workspace.slug}/export/{exported.pk}")

    assert response.status_code == 200


def test_reading_the_latest_job_takes_two_queries(exported, workspace, owner_client, django_assert_num_queries):
    with django_assert_num_queries(2):
        response = owner_client.get(f"{API}/{workspace.slug}/export")

    assert response.status_code == 200


# --- downloading


def test_download_serves_the_archive_and_records_it(exported, workspace, owner_client, api_client):
    url = owner_client.get(f"{API}/{workspace.slug}/export/{exported.pk}").json()["downloadUrl"]

    response = download(api_client, url)  # the signed link is the credential: no bearer token

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f'filename="{workspace.slug}-export-' in response["Content-Disposition"]
    payload = b"".join(response.streaming_content)
    assert hashlib.sha256(payload).hexdigest() == exported.checksum_sha256 and len(payload) == exported.file_size
    assert AuditEvent.objects.filter(workspace=workspace, type="export.downloaded").count() == 1


def test_an_expired_link_is_gone_and_a_new_read_hands_out_a_fresh_one(
    exported, workspace, owner_client, api_client, settings
):
    url = owner_client.get(f"{API}/{workspace.slug}/export/{exported.pk}").json()["downloadUrl"]

    with freeze_time(timezone.now() + settings.EXPORT_DOWNLOAD_LINK_TTL + timedelta(seconds=5)):
        assert_error(download(api_client, url), status=410, code="DOWNLOAD_LINK_EXPIRED")
        fresh = owner_client.get(f"{API}/{workspace.slug}/export/{exported.pk}").json()["downloadUrl"]
        response = download(api_client, fresh)

    assert fresh != url
    assert response.status_code == 200


def test_a_tampered_link_is_forbidden(exported, workspace, owner_client, api_client):
    url = owner_client.get(f"{API}/{workspace.slug}/export/{exported.pk}").json()["downloadUrl"]

    assert_error(download(api_client, url[:-3] + "xyz"), status=403, code="INVALID_DOWNLOAD_LINK")


def test_a_link_without_token_is_forbidden(exported, workspace, api_client):
    response = api_client.get(f"{API}/{workspace.slug}/export/{exported.pk}/download")

    assert_error(response, status=403, code="INVALID_DOWNLOAD_LINK")


def test_a_link_is_bound_to_its_workspace(
    exported, workspace, owner_client, api_client, django_capture_on_commit_callbacks
):
    other = WorkspaceFactory.create()
    foreign_job = request_export(client_for(other.owner), other, django_capture_on_commit_callbacks)
    token = owner_client.get(f"{API}/{workspace.slug}/export/{exported.pk}").json()["downloadUrl"].split("token=")[1]

    for path in (
        f"{API}/{other.slug}/export/{exported.pk}/download",  # our job under another workspace's slug
        f"{API}/{other.slug}/export/{foreign_job.pk}/download",  # our token for another workspace's job
    ):
        assert_error(api_client.get(path, {"token": token}), status=403, code="INVALID_DOWNLOAD_LINK")


# --- retention


def test_retention_sweep_deletes_the_file_and_the_job_reads_expired(
    exported, workspace, owner_client, api_client, workspace_files, settings
):
    url = owner_client.get(f"{API}/{workspace.slug}/export/{exported.pk}").json()["downloadUrl"]
    after_retention = exported.expires_at + timedelta(seconds=1)

    with freeze_time(after_retention):
        expired = services.expire_export_files(now=timezone.now())
        body = client_for(workspace.owner).get(f"{API}/{workspace.slug}/export/{exported.pk}").json()

    assert expired == 1
    assert not workspace_files.exists(exported.file_name)
    assert (body["status"], body["downloadUrl"], body["downloadExpiresAt"]) == ("expired", None, None)
    assert_error(download(api_client, url), status=410, code="EXPORT_EXPIRED")


def test_retention_sweep_keeps_files_still_within_retention(exported, workspace_files):
    with freeze_time(exported.expires_at - timedelta(minutes=1)):
        assert services.expire_export_files(now=timezone.now()) == 0

    assert workspace_files.exists(exported.file_name)


def test_a_link_never_outlives_the_files_retention(exported, workspace):
    with freeze_time(exported.expires_at - timedelta(minutes=2)):
        body = client_for(workspace.owner).get(f"{API}/{workspace.slug}/export/{exported.pk}").json()

    assert body["downloadExpiresAt"] == exported.expires_at.isoformat().replace("+00:00", "Z")


# --- faults


@pytest.fixture
def broken_section(monkeypatch):
    """A section whose serializer raises halfway: a fault the real sections cannot be made to cause."""

    def explode(user):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(
        export_registry._sections,
        "broken",
        ExportSection(
            name="broken", queryset=lambda workspace: type(workspace.owner).objects.order_by("pk"), serialize=explode
        ),
    )


def test_a_failed_export_records_its_error_and_leaves_no_file(
    broken_section, workspace, owner_client, django_capture_on_commit_callbacks, workspace_files
):
    job = request_export(owner_client, workspace, django_capture_on_commit_callbacks)

    body = owner_client.get(f"{API}/{workspace.slug}/export/{job.pk}").json()
    assert body["status"] == "failed"
    assert body["errorMessage"].startswith("The export failed (RuntimeError)")
    assert body["downloadUrl"] is None
    assert not workspace_files.exists(f"workspaces/{workspace.pk}/exports/{job.pk}.zip")
    assert AuditEvent.objects.filter(workspace=workspace, type="export.failed").count() == 1


def test_after_a_failed_export_a_new_one_is_accepted(
    broken_section, workspace, owner_client, django_capture_on_commit_callbacks
):
    request_export(owner_client, workspace, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=False):
        response = owner_client.post(f"{API}/{workspace.slug}/export")

    assert response.status_code == 202


def test_sweeper_fails_a_job_whose_worker_stopped_beating(
    settings, workspace, owner_client, django_capture_on_commit_callbacks, workspace_files
):
    """What a worker killed mid-export leaves behind: `running`, a stale heartbeat, maybe a partial file."""
    settings.EXPORT_HEARTBEAT_TIMEOUT = timedelta(minutes=10)
    started = timezone.now() - timedelta(minutes=11)
    job = ExportJob.objects.create(
        workspace=workspace,
        status="running",
        stage="writing:members",
        rows_done=10,
        rows_total=40,
        started_at=started,
        heartbeat_at=started,
    )
    partial = workspace_files.save(f"workspaces/{workspace.pk}/exports/{job.pk}.zip", io.BytesIO(b"PK\x03\x04partial"))

    assert services.sweep_stalled_exports(now=timezone.now()) == 1

    body = owner_client.get(f"{API}/{workspace.slug}/export/{job.pk}").json()
    assert body["status"] == "failed"
    assert body["errorMessage"] == "The export stopped: its worker stopped responding. Request a new export."
    assert not workspace_files.exists(partial)
    with django_capture_on_commit_callbacks(execute=False):
        assert owner_client.post(f"{API}/{workspace.slug}/export").status_code == 202


def test_sweeper_leaves_a_job_with_a_recent_heartbeat_alone(settings, workspace):
    settings.EXPORT_HEARTBEAT_TIMEOUT = timedelta(minutes=10)
    job = ExportJob.objects.create(
        workspace=workspace, status="running", heartbeat_at=timezone.now() - timedelta(minutes=9)
    )

    assert services.sweep_stalled_exports(now=timezone.now()) == 0
    job.refresh_from_db()
    assert job.status == "running"


def test_sweeper_fails_a_job_no_worker_ever_picked_up(settings, workspace):
    settings.EXPORT_QUEUED_TIMEOUT = timedelta(hours=1)
    with freeze_time(timezone.now() - timedelta(hours=2)):
        job = ExportJob.objects.create(workspace=workspace)

    services.sweep_stalled_exports(now=timezone.now())

    job.refresh_from_db()
    assert job.status == "failed" and "never started" in job.error_message


def test_a_redelivered_task_does_not_run_a_job_twice(exported, workspace_files):
    from workspaces.tasks import run_export

    run_export.apply(args=(str(exported.pk),))

    exported.refresh_from_db()
    assert exported.status == "completed"
    assert sorted(workspace_files.listdir(f"workspaces/{exported.workspace_id}/exports")[1]) == [f"{exported.pk}.zip"]


def test_an_export_failed_by_the_sweeper_midway_discards_its_file(
    workspace, owner_client, django_capture_on_commit_callbacks, monkeypatch, workspace_files
):
    record_progress = services.record_export_progress

    def sweeper_strikes_during_upload(**kwargs):  # the sweeper fails the job while its file is being stored
        record_progress(**kwargs)
        if kwargs["stage"] == "uploading":
            services.fail_export_job(job=kwargs["job"], message="The export stopped: its worker stopped responding.")

    monkeypatch.setattr(services, "record_export_progress", sweeper_strikes_during_upload)

    job = request_export(owner_client, workspace, django_capture_on_commit_callbacks)

    assert job.status == "failed" and job.error_message.startswith("The export stopped")
    assert workspace_files.listdir(f"workspaces/{workspace.pk}/exports") == ([], [])


@pytest.mark.django_db(transaction=True)
def test_broker_down_answers_503_and_leaves_no_job_queued(broker_at, closed_port):
    workspace = WorkspaceFactory.create()
    client = client_for(workspace.owner)
    broker_at(f"redis://127.0.0.1:{closed_port}/0")  # a real broker URL with nothing listening

    response = client.post(f"{API}/{workspace.slug}/export")

    assert_error(response, status=503, code="QUEUE_UNAVAILABLE")
    assert response["Retry-After"] == str(QUEUE_RETRY_AFTER_SECONDS)
    job = ExportJob.objects.get(workspace=workspace)
    assert job.status == "failed"
    assert job.error_message == "The export could not be queued: the task queue is unavailable."
    # The request was committed (and audited) before the broker was asked; then the job failed.
    events = AuditEvent.objects.filter(workspace=workspace, resource_id=str(job.pk)).order_by("created_at")
    assert [(event.type, event.actor_id) for event in events] == [
        ("export.requested", str(workspace.owner.pk)),
        ("export.failed", str(workspace.owner.pk)),
    ]


@pytest.mark.django_db(transaction=True)
def test_inside_a_callers_transaction_the_task_is_published_on_commit(broker_at, closed_port):
    workspace = WorkspaceFactory.create()
    broker_at(f"redis://127.0.0.1:{closed_port}/0")

    with transaction.atomic():
        job = services.request_export(workspace=workspace, actor=workspace.owner)  # no error: nothing sent yet
        job.refresh_from_db()
        assert job.status == "queued"

    job.refresh_from_db()  # the broker refused it after the commit: the job is failed, never left queued
    assert (job.status, job.error_message) == (
        "failed",
        "The export could not be queued: the task queue is unavailable.",
    )
    assert job.requested_by == workspace.owner


@pytest.mark.django_db(transaction=True)
def test_once_the_broker_is_back_a_new_export_is_accepted(broker_at, closed_port):
    workspace = WorkspaceFactory.create()
    client = client_for(workspace.owner)
    broker_at(f"redis://127.0.0.1:{closed_port}/0")
    client.post(f"{API}/{workspace.slug}/export")

    broker_at("memory://")  # an in-process broker: up, nothing consumes
    response = client.post(f"{API}/{workspace.slug}/export")

    assert response.status_code == 202
    assert ExportJob.objects.filter(workspace=workspace, status="queued").count() == 1


def test_a_link_to_a_file_removed_from_storage_is_gone(exported, workspace, owner_client, api_client, workspace_files):
    url = owner_client.get(f"{API}/{workspace.slug}/export/{exported.pk}").json()["downloadUrl"]
    workspace_files.delete(exported.file_name)  # e.g. removed by an operator or a bucket lifecycle rule

    assert_error(download(api_client, url), status=410, code="EXPORT_EXPIRED")
