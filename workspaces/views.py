from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.selectors import capabilities_for_plan
from centrali.api.authentication import issue_access_token
from centrali.api.views import WorkspaceAPIView
from workspaces import services
from workspaces.models import WorkspaceStatus
from workspaces.serializers import (
    CapabilitiesResponseSerializer,
    DeletionResponseSerializer,
    RestoreResponseSerializer,
    WorkspaceCreatedResponseSerializer,
    WorkspaceCreateSerializer,
    WorkspaceSerializer,
    WorkspaceUpdateSerializer,
)


class WorkspaceCreateView(APIView):
    """POST / — sign-up: the owner account, the workspace and its owner membership."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_scope = "workspace_create"

    @extend_schema(
        request=WorkspaceCreateSerializer, responses={201: WorkspaceCreatedResponseSerializer}, tags=["Workspaces"]
    )
    def post(self, request):
        serializer = WorkspaceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workspace, owner = services.create_workspace(
            name=data["name"],
            email=data["email"],
            username=data["username"],
            password=data["password"],
            description=data["description"],
            request=request,
        )
        body = WorkspaceCreatedResponseSerializer(
            {"workspace": workspace, "auth_token": issue_access_token(owner), "user_id": str(owner.pk)}
        ).data
        return Response(body, status=status.HTTP_201_CREATED)


class WorkspaceDetailView(WorkspaceAPIView):
    """GET/PUT/DELETE /{slug}."""

    @extend_schema(responses=WorkspaceSerializer, tags=["Workspaces"])
    def get(self, request, slug):
        return Response(WorkspaceSerializer(self.workspace, context={"membership": self.membership}).data)

    @extend_schema(request=WorkspaceUpdateSerializer, responses=WorkspaceSerializer, tags=["Workspaces"])
    def put(self, request, slug):
        serializer = WorkspaceUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workspace = services.update_workspace(
            workspace=self.workspace, actor=request.user, request=request, **serializer.validated_data
        )
        return Response(WorkspaceSerializer(workspace, context={"membership": self.membership}).data)

    @extend_schema(responses={200: DeletionResponseSerializer}, tags=["Workspaces"])
    def delete(self, request, slug):
        return _soft_delete(request, self.workspace)


class WorkspaceSoftDeleteView(WorkspaceAPIView):
    """POST /{slug}/delete — the same soft delete as DELETE /{slug}, for clients that cannot send DELETE."""

    @extend_schema(request=None, responses=DeletionResponseSerializer, tags=["Workspaces"])
    def post(self, request, slug):
        return _soft_delete(request, self.workspace)


def _soft_delete(request, workspace):
    workspace = services.soft_delete_workspace(workspace=workspace, actor=request.user, request=request)
    return Response(
        DeletionResponseSerializer(
            {
                "message": "Workspace scheduled for deletion. It can be restored until the restore deadline.",
                "workspace_slug": workspace.slug,
                "deleted_at": workspace.deleted_at,
                "restore_deadline": workspace.restore_deadline,
                "grace_period_days": settings.WORKSPACE_GRACE_PERIOD_DAYS,
            }
        ).data
    )


class WorkspaceRestoreView(WorkspaceAPIView):
    allowed_when_pending_deletion = frozenset({"POST"})

    @extend_schema(request=None, responses=RestoreResponseSerializer, tags=["Workspaces"])
    def post(self, request, slug):
        workspace = services.restore_workspace(workspace=self.workspace, actor=request.user, request=request)
        return Response(
            RestoreResponseSerializer(
                {"message": "Workspace restored.", "workspace_slug": workspace.slug, "status": WorkspaceStatus.ACTIVE}
            ).data
        )


class WorkspaceCapabilitiesView(WorkspaceAPIView):
    @extend_schema(responses=CapabilitiesResponseSerializer, tags=["Workspaces"])
    def get(self, request, slug):
        plan = self.workspace.plan
        return Response({"plan": plan.code, "capabilities": capabilities_for_plan(plan)})
