"""The per-workspace hash chain of audit events, and its verification.

Each event stores `entry_hash` = SHA-256 over its content and `previous_hash` (the hash of the
workspace's event before it); `AuditChain` holds the hash and length of the chain's head, so
removing the newest events is caught too.

Personal data and erasure. An event's personal data can be erased (GDPR) without breaking the
chain, because the chain never hashes personal data itself, only keyed digests of it:

- The actor part (actor_id, ip_address, user_agent) is committed by `personal_digest`, an HMAC
  (settings.AUDIT_PERSONAL_DATA_KEY) over those fields and a random per-event `personal_salt`.
- The content part (summary, metadata, resource id) may name people too ("alice joined as owner",
  an invitee's email, a user id, a membership whose id is the user's). At record time
  `redacted_twin()` derives the same content with every personal value masked: the acting user's
  username, email and names, any email address, values under personal keys (email, username,
  user_id, ...), the actor's id, and the resource id of a person-like resource (PERSONAL_RESOURCE_TYPES).
  When the twin differs from the original, the event stores it in `redacted`, `content_digest` is
  an HMAC over the original content, and the chain hashes the twin instead of the original. An
  event whose content names nobody has no twin: its content is hashed as it is.

`entry_hash` covers every non-personal field, the public content (the twin, or the content when
it names nobody) and both digests. Erasure (audit.services.erase_personal_data) blanks the actor
part and the salt, replaces the content by its twin, keeps both digests and seals the
event with an HMAC over its entry hash (`erasure_seal`). Verification checks each digest while
its part is present and the seal once a part is erased, so the chain verifies after an erasure;
any other change (type, resource, non-personal content, metadata, dates, digests, a twin that is
not the one committed, personal fields blanked without the key) still breaks it.

Retention (audit.services.apply_audit_retention) drops the oldest events of a workspace and
records an `AuditCheckpoint`: the hash of the last dropped event and how many were dropped,
signed by an HMAC (settings.AUDIT_CHECKPOINT_KEY). Verification starts from the newest
checkpoint: the first remaining event must link to its hash, and a forged checkpoint fails.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings

from audit.models import RESOURCE_ID_MAX_LENGTH, SUMMARY_MAX_LENGTH

if TYPE_CHECKING:
    from audit.models import AuditCheckpoint, AuditEvent

ERASED_ACTOR_ID = "erased"
ERASED_USER = "[erased user]"
ERASED_EMAIL = "[erased email]"
ERASED_VALUE = "[erased]"

# Metadata keys (substrings, lower case) whose values are about a person.
PERSONAL_KEYS = (
    "email",
    "username",
    "user_id",
    "invitee",
    "assigned_to",
    "display_name",
    "full_name",
    "ip_address",
    "user_agent",
)
# Resources that are a person: their id names them.
PERSONAL_RESOURCE_TYPES = frozenset({"user", "membership", "member", "person"})
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_MIN_IDENTIFIER_LENGTH = 3  # shorter names ("Al") would mask ordinary words


def _canonical(content: object) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


def _hmac(key: str, purpose: str, content: object) -> str:
    return hmac.new(key.encode(), _canonical([purpose, content]), hashlib.sha256).hexdigest()


# --- personal data: the twin, the digests, erasure


def identifiers_of(user: Any) -> list[str]:
    """What names a user in free text: email, username and names."""
    if user is None:
        return []
    first, last = getattr(user, "first_name", ""), getattr(user, "last_name", "")
    names = [getattr(user, "email", ""), getattr(user, "username", ""), f"{first} {last}".strip(), first, last]
    return [name for name in names if name and len(name) >= _MIN_IDENTIFIER_LENGTH]


def _mask_text(text: str, identifiers: Iterable[str]) -> str:
    text = EMAIL_PATTERN.sub(ERASED_EMAIL, text)
    for identifier in sorted(set(identifiers), key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(identifier)}(?!\w)", ERASED_USER, text, flags=re.IGNORECASE)
    return text


def _mask_all(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _mask_all(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_all(item) for item in value]
    return value if value in (None, "") else ERASED_VALUE


def _mask_metadata(value: Any, identifiers: list[str], actor_id: str) -> Any:
    if isinstance(value, dict):
        return {
            key: _mask_all(item)
            if any(personal in str(key).lower() for personal in PERSONAL_KEYS)
            else _mask_metadata(item, identifiers, actor_id)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_mask_metadata(item, identifiers, actor_id) for item in value]
    if isinstance(value, str):
        return ERASED_USER if actor_id and value == actor_id else _mask_text(value, identifiers)
    return value


def redacted_twin(
    *, summary: str, metadata: Any, resource_type: str, resource_id: str, identifiers: Iterable[str], actor_id: str
) -> dict[str, Any]:
    """The summary, metadata and resource id with every personal value masked (the module docstring)."""
    names = list(identifiers)
    if actor_id and len(actor_id) >= _MIN_IDENTIFIER_LENGTH:
        names.append(actor_id)
    personal_resource = resource_type in PERSONAL_RESOURCE_TYPES or (actor_id and resource_id == actor_id)
    return {
        "summary": _mask_text(summary, names),
        "metadata": _mask_metadata(metadata, names, actor_id),
        "resource_id": ERASED_VALUE if personal_resource and resource_id else _mask_text(resource_id, names),
    }


def _actor_digest(event: AuditEvent) -> str:
    return _hmac(
        settings.AUDIT_PERSONAL_DATA_KEY,
        "actor",
        {
            "salt": event.personal_salt,
            "actor_id": event.actor_id,
            "ip_address": str(event.ip_address or ""),
            "user_agent": event.user_agent,
        },
    )


def _content_digest(event: AuditEvent) -> str:
    return _hmac(
        settings.AUDIT_PERSONAL_DATA_KEY,
        "content",
        {
            "salt": event.personal_salt,
            "summary": event.summary,
            "metadata": event.metadata,
            "resource_id": event.resource_id,
        },
    )


def seal_personal_data(event: AuditEvent, *, identifiers: Iterable[str]) -> None:
    """Give a new event its salt, twin and digests; `identifiers` name its acting user in free text."""
    event.personal_salt = secrets.token_hex(16)
    event.personal_digest = _actor_digest(event)
    twin = redacted_twin(
        summary=event.summary,
        metadata=event.metadata,
        resource_type=event.resource_type,
        resource_id=event.resource_id,
        identifiers=identifiers,
        actor_id=event.actor_id,
    )
    # Masks may be longer than what they mask; the twin must fit the columns it replaces at erasure.
    twin["summary"] = twin["summary"][:SUMMARY_MAX_LENGTH]
    twin["resource_id"] = twin["resource_id"][:RESOURCE_ID_MAX_LENGTH]
    if twin == _content(event):
        event.redacted, event.content_digest = None, ""
    else:
        event.redacted = twin
        event.content_digest = _content_digest(event)


_CONTENT_FIELDS = {"summary", "metadata", "resource_id"}


def _content(event: AuditEvent) -> dict[str, Any]:
    return {"summary": event.summary, "metadata": event.metadata, "resource_id": event.resource_id}


def _public_content(event: AuditEvent) -> dict[str, Any]:
    """What the chain hashes of the content: the twin while the event has one."""
    return event.redacted if event.redacted is not None else _content(event)


def _actor_erased(event: AuditEvent) -> bool:
    return not event.personal_salt


def _content_erased(event: AuditEvent) -> bool:
    return bool(event.content_digest) and event.redacted is None


def _erasure_seal(event: AuditEvent) -> str:
    return _hmac(
        settings.AUDIT_PERSONAL_DATA_KEY,
        "erasure",
        {"entry_hash": event.entry_hash, "actor": _actor_erased(event), "content": _content_erased(event)},
    )


def erase(event: AuditEvent, *, actor: bool) -> bool:
    """Erase the event's personal content (the twin replaces it), and its actor part too when
    `actor`; True when it changed.

    The salt goes with the actor part; the content part's check needs it, so erasing the actor
    erases the content too (the twin masks the actor's own names anyway).
    """
    changed = False
    if event.redacted is not None:
        event.summary, event.metadata = event.redacted["summary"], event.redacted["metadata"]
        event.resource_id = event.redacted["resource_id"]
        event.redacted = None
        changed = True
    if actor and not _actor_erased(event):
        event.actor_id, event.ip_address, event.user_agent, event.personal_salt = ERASED_ACTOR_ID, None, "", ""
        changed = True
    if changed:
        event.erasure_seal = _erasure_seal(event)
    return changed


# --- the chain


def entry_hash(event: AuditEvent) -> str:
    """SHA-256 over the entry's non-personal fields, its public content and its personal digests."""
    public = _public_content(event)
    content = {
        "workspace": str(event.workspace_id),
        "event_id": event.event_id or "",
        "type": event.type,
        "resource_type": event.resource_type,
        "resource_id": public["resource_id"],
        "actor_type": event.actor_type,
        "summary": public["summary"],
        "metadata": public["metadata"],
        "request_id": event.request_id,
        "created_at": event.created_at.astimezone(UTC).isoformat(),
        "personal_digest": event.personal_digest,
        "content_digest": event.content_digest,
        "previous_hash": event.previous_hash,
    }
    return hashlib.sha256(_canonical(content)).hexdigest()


ALTERED = "content does not match its hash: the event was altered"


def event_fault(event: AuditEvent) -> str | None:
    """Why the event fails verification on its own, or None."""
    if event.redacted is not None and (not isinstance(event.redacted, dict) or set(event.redacted) != _CONTENT_FIELDS):
        return ALTERED
    if event.redacted is not None and _content_digest(event) != event.content_digest:
        return ALTERED
    if not _actor_erased(event):
        if _actor_digest(event) != event.personal_digest:
            return "personal fields do not match their digest: the event was altered"
    elif (event.actor_id, event.ip_address, event.user_agent) != (ERASED_ACTOR_ID, None, ""):
        return "personal fields were changed after their erasure: the event was altered"
    if entry_hash(event) != event.entry_hash:
        return ALTERED
    if (_actor_erased(event) or _content_erased(event)) and not hmac.compare_digest(
        event.erasure_seal, _erasure_seal(event)
    ):
        return "personal fields were erased outside the erasure path: the event was altered"
    return None


# --- retention checkpoints


def checkpoint_signature(*, workspace_id: object, head_hash: str, events_dropped: int, complete_from: datetime) -> str:
    """HMAC (settings.AUDIT_CHECKPOINT_KEY) over what a checkpoint states."""
    return _hmac(
        settings.AUDIT_CHECKPOINT_KEY,
        "checkpoint",
        {
            "workspace": str(workspace_id),
            "head_hash": head_hash,
            "events_dropped": events_dropped,
            "complete_from": complete_from.astimezone(UTC).isoformat(),
        },
    )


def checkpoint_is_genuine(checkpoint: AuditCheckpoint) -> bool:
    expected = checkpoint_signature(
        workspace_id=checkpoint.workspace_id,
        head_hash=checkpoint.head_hash,
        events_dropped=checkpoint.events_dropped,
        complete_from=checkpoint.complete_from,
    )
    return hmac.compare_digest(checkpoint.signature, expected)


@dataclass(frozen=True)
class ChainBreak:
    """The first broken link of a workspace's chain."""

    workspace_id: str
    event_id: int | None  # the event at fault, or None when the break is at the head or the checkpoint
    reason: str

    def __str__(self) -> str:
        where = f"event #{self.event_id}" if self.event_id is not None else "chain head"
        return f"workspace {self.workspace_id}: {where}: {self.reason}"


def find_break(
    *,
    workspace_id: object,
    events: Iterable[AuditEvent],
    head_hash: str,
    length: int,
    checkpoint: AuditCheckpoint | None = None,
) -> ChainBreak | None:
    """Walk `events` (the workspace's events in id order) and return the first ChainBreak, or None.

    `head_hash` and `length` are what AuditChain recorded at the last append; `checkpoint` is the
    newest retention checkpoint, where the remaining events start.
    """
    expected_previous, count = "", 0
    if checkpoint is not None:
        if not checkpoint_is_genuine(checkpoint):
            return ChainBreak(
                str(workspace_id), None, "the retention checkpoint's signature is invalid: it was forged or altered"
            )
        expected_previous, count = checkpoint.head_hash, checkpoint.events_dropped
    for event in events:
        count += 1
        if event.previous_hash != expected_previous:
            return ChainBreak(
                str(workspace_id),
                event.pk,
                "previous_hash does not match the event before it: an earlier event was removed or altered",
            )
        fault = event_fault(event)
        if fault is not None:
            return ChainBreak(str(workspace_id), event.pk, fault)
        expected_previous = event.entry_hash
    if expected_previous != head_hash or count != length:
        return ChainBreak(
            str(workspace_id),
            None,
            f"the chain ends at {count} event(s) but {length} were appended: newest events were removed",
        )
    return None
