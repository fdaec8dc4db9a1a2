"""The sections of a workspace's full-data export archive.

Each app that owns workspace data registers its sections from its AppConfig.ready(),
so the exporter (workspaces.tasks) never needs to know other apps' models:

    register_export_section(ExportSection(
        name="support_issues",                                   # -> support_issues.jsonl
        queryset=lambda workspace: SupportIssue.objects.filter(workspace=workspace).order_by("pk"),
        serialize=lambda issue: {"id": str(issue.pk), ...},      # JSON-serializable dict
    ))

The exporter counts each queryset for progress and streams it with .iterator(), so a
section must be a queryset in a stable order, never a list.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_sections: dict[str, "ExportSection"] = {}


@dataclass(frozen=True)
class ExportSection:
    name: str
    queryset: Callable[[Any], Any]
    serialize: Callable[[Any], dict]


def register_export_section(section):
    _sections[section.name] = section


def export_sections():
    """Registered sections, in registration order."""
    return list(_sections.values())
