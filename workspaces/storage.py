"""The workspace file storage (STORAGES["workspace_files"]): each workspace's area, export archives,
and the expiring links that hand an archive out.

Layout: workspaces/<workspace id>/ holds everything of one workspace, so purge removes one prefix.
Links: S3 presigned URLs when the storage is S3; otherwise a signed, timestamped token for the
download view, bound to the job and the workspace.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Callable
from datetime import datetime
from typing import IO, Any
from uuid import UUID

from django.conf import settings
from django.core import signing
from django.core.files.storage import Storage, storages
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from storages.backends.s3 import S3Storage

from workspaces.models import ExportJob, ExportStatus

ALIAS = "workspace_files"
DOWNLOAD_SIGNING_SALT = "workspaces.export-download"


def workspace_files() -> Storage:
    return storages[ALIAS]


def area_prefix(workspace_id: UUID | str) -> str:
    return f"workspaces/{workspace_id}"


def area_marker(workspace_id: UUID | str) -> str:
    return f"{area_prefix(workspace_id)}/.area"


def export_file_name(workspace_id: UUID | str, job_id: UUID | str) -> str:
    return f"{area_prefix(workspace_id)}/exports/{job_id}.zip"


def delete_file(name: str) -> None:
    storage = workspace_files()
    if name and storage.exists(name):
        storage.delete(name)


def delete_area(workspace_id: UUID | str) -> int:
    """Delete every file under the workspace's prefix; returns how many were deleted."""
    storage = workspace_files()
    deleted = 0
    pending = [area_prefix(workspace_id)]
    while pending:
        directory = pending.pop()
        try:
            subdirectories, files = storage.listdir(directory)
        except FileNotFoundError:
            continue
        for file_name in files:
            storage.delete(posixpath.join(directory, file_name))
            deleted += 1
        pending.extend(posixpath.join(directory, sub) for sub in subdirectories)
    _remove_empty_directories(storage, area_prefix(workspace_id))
    return deleted


def _remove_empty_directories(storage: Storage, prefix: str) -> None:
    """A filesystem storage keeps empty directories behind; object stores have none."""
    try:
        root = storage.path(prefix)
    except NotImplementedError:
        return
    for directory, _subdirectories, _files in sorted(os.walk(root), key=lambda entry: -len(entry[0])):
        with contextlib.suppress(OSError):
            os.rmdir(directory)


def open_archive(job: ExportJob) -> IO[Any] | None:
    """The job's archive opened for reading, or None when it is gone (expired, deleted, never written)."""
    if job.status != ExportStatus.COMPLETED or job.expires_at is None or job.expires_at <= timezone.now():
        return None
    try:
        return workspace_files().open(job.file_name, "rb")
    except FileNotFoundError:
        return None


def download_link(job: ExportJob, *, absolute_uri: Callable[[str], str]) -> tuple[str, datetime] | tuple[None, None]:
    """(url, expires_at) for a completed job's archive, (None, None) when there is no file to hand out.

    Every call issues a fresh link; it never outlives the file's retention. `absolute_uri` turns
    the download view's path into a full URL (the API edge passes request.build_absolute_uri).
    """
    now = timezone.now()
    if job.status != ExportStatus.COMPLETED or job.expires_at is None or job.expires_at <= now:
        return None, None
    expires_at = min(now + settings.EXPORT_DOWNLOAD_LINK_TTL, job.expires_at)
    ttl = expires_at - now
    storage = workspace_files()
    file_name = f"{job.workspace.slug}-export-{job.created_at:%Y%m%d-%H%M%S}.zip"
    if isinstance(storage, S3Storage):
        url: str = storage.url(
            job.file_name,
            expire=int(ttl.total_seconds()),
            parameters={"ResponseContentDisposition": f'attachment; filename="{file_name}"'},
        )
        return url, expires_at
    token = signing.TimestampSigner(salt=DOWNLOAD_SIGNING_SALT).sign_object(
        {"job": str(job.pk), "workspace": str(job.workspace_id)}
    )
    path = reverse("workspace-export-download", kwargs={"slug": job.workspace.slug, "jobId": job.pk})
    return absolute_uri(f"{path}?{urlencode({'token': token})}"), expires_at


class DownloadLinkExpired(Exception):
    pass


class DownloadLinkInvalid(Exception):
    pass


def verify_download_token(token: str, *, job_id: UUID | str, workspace_id: UUID | str) -> None:
    """Raises DownloadLinkExpired / DownloadLinkInvalid unless `token` grants this job of this workspace."""
    signer = signing.TimestampSigner(salt=DOWNLOAD_SIGNING_SALT)
    try:
        payload = signer.unsign_object(token, max_age=settings.EXPORT_DOWNLOAD_LINK_TTL)
    except signing.SignatureExpired as exc:
        raise DownloadLinkExpired from exc
    except signing.BadSignature as exc:
        raise DownloadLinkInvalid from exc
    if payload != {"job": str(job_id), "workspace": str(workspace_id)}:
        raise DownloadLinkInvalid
