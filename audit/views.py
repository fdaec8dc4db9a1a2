from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from audit import selectors, services
from audit.csv_export import csv_chunks
from audit.filters import MAX_FILTER_LENGTH, checked_text, parse_activity_filters
from audit.models import AuditEvent
from audit.serializers import (
    AuditPageSerializer,
    PlatformEventBatchResultSerializer,
    PlatformEventBatchSerializer,
)
from centrali.api.pagination import parse_cursor_params
from centrali.api.renderers import CSVRenderer
from centrali.api.schema import (
    DATE_OR_DATETIME_QUERY_SCHEMA,
    error_response,
    limit_parameter,
    request_example,
    response_example,
)
from centrali.api.views import PlatformServiceAPIView
from centrali.formats import iso_utc
from workspaces.tenancy import WorkspaceAPIView

_ID_FIELD = AuditEvent._meta.get_field("id")
LOG_COMPLETE_FROM_HEADER = "X-Audit-Log-Complete-From"
# GETs document their 400 here: the schema hook adds one to writes only.
BAD_PAGE_OR_FILTER = error_response("INVALID_FILTER, INVALID_CURSOR or INVALID_PAGINATION: bad filters or paging")

PAGE_PARAMETERS = [
    limit_parameter(default=50),
    OpenApiParameter("cursor", str, description="Cursor from previous page (entry ID)"),
]
_FILTER_TEXT = {"type": "string", "maxLength": MAX_FILTER_LENGTH}
FILTER_PARAMETERS = [
    OpenApiParameter("resourceType", _FILTER_TEXT, description="Filter by resource type"),
    OpenApiParameter("type", _FILTER_TEXT, description="Filter by event type"),
    OpenApiParameter("actorId", _FILTER_TEXT, description="Filter by actor ID"),
    OpenApiParameter(
        "dateFrom",
        DATE_OR_DATETIME_QUERY_SCHEMA,
        description="Filter from date or instant (ISO 8601; naive = UTC), inclusive; before `dateTo`",
    ),
    OpenApiParameter(
        "dateTo",
        DATE_OR_DATETIME_QUERY_SCHEMA,
        description="Filter to date or instant (ISO 8601; naive = UTC), inclusive (a date: its whole day)",
    ),
    OpenApiParameter("search", _FILTER_TEXT, description="Search in summary and resource ID"),
]


_ENTRY = {
    "id": "01952f3c-8a10-7b2e-9d4f-5a6b7c8d9e0f",
    "type": "workspace.updated",
    "resourceType": "workspace",
    "resourceId": "3f1c9a52-7d4e-4b8a-9c1e-2a6b0d5e8f10",
    "actorId": "9b2e4c71-0a3d-4f5e-8b6c-1d2e3f4a5b6c",
    "actorType": "user",
    "summary": "Workspace renamed to Acme Analytics EU",
    "metadata": {"name": {"from": "Acme Analytics", "to": "Acme Analytics EU"}},
    "ipAddress": "203.0.113.7",
    "userAgent": "Mozilla/5.0",
    "requestId": "b1946ac92492d2347c6235b4d2611184",
    "createdAt": "2026-02-01T09:00:00Z",
    "hash": "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
    "previousHash": "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b",
}
_PAGE_EXAMPLE = response_example({"entries": [_ENTRY], "nextCursor": None, "hasMore": False})


def _page_response(events, next_cursor, has_more):
    return Response(AuditPageSerializer({"entries": events, "nextCursor": next_cursor, "hasMore": has_more}).data)


