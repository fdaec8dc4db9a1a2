import re
from datetime import date, timedelta
from typing import cast

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from billing.selectors import billing_terms, get_membership_with_billing_terms
from centrali.api.authentication import PlatformService
from centrali.api.schema import DATE_QUERY_SCHEMA, error_response, request_example, response_example
from centrali.api.views import PlatformServiceAPIView
from centrali.errors import InvalidInput, NotFound
from usage import selectors, services
from usage.metrics import METRICS
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
from workspaces.tenancy import WorkspaceAPIView

BILLING_PERIOD = re.compile(r"^([1-9]\d{3})-(0[1-9]|1[0-2])$")

# GET /usage/historical: without dates, the last 30 days / 12 ISO weeks / 12 months up to today.
HISTORICAL_DEFAULT_BUCKETS = {"day": 30, "week": 12, "month": 12}
HISTORICAL_MAX_BUCKETS = 366


_TOTALS = {
    "workspace_id": "3f1c9a52-7d4e-4b8a-9c1e-2a6b0d5e8f10",
    "period_start": "2026-02-01T00:00:00Z",
    "period_end": "2026-03-01T00:00:00Z",
    "records_count": 120000,
    "storage_bytes": 5368709120,
    "function_invocations": 20000,
    "api_calls": 150000,
}
_INVOCATIONS = {
    "kind": "counter",
    "unit": "invocations",
    "used": 20000,
    "limit_name": "function_invocations",
    "limit": 1000000,
    "percent": 2,
    "over_quota": False,
    "quota_reason": "WITHIN_LIMIT",
    "overage_units": 0,
    "estimated_overage_cost": 0.0,
    "projected": 90000,
}


def _today() -> date:
    return timezone.now().date()


class CurrentUsageView(WorkspaceAPIView):
    read_membership = staticmethod(get_membership_with_billing_terms)  # the billing terms in the same query

    @extend_schema(
        tags=["Usage"],
        summary="Usage this billing period",
        examples=[
            response_example(
                {
                    **_TOTALS,
                    "plan": "pro",
                    "currency": "USD",
                    "metrics": {"function_invocations": _INVOCATIONS},
                    "over_quota": [],
                    "overage": {
                        "enabled": False,
                        "spending_cap_cents": None,
                        "estimated_cost_cents": 0,
                        "estimated_cost": 0.0,
                        "projected_cost_cents": 0,
                        "projected_cost": 0.0,
                    },
                }
            )
        ],
        description=(
            "Usage in the current billing period (the subscription's period, else the calendar month, UTC): "
            "per metric used, plan limit, percent, whether it is over quota, overage units and the estimated "
            "overage cost at the plan's rates (capped by the spending cap), and a projection to the period end."
        ),
        responses=CurrentUsageSerializer,
    )
    def get(self, request: Request, slug: str) -> Response:
        now = timezone.now()
        terms = billing_terms(workspace=self.workspace, now=now)
        usage = selectors.current_usage(workspace=self.workspace, terms=terms, now=now)
        period = terms.period
        return Response(
            CurrentUsageSerializer(
                {**usage, "workspace": self.workspace, "period_start": period.start, "period_end": period.end}
            ).data
        )


