from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from audit import selectors, services
from audit.csv_export import csv_lines
from audit.filters import checked_text, parse_activity_filters
from audit.models import AuditEvent
from audit.serializers import (
    AuditPageSerializer,
    PlatformEventBatchResultSerializer,
    PlatformEventBatchSerializer,
)
from centrali.api.pagination import parse_cursor_params
from centrali.api.schema import error_response
from centrali.api.views import PlatformServiceAPIView
from workspaces.tenancy import WorkspaceAPIView

_ID_FIELD = AuditEvent._meta.get_field("id")
# GETs document their 400 here: the schema hook adds one to writes only.
BAD_PAGE_OR_FILTER = error_response("INVALID_FILTER, INVALID_CURSOR or INVALID_PAGINATION: bad filters or paging")

PAGE_PARAMETERS = [
    OpenApiParameter("limit", int, description="1..100, default 50"),
    OpenApiParameter("cursor", str, description="Cursor from previous page (entry ID)"),
]
FILTER_PARAMETERS = [
    OpenApiParameter("resourceType", str, description="Filter by resource type"),
    OpenApiParameter("type", str, description="Filter by event type"),
    OpenApiParameter("actorId", str, description="Filter by actor ID"),
    OpenApiParameter("dateFrom", str, description="Filter from date (ISO 8601), inclusive"),
    OpenApiParameter("dateTo", str, description="Filter to date (ISO 8601), inclusive"),
    OpenApiParameter("search", str, description="Search in summary and resource ID"),
]


def _page_response(events, next_cursor, has_more):
    return Response(AuditPageSerializer({"entries": events, "nextCursor": next_cursor, "hasMore": has_more}).data)


class AuditActivityView(WorkspaceAPIView):
    """GET /{slug}/audit/activity — the workspace's audit log, newest first, keyset-paged."""

    @extend_schema(
        parameters=PAGE_PARAMETERS + FILTER_PARAMETERS,
        responses={200: AuditPageSerializer, 400: BAD_PAGE_OR_FILTER},
        tags=["Audit Log"],
    )
    def get(self, request, slug):
        cursor = parse_cursor_params(request.query_params, model_field=_ID_FIELD)
        filters = parse_activity_filters(request.query_params)
        return _page_response(*selectors.activity_page(workspace=self.workspace, filters=filters, cursor=cursor))


class AuditResourceHistoryView(WorkspaceAPIView):
    """GET /{slug}/audit/{resourceType}/{resourceId}/history — one resource's events, newest first."""

    @extend_schema(
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("resourceType", str, OpenApiParameter.PATH, description="e.g. structure, function, user"),
            OpenApiParameter("resourceId", str, OpenApiParameter.PATH),
        ],
        responses={200: AuditPageSerializer, 400: BAD_PAGE_OR_FILTER},
        tags=["Audit Log"],
    )
    def get(self, request, slug, resourceType, resourceId):
        cursor = parse_cursor_params(request.query_params, model_field=_ID_FIELD)
        return _page_response(
            *selectors.resource_history_page(
                workspace=self.workspace,
                resource_type=checked_text("resourceType", resourceType),
                resource_id=checked_text("resourceId", resourceId),
                cursor=cursor,
            )
        )


class AuditExportView(WorkspaceAPIView):
    """GET /{slug}/audit/export — the filtered log as CSV, streamed (memory stays flat at any size)."""

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, one row per event"),
            400: error_response("INVALID_FILTER: bad filters"),
        },
        tags=["Audit Log"],
    )
    def get(self, request, slug):
        filters = parse_activity_filters(request.query_params)
        events = selectors.events_for_export(workspace=self.workspace, filters=filters)
        response = StreamingHttpResponse(csv_lines(events), content_type="text/csv; charset=utf-8")
        filename = f"audit-{self.workspace.slug}-{timezone.now():%Y%m%dT%H%M%SZ}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response


class PlatformAuditEventsView(PlatformServiceAPIView):
    """POST internal/audit-events — platform services report events about resources they own."""

    @extend_schema(
        request=PlatformEventBatchSerializer, responses={200: PlatformEventBatchResultSerializer}, tags=["Internal"]
    )
    def post(self, request):
        serializer = PlatformEventBatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        accepted, duplicates = services.ingest_platform_events(
            events=serializer.validated_data["events"], service_name=request.user.name
        )
        return Response(PlatformEventBatchResultSerializer({"accepted": accepted, "duplicates": duplicates}).data)
