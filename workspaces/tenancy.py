"""Tenancy at the API edge: who may call a `/{slug}/...` endpoint, resolved once per request.

Every app's workspace endpoints derive from `WorkspaceAPIView`. A view lists the roles allowed
per HTTP method in `required_roles`. Authentication loads the caller together with their
membership, its workspace and plan, in one query (a non-member costs one more, to tell 403
from 404); the permission checks them and leaves them on the request (`request.workspace`,
`request.membership`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from centrali.api.authentication import BearerJWTAuthentication
from centrali.errors import InvalidInput, NotFound, PermissionDenied
from workspaces import selectors
from workspaces.models import ANY_MEMBER, BILLING_MANAGERS, WORKSPACE_ADMINS, Membership, User, Workspace

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

__all__ = [
    "ANY_MEMBER",
    "BILLING_MANAGERS",
    "WORKSPACE_ADMINS",
    "IsWorkspaceMember",
    "WorkspaceAPIView",
    "WorkspaceMemberAuthentication",
]


class WorkspaceMemberAuthentication(BearerJWTAuthentication):
    """The bearer JWT of a `/{slug}/` request: the caller comes with their membership of that
    workspace (and its workspace and plan) in one query, which IsWorkspaceMember then checks.
    Nothing is kept between requests: each one reads the membership as it is now."""

    def find_user(self, user_id: Any) -> AbstractBaseUser | None:
        kwargs = (getattr(self.request, "parser_context", None) or {}).get("kwargs") or {}
        slug = kwargs.get("slug")
        if not slug:
            return super().find_user(user_id)
        view = getattr(self.request, "parser_context", {}).get("view")
        read_membership = getattr(view, "read_membership", selectors.get_membership_of_user_id)
        membership = read_membership(slug=slug, user_id=user_id)
        self.request._request.authenticated_membership = membership  # type: ignore[attr-defined]
        if membership is None:  # not a member (or no such workspace): the user alone decides 401 or 403/404
            return super().find_user(user_id)
        return membership.user


class IsWorkspaceMember(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        slug = view.kwargs["slug"]
        user = request.user
        membership: Membership | None
        if hasattr(request._request, "authenticated_membership"):  # looked up with the user, this request
            membership = request._request.authenticated_membership
        else:
            membership = selectors.get_membership(slug=slug, user=user) if isinstance(user, User) else None
        if membership is None:
            if not selectors.workspace_exists(slug=slug):
                raise NotFound(f"Workspace '{slug}' not found.", code="WORKSPACE_NOT_FOUND")
            raise PermissionDenied("You are not a member of this workspace.", code="NOT_A_MEMBER")

        # A method the view lacks answers 405 (DRF, after this check) to any member, whatever the state.
        handled = _handles(view, request.method or "")
        allowed = view.required_roles.get(request.method, view.required_roles.get("*", WORKSPACE_ADMINS))
        if handled and membership.role not in allowed:
            raise PermissionDenied(
                f"Your role '{membership.role}' may not do this; it needs one of: {', '.join(sorted(allowed))}.",
                code="INSUFFICIENT_ROLE",
            )
        workspace = membership.workspace
        if handled and request.method not in SAFE_METHODS:
            if workspace.is_pending_deletion and request.method not in view.allowed_when_pending_deletion:
                raise InvalidInput(
                    "This workspace is pending deletion; restore it first.", code="WORKSPACE_PENDING_DELETION"
                )
            if workspace.is_suspended and request.method not in view.allowed_when_suspended:
                raise PermissionDenied(_suspended_message(workspace), code="WORKSPACE_SUSPENDED")
        # On the Django request, so middleware (API-call metering) sees them too; DRF's
        # Request reads unknown attributes through to it.
        request._request.workspace = workspace  # type: ignore[attr-defined]
        request._request.membership = membership  # type: ignore[attr-defined]
        return True


def _handles(view: Any, method: str) -> bool:
    """Whether `view` answers `method` (else DRF answers 405 METHOD_NOT_ALLOWED)."""
    name = method.lower()
    return name in view.http_method_names and hasattr(view, name)


def _suspended_message(workspace: Workspace) -> str:
    """Staff say why they suspended a workspace; a billing suspension asks to settle billing."""
    if workspace.suspension_reason:
        return f"This workspace is suspended by Centrali staff: {workspace.suspension_reason}"
    return "This workspace is suspended; settle billing or contact support to reactivate it."


class WorkspaceAPIView(APIView):
    """Base of every `/{slug}/...` endpoint.

    Subclasses set `required_roles` ({method: roles}); reads default to any member and
    writes to owners and admins. Writes to a workspace pending deletion answer 400 unless
    the method is in `allowed_when_pending_deletion`; writes to a suspended one answer 403
    unless it is in `allowed_when_suspended` (what a customer needs to get back in good
    standing, and their data: billing, support, export). Deleting is not among them:
    a restore would return the workspace to active and so lift the suspension.
    """

    authentication_classes = [WorkspaceMemberAuthentication]
    permission_classes = [IsAuthenticated, IsWorkspaceMember]
    required_roles: dict[str, frozenset[str]] = {
        "GET": ANY_MEMBER,
        "HEAD": ANY_MEMBER,
        "OPTIONS": ANY_MEMBER,
        "*": WORKSPACE_ADMINS,
    }
    allowed_when_pending_deletion: frozenset[str] = frozenset()
    allowed_when_suspended: frozenset[str] = frozenset()
    # How authentication reads the caller's membership, with its user, workspace and plan, in one
    # query. A view that needs more of the workspace names a read that takes it in the same query
    # (billing.selectors.get_membership_with_billing_terms).
    read_membership = staticmethod(selectors.get_membership_of_user_id)

    # Set on the Django request by IsWorkspaceMember, which runs before any handler.
    @property
    def workspace(self) -> Workspace:
        workspace: Workspace = self.request._request.workspace  # type: ignore[attr-defined]
        return workspace

    @property
    def membership(self) -> Membership:
        membership: Membership = self.request._request.membership  # type: ignore[attr-defined]
        return membership