class AuditActivityView(WorkspaceAPIView):
    """GET /{slug}/audit/activity — the workspace's audit log, newest first, keyset-paged."""

    @extend_schema(
        summary="The workspace's audit log",
        description=(
            "Who did what in the workspace, newest first, in pages of `limit` (pass `nextCursor` as `cursor`); "
            "filter by resource type, event type, actor, dates and text. Each entry is chained to the previous "
            "one by `hash`/`previousHash`. Any member."
        ),
        parameters=PAGE_PARAMETERS + FILTER_PARAMETERS,
        responses={200: AuditPageSerializer, 400: BAD_PAGE_OR_FILTER},
        examples=[_PAGE_EXAMPLE],
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
            OpenApiParameter(
                "resourceType", _FILTER_TEXT, OpenApiParameter.PATH, description="e.g. structure, function, user"
            ),
            OpenApiParameter("resourceId", _FILTER_TEXT, OpenApiParameter.PATH),
        ],
        responses={200: AuditPageSerializer, 400: BAD_PAGE_OR_FILTER},
        summary="One resource's history",
        description="The audit entries of one resource (e.g. a structure or a user), newest first. Any member.",
        examples=[_PAGE_EXAMPLE],
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

    renderer_classes = [CSVRenderer]

    @extend_schema(
        summary="Export the audit log as CSV",
        description=(
            "The audit log with the same filters as the activity list, streamed as CSV. Any member. "
            f"`{LOG_COMPLETE_FROM_HEADER}` says since when the log is complete: the plan's audit retention "
            "drops older events (before that moment some or all events are gone)."
        ),
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter(
                LOG_COMPLETE_FROM_HEADER,
                OpenApiTypes.DATETIME,
                OpenApiParameter.HEADER,
                description="Every event since this moment (ISO 8601, UTC) is in the log",
                response=[200],
            ),
        ],
        examples=[
            response_example(
                "id,created_at,type,resource_type,resource_id,actor_type,actor_id,summary,metadata,ip_address,"
                "user_agent,request_id,entry_hash\r\n"
                "01952f3c-8a10-7b2e-9d4f-5a6b7c8d9e0f,2026-02-01T09:00:00Z,workspace.updated,workspace,"
                "3f1c9a52-7d4e-4b8a-9c1e-2a6b0d5e8f10,user,9b2e4c71-0a3d-4f5e-8b6c-1d2e3f4a5b6c,Workspace renamed,"
                "{},203.0.113.7,Mozilla/5.0,b1946ac92492d2347c6235b4d2611184,5e884898da28…\r\n",
                media_type="text/csv",
            )
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, one row per event"),
            400: error_response("INVALID_FILTER: bad filters"),
        },
        tags=["Audit Log"],
    )
    def get(self, request, slug):
        filters = parse_activity_filters(request.query_params)
        events = selectors.events_for_export(workspace=self.workspace, filters=filters)
        response = StreamingHttpResponse(csv_chunks(events), content_type="text/csv; charset=utf-8")
        filename = f"audit-{self.workspace.slug}-{timezone.now():%Y%m%dT%H%M%SZ}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        response[LOG_COMPLETE_FROM_HEADER] = iso_utc(selectors.log_complete_from(workspace=self.workspace)) or ""
        return response


class PlatformAuditEventsView(PlatformServiceAPIView):
    """POST internal/audit-events — platform services report events about resources they own."""

    @extend_schema(
        summary="Report audit events (platform services)",
        description=(
            "Platform services record events about the resources they own in a workspace's audit log, up to 500 "
            "at a time. Idempotent on `eventId`: an event already recorded is listed in `duplicates`."
        ),
        request=PlatformEventBatchSerializer,
        responses={200: PlatformEventBatchResultSerializer},
        examples=[
            request_example(
                {
                    "events": [
                        {
                            "eventId": "evt_7f3a9c",
                            "workspace": "acme-analytics",
                            "type": "structure.created",
                            "resourceType": "structure",
                            "resourceId": "orders",
                            "summary": "Structure orders created",
                            "actorId": "9b2e4c71-0a3d-4f5e-8b6c-1d2e3f4a5b6c",
                            "actorType": "user",
                            "metadata": {"fields": 12},
                            "occurredAt": "2026-02-01T09:00:00Z",
                            "ipAddress": "203.0.113.7",
                            "userAgent": "Mozilla/5.0",
                            "requestId": "b1946ac92492d2347c6235b4d2611184",
                        }
                    ]
                }
            ),
            response_example({"accepted": ["evt_7f3a9c"], "duplicates": []}),
        ],
        tags=["Internal"],
    )
    def post(self, request):
        serializer = PlatformEventBatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        accepted, duplicates = services.ingest_platform_events(
            events=serializer.validated_data["events"], service_name=request.user.name
        )
        return Response(PlatformEventBatchResultSerializer({"accepted": accepted, "duplicates": duplicates}).data)
