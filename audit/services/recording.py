"""Appending to a workspace's audit log: `record()`, the one way to write it."""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from audit.chain import entry_hash, identifiers_of, seal_personal_data
from audit.events import EVENT_TYPES, ActorType, is_platform_event_type
from audit.models import AuditChain, AuditEvent
from centrali.context import current_context
from centrali.metrics import AUDIT_EVENTS, bounded
from workspaces.selectors import lock_workspace_for_append

if TYPE_CHECKING:
    from workspaces.models import User, Workspace

_SECRET_KEYS = ("password", "secret", "token", "client_secret", "card_number", "cvc", "api_key", "authorization")


def _scrub(metadata: Any) -> Any:
    """Metadata never carries secrets, whatever a caller passes."""
    if isinstance(metadata, dict):
        return {
            key: "[redacted]" if any(s in str(key).lower() for s in _SECRET_KEYS) else _scrub(value)
            for key, value in metadata.items()
        }
    if isinstance(metadata, list):
        return [_scrub(item) for item in metadata]
    return metadata


def _json_native(metadata: dict[str, Any]) -> dict[str, Any]:
    """What the JSON column will give back (UUIDs, Decimals, datetimes as strings), so the hash matches it."""
    native: dict[str, Any] = json.loads(json.dumps(metadata, cls=DjangoJSONEncoder))
    return native


def _valid_ip(raw: str) -> str | None:
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        return None


def _lock_chain(workspace: Workspace) -> tuple[AuditChain, bool]:
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
    workspace: Workspace,
    event_type: str,
    resource_type: str,
    resource_id: str | int | uuid.UUID,
    summary: str,
    actor: User | None = None,
    actor_type: str | None = None,
    actor_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    event_id: str | None = None,
    occurred_at: datetime | None = None,
    ip_address: str | None = None,
    user_agent: str | None = None,
    request_id: str | None = None,
    reported_by: str | None = None,
) -> AuditEvent:
    """Append one audit event. The one way to write the audit log.

    Call it inside the transaction of the change it records. Who acted, from which address
    and under which request id come from the acting context (centrali.context) that the
    request, the task or the command set; `actor`, `actor_type` and `actor_id` given here
    replace the context's actor (an `actor_type` alone: nobody in particular of that type),
    and `ip_address`, `user_agent` and `request_id` given here (even empty) replace its origin.
    Actor types: "user", "staff" (admin actions), "system" (webhooks, beat tasks, commands),
    "service" (a platform service). `reported_by` names the platform service that reported
    the event (internal ingestion); such events may use that service's own types
    (audit.events.is_platform_event_type), every other event one of audit.events.EVENT_TYPES.
    """
    acting = current_context()
    if actor is None and actor_type is None and actor_id is None:
        actor, actor_type, actor_id = acting.actor, acting.resolved_actor_type, acting.resolved_actor_id
    if not actor_type:
        actor_type = ActorType.SYSTEM if actor is None else ActorType.USER
    if actor_type not in ActorType.values:
        raise ValueError(f"Unknown actor type {actor_type!r}; use one of audit.events.ActorType")
    if event_type not in EVENT_TYPES and not (reported_by and is_platform_event_type(event_type)):
        raise ValueError(f"Unknown audit event type {event_type!r}; add it to audit.events.EVENT_TYPES")
    if actor_id is None:
        actor_id = str(actor.pk) if actor is not None and actor.pk else ""
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
        seal_personal_data(event, identifiers=identifiers_of(actor))
        event.entry_hash = entry_hash(event)
        event.save(force_insert=True)
        AUDIT_EVENTS.labels(bounded(event_type, EVENT_TYPES.keys(), other="platform")).inc()
        chain.head_hash = event.entry_hash
        chain.length += 1
        if is_first_event:
            chain.save(force_insert=True)
        else:
            chain.save(update_fields=["head_hash", "length"])
    return event
