"""The full-data export: one zip archive per job, written by the `workspaces.run_export` task.

The archive holds one JSON Lines file per registered section (centrali.exports.export_sections())
and manifest.json with each file's row count and SHA-256. Rows stream from the database in
batches (queryset.iterator) straight into the compressed zip entry on local disk, so memory stays
flat however large the workspace is; the finished file is then handed to the workspace storage.

The job's state changes go through workspaces.services (looked up on the package at each call).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from functools import partial
from typing import IO, Any
from uuid import UUID

import structlog
from django.conf import settings
from django.core.files import File
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from centrali.exports import ExportSection, export_sections, write_jsonl_entry
from workspaces import services
from workspaces import storage as workspace_storage
from workspaces.models import Workspace
from workspaces.services import ExportAbandoned

logger = structlog.get_logger(__name__)

MANIFEST_NAME = "manifest.json"
ARCHIVE_FORMAT = "centrali.workspace-export"
# 2: the rows of every section use snake_case keys (1 mixed them with camelCase).
ARCHIVE_FORMAT_VERSION = 2
_CHUNK = 1024 * 1024


def _report_rows(on_batch: Callable[[str, int], object], section: str, before: int, rows: int) -> object:
    return on_batch(section, before + rows)


def write_archive(
    *,
    workspace: Workspace,
    job_id: UUID,
    sections: Iterable[ExportSection],
    fileobj: IO[bytes],
    batch_size: int,
    on_batch: Callable[[str, int], object],
) -> dict[str, Any]:
    """Write the archive into `fileobj` and return its manifest.

    on_batch(section_name, rows_done) is called after each batch and at the end of each section.
    """
    files = {}
    rows_done = 0
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for section in sections:
            entry_name = f"{section.name}.jsonl"
            written = write_jsonl_entry(
                archive,
                entry_name,
                map(section.serialize, section.queryset(workspace).iterator(chunk_size=batch_size)),
                every=batch_size,
                on_rows=partial(_report_rows, on_batch, section.name, rows_done),
            )
            rows_done += written["rows"]
            on_batch(section.name, rows_done)
            files[entry_name] = {"section": section.name, **written}
        manifest = {
            "format": ARCHIVE_FORMAT,
            "formatVersion": ARCHIVE_FORMAT_VERSION,
            "jobId": str(job_id),
            "workspace": {"id": str(workspace.pk), "slug": workspace.slug, "name": workspace.name},
            "generatedAt": timezone.now(),
            "counts": {meta["section"]: meta["rows"] for meta in files.values()},
            "files": files,
        }
        for section in sections:
            manifest.update(section.manifest(workspace) if section.manifest else {})
        archive.writestr(MANIFEST_NAME, json.dumps(manifest, cls=DjangoJSONEncoder, indent=2))
    return manifest


def _sha256_of(fileobj: IO[bytes]) -> str:
    fileobj.seek(0)
    digest = hashlib.sha256()
    while chunk := fileobj.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def run_export_job(job_id: UUID | str) -> UUID | None:
    """Run one queued export to completion (or failure); returns its id, None for a job not queued any more."""
    job = services.claim_export_job(job_id=job_id)
    if job is None:
        logger.info("export_not_queued", job_id=str(job_id), reason="already run, failed or purged")
        return None
    workspace = job.workspace
    target = workspace_storage.export_file_name(workspace.pk, job.pk)
    try:
        sections = export_sections()
        rows_total = sum(section.queryset(workspace).count() for section in sections)
        services.record_export_progress(job=job, stage="writing", rows_done=0, rows_total=rows_total)
        with tempfile.NamedTemporaryFile(prefix="export-", suffix=".zip") as spool:
            manifest = write_archive(
                workspace=workspace,
                job_id=job.pk,
                sections=sections,
                fileobj=spool,
                batch_size=settings.EXPORT_BATCH_SIZE,
                on_batch=lambda section, done: services.record_export_progress(
                    job=job, stage=f"writing:{section}", rows_done=done
                ),
            )
            size = spool.tell()
            checksum = _sha256_of(spool)
            services.record_export_progress(job=job, stage="uploading")
            spool.seek(0)
            saved_name = workspace_storage.workspace_files().save(target, File(spool, name="export.zip"))
        services.complete_export_job(
            job=job,
            rows=sum(manifest["counts"].values()),
            file_name=saved_name,
            file_size=size,
            checksum_sha256=checksum,
        )
    except ExportAbandoned:
        logger.warning("export_abandoned", job_id=str(job.pk), reason="failed by the sweeper while running")
        _discard(target)
    except Exception as exc:
        logger.exception("export_failed", job_id=str(job.pk))
        _discard(target)
        services.fail_export_job(
            job=job,
            message=f"The export failed ({exc.__class__.__name__}). Request a new export; "
            "contact support if it keeps failing.",
        )
    return job.pk


def _discard(name: str) -> None:
    try:
        workspace_storage.delete_file(name)
    except Exception:
        logger.exception("export_file_not_discarded", file_name=name)
