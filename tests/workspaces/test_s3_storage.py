"""The workspace file storage on S3, against moto's S3 server on loopback (real HTTP, real boto3)."""

import hashlib
import io
import json
import zipfile
from datetime import timedelta

import boto3
import pytest
import requests
from django.utils import timezone
from moto.server import ThreadedMotoServer

from tests.helpers import API
from workspaces import services
from workspaces.models import ExportJob, ServiceProvisioning

pytestmark = pytest.mark.django_db

BUCKET = "centrali-exports"
CREDENTIALS = {
    "access_key": "testing",
    "secret_key": "testing",
    "region_name": "us-east-1",
    "signature_version": "s3v4",
}


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(settings, s3_endpoint):
    """STORAGES["workspace_files"] on a fresh bucket of the moto server; yields a boto3 client."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "workspace_files": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": BUCKET, "endpoint_url": s3_endpoint, "file_overwrite": False, **CREDENTIALS},
        },
    }
    yield client
    objects = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    if objects:
        client.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": o["Key"]} for o in objects]})
    client.delete_bucket(Bucket=BUCKET)


def keys(client):
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


@pytest.fixture
def exported(s3, workspace, owner_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"{API}/{workspace.slug}/export")
    assert response.status_code == 202, response.content
    return ExportJob.objects.get(pk=response.json()["jobId"])


def test_export_archive_is_stored_in_the_bucket(exported, s3, workspace):
    assert exported.status == "completed"
    assert keys(s3) == [f"workspaces/{workspace.pk}/exports/{exported.pk}.zip"]


def test_download_url_is_a_presigned_url_that_serves_the_archive(exported, s3_endpoint, workspace, owner_client):
    body = owner_client.get(f"{API}/{workspace.slug}/export/{exported.pk}").json()

    assert body["downloadUrl"].startswith(f"{s3_endpoint}/{BUCKET}/workspaces/{workspace.pk}/exports/")
    assert "X-Amz-Signature=" in body["downloadUrl"] and "X-Amz-Expires=900" in body["downloadUrl"]
    response = requests.get(body["downloadUrl"], timeout=10)
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == exported.checksum_sha256
    assert f'filename="{workspace.slug}-export-' in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["counts"]["members"] == 1
    assert hashlib.sha256(archive.read("members.jsonl")).hexdigest() == manifest["files"]["members.jsonl"]["sha256"]


def test_retention_deletes_the_object(exported, s3):
    services.expire_export_files(now=exported.expires_at + timedelta(seconds=1))

    assert keys(s3) == []
    exported.refresh_from_db()
    assert exported.status == "expired"


def test_storage_provisioner_creates_the_area_in_the_bucket(s3, settings, workspace):
    from workspaces.tasks import provision_service

    settings.WORKSPACE_PROVISIONERS = {"storage": {"class": "workspaces.provisioning.StorageProvisioner"}}
    ServiceProvisioning.objects.create(workspace=workspace, service="storage")

    provision_service.apply(args=(str(workspace.pk), "storage"))

    assert keys(s3) == [f"workspaces/{workspace.pk}/.area"]
    assert ServiceProvisioning.objects.get(workspace=workspace).status == "ready"


def test_purge_deletes_everything_under_the_workspace_prefix(exported, s3, workspace, other_workspace):
    s3.put_object(Bucket=BUCKET, Key=f"workspaces/{workspace.pk}/.area", Body=b"")
    s3.put_object(Bucket=BUCKET, Key=f"workspaces/{other_workspace.pk}/.area", Body=b"")
    workspace.status = "cancelled"
    workspace.deleted_at = timezone.now() - timedelta(days=31)
    workspace.restore_deadline = timezone.now() - timedelta(days=1)
    workspace.save()

    tombstone = services.purge_workspace(workspace=workspace, now=timezone.now())

    assert tombstone.counts["export_files"] == 2
    assert keys(s3) == [f"workspaces/{other_workspace.pk}/.area"]
