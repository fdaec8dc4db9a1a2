import re
from datetime import date, timedelta
from typing import cast

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from billing.selectors import current_billing_period
from centrali.api.authentication import PlatformService
from centrali.api.schema import error_response
from centrali.api.views import PlatformServiceAPIView
from centrali.errors import InvalidInput, NotFound
from usage import selectors, services
from usage.serializers import (
    CurrentUsageSerializer,
    HistoricalBucketSerializer,
    HistoricalQuerySerializer,
    IngestResultSerializer,
    OverviewSerializer,
    PeriodUsageSerializer,
    QuotaQuerySerializer,
    QuotaResponseSerializer,
    UsageEventBatchSerializer,
)
from workspaces.selectors import get_workspace_by_ref
from workspaces.tenancy import WorkspaceAPIView

BILLING_PERIOD = re.compile(r"^([1-9]\d{3})-(0[1-9]|1[0-2])$")

# GET /usage/historical: without dates, the last 30 days / 12 ISO weeks / 12 months up to today.
HISTORICAL_DEFAULT_BUCKETS = {"day": 30, "week": 12, "month": 12}
HISTORICAL_MAX_BUCKETS = 366


def _today() -> date:
    return timezone.now().date()


class CurrentUsageView(WorkspaceAPIView):
    @extend_schema(
        tags=["Usage"],
        description=(
            "Usage in the current billing period (the subscription's period, else the calendar month, UTC): "
            "per metric used, plan limit, percent, whether it is over quota, overage units and the estimated "
            "overage cost at the plan's rates (capped by the spending cap), and a projection to the period end."
        ),
        responses=CurrentUsageSerializer,
    )
    def get(self, request: Request, slug: str) -> Response:
        now = timezone.now()
        period = current_billing_period(workspace=self.workspace, now=now)
        usage = selectors.current_usage(workspace=self.workspace, period=period, now=now)
        return Response(
            CurrentUsageSerializer(
                {**usage, "workspace": self.workspace, "period_start": period.start, "period_end": period.end}
            ).data
        )


