import uuid

from django.db.models import Count, Q

from workspaces.models import Membership, Workspace


def get_membership(*, slug, user):
    """The caller's membership of the workspace `slug`, with workspace and plan, in one query; or None."""
    return (
        Membership.objects.select_related("workspace", "workspace__plan")
        .filter(workspace__slug=slug, user_id=user.pk)
        .first()
    )


def workspace_exists(*, slug):
    return Workspace.objects.filter(slug=slug).exists()


def get_workspace_by_ref(ref):
    """A workspace named by slug or uuid (platform services use either); None when unknown."""
    try:
        return Workspace.objects.filter(pk=uuid.UUID(str(ref))).first()
    except ValueError:
        return Workspace.objects.filter(slug=str(ref)).first()


def workspace_status_counts():
    """{status: count} over all workspaces, for /metrics."""
    return dict(Workspace.objects.order_by().values_list("status").annotate(n=Count("id")))


def get_workspaces_by_refs(refs):
    """{ref: Workspace} for each ref (slug or uuid) that names a workspace, with its plan, in one query."""
    key_of, uuids = {}, []
    for ref in set(refs):
        try:
            key_of[ref] = str(uuid.UUID(str(ref)))
            uuids.append(key_of[ref])
        except ValueError:
            key_of[ref] = str(ref)
    found = {}
    workspaces = Workspace.objects.filter(Q(pk__in=uuids) | Q(slug__in=set(key_of.values()))).select_related("plan")
    for workspace in workspaces:
        found[str(workspace.pk)] = found[workspace.slug] = workspace
    return {ref: found[key] for ref, key in key_of.items() if key in found}


def member_counts(*, workspace, active_user_ids):
    """(members, members whose user id is among `active_user_ids`) of the workspace, in one query."""
    valid_ids = []
    for user_id in active_user_ids:
        try:
            valid_ids.append(uuid.UUID(str(user_id)))
        except ValueError:
            continue  # service or system actors
    counts = Membership.objects.filter(workspace=workspace).aggregate(
        total=Count("id"), active=Count("id", filter=Q(user_id__in=valid_ids))
    )
    return counts["total"], counts["active"]
