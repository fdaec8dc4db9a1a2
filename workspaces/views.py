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
from centrali.api import conditional
from centrali.api.authentication import issue_access_token
from centrali.api.renderers import ZipRenderer
from centrali.api.schema import ETAG_HEADER, error_response, request_example, response_example
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

_WORKSPACE = {
    "id": "3f1c9a52-7d4e-4b8a-9c1e-2a6b0d5e8f10",
    "name": "Acme Analytics",
    "slug": "acme-analytics",
    "description": "Dashboards for the Acme sales team",
    "owner_id": "9b2e4c71-0a3d-4f5e-8b6c-1d2e3f4a5b6c",
    "plan_id": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
    "plan": "free",
    "status": "active",
    "role": "owner",
    "deleted_at": None,
    "restore_deadline": None,
    "created_at": "2026-01-15T09:30:00Z",
    "updated_at": "2026-01-15T09:30:00Z",
}
_DELETION = {
    "message": "Workspace scheduled for deletion. It can be restored until the restore deadline.",
    "workspace_slug": "acme-analytics",
    "deleted_at": "2026-02-01T10:00:00Z",
    "restore_deadline": "2026-03-03T10:00:00Z",
    "grace_period_days": 30,
}
_EXPORT_JOB = {
    "jobId": "c0ffee00-1234-4abc-8def-0123456789ab",
    "status": "completed",
    "progress": {"stage": "done", "rowsDone": 1250, "rowsTotal": 1250, "percent": 100},
    "downloadUrl": "https://api.example.com/workspace/api/v1/acme-analytics/export/c0ffee00-1234-4abc-8def-0123456789ab/download?token=…",
    "downloadExpiresAt": "2026-02-01T11:00:00Z",
    "errorMessage": None,
    "createdAt": "2026-02-01T10:00:00Z",
    "startedAt": "2026-02-01T10:00:02Z",
    "finishedAt": "2026-02-01T10:00:09Z",
    "fileSize": 48213,
    "checksumSha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "fileExpiresAt": "2026-02-08T10:00:09Z",
}


