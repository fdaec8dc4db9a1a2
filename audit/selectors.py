from audit.models import AuditEvent


def recent_activity(*, workspace, limit=10):
    """The workspace's newest audit events, newest first."""
    return list(AuditEvent.objects.filter(workspace=workspace).order_by("-id")[:limit])
