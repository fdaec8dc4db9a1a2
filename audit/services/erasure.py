"""Erasing a person's personal data from the audit log: the only path that may update audit rows."""

from __future__ import annotations

from collections.abc import Collection

import structlog
from django.db import connection, transaction

from audit.chain import erase
from audit.selectors import person_events

logger = structlog.get_logger(__name__)

# The PostgreSQL trigger (audit.db) lets an UPDATE through only while this transaction-local
# setting is on, and then only one that erases personal fields; erase_personal_data() sets it.
ERASURE_SETTING = "centrali.audit_erasure"

_ERASED_FIELDS = [
    "actor_id",
    "ip_address",
    "user_agent",
    "personal_salt",
    "summary",
    "metadata",
    "resource_id",
    "redacted",
    "erasure_seal",
]


def erase_personal_data(*, actor_ids: Collection[str], emails: Collection[str], reason: str) -> int:
    """Erase the personal fields of every audit event, in every workspace, about one person.

    Events where the person acted lose their actor id (replaced by "erased"), IP address and user
    agent; every event where they act or whose summary, metadata or resource id names one of their
    emails or ids has that content replaced by the redacted twin it committed to (audit.chain).
    Every chain still verifies. Returns how many events changed. The caller records who asked
    and why (privacy.services records `person.erased`); `reason` goes to the log line only.
    """
    actor_ids = {str(actor_id) for actor_id in actor_ids if str(actor_id)}
    emails = {email.strip() for email in emails if email and email.strip()}
    if not actor_ids and not emails:
        return 0
    changed = 0
    workspaces = set()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'on', true)", [ERASURE_SETTING])
        for event in person_events(actor_ids=actor_ids, emails=emails).select_for_update().iterator(chunk_size=500):
            if erase(event, actor=event.actor_id in actor_ids):
                event.save(update_fields=_ERASED_FIELDS)
                changed += 1
                workspaces.add(event.workspace_id)
    logger.info("audit.personal_data_erased", events=changed, workspaces=len(workspaces), reason=reason[:200])
    return changed
