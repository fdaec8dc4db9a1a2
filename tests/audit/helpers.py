from audit.services import record


def add_event(workspace, **overrides):
    """Append one event to `workspace`'s log through the one write path."""
    fields = {
        "event_type": "workspace.updated",
        "resource_type": "workspace",
        "resource_id": workspace.pk,
        "summary": "Workspace settings updated",
    }
    fields.update(overrides)
    return record(workspace=workspace, **fields)
