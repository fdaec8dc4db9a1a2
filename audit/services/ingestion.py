"""Events that platform services report about resources they own (POST internal/audit-events)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from django.db import IntegrityError, transaction

from audit.events import is_platform_event_type
from audit.models import AuditEvent
from audit.services.recording import record
from centrali.errors import InvalidInput
from workspaces.selectors import get_workspace_by_ref

if TYPE_CHECKING:
    from workspaces.models import Workspace


class PlatformEvent(TypedDict):
    """One reported event, as audit.serializers.PlatformEventSerializer validates it."""

    event_id: str  # the reporter's, unique within a workspace
    workspace: str  # slug or id
    type: str
    resource_type: str
    resource_id: str
    summary: str
    actor_id: str
    actor_type: str
    metadata: dict[str, Any]
    occurred_at: NotRequired[datetime]
    ip_address: str | None
    user_agent: str
    request_id: str


def _workspaces_of(events: Sequence[PlatformEvent]) -> dict[str, Workspace]:
    """Each workspace the batch names, by the reference it uses; the whole batch is refused
    (400 naming the event) when one names an unknown workspace or uses one of our own types."""
    workspaces: dict[str, Workspace] = {}
    for index, item in enumerate(events):
        ref = item["workspace"]
        if ref not in workspaces:
            found = get_workspace_by_ref(ref)
            if found is None:
                raise InvalidInput.for_field(
                    f"events.{index}.workspace", f"No workspace {ref!r}.", code="WORKSPACE_NOT_FOUND"
                )
            workspaces[ref] = found
        if not is_platform_event_type(item["type"]):
            raise InvalidInput.for_field(
                f"events.{index}.type", f"{item['type']!r} is reserved for the workspace service's own events."
            )
    return workspaces


def ingest_platform_events(*, events: Sequence[PlatformEvent], service_name: str) -> tuple[list[str], list[str]]:
    """Record a batch of events reported by a platform service, idempotent on each event id (per workspace).

    The batch is validated whole, then each new event is appended to its workspace's chain;
    ids already recorded are skipped. Returns (accepted ids, duplicate ids).
    """
    workspaces = _workspaces_of(events)
    already = set(
        AuditEvent.objects.filter(
            workspace_id__in={workspace.pk for workspace in workspaces.values()},
            event_id__in={item["event_id"] for item in events},
        ).values_list("workspace_id", "event_id")
    )
    accepted: list[str] = []
    duplicates: list[str] = []
    for item in events:
        workspace = workspaces[item["workspace"]]
        key = (workspace.pk, item["event_id"])
        if key in already:
            duplicates.append(item["event_id"])
            continue
        try:
            with transaction.atomic():
                record(
                    workspace=workspace,
                    event_type=item["type"],
                    resource_type=item["resource_type"],
                    resource_id=item["resource_id"],
                    summary=item["summary"],
                    actor_type=item["actor_type"],
                    actor_id=item["actor_id"],
                    metadata=item["metadata"],
                    reported_by=service_name,
                    event_id=item["event_id"],
                    occurred_at=item.get("occurred_at"),
                    # What the reporter says, never the reporting request's own origin.
                    ip_address=item["ip_address"] or "",
                    user_agent=item["user_agent"] or "",
                    request_id=item["request_id"] or "",
                )
        except IntegrityError:
            # The same event id committed by a concurrent delivery of this batch.
            duplicates.append(item["event_id"])
            continue
        already.add(key)
        accepted.append(item["event_id"])
    return accepted, duplicates
