from datetime import date
from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from centrali.api import fields
from centrali.api.output import OutputSerializer
from usage.metrics import METRICS
from usage.selectors import GRANULARITIES
from usage.services import MAX_BATCH_SIZE


@extend_schema_field(OpenApiTypes.NUMBER)
class QuantityField(serializers.Field):
    """A Decimal quantity as a JSON number: an integer when it is whole."""

    def to_representation(self, value):
        value = Decimal(value)
        return int(value) if value == value.to_integral_value() else float(value)


def cents_to_amount(cents):
    return float(Decimal(cents) / 100)


# --- Internal endpoints


class UsageEventBatchSerializer(serializers.Serializer):
    # Each event is validated by the ingest service, which rejects a bad one with a reason
    # instead of failing the whole batch (a null one too: "An event must be an object").
    events = serializers.ListField(
        child=serializers.JSONField(allow_null=True), max_length=MAX_BATCH_SIZE, allow_empty=True
    )


class RejectedEventSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    id = serializers.CharField(allow_null=True)
    reason = serializers.CharField()


class IngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.SerializerMethodField()
    # The metaclass takes declared fields off the class: this one does not hide Serializer.errors.
    errors = RejectedEventSerializer(many=True, source="rejected")  # type: ignore[assignment]

    def get_rejected(self, result) -> int:
        return len(result.rejected)


class QuotaQuerySerializer(serializers.Serializer):
    metric = fields.ChoiceField(choices=list(METRICS), required=False)


class MetricQuotaSerializer(OutputSerializer):
    allowed = serializers.BooleanField()
    reason = serializers.CharField()
    limit_name = serializers.CharField(allow_null=True)
    used = QuantityField()
    limit = QuantityField(allow_null=True)


class QuotaResponseSerializer(OutputSerializer):
    workspace = serializers.CharField()
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    overage_enabled = serializers.BooleanField()
    metrics = serializers.DictField(child=MetricQuotaSerializer())


# --- Usage reads


class UsageTotalsSerializer(OutputSerializer):
    """def-1 Usage: the period and the four headline totals, plus every metric's value."""

    workspace_id = serializers.UUIDField(source="workspace.id")
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    records_count = QuantityField(source="totals.records")
    storage_bytes = QuantityField(source="totals.storage_bytes")
    function_invocations = QuantityField(source="totals.function_invocations")
    api_calls = QuantityField(source="totals.api_calls")


class MetricUsageSerializer(OutputSerializer):
    kind = serializers.CharField()
    unit = serializers.CharField()
    used = QuantityField()
    limit_name = serializers.CharField(allow_null=True)
    limit = QuantityField(allow_null=True)
    percent = QuantityField(allow_null=True)
    over_quota = serializers.BooleanField()
    quota_reason = serializers.CharField()
    overage_units = QuantityField()
    estimated_overage_cost = serializers.SerializerMethodField()
    projected = QuantityField()

    def get_estimated_overage_cost(self, metric) -> float:
        return cents_to_amount(metric["estimated_overage_cents"])


class OverageSummarySerializer(OutputSerializer):
    enabled = serializers.BooleanField(source="overage_enabled")
    spending_cap_cents = serializers.IntegerField(allow_null=True)
    estimated_cost_cents = serializers.IntegerField(source="estimated_overage_cents")
    estimated_cost = serializers.SerializerMethodField()
    projected_cost_cents = serializers.IntegerField(source="projected_overage_cents")
    projected_cost = serializers.SerializerMethodField()

    def get_estimated_cost(self, usage) -> float:
        return cents_to_amount(usage["estimated_overage_cents"])

    def get_projected_cost(self, usage) -> float:
        return cents_to_amount(usage["projected_overage_cents"])


class CurrentUsageSerializer(UsageTotalsSerializer):
    plan = serializers.CharField(source="workspace.plan.code")
    currency = serializers.CharField()
    metrics = serializers.DictField(child=MetricUsageSerializer())
    over_quota = serializers.SerializerMethodField()
    overage = OverageSummarySerializer(source="*")

    def get_over_quota(self, usage) -> list[str]:
        return sorted({m["limit_name"] for m in usage["metrics"].values() if m["over_quota"]})


class PeriodUsageSerializer(UsageTotalsSerializer):
    billing_period = serializers.CharField()
    metrics = serializers.DictField(child=QuantityField(), source="totals")


HISTORICAL_DATE_RANGE = (date(2000, 1, 1), date(2999, 12, 31))


def _within_date_range(day):
    first, last = HISTORICAL_DATE_RANGE
    if not first <= day <= last:
        raise serializers.ValidationError(f"Must be between {first} and {last}.")


class HistoricalQuerySerializer(serializers.Serializer):
    startDate = serializers.DateField(required=False, input_formats=["%Y-%m-%d"], validators=[_within_date_range])
    endDate = serializers.DateField(required=False, input_formats=["%Y-%m-%d"], validators=[_within_date_range])
    granularity = fields.ChoiceField(choices=GRANULARITIES, required=False, default="day")


HistoricalBucketSerializer = type(
    "HistoricalBucketSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "One bucket: its period [periodStart, periodEnd) and one value per metric.",
        "periodStart": serializers.DateTimeField(),
        "periodEnd": serializers.DateTimeField(),
        **{name: QuantityField(source=f"values.{name}") for name in METRICS},
    },
)


# --- Overview


class StructuresBlockSerializer(OutputSerializer):
    total = QuantityField()
    recentlyCreated = QuantityField()


class RecordsBlockSerializer(OutputSerializer):
    total = QuantityField()
    createdToday = QuantityField()


class UsersBlockSerializer(OutputSerializer):
    total = serializers.IntegerField()
    activeThisWeek = serializers.IntegerField()


class StorageBlockSerializer(OutputSerializer):
    usedBytes = QuantityField()
    fileCount = QuantityField()


class ComputeBlockSerializer(OutputSerializer):
    functionsTotal = QuantityField()
    runsToday = QuantityField()
    failedToday = QuantityField()


class SchedulerBlockSerializer(OutputSerializer):
    activeJobs = QuantityField()
    failedToday = QuantityField()


class ActivitySerializer(OutputSerializer):
    id = serializers.CharField()
    type = serializers.CharField()
    resourceType = serializers.CharField(source="resource_type")
    resourceId = serializers.CharField(source="resource_id")
    actorId = serializers.CharField(source="actor_id")
    summary = serializers.CharField()
    at = serializers.DateTimeField(source="created_at")


class OverviewSerializer(OutputSerializer):
    structures = StructuresBlockSerializer(allow_null=True)
    records = RecordsBlockSerializer(allow_null=True)
    users = UsersBlockSerializer(allow_null=True)
    storage = StorageBlockSerializer(allow_null=True)
    compute = ComputeBlockSerializer(allow_null=True)
    scheduler = SchedulerBlockSerializer(allow_null=True)
    recentActivity = ActivitySerializer(many=True, source="recent_activity")
