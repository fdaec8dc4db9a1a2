"""Reads of the audit log. Every list is newest first by id within one workspace."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from audit.chain import ChainBreak, find_break
from audit.events import STAFF_ONLY_EVENT_TYPES
from audit.models import AuditChain, AuditEvent
from centrali.paging import CursorParams, keyset_page

if TYPE_CHECKING:
    from workspaces.models import Workspace

# (events, next_cursor, has_more)
EventPage = tuple[list[AuditEvent], str | None, bool]


@dataclass(frozen=True)
class ActivityFilters:
    resource_type: str | None = None
    type: str | None = None
    actor_id: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None  # exclusive
    search: str | None = None


def workspace_visible_events(*, workspace: Workspace) -> QuerySet[AuditEvent]:
    """The events a workspace's members may read: all of its log but the staff-only types."""
    return AuditEvent.objects.filter(workspace=workspace).exclude(type__in=STAFF_ONLY_EVENT_TYPES)


def recent_activity(*, workspace: Workspace, limit: int = 10) -> list[AuditEvent]:
    """The workspace's newest audit events, newest first."""
    return list(workspace_visible_events(workspace=workspace).order_by("-id")[:limit])


def filtered_events(*, workspace: Workspace, filters: ActivityFilters) -> QuerySet[AuditEvent]:
    """The workspace's events matching `filters`, unordered (callers order by -id)."""
    events = workspace_visible_events(workspace=workspace)
    if filters.resource_type:
        events = events.filter(resource_type=filters.resource_type)
    if filters.type:
        events = events.filter(type=filters.type)
    if filters.actor_id:
        events = events.filter(actor_id=filters.actor_id)
    if filters.date_from:
        events = events.filter(created_at__gte=filters.date_from)
    if filters.date_to:
        events = events.filter(created_at__lt=filters.date_to)
    if filters.search:
        events = events.filter(Q(summary__icontains=filters.search) | Q(resource_id__icontains=filters.search))
    return events


def activity_page(*, workspace: Workspace, filters: ActivityFilters, cursor: CursorParams) -> EventPage:
    """One keyset page of the workspace's activity, one query."""
    return keyset_page(filtered_events(workspace=workspace, filters=filters), cursor)


def resource_history_page(
    *, workspace: Workspace, resource_type: str, resource_id: str, cursor: CursorParams
) -> EventPage:
    """One keyset page of the events about one resource of the workspace, one query."""
    events = workspace_visible_events(workspace=workspace).filter(resource_type=resource_type, resource_id=resource_id)
    return keyset_page(events, cursor)


def events_for_export(*, workspace: Workspace, filters: ActivityFilters) -> Iterator[AuditEvent]:
    """An iterator over every matching event, newest first, that never holds the whole set in memory."""
    return filtered_events(workspace=workspace, filters=filters).order_by("-id").iterator(chunk_size=2000)


def verify_chain(*, workspace_id: uuid.UUID) -> ChainBreak | None:
    """The first broken link of the workspace's chain, or None if it is intact."""
    chain = AuditChain.objects.filter(workspace_id=workspace_id).first()
    events = AuditEvent.objects.filter(workspace_id=workspace_id).order_by("id").iterator(chunk_size=2000)
    return find_break(
        workspace_id=workspace_id,
        events=events,
        head_hash=chain.head_hash if chain else "",
        length=chain.length if chain else 0,
    )


def workspaces_with_audit_log() -> list[uuid.UUID]:
    """Ids of every workspace that has a chain or events."""
    with_events = set(AuditEvent.objects.order_by().values_list("workspace_id", flat=True).distinct())
    return sorted(with_events | set(AuditChain.objects.values_list("workspace_id", flat=True)), key=str)
