"""The per-workspace hash chain of audit events, and its verification.

Each event stores `entry_hash` = SHA-256 over its content and `previous_hash` (the
hash of the workspace's event before it); `AuditChain` holds the hash and length of
the chain's head, so removing the newest events is caught too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audit.models import AuditEvent


def entry_hash(event: AuditEvent) -> str:
    """SHA-256 over every stored field of the entry except its own hash and row id."""
    content = {
        "workspace": str(event.workspace_id),
        "event_id": event.event_id or "",
        "type": event.type,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "actor_id": event.actor_id,
        "actor_type": event.actor_type,
        "summary": event.summary,
        "metadata": event.metadata,
        "ip_address": str(event.ip_address or ""),
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "created_at": event.created_at.astimezone(UTC).isoformat(),
        "previous_hash": event.previous_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """The first broken link of a workspace's chain."""

    workspace_id: str
    event_id: int | None  # the event at fault, or None when the break is at the head
    reason: str

    def __str__(self) -> str:
        where = f"event #{self.event_id}" if self.event_id is not None else "chain head"
        return f"workspace {self.workspace_id}: {where}: {self.reason}"


def find_break(*, workspace_id: object, events: Iterable[AuditEvent], head_hash: str, length: int) -> ChainBreak | None:
    """Walk `events` (the workspace's events in id order) and return the first ChainBreak, or None.

    `head_hash` and `length` are what AuditChain recorded at the last append.
    """
    expected_previous = ""
    count = 0
    for event in events:
        count += 1
        if event.previous_hash != expected_previous:
            return ChainBreak(
                str(workspace_id),
                event.pk,
                "previous_hash does not match the event before it: an earlier event was removed or altered",
            )
        if entry_hash(event) != event.entry_hash:
            return ChainBreak(str(workspace_id), event.pk, "content does not match its hash: the event was altered")
        expected_previous = event.entry_hash
    if expected_previous != head_hash or count != length:
        return ChainBreak(
            str(workspace_id),
            None,
            f"the chain ends at {count} event(s) but {length} were appended: newest events were removed",
        )
    return None
