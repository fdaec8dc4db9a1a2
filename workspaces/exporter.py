"""The full-data export: one zip archive per job, written by the `workspaces.run_export` task.

The archive holds one JSON Lines file per registered section (centrali.exports.export_sections())
and manifest.json with each file's row count and SHA-256. Rows stream from the database in
batches (queryset.iterator) straight into the compressed zip entry on local disk, so memory stays
flat however large the workspace is; the finished file is then handed to the workspace storage.
"""

import hashlib
import json
import logging
import tempfile
import zipfile

from django.conf import settings
from django.core.files import File
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from centrali.exports import export_sections
from workspaces import services
from workspaces import storage as workspace_storage
from workspaces.services import ExportAbandoned

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
ARCHIVE_FORMAT = "centrali.workspace-export"
ARCHIVE_FORMAT_VERSION = 1
_CHUNK = 1024 * 1024


def _json_line(record):
    return (json.dumps(record, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def write_archive(*, workspace, job_id, sections, fileobj, batch_size, on_batch):
    """Write the archive into `fileobj` and return its manifest.

    on_batch(section_name, rows_done) is called after each batch and at the end of each section.
    """
    files = {}
    rows_done = 0
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for section in sections:
            entry_name = f"{section.name}.jsonl"
            digest = hashlib.sha256()
            rows = size = 0
            with archive.open(entry_name, "w", force_zip64=True) as entry:
                for row in section.queryset(workspace).iterator(chunk_size=batch_size):
                    line = _json_line(section.serialize(row))
                    entry.write(line)
                    digest.update(line)
                    rows += 1
                    size += len(line)
                    if rows % batch_size == 0:
                        on_batch(section.name, rows_done + rows)
            rows_done += rows
            on_batch(section.name, rows_done)
            files[entry_name] = {"section": section.name, "rows": rows, "bytes": size, "sha256": digest.hexdigest()}
        manifest = {
            "format": ARCHIVE_FORMAT,
            "formatVersion": ARCHIVE_FORMAT_VERSION,
            "jobId": str(job_id),
            "workspace": {"id": str(workspace.pk), "slug": workspace.slug, "name": workspace.name},
            "generatedAt": timezone.now(),
            "counts": {meta["section"]: meta["rows"] for meta in files.values()},
            "files": files,
        }
        archive.writestr(MANIFEST_NAME, json.dumps(manifest, cls=DjangoJSONEncoder, indent=2))
    return manifest


def _sha256_of(fileobj):
    fileobj.seek(0)
    digest = hashlib.sha256()
    while chunk := fileobj.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def run_export_job(job_id):
    """Run one queued export to completion (or failure). A job not queued any more is left alone."""
    job = services.claim_export_job(job_id=job_id)
    if job is None:
        logger.info("export %s is not queued (already run, failed or purged); nothing to do", job_id)
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
        logger.warning("export %s was failed by the sweeper while running; discarding its file", job.pk)
        _discard(target)
    except Exception as exc:
        logger.exception("export %s failed", job.pk)
        _discard(target)
        services.fail_export_job(
            job=job,
            message=f"The export failed ({exc.__class__.__name__}). Request a new export; "
            "contact support if it keeps failing.",
        )
    return job.pk


def _discard(name):
    try:
        workspace_storage.delete_file(name)
    except Exception:
        logger.exception("could not delete the partial export file %s", name)
