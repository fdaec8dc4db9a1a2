"""Reads of the audit log. Every list is newest first by id within one workspace."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.db.models import CharField, Count, Exists, Func, OuterRef, Q, QuerySet, Subquery, TextField
from django.db.models.functions import Cast

from audit.chain import ChainBreak, find_break
from audit.events import STAFF_ONLY_EVENT_TYPES
from audit.models import AuditChain, AuditCheckpoint, AuditEvent
from centrali.compiled import CompiledQuery
from centrali.formats import iso_utc
from centrali.paging import CursorParams, keyset_page, keyset_result
from workspaces.models import Membership

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
    return _visible_events(workspace_id=workspace.pk)


def _visible_events(*, workspace_id: uuid.UUID) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(workspace_id=workspace_id).exclude(type__in=sorted(STAFF_ONLY_EVENT_TYPES))


# What a page of the log shows (audit.serializers.AuditEntrySerializer): the chain's keyed digests,
# salt, seal and redacted twin stay behind (the twin is a second JSON document per row).
_SHOWN_FIELDS = ("workspace_id", "type", "resource_type", "resource_id", "actor_id", "actor_type", "summary",
                 "metadata", "ip_address", "user_agent", "request_id", "created_at", "entry_hash", "previous_hash")  # fmt: skip


class _UuidText(Func):
    """A UUID column as the text `str(uuid)` gives (actor ids are stored that way): PostgreSQL casts
    its native uuid so; SQLite keeps 32 hex digits, which get their hyphens back."""

    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="(%(expressions)s)::text", **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        parts = "||'-'||".join(f"substr(%(expressions)s, {start}, {length})" for start, length in _UUID_GROUPS)
        return self.as_sql(compiler, connection, template=f"lower({parts})", **extra)


_UUID_GROUPS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))


def _member_activity_rows(*, workspace_id: uuid.UUID, since: datetime) -> QuerySet[Membership, tuple[int, int]]:
    acted = _visible_events(workspace_id=workspace_id).filter(
        actor_id=_UuidText(OuterRef("user_id")), created_at__gte=since
    )
    return (
        Membership.objects.filter(workspace_id=workspace_id)
        .values_list("workspace_id")
        .annotate(total=Count("id"), active=Count("id", filter=Exists(acted)))
        .values_list("total", "active")
        .order_by()
    )


# The overview reads these on every request: compiled once (centrali.compiled).
_MEMBER_ACTIVITY = CompiledQuery(
    _member_activity_rows,
    placeholders={
        "workspace_id": (Membership, "workspace", uuid.UUID(int=0)),
        "since": (AuditEvent, "created_at", datetime(1, 1, 1, tzinfo=UTC)),
    },
)


def member_activity_counts(*, workspace: Workspace, since: datetime) -> tuple[int, int]:
    """(members, members who acted in the workspace's visible log since `since`), in one query.

    Each member is one index probe (audit_ws_actor_created) that stops at its first event since
    then, so the cost follows the number of members, not the number of events."""
    rows = _MEMBER_ACTIVITY.fetch_rows(workspace_id=workspace.pk, since=since)
    return rows[0] if rows else (0, 0)


def _newest_events(*, workspace_id: uuid.UUID, variant: int) -> QuerySet[AuditEvent]:
    return _visible_events(workspace_id=workspace_id).only(*_SHOWN_FIELDS).order_by("-id")[:variant]


_NEWEST_EVENTS = CompiledQuery(
    _newest_events,
    placeholders={"workspace_id": (AuditEvent, "workspace", uuid.UUID(int=0))},
)


def recent_activity(*, workspace: Workspace, limit: int = 10) -> list[AuditEvent]:
    """The workspace's newest audit events, newest first (compiled once per `limit`)."""
    return _NEWEST_EVENTS.fetch(workspace_id=workspace.pk, variant=limit)


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


def _events_before(*, workspace_id: uuid.UUID, before: int, variant: int) -> QuerySet[AuditEvent]:
    # Where the workspace holds most of the table, PostgreSQL walks the primary key backwards from
    # the cursor; on the last page it would walk on through every older event of the other
    # workspaces. The workspace's first id (min over its index) stops that walk where its log starts.
    first_id = AuditEvent.objects.filter(workspace_id=workspace_id).order_by("id").values("id")[:1]
    return (
        _visible_events(workspace_id=workspace_id)
        .filter(id__lt=before, id__gte=Subquery(first_id))
        .order_by("-id")[:variant]
    )


_EVENTS_BEFORE = CompiledQuery(
    _events_before,
    placeholders={"workspace_id": (AuditEvent, "workspace", uuid.UUID(int=0)), "before": (AuditEvent, "id", -1)},
)


def activity_page(*, workspace: Workspace, filters: ActivityFilters, cursor: CursorParams) -> EventPage:
    """One keyset page of the workspace's activity, one query; unfiltered (the console's log, every
    step of a walk through it) a compiled one, per page size."""
    if filters == ActivityFilters():
        if cursor.after is None:
            rows = _NEWEST_EVENTS.fetch(workspace_id=workspace.pk, variant=cursor.limit + 1)
        else:
            rows = _EVENTS_BEFORE.fetch(workspace_id=workspace.pk, before=cursor.after, variant=cursor.limit + 1)
        return keyset_result(rows, cursor)
    events = filtered_events(workspace=workspace, filters=filters)
    if cursor.after is not None:
        first_id = AuditEvent.objects.filter(workspace=workspace).order_by("id").values("id")[:1]
        events = events.filter(id__gte=Subquery(first_id))  # as in _events_before
    return keyset_page(events, cursor)


def resource_history_page(
    *, workspace: Workspace, resource_type: str, resource_id: str, cursor: CursorParams
) -> EventPage:
    """One keyset page of the events about one resource of the workspace, one query."""
    events = workspace_visible_events(workspace=workspace).filter(resource_type=resource_type, resource_id=resource_id)
    return keyset_page(events, cursor)


def events_for_export(*, workspace: Workspace, filters: ActivityFilters) -> QuerySet[AuditEvent]:
    """Every matching event, newest first; the caller streams it (audit.csv_export), never loading it whole."""
    return filtered_events(workspace=workspace, filters=filters).order_by("-id")


def latest_checkpoint(*, workspace_id: uuid.UUID) -> AuditCheckpoint | None:
    """The newest retention checkpoint of the workspace, where its remaining chain starts."""
    return AuditCheckpoint.objects.filter(workspace_id=workspace_id).order_by("-events_dropped").first()


def log_complete_from(*, workspace: Workspace) -> datetime:
    """From when the workspace's audit log is complete: the newest retention cut, else its creation."""
    checkpoint = latest_checkpoint(workspace_id=workspace.pk)
    return checkpoint.complete_from if checkpoint else workspace.created_at


def verify_chain(*, workspace_id: uuid.UUID) -> ChainBreak | None:
    """The first broken link of the workspace's chain, or None if it is intact."""
    chain = AuditChain.objects.filter(workspace_id=workspace_id).first()
    events = AuditEvent.objects.filter(workspace_id=workspace_id).order_by("id").iterator(chunk_size=2000)
    return find_break(
        workspace_id=workspace_id,
        events=events,
        head_hash=chain.head_hash if chain else "",
        length=chain.length if chain else 0,
        checkpoint=latest_checkpoint(workspace_id=workspace_id),
    )


# Ids shorter than this are not searched for in free text (a short id would match everything).
_MIN_SEARCHED_ID_LENGTH = 8


def person_events(*, actor_ids: Collection[str], emails: Collection[str]) -> QuerySet[AuditEvent]:
    """Every workspace's events where one of `actor_ids` acts or is the resource, or whose summary or
    metadata names one of `emails` or `actor_ids` (case-insensitive), in id order. A scan of the
    table: for rare requests."""
    ids = {str(actor_id) for actor_id in actor_ids if str(actor_id)}
    needles = {email.strip() for email in emails if email and email.strip()}
    needles |= {actor_id for actor_id in ids if len(actor_id) >= _MIN_SEARCHED_ID_LENGTH}
    condition = Q(actor_id__in=ids) | Q(resource_id__in=ids)
    for needle in sorted(needles):
        condition |= Q(summary__icontains=needle) | Q(metadata_text__icontains=needle)
    return (
        AuditEvent.objects.annotate(metadata_text=Cast("metadata", output_field=TextField()))
        .filter(condition)
        .order_by("id")
    )


def event_as_dict(event: AuditEvent) -> dict[str, Any]:
    """One event as exported (snake_case keys, JSON-serializable)."""
    return {
        "id": str(event.pk),
        "type": event.type,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "actor_id": event.actor_id,
        "actor_type": event.actor_type,
        "summary": event.summary,
        "metadata": event.metadata,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "created_at": iso_utc(event.created_at),
        "previous_hash": event.previous_hash,
        "hash": event.entry_hash,
    }


def events_of_person(*, actor_ids: Collection[str], emails: Collection[str]) -> Iterator[dict[str, Any]]:
    """The person's audit events across workspaces (person_events), oldest first, as dicts with the
    workspace's id and slug and whether the person acted; streamed, never all in memory."""
    ids = {str(actor_id) for actor_id in actor_ids}
    events = person_events(actor_ids=ids, emails=emails).select_related("workspace")
    for event in events.iterator(chunk_size=2000):
        yield {
            "workspace_id": str(event.workspace_id),
            "workspace_slug": event.workspace.slug,
            "acted": event.actor_id in ids,
            **event_as_dict(event),
        }


def workspaces_with_audit_log() -> list[uuid.UUID]:
    """Ids of every workspace that has a chain or events."""
    with_events = set(AuditEvent.objects.order_by().values_list("workspace_id", flat=True).distinct())
    return sorted(with_events | set(AuditChain.objects.values_list("workspace_id", flat=True)), key=str)
