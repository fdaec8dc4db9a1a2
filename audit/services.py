"""Writes of the audit log: `record()` appends, `purge_workspace_events()` is the only deletion."""

import ipaddress
import json
from datetime import UTC

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit.chain import entry_hash
from audit.events import EVENT_TYPES, ActorType, is_platform_event_type
from audit.models import AuditChain, AuditEvent
from centrali.context import current_context
from centrali.errors import InvalidInput
from workspaces.selectors import get_workspace_by_ref, lock_workspace_for_append

_SECRET_KEYS = ("password", "secret", "token", "client_secret", "card_number", "cvc", "api_key", "authorization")

# The PostgreSQL trigger of migration 0002 lets DELETE through only while this
# transaction-local setting is on; purge_workspace_events() is the one place that sets it.
PURGE_SETTING = "centrali.audit_purge"


def _scrub(metadata):
    """Metadata never carries secrets, whatever a caller passes."""
    if isinstance(metadata, dict):
        return {
            key: "[redacted]" if any(s in str(key).lower() for s in _SECRET_KEYS) else _scrub(value)
            for key, value in metadata.items()
        }
    if isinstance(metadata, list):
        return [_scrub(item) for item in metadata]
    return metadata


def _json_native(metadata):
    """What the JSON column will give back (UUIDs, Decimals, datetimes as strings), so the hash matches it."""
    return json.loads(json.dumps(metadata, cls=DjangoJSONEncoder))


def _valid_ip(raw):
    try:
        return str(ipaddress.ip_address((raw or "").strip()))
    except ValueError:
        return None


def _default_actor_type(actor):
    return ActorType.SYSTEM if actor is None else ActorType.USER


def _lock_chain(workspace):
    """The workspace's chain head, read while holding a lock on the workspace row.

    Every append locks the workspace first, the same order as services that lock the workspace
    before recording, so concurrent appends queue instead of deadlocking (locking the head row
    first deadlocks against them: inserting the event checks its foreign key to the workspace).
    FOR NO KEY UPDATE leaves other tables' foreign-key checks against the workspace unblocked.
    The head is read by a second statement, after the lock is granted, so it is the committed
    head of the previous append. Returns (chain, is_first_event).
    """
    lock_workspace_for_append(workspace_id=workspace.pk)
    chain = AuditChain.objects.filter(workspace_id=workspace.pk).first()
    return (chain, False) if chain else (AuditChain(workspace_id=workspace.pk), True)


def record(
    *,
    workspace,
    event_type,
    resource_type,
    resource_id,
    summary,
    actor=None,
    actor_type=None,
    actor_id=None,
    metadata=None,
    event_id=None,
    occurred_at=None,
    ip_address=None,
    user_agent=None,
    request_id=None,
    reported_by=None,
):
    """Append one audit event. The one way to write the audit log.

    Call it inside the transaction of the change it records. Who acted, from which address
    and under which request id come from the acting context (centrali.context) that the
    request, the task or the command set; `actor`, `actor_type` and `actor_id` given here
    replace the context's actor (an `actor_type` alone: nobody in particular of that type),
    and `ip_address`, `user_agent` and `request_id` given here (even empty) replace its origin.
    Actor types: "user", "staff" (admin actions), "system" (webhooks, beat tasks, commands),
    "service" (a platform service). `reported_by` names the platform service that reported
    the event (internal ingestion); such events may use that service's own types
    (audit.events.is_platform_event_type).
    """
    acting = current_context()
    if actor is None and actor_type is None and actor_id is None:
        actor, actor_type, actor_id = acting.actor, acting.resolved_actor_type, acting.resolved_actor_id
    actor_type = actor_type or _default_actor_type(actor)
    if actor_type not in ActorType.values:
        raise ValueError(f"Unknown actor type {actor_type!r}; use one of audit.events.ActorType")
    known = event_type in EVENT_TYPES or event_type.startswith("platform.")
    if not known and not (reported_by and is_platform_event_type(event_type)):
        raise ValueError(f"Unknown audit event type {event_type!r}; add it to audit.events.EVENT_TYPES")
    if actor_id is None:
        actor_id = str(actor.pk) if actor is not None and getattr(actor, "pk", None) else ""
    ip_address = acting.ip_address if ip_address is None else ip_address
    user_agent = acting.user_agent if user_agent is None else user_agent
    request_id = acting.request_id if request_id is None else request_id

    # No savepoint: a failed append must fail the change it records, and it saves two queries.
    with transaction.atomic(savepoint=False):
        chain, is_first_event = _lock_chain(workspace)
        event = AuditEvent(
            workspace_id=workspace.pk,
            event_id=event_id,
            type=event_type,
            resource_type=resource_type,
            resource_id=str(resource_id)[:128],
            actor_id=str(actor_id)[:128],
            actor_type=actor_type,
            summary=summary[:500],
            metadata=_json_native(
                _scrub({**(metadata or {}), **({"reported_by": reported_by} if reported_by else {})})
            ),
            ip_address=_valid_ip(ip_address) if ip_address else None,
            user_agent=(user_agent or "")[:400],
            request_id=(request_id or "")[:128],
            # Stored to the microsecond in UTC, so the hash recomputed from the row matches.
            created_at=(occurred_at or timezone.now()).astimezone(UTC),
            previous_hash=chain.head_hash,
        )
        event.entry_hash = entry_hash(event)
        event.save(force_insert=True)
        chain.head_hash = event.entry_hash
        chain.length += 1
        if is_first_event:
            chain.save(force_insert=True)
        else:
            chain.save(update_fields=["head_hash", "length"])
    return event