class HistoricalUsageView(WorkspaceAPIView):
    @extend_schema(
        tags=["Usage"],
        summary="Usage over time",
        examples=[
            response_example(
                {
                    "periodStart": "2026-02-01T00:00:00Z",
                    "periodEnd": "2026-02-02T00:00:00Z",
                    **dict.fromkeys(METRICS, 0),
                    "function_invocations": 20000,
                    "api_calls": 5000,
                    "records": 120000,
                }
            )
        ],
        description=(
            "Usage per day, ISO week (Monday to Sunday) or calendar month, as a JSON array of buckets "
            "{periodStart, periodEnd (exclusive), one value per metric}; counters are summed, gauges show "
            "their last value. Buckets without usage are zero-filled (a gauge keeps its last known level). "
            f"Defaults: granularity=day, endDate=today (UTC), startDate covering the last "
            f"{HISTORICAL_DEFAULT_BUCKETS['day']} days / {HISTORICAL_DEFAULT_BUCKETS['week']} weeks / "
            f"{HISTORICAL_DEFAULT_BUCKETS['month']} months. At most {HISTORICAL_MAX_BUCKETS} buckets."
        ),
        parameters=[
            OpenApiParameter("startDate", DATE_QUERY_SCHEMA, description="First day (YYYY-MM-DD), inclusive."),
            OpenApiParameter(
                "endDate", DATE_QUERY_SCHEMA, description="Last day (YYYY-MM-DD), inclusive; not before `startDate`."
            ),
            OpenApiParameter("granularity", str, enum=list(HISTORICAL_DEFAULT_BUCKETS), description="Default: day."),
        ],
        responses={
            200: HistoricalBucketSerializer(many=True),
            400: error_response("VALIDATION_ERROR, INVALID_DATE_RANGE or TOO_MANY_BUCKETS: bad dates or range"),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        # A plain dict: DRF reads an empty value in a QueryDict as no value, and this one is malformed.
        query = HistoricalQuerySerializer(data=request.query_params.dict())
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
        summary="Usage of one month",
        examples=[
            response_example(
                {
                    **_TOTALS,
                    "billing_period": "2026-02",
                    "metrics": {"records": 120000, "function_invocations": 20000, "api_calls": 150000},
                }
            )
        ],
        description=(
            "Totals of one calendar month (UTC), YYYY-MM: counters summed over the month, gauges at their last "
            "value. 400 for a malformed period; 404 for a month before the workspace existed or in the future."
        ),
        parameters=[
            OpenApiParameter(
                "billingPeriod",
                {"type": "string", "pattern": BILLING_PERIOD.pattern},
                OpenApiParameter.PATH,
                description="Billing period (e.g., 2024-01)",
            )
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
        summary="The workspace at a glance",
        examples=[
            response_example(
                {
                    "structures": {"total": 14, "recentlyCreated": 2},
                    "records": {"total": 120000, "createdToday": 340},
                    "users": {"total": 6, "activeThisWeek": 4},
                    "storage": {"usedBytes": 5368709120, "fileCount": 812},
                    "compute": {"functionsTotal": 9, "runsToday": 1200, "failedToday": 3},
                    "scheduler": None,
                    "recentActivity": [
                        {
                            "id": "01952f3c-8a10-7b2e-9d4f-5a6b7c8d9e0f",
                            "type": "workspace.updated",
                            "resourceType": "workspace",
                            "resourceId": "3f1c9a52-7d4e-4b8a-9c1e-2a6b0d5e8f10",
                            "actorId": "9b2e4c71-0a3d-4f5e-8b6c-1d2e3f4a5b6c",
                            "summary": "Workspace renamed to Acme Analytics EU",
                            "at": "2026-02-01T09:00:00Z",
                        }
                    ],
                }
            )
        ],
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
        summary="Report usage events (platform services)",
        examples=[
            request_example(
                {
                    "events": [
                        {
                            "id": "use_01HZX3",
                            "workspace": "acme-analytics",
                            "metric": "function_invocations",
                            "value": 120,
                            "timestamp": "2026-02-01T09:00:00Z",
                        }
                    ]
                }
            ),
            response_example({"accepted": 1, "duplicates": 0, "rejected": 0, "errors": []}),
        ],
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
        summary="May the workspace use more? (platform services)",
        examples=[
            response_example(
                {
                    "workspace": "acme-analytics",
                    "period_start": "2026-02-01T00:00:00Z",
                    "period_end": "2026-03-01T00:00:00Z",
                    "overage_enabled": False,
                    "metrics": {
                        "function_invocations": {
                            "allowed": True,
                            "reason": "WITHIN_LIMIT",
                            "limit_name": "function_invocations",
                            "used": 20000,
                            "limit": 1000000,
                        }
                    },
                }
            )
        ],
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
        metric = None
        if request.query_params:  # the platform's usual call names no metric: nothing to validate
            query = QuotaQuerySerializer(data=request.query_params.dict())  # `?metric=` is not a metric
            query.is_valid(raise_exception=True)
            metric = query.validated_data.get("metric")
        report = selectors.quota_report(ref=slug, now=timezone.now(), metric=metric)
        if report is None:
            raise NotFound(f"Workspace '{slug}' not found.", code="WORKSPACE_NOT_FOUND")
        return Response(QuotaResponseSerializer(report).data)