class WorkspaceCreateView(APIView):
    """POST / — sign-up: the owner account, the workspace and its owner membership."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_scope = "workspace_create"

    @extend_schema(
        summary="Sign up: create a workspace",
        description=(
            "Creates the owner's account, the workspace (on the free plan) and the owner's membership, and "
            "answers an access token for the owner. Provisioning of the workspace's services starts in the "
            "background (see provision-status). Without a password the owner signs in through the platform IAM."
        ),
        request=WorkspaceCreateSerializer,
        examples=[
            request_example(
                {
                    "name": "Acme Analytics",
                    "email": "ada@acme.example",
                    "username": "ada",
                    "password": "correct-horse-battery-staple",
                    "passwordConfirmation": "correct-horse-battery-staple",
                    "description": "Dashboards for the Acme sales team",
                }
            ),
            response_example(
                {
                    "workspace": {
                        "id": _WORKSPACE["id"],
                        "slug": "acme-analytics",
                        "name": "Acme Analytics",
                        "status": "provisioning",
                        "plan": "free",
                        "created_at": "2026-01-15T09:30:00Z",
                    },
                    "auth_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…",
                    "user_id": _WORKSPACE["owner_id"],
                },
                status=201,
            ),
        ],
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

    @extend_schema(
        summary="Get a workspace",
        description="The workspace, its plan, the caller's role in it and its deletion schedule. Any member.",
        responses=WorkspaceSerializer,
        parameters=[ETAG_HEADER],
        examples=[response_example(_WORKSPACE)],
        tags=["Workspaces"],
    )
    def get(self, request, slug):
        body = WorkspaceSerializer(self.workspace, context={"membership": self.membership}).data
        return conditional.with_etag(Response(body), self.workspace)

    @extend_schema(
        summary="Rename or describe a workspace",
        description="Changes the name and/or the description (at least one). Owners and admins.",
        request=WorkspaceUpdateSerializer,
        examples=[
            request_example({"name": "Acme Analytics EU", "description": "Dashboards for Acme Europe"}),
            response_example({**_WORKSPACE, "name": "Acme Analytics EU", "description": "Dashboards for Acme Europe"}),
        ],
        responses={
            200: WorkspaceSerializer,
            412: error_response("PRECONDITION_FAILED: If-Match names a version the workspace has moved on from"),
        },
        parameters=[ETAG_HEADER],
        tags=["Workspaces"],
    )
    def put(self, request, slug):
        serializer = WorkspaceUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workspace = services.update_workspace(
            workspace=self.workspace,
            expected_version=conditional.expected_version(request, self.workspace),
            **serializer.validated_data,
        )
        body = WorkspaceSerializer(workspace, context={"membership": self.membership}).data
        return conditional.with_etag(Response(body), workspace)

    @extend_schema(
        summary="Delete a workspace (restorable)",
        description=(
            "Schedules the workspace for deletion: it stops serving writes and is purged after the grace period "
            "unless restored before `restore_deadline`. Owners and admins."
        ),
        responses={200: DeletionResponseSerializer},
        examples=[response_example(_DELETION)],
        tags=["Workspaces"],
    )
    def delete(self, request, slug):
        return _soft_delete(self.workspace)


class WorkspaceSoftDeleteView(WorkspaceAPIView):
    """POST /{slug}/delete — the same soft delete as DELETE /{slug}, for clients that cannot send DELETE."""

    @extend_schema(
        summary="Delete a workspace (for clients without DELETE)",
        description="The same soft delete as `DELETE /{slug}`. Owners and admins.",
        request=None,
        responses=DeletionResponseSerializer,
        examples=[response_example(_DELETION)],
        tags=["Workspaces"],
    )
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

    @extend_schema(
        summary="Restore a deleted workspace",
        description="Cancels a pending deletion before its restore deadline; the workspace is active again.",
        request=None,
        responses=RestoreResponseSerializer,
        examples=[
            response_example({"message": "Workspace restored.", "workspace_slug": "acme-analytics", "status": "active"})
        ],
        tags=["Workspaces"],
    )
    def post(self, request, slug):
        workspace = services.restore_workspace(workspace=self.workspace)
        return Response(
            RestoreResponseSerializer(
                {"message": "Workspace restored.", "workspace_slug": workspace.slug, "status": WorkspaceStatus.ACTIVE}
            ).data
        )


class WorkspaceCapabilitiesView(WorkspaceAPIView):
    @extend_schema(
        summary="What the workspace's plan allows",
        description="The features the current plan enables (AI, compute, scheduler, storage limits, ...).",
        responses=CapabilitiesResponseSerializer,
        examples=[
            response_example(
                {
                    "plan": "pro",
                    "capabilities": {
                        "ai": {"enabled": True, "validation": True, "anomalyInsights": False},
                        "compute": {"enabled": True, "orchestrations": True},
                        "scheduler": {"enabled": True},
                        "storage": {"enabled": True, "maxFileSizeBytes": 104857600},
                        "search": {"enabled": True},
                        "billing": {"enabled": True},
                        "advancedRbac": {"enabled": False},
                        "supportTickets": {"enabled": True},
                        "backups": {"enabled": True},
                    },
                }
            )
        ],
        tags=["Workspaces"],
    )
    def get(self, request, slug):
        plan = self.workspace.plan
        return Response({"plan": plan.code, "capabilities": capabilities_for_plan(plan)})


class ProvisionStatusView(WorkspaceAPIView):
    """GET /{slug}/provision-status — any member."""

    @extend_schema(
        operation_id="provision_status_retrieve",
        summary="Provisioning status",
        description=(
            "Whether the workspace's platform services (storage, compute, search, ...) are ready, each with "
            "its attempts and last error. Any member."
        ),
        responses=ProvisionStatusSerializer,
        examples=[
            response_example(
                {
                    "workspace_slug": "acme-analytics",
                    "status": "ready",
                    "services": {"storage": "ready", "compute": "ready"},
                    "updated_at": "2026-01-15T09:30:12Z",
                    "details": {
                        "storage": {
                            "status": "ready",
                            "attempts": 1,
                            "lastError": None,
                            "readyAt": "2026-01-15T09:30:05Z",
                            "updatedAt": "2026-01-15T09:30:05Z",
                        }
                    },
                }
            )
        ],
        tags=["Workspaces"],
    )
    def get(self, request, slug):
        return Response(ProvisionStatusSerializer(selectors.provisioning_status(workspace=self.workspace)).data)


class ProvisionRetryView(WorkspaceAPIView):
    """POST /{slug}/provision-status/retry — owner/admin re-enqueue a failed service."""

    required_roles = {"*": WORKSPACE_ADMINS}

    @extend_schema(
        operation_id="provision_status_retry",
        summary="Retry a failed service's provisioning",
        description="Queues provisioning of one failed service again. Owners and admins.",
        request=ProvisionRetryRequestSerializer,
        responses=ProvisionRetryResponseSerializer,
        examples=[
            request_example({"service": "storage"}),
            response_example(
                {
                    "message": "Provisioning of 'storage' has been queued again.",
                    "workspace_slug": "acme-analytics",
                    "service": "storage",
                    "status": "pending",
                }
            ),
        ],
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
        summary="The latest export",
        description="The latest export job, or null when the workspace was never exported. Owners and admins.",
        examples=[response_example(_EXPORT_JOB)],
        tags=["Workspaces"],
    )
    def get(self, request, slug):
        job = selectors.latest_export_job(workspace=self.workspace)
        if job is None:
            return JsonResponse(None, safe=False)
        return Response(ExportJobSerializer(job, context={"request": request}).data)

    @extend_schema(
        operation_id="export_create",
        summary="Export the workspace",
        description=(
            "Queues an export of the workspace's data as a zip archive; poll the job (its URL is in `Location`) "
            "until it is completed, then follow its `downloadUrl`. Owners and admins; also while suspended or "
            "pending deletion."
        ),
        request=None,
        examples=[
            response_example(
                {
                    "jobId": _EXPORT_JOB["jobId"],
                    "status": "queued",
                    "message": "Export queued; poll the job for progress.",
                },
                status=202,
            )
        ],
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

    @extend_schema(
        operation_id="export_job_retrieve",
        summary="An export job",
        description=(
            "The job's progress and, once completed, a fresh expiring `downloadUrl` for its archive. Owners and admins."
        ),
        responses={200: ExportJobSerializer, 404: error_response("EXPORT_NOT_FOUND: no such export job")},
        examples=[response_example(_EXPORT_JOB)],
        tags=["Workspaces"],
    )
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
    renderer_classes = [ZipRenderer]

    @extend_schema(
        operation_id="export_download",
        summary="Download an export archive",
        description=(
            "The archive of a completed export. The signed `token` of the job's `downloadUrl` is the credential "
            "(no bearer token, so the link works in a browser); it expires, after which the job answers a new one."
        ),
        parameters=[OpenApiParameter("token", str, required=True, description="Signed token from downloadUrl")],
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            403: error_response("INVALID_DOWNLOAD_LINK: the token is not valid for this job"),
            410: error_response("DOWNLOAD_LINK_EXPIRED or EXPORT_EXPIRED: fetch the job again, or export again"),
        },
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