class HistoricalUsageView(WorkspaceAPIView):
    @extend_schema(
        tags=["Usage"],
        description=(
            "Usage per day, ISO week (Monday to Sunday) or calendar month, as a JSON array of buckets "
            "{periodStart, periodEnd (exclusive), one value per metric}; counters are summed, gauges show "
            "their last value. Buckets without usage are zero-filled (a gauge keeps its last known level). "
            f"Defaults: granularity=day, endDate=today (UTC), startDate covering the last "
            f"{HISTORICAL_DEFAULT_BUCKETS['day']} days / {HISTORICAL_DEFAULT_BUCKETS['week']} weeks / "
            f"{HISTORICAL_DEFAULT_BUCKETS['month']} months. At most {HISTORICAL_MAX_BUCKETS} buckets."
        ),
        parameters=[
            OpenApiParameter("startDate", OpenApiTypes.DATE, description="First day (YYYY-MM-DD), inclusive."),
            OpenApiParameter("endDate", OpenApiTypes.DATE, description="Last day (YYYY-MM-DD), inclusive."),
            OpenApiParameter("granularity", str, enum=list(HISTORICAL_DEFAULT_BUCKETS), description="Default: day."),
        ],
        responses={
            200: HistoricalBucketSerializer(many=True),
            400: error_response("VALIDATION_ERROR, INVALID_DATE_RANGE or TOO_MANY_BUCKETS: bad dates or range"),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        query = HistoricalQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        granularity = query.validated_data["granularity"]
        end = query.validated_data.get("endDate") or _today()
        start = query.validated_data.get("startDate") or _default_start(end, granularity)
        if end < start:
            raise InvalidInput.for_field(
                "endDate", "`endDate` must not be before `startDate`.", code="INVALID_DATE_RANGE"
            )
        if selectors.bucket_count(start, end, granularity) > HISTORICAL_MAX_BUCKETS:
            raise InvalidInput.for_field(
                "startDate",
                f"The range spans more than {HISTORICAL_MAX_BUCKETS} {granularity} buckets; narrow it or use a "
                "coarser granularity.",
                code="TOO_MANY_BUCKETS",
            )
        buckets = selectors.historical_usage(workspace=self.workspace, start=start, end=end, granularity=granularity)
        rows = [
            {
                "periodStart": selectors.start_of_day(first),
                "periodEnd": selectors.start_of_day(following),
                "values": values,
            }
            for first, following, values in buckets
        ]
        return Response(HistoricalBucketSerializer(rows, many=True).data)


def _default_start(end: date, granularity: selectors.Granularity) -> date:
    buckets = HISTORICAL_DEFAULT_BUCKETS[granularity]
    if granularity == "day":
        return end - timedelta(days=buckets - 1)
    if granularity == "week":
        return selectors.bucket_start(end, "week") - timedelta(weeks=buckets - 1)
    months = end.year * 12 + end.month - 1 - (buckets - 1)
    return date(months // 12, months % 12 + 1, 1)


class PeriodUsageView(WorkspaceAPIView):
    @extend_schema(
        tags=["Usage"],
        description=(
            "Totals of one calendar month (UTC), YYYY-MM: counters summed over the month, gauges at their last "
            "value. 400 for a malformed period; 404 for a month before the workspace existed or in the future."
        ),
        parameters=[
            OpenApiParameter("billingPeriod", str, OpenApiParameter.PATH, description="Billing period (e.g., 2024-01)")
        ],
        responses={
            200: PeriodUsageSerializer,
            400: error_response("INVALID_BILLING_PERIOD: not YYYY-MM"),
            404: error_response(
                "WORKSPACE_NOT_FOUND, or BILLING_PERIOD_NOT_FOUND: a month before the workspace existed or in the future"
            ),
        },
    )
    def get(self, request: Request, slug: str, billingPeriod: str) -> Response:
        match = BILLING_PERIOD.match(billingPeriod)
        if not match:
            raise InvalidInput.for_field("billingPeriod", "Use YYYY-MM, e.g. 2024-01.", code="INVALID_BILLING_PERIOD")
        month = date(int(match[1]), int(match[2]), 1)
        created = self.workspace.created_at.date().replace(day=1)
        if not created <= month <= _today().replace(day=1):
            raise NotFound(
                f"No usage period {billingPeriod}: it is before the workspace existed or in the future.",
                code="BILLING_PERIOD_NOT_FOUND",
            )
        usage = selectors.month_usage(workspace=self.workspace, month=month)
        return Response(
            PeriodUsageSerializer({**usage, "workspace": self.workspace, "billing_period": billingPeriod}).data
        )


class OverviewView(WorkspaceAPIView):
    @extend_schema(
        tags=["Workspaces"],
        description=(
            "The workspace at a glance from this service's own data: usage rollups, memberships and the audit "
            "log. A block is null when nothing was ever reported for it. Totals are the latest reported levels; "
            "`…Today` counts since midnight UTC; `recentlyCreated` and `activeThisWeek` cover the last 7 days "
            "(active: a member who appears as an actor in the audit log)."
        ),
        responses=OverviewSerializer,
    )
    def get(self, request: Request, slug: str) -> Response:
        return Response(OverviewSerializer(selectors.overview(workspace=self.workspace, now=timezone.now())).data)


# --- Internal endpoints: platform services only (service token or service JWT)


class UsageEventIngestView(PlatformServiceAPIView):
    @extend_schema(
        tags=["Internal"],
        description=(
            "Report a batch (up to 1,000) of usage events {id, workspace (slug or id), metric, value, timestamp}. "
            "Idempotent on the event id. Answers the counts of accepted, duplicate and rejected events, with "
            "each rejected event's index, id and reason."
        ),
        request=UsageEventBatchSerializer,
        responses=IngestResultSerializer,
    )
    def post(self, request: Request) -> Response:
        batch = UsageEventBatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        service = cast(PlatformService, request.user)  # what PlatformServiceAuthentication authenticates
        result = services.ingest_events(events=batch.validated_data["events"], source=service.name)
        return Response(IngestResultSerializer(result).data)


class WorkspaceQuotaView(PlatformServiceAPIView):
    @extend_schema(
        tags=["Internal"],
        description=(
            "Whether each metric (or the one named by `metric`) may grow now: within the plan's limit, or "
            "past it on overage until the spending cap is reached."
        ),
        parameters=[QuotaQuerySerializer],
        responses={
            200: QuotaResponseSerializer,
            400: error_response("VALIDATION_ERROR: unknown metric"),
            404: error_response("WORKSPACE_NOT_FOUND"),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        query = QuotaQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        workspace = get_workspace_by_ref(slug)
        if workspace is None:
            raise NotFound(f"Workspace '{slug}' not found.", code="WORKSPACE_NOT_FOUND")
        period = current_billing_period(workspace=workspace, now=timezone.now())
        report = selectors.quota_report(workspace=workspace, period=period, metric=query.validated_data.get("metric"))
        return Response(QuotaResponseSerializer(report).data)
