from django.conf import settings
from django.http import FileResponse, JsonResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.selectors import capabilities_for_plan
from centrali.api.authentication import issue_access_token
from centrali.api.schema import error_response
from centrali.errors import Gone, NotFound, PermissionDenied
from workspaces import selectors, services
from workspaces import storage as workspace_storage
from workspaces.models import WorkspaceStatus
from workspaces.serializers import (
    CapabilitiesResponseSerializer,
    DeletionResponseSerializer,
    ExportJobSerializer,
    ExportRequestedSerializer,
    ProvisionRetryRequestSerializer,
    ProvisionRetryResponseSerializer,
    ProvisionStatusSerializer,
    RestoreResponseSerializer,
    WorkspaceCreatedResponseSerializer,
    WorkspaceCreateSerializer,
    WorkspaceSerializer,
    WorkspaceUpdateSerializer,
)
from workspaces.tenancy import WORKSPACE_ADMINS, WorkspaceAPIView


class WorkspaceCreateView(APIView):
    """POST / — sign-up: the owner account, the workspace and its owner membership."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_scope = "workspace_create"

    @extend_schema(
        request=WorkspaceCreateSerializer,
        responses={
            201: WorkspaceCreatedResponseSerializer,
            409: error_response("EMAIL_ALREADY_EXISTS or USERNAME_ALREADY_EXISTS"),
            429: error_response("RATE_LIMITED"),
        },
        tags=["Workspaces"],
    )
    def post(self, request):
        serializer = WorkspaceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workspace, owner = services.create_workspace(
            name=data["name"],
            email=data["email"],
            username=data["username"],
            password=data.get("password"),
            description=data["description"],
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
        workspace = services.update_workspace(workspace=self.workspace, **serializer.validated_data)
        return Response(WorkspaceSerializer(workspace, context={"membership": self.membership}).data)

    @extend_schema(responses={200: DeletionResponseSerializer}, tags=["Workspaces"])
    def delete(self, request, slug):
        return _soft_delete(self.workspace)


class WorkspaceSoftDeleteView(WorkspaceAPIView):
    """POST /{slug}/delete — the same soft delete as DELETE /{slug}, for clients that cannot send DELETE."""

    @extend_schema(request=None, responses=DeletionResponseSerializer, tags=["Workspaces"])
    def post(self, request, slug):
        return _soft_delete(self.workspace)


def _soft_delete(workspace):
    workspace = services.soft_delete_workspace(workspace=workspace)
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
        workspace = services.restore_workspace(workspace=self.workspace)
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


class ProvisionStatusView(WorkspaceAPIView):
    """GET /{slug}/provision-status — any member."""

    @extend_schema(operation_id="provision_status_retrieve", responses=ProvisionStatusSerializer, tags=["Workspaces"])
    def get(self, request, slug):
        return Response(ProvisionStatusSerializer(selectors.provisioning_status(workspace=self.workspace)).data)


class ProvisionRetryView(WorkspaceAPIView):
    """POST /{slug}/provision-status/retry — owner/admin re-enqueue a failed service."""

    required_roles = {"*": WORKSPACE_ADMINS}

    @extend_schema(
        operation_id="provision_status_retry",
        request=ProvisionRetryRequestSerializer,
        responses=ProvisionRetryResponseSerializer,
        tags=["Workspaces"],
    )
    def post(self, request, slug):
        serializer = ProvisionRetryRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        service = serializer.validated_data["service"]
        provisioning = services.retry_provisioning(workspace=self.workspace, service=service)
        return Response(
            ProvisionRetryResponseSerializer(
                {
                    "message": f"Provisioning of '{service}' has been queued again.",
                    "workspace_slug": self.workspace.slug,
                    "service": service,
                    "status": provisioning.status,
                }
            ).data
        )


class ExportView(WorkspaceAPIView):
    """GET/POST /{slug}/export — owner/admin; a cancelled or suspended workspace stays exportable."""

    required_roles = {"*": WORKSPACE_ADMINS}
    allowed_when_pending_deletion = frozenset({"POST"})
    allowed_when_suspended = frozenset({"POST"})

    @extend_schema(
        operation_id="export_latest",
        # ExportJob or JSON null (the component is registered by the job endpoint's serializer).
        responses={200: {"nullable": True, "allOf": [{"$ref": "#/components/schemas/ExportJob"}]}},
        description="The latest export job, or null when the workspace was never exported.",
        tags=["Workspaces"],
    )
    def get(self, request, slug):
        job = selectors.latest_export_job(workspace=self.workspace)
        if job is None:
            return JsonResponse(None, safe=False)
        return Response(ExportJobSerializer(job, context={"request": request}).data)

    @extend_schema(
        operation_id="export_create",
        request=None,
        responses={
            202: ExportRequestedSerializer,
            409: error_response("EXPORT_IN_PROGRESS: an export is already queued or running"),
            503: error_response("QUEUE_UNAVAILABLE: the export could not be queued"),
        },
        tags=["Workspaces"],
    )
    def post(self, request, slug):
        job = services.request_export(workspace=self.workspace, actor=request.user)
        body = ExportRequestedSerializer(
            {"pk": job.pk, "status": job.status, "message": "Export queued; poll the job for progress."}
        ).data
        location = reverse("workspace-export-job", kwargs={"slug": self.workspace.slug, "jobId": job.pk})
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


class ExportJobView(WorkspaceAPIView):
    """GET /{slug}/export/{jobId} — owner/admin."""

    required_roles = {"*": WORKSPACE_ADMINS}

    @extend_schema(operation_id="export_job_retrieve", responses=ExportJobSerializer, tags=["Workspaces"])
    def get(self, request, slug, jobId):
        job = selectors.get_export_job(workspace=self.workspace, job_id=jobId)
        if job is None:
            raise NotFound(f"Export job '{jobId}' not found.", code="EXPORT_NOT_FOUND")
        return Response(ExportJobSerializer(job, context={"request": request}).data)


class ExportDownloadView(APIView):
    """GET /{slug}/export/{jobId}/download?token=… — the signed, expiring link of filesystem storage.

    The token is the credential (no bearer token: the link works in a browser); it is bound to
    the job and the workspace and expires after EXPORT_DOWNLOAD_LINK_TTL.
    """

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="export_download",
        parameters=[OpenApiParameter("token", str, required=True, description="Signed token from downloadUrl")],
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
        tags=["Workspaces"],
    )
    def get(self, request, slug, jobId):
        token = request.query_params.get("token", "")
        job = selectors.get_export_job_by_slug(slug=slug, job_id=jobId)
        if not token or job is None:
            raise PermissionDenied("This download link is not valid.", code="INVALID_DOWNLOAD_LINK")
        try:
            workspace_storage.verify_download_token(token, job_id=job.pk, workspace_id=job.workspace_id)
        except workspace_storage.DownloadLinkExpired:
            raise Gone(
                "This download link has expired; fetch the export job again for a fresh link.",
                code="DOWNLOAD_LINK_EXPIRED",
            ) from None
        except workspace_storage.DownloadLinkInvalid:
            raise PermissionDenied("This download link is not valid.", code="INVALID_DOWNLOAD_LINK") from None
        archive = workspace_storage.open_archive(job)
        if archive is None:
            raise Gone(
                "This export's archive has been deleted after its retention period.",
                code="EXPORT_EXPIRED",
            )
        services.record_export_download(job=job)
        return FileResponse(
            archive,
            as_attachment=True,
            filename=f"{job.workspace.slug}-export-{job.created_at:%Y%m%d-%H%M%S}.zip",
            content_type="application/zip",
        )
