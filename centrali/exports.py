"""The sections of a workspace's full-data export archive.

Each app that owns workspace data lists its sections as `EXPORT_SECTIONS` in its own
`exports.py`, and its AppConfig.ready() registers them, so the exporter (workspaces.exporter)
never needs to know other apps' models:

    EXPORT_SECTIONS = (
        ExportSection(
            name="support_issues",                                   # -> support_issues.jsonl
            queryset=lambda workspace: SupportIssue.objects.filter(workspace=workspace).order_by("pk"),
            serialize=lambda issue: {"id": str(issue.pk), ...},      # JSON-serializable, snake_case keys
        ),
    )

    register_export_sections(EXPORT_SECTIONS)                        # in AppConfig.ready()

The exporter counts each queryset for progress and streams it with .iterator(), so a
section must be a queryset in a stable order, never a list.

`write_jsonl_entry` is the streaming writer of one JSON Lines file inside a zip archive, shared by
the workspace export (workspaces.exporter) and the export of one person (privacy).
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet

_sections: dict[str, ExportSection] = {}


@dataclass(frozen=True)
class ExportSection:
    name: str  # the archive's `<name>.jsonl`
    queryset: Callable[[Any], QuerySet[Any]]  # the workspace's rows, in a stable order
    serialize: Callable[[Any], dict[str, Any]]  # one row as a JSON-serializable dict
    # Fields the section adds to manifest.json, from the workspace (e.g. audit's auditLogCompleteFrom).
    manifest: Callable[[Any], dict[str, Any]] | None = None


def register_export_sections(sections: Iterable[ExportSection]) -> None:
    for section in sections:
        _sections[section.name] = section


def export_sections() -> list[ExportSection]:
    """Registered sections, in registration order."""
    return list(_sections.values())


# One encoder for every line (json.dumps(cls=...) would build one per row); stateless, so shareable.
_encode = DjangoJSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# Lines are written to the zip entry (and hashed) this many at a time, not one call per row.
_LINES_PER_WRITE = 1000


def json_line(row: dict[str, Any]) -> bytes:
    return (_encode(row) + "\n").encode()


def write_jsonl_entry(
    archive: zipfile.ZipFile,
    entry_name: str,
    rows: Iterable[dict[str, Any]],
    *,
    every: int = 0,
    on_rows: Callable[[int], object] | None = None,
) -> dict[str, Any]:
    """Stream `rows` into the compressed entry `entry_name`, one JSON object a line; returns the
    entry's manifest record (rows, bytes, sha256). on_rows(rows so far) is called every `every` rows."""
    digest = hashlib.sha256()
    count = size = 0
    lines: list[str] = []

    def flush() -> int:
        data = ("\n".join(lines) + "\n").encode() if lines else b""
        entry.write(data)
        digest.update(data)
        lines.clear()
        return len(data)

    with archive.open(entry_name, "w", force_zip64=True) as entry:
        for row in rows:
            lines.append(_encode(row))
            count += 1
            if len(lines) == _LINES_PER_WRITE:
                size += flush()
            if on_rows is not None and every and count % every == 0:
                on_rows(count)
        size += flush()
    return {"rows": count, "bytes": size, "sha256": digest.hexdigest()}
