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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

_sections: dict[str, ExportSection] = {}


@dataclass(frozen=True)
class ExportSection:
    name: str  # the archive's `<name>.jsonl`
    queryset: Callable[[Any], QuerySet[Any]]  # the workspace's rows, in a stable order
    serialize: Callable[[Any], dict[str, Any]]  # one row as a JSON-serializable dict


def register_export_sections(sections: Iterable[ExportSection]) -> None:
    for section in sections:
        _sections[section.name] = section


def export_sections() -> list[ExportSection]:
    """Registered sections, in registration order."""
    return list(_sections.values())
