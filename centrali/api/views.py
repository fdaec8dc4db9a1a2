from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from centrali.api.permissions import ANY_MEMBER, WORKSPACE_ADMINS, IsWorkspaceMember


class WorkspaceAPIView(APIView):
    """Base of every `/{slug}/...` endpoint.

    Subclasses set `required_roles` ({method: roles}); reads default to any member and
    writes to owners and admins. Writes to a workspace pending deletion answer 400 unless
    the method is in `allowed_when_pending_deletion`; writes to a suspended one answer 403
    unless it is in `allowed_when_suspended` (what a customer needs to get back in good
    standing, and their data: billing, support, export). Deleting is not among them:
    a restore would return the workspace to active and so lift the suspension.
    """

    permission_classes = [IsAuthenticated, IsWorkspaceMember]
    required_roles = {"GET": ANY_MEMBER, "HEAD": ANY_MEMBER, "OPTIONS": ANY_MEMBER, "*": WORKSPACE_ADMINS}
    allowed_when_pending_deletion = frozenset()
    allowed_when_suspended = frozenset()

    @property
    def workspace(self):
        return self.request.workspace

    @property
    def membership(self):
        return self.request.membership