def purge_workspace_events(*, workspace):
    """Delete a purged workspace's events and chain: the only path that may delete audit rows.

    On PostgreSQL the append-only trigger allows it because of the transaction-local
    setting; call it inside the purge transaction, before the workspace row is deleted.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'on', true)", [PURGE_SETTING])
        deleted = AuditEvent.objects.filter(workspace_id=workspace.pk).delete()[0]
        AuditChain.objects.filter(workspace_id=workspace.pk).delete()
    return deleted


def ingest_platform_events(*, events, service_name):
    """Record a batch of events reported by a platform service, idempotent on each `eventId` (per workspace).

    `events` are PlatformEventSerializer data. The batch is validated whole (unknown
    workspace, or a type that is one of ours -> 400 naming the event), then each new
    event is appended to its workspace's chain; ids already recorded are skipped.
    Returns (accepted ids, duplicate ids).
    """
    workspaces = {}
    for index, item in enumerate(events):
        ref = item["workspace"]
        if ref not in workspaces:
            workspaces[ref] = get_workspace_by_ref(ref)
        if workspaces[ref] is None:
            raise InvalidInput.for_field(
                f"events.{index}.workspace", f"No workspace {ref!r}.", code="WORKSPACE_NOT_FOUND"
            )
        if not is_platform_event_type(item["type"]):
            raise InvalidInput.for_field(
                f"events.{index}.type", f"{item['type']!r} is reserved for the workspace service's own events."
            )

    # Event ids are the reporter's, unique within a workspace only.
    already = set(
        AuditEvent.objects.filter(
            workspace_id__in={workspace.pk for workspace in workspaces.values()},
            event_id__in={item["eventId"] for item in events},
        ).values_list("workspace_id", "event_id")
    )
    accepted, duplicates = [], []
    for item in events:
        key = (workspaces[item["workspace"]].pk, item["eventId"])
        if key in already:
            duplicates.append(item["eventId"])
            continue
        try:
            with transaction.atomic():
                record(
                    workspace=workspaces[item["workspace"]],
                    event_type=item["type"],
                    resource_type=item["resourceType"],
                    resource_id=item["resourceId"],
                    summary=item["summary"],
                    actor_type=item["actorType"],
                    actor_id=item["actorId"],
                    metadata=item["metadata"],
                    reported_by=service_name,
                    event_id=item["eventId"],
                    occurred_at=item.get("occurredAt"),
                    # What the reporter says, never the reporting request's own origin.
                    ip_address=item["ipAddress"] or "",
                    user_agent=item["userAgent"] or "",
                    request_id=item["requestId"] or "",
                )
        except IntegrityError:
            # The same event id committed by a concurrent delivery of this batch.
            duplicates.append(item["eventId"])
            continue
        already.add(key)
        accepted.append(item["eventId"])
    return accepted, duplicates
