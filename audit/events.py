"""The registry of audit event types: stable names, never renamed once shipped.

Add a type here before recording it; `record()` refuses names it does not know.
"""

from __future__ import annotations

import re

from centrali import context

EVENT_TYPES = {
    # workspaces
    "workspace.created": "Workspace created",
    "workspace.updated": "Workspace settings updated",
    "workspace.deleted": "Workspace scheduled for deletion",
    "workspace.restored": "Workspace restored",
    "workspace.suspended": "Workspace suspended",
    "workspace.unsuspended": "Workspace unsuspended",
    "member.added": "Member added",
    "member.removed": "Member removed",
    "provisioning.retried": "Provisioning retried",
    "export.requested": "Export requested",
    "export.completed": "Export completed",
    "export.failed": "Export failed",
    "export.downloaded": "Export downloaded",
    # billing
    "plan.changed": "Plan changed",
    "payment_method.added": "Payment method added",
    "payment_method.removed": "Payment method removed",
    "payment_method.default_changed": "Default payment method changed",
    "overage.changed": "Overage settings changed",
    "invoice.paid": "Invoice paid",
    "invoice.payment_failed": "Invoice payment failed",
    "invoice.uncollectible": "Invoice marked uncollectible",
    "subscription.updated": "Subscription updated",
    "subscription.deleted": "Subscription cancelled",
    "billing.synced": "Billing state synced from Stripe",
    "overage.charged": "Overage charged",
    # usage
    "quota.reached": "Quota reached",
    # support
    "support_issue.created": "Support issue created",
    "support_issue.updated": "Support issue updated",
    "comment.added": "Comment added",
    "comment.edited": "Comment edited",
    "comment.deleted": "Comment deleted",
    "support_issue.assigned": "Support issue assigned to staff",
    "support_issue.internal_note_added": "Staff internal note added to a support issue",
    # privacy
    "person.erased": "A person's personal data erased",
}

# Recorded like any event, but only staff see them (admin): they are about staff-only
# records, such as internal notes on a support issue, that a workspace never sees.
STAFF_ONLY_EVENT_TYPES = frozenset({"support_issue.internal_note_added"})

# Platform services (POST internal/audit-events) report events about resources they own,
# e.g. `structure.created`; names are dotted lowercase and never one of ours above.
PLATFORM_EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"


def is_platform_event_type(name: str) -> bool:
    return name not in EVENT_TYPES and re.fullmatch(PLATFORM_EVENT_TYPE_PATTERN, name) is not None


# Who acts is part of the acting context every entry point sets (centrali.context); named here
# too because every app that records an event names it beside the event type.
ActorType = context.ActorType
