"""Who may call a workspace endpoint: resolved once per request from `{slug}`.

A view lists the roles allowed per HTTP method in `required_roles`; the permission
loads the workspace and the caller's membership in one query and leaves them on
the request (`request.workspace`, `request.membership`).
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from centrali.errors import InvalidInput, NotFound, PermissionDenied
from workspaces import selectors
from workspaces.models import Role

ANY_MEMBER = frozenset(Role.values)
WORKSPACE_ADMINS = frozenset({Role.OWNER, Role.ADMIN})
BILLING_MANAGERS = frozenset({Role.OWNER, Role.ADMIN, Role.BILLING})


class IsWorkspaceMember(BasePermission):
    def has_permission(self, request, view):
        slug = view.kwargs["slug"]
        membership = selectors.get_membership(slug=slug, user=request.user)
        if membership is None:
            if not selectors.workspace_exists(slug=slug):
                raise NotFound(f"Workspace '{slug}' not found.", code="WORKSPACE_NOT_FOUND")
            raise PermissionDenied("You are not a member of this workspace.", code="NOT_A_MEMBER")

        allowed = view.required_roles.get(request.method, view.required_roles.get("*", WORKSPACE_ADMINS))
        if membership.role not in allowed:
            raise PermissionDenied(
                f"Your role '{membership.role}' may not do this; it needs one of: {', '.join(sorted(allowed))}.",
                code="INSUFFICIENT_ROLE",
            )
        workspace = membership.workspace
        if request.method not in SAFE_METHODS:
            if workspace.is_pending_deletion and request.method not in view.allowed_when_pending_deletion:
                raise InvalidInput(
                    "This workspace is pending deletion; restore it first.", code="WORKSPACE_PENDING_DELETION"
                )
            if workspace.is_suspended and request.method not in view.allowed_when_suspended:
                raise PermissionDenied(
                    "This workspace is suspended; settle billing or contact support to reactivate it.",
                    code="WORKSPACE_SUSPENDED",
                )
        # On the Django request, so middleware (API-call metering) sees them too; DRF's
        # Request reads unknown attributes through to it.
        request._request.workspace = workspace
        request._request.membership = membership
        return True
