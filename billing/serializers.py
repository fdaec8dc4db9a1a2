from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.formats import currency_units
from billing.selectors import BILLING_INTERVALS, capabilities_for_plan, subscription_period
from centrali.api import fields
from centrali.api.output import OutputSerializer
from centrali.formats import iso_utc, iso_utc_of_timestamp


class QuotaSerializer(serializers.Serializer):
    storageMB = serializers.IntegerField(source="quota_storage_mb", allow_null=True)
    computeExecutions = serializers.IntegerField(source="quota_compute_executions", allow_null=True)
    smartQueries = serializers.IntegerField(source="quota_smart_queries", allow_null=True)


class PlanLimitsSerializer(serializers.Serializer):
    records = serializers.IntegerField(allow_null=True)
    storage_gb = serializers.IntegerField(allow_null=True)
    function_invocations = serializers.IntegerField(allow_null=True)
    api_calls_per_month = serializers.IntegerField(allow_null=True)


class PlanSerializer(serializers.Serializer):
    """def-2, plus the plan's short code."""

    id = serializers.UUIDField()
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    price_monthly = serializers.FloatField()
    price_yearly = serializers.FloatField()
    limits = PlanLimitsSerializer()


class SubscriptionSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    cancelAtPeriodEnd = serializers.BooleanField(source="cancel_at_period_end")
    currentPeriodStart = serializers.SerializerMethodField()
    currentPeriodEnd = serializers.SerializerMethodField()

    def get_currentPeriodStart(self, subscription) -> str | None:
        start, _ = subscription_period(subscription)
        return iso_utc(start)

    def get_currentPeriodEnd(self, subscription) -> str | None:
        _, end = subscription_period(subscription)
        return iso_utc(end)


class CataloguePlanSerializer(PlanSerializer):
    """A plan on offer: def-2 plus its currency, quota and features (the /capabilities shape)."""

    currency = serializers.CharField()
    quota = QuotaSerializer(source="*")
    features = serializers.SerializerMethodField()

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "object"}})
    def get_features(self, plan) -> dict[str, Any]:
        return capabilities_for_plan(plan)


class PlanInfoSerializer(serializers.Serializer):
    """GET /{slug}/plan."""

    currentPlan = serializers.CharField(source="plan.code")
    availablePlans = serializers.ListField(child=serializers.CharField())
    quota = QuotaSerializer(source="plan")
    plan = PlanSerializer()
    scheduledPlan = serializers.CharField(allow_null=True)
    subscription = SubscriptionSerializer(allow_null=True)
    interval = serializers.ChoiceField(
        choices=BILLING_INTERVALS, allow_null=True, help_text="How often the subscription bills; null without one."
    )
    catalogue = CataloguePlanSerializer(
        many=True, help_text="Every plan on offer, in `availablePlans` order, with its prices, limits and features."
    )


class PlanChangeRequestSerializer(serializers.Serializer):
    """PATCH /{slug}/plan/{newPlan}: the optional body (or `?interval=`)."""

    interval = fields.ChoiceField(
        choices=BILLING_INTERVALS,
        required=False,
        help_text=(
            "Bill the plan monthly (its `price_monthly`) or yearly (its `price_yearly`). Default: the current "
            "subscription's interval, month for a new one. The same plan at the other interval swaps the price."
        ),
    )


class PlanChangeSerializer(serializers.Serializer):
    """PATCH /{slug}/plan/{newPlan}."""

    message = serializers.CharField()
    previousPlan = serializers.CharField(source="change.previous_plan.code")
    currentPlan = serializers.CharField(source="change.plan.code")
    scheduledPlan = serializers.CharField(source="change.scheduled_plan.code", allow_null=True, default=None)
    effectiveAt = serializers.DateTimeField(source="change.effective_at", allow_null=True)
    plan = PlanSerializer(source="change.plan")
    subscription = SubscriptionSerializer(source="change.subscription", allow_null=True)
    interval = serializers.ChoiceField(
        source="change.interval",
        choices=BILLING_INTERVALS,
        allow_null=True,
        help_text="How often the subscription bills; null without one.",
    )


class SetupSessionSerializer(serializers.Serializer):
    clientSecret = serializers.CharField(source="client_secret")
    setupIntentId = serializers.CharField(
        source="setup_intent_id", help_text="The SetupIntent (`seti_…`) the client secret belongs to."
    )


class PublicKeySerializer(serializers.Serializer):
    publicKey = serializers.CharField()


class PaymentMethodSerializer(serializers.Serializer):
    """A card as dj-stripe synced it; `isDefault` comes from the context's default id."""

    id = serializers.CharField()
    type = serializers.CharField()
    brand = serializers.SerializerMethodField()
    last4 = serializers.SerializerMethodField()
    expMonth = serializers.SerializerMethodField()
    expYear = serializers.SerializerMethodField()
    isDefault = serializers.SerializerMethodField()

    def _card(self, payment_method):
        return payment_method.stripe_data.get("card") or {}

    def get_brand(self, payment_method) -> str | None:
        return self._card(payment_method).get("brand")

    def get_last4(self, payment_method) -> str | None:
        return self._card(payment_method).get("last4")

    def get_expMonth(self, payment_method) -> int | None:
        return self._card(payment_method).get("exp_month")

    def get_expYear(self, payment_method) -> int | None:
        return self._card(payment_method).get("exp_year")

    def get_isDefault(self, payment_method) -> bool:
        return payment_method.id == self.context.get("default_id")


class PaymentMethodListSerializer(serializers.Serializer):
    # The contract's key; DRF's metaclass moves declared fields off the class, so `.data` still works.
    data = serializers.SerializerMethodField()  # type: ignore[assignment]
    defaultPaymentMethodId = serializers.CharField(source="default_id", allow_null=True)
    stale = serializers.BooleanField(help_text="True when Stripe was unreachable and this is the last synced copy.")

    @extend_schema_field(PaymentMethodSerializer(many=True))
    def get_data(self, listing) -> list[dict[str, Any]]:
        methods = PaymentMethodSerializer(listing["methods"], many=True, context={"default_id": listing["default_id"]})
        return list(methods.data)


class DefaultPaymentMethodSerializer(serializers.Serializer):
    defaultPaymentMethod = serializers.SerializerMethodField()

    @extend_schema_field(PaymentMethodSerializer(allow_null=True))
    def get_defaultPaymentMethod(self, value) -> dict[str, Any] | None:
        payment_method = value["payment_method"]
        if payment_method is None:
            return None
        return PaymentMethodSerializer(payment_method, context={"default_id": payment_method.id}).data


class OverageRatesSerializer(serializers.Serializer):
    executions = serializers.FloatField()
    cpuSeconds = serializers.FloatField()
    memoryGbSeconds = serializers.FloatField()
    storagePerGb = serializers.FloatField()
    blobStoragePerGb = serializers.FloatField()


class OverageSerializer(serializers.Serializer):
    """GET /{slug}/overage: the settings, whether they can be enabled, and the plan's rates."""

    overageEnabled = serializers.BooleanField(source="settings.enabled")
    overageSpendingCapCents = serializers.IntegerField(source="settings.spending_cap_cents", allow_null=True)
    overageEnabledAt = serializers.DateTimeField(source="settings.enabled_at", allow_null=True)
    hasDefaultPaymentMethod = serializers.BooleanField(source="has_default_payment_method")
    overageRates = OverageRatesSerializer(source="rates", allow_null=True)


# The largest value a bigint column (OverageSettings.spending_cap_cents on PostgreSQL) holds.
MAX_SPENDING_CAP_CENTS = 2**63 - 1


class OverageUpdateSerializer(serializers.Serializer):
    overageEnabled = fields.BooleanField()
    overageSpendingCapCents = fields.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_SPENDING_CAP_CENTS,
        help_text="Most overage billed per period, in cents; null = no cap.",
    )


class OverageUpdatedSerializer(serializers.Serializer):
    overageEnabled = serializers.BooleanField(source="enabled")
    overageSpendingCapCents = serializers.IntegerField(source="spending_cap_cents", allow_null=True)
    overageEnabledAt = serializers.DateTimeField(source="enabled_at", allow_null=True)


class InvoiceSerializer(OutputSerializer):
    """def-3 from a dj-stripe Invoice: amounts in currency units, ids are Stripe's."""

    id = serializers.CharField()
    workspace_id = serializers.UUIDField()  # annotated by billing.selectors
    number = serializers.SerializerMethodField()
    amount = serializers.SerializerMethodField()
    amount_paid = serializers.SerializerMethodField()
    amount_due = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    invoice_date = serializers.SerializerMethodField()
    due_date = serializers.SerializerMethodField()
    period_start = serializers.SerializerMethodField()
    period_end = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField()
    hosted_invoice_url = serializers.SerializerMethodField()

    def _stripe(self, invoice):
        return invoice.stripe_data

    def get_number(self, invoice) -> str | None:
        return self._stripe(invoice).get("number")

    def get_amount(self, invoice) -> float | None:
        data = self._stripe(invoice)
        return currency_units(data.get("total"), data.get("currency"))

    def get_amount_paid(self, invoice) -> float | None:
        data = self._stripe(invoice)
        return currency_units(data.get("amount_paid"), data.get("currency"))

    def get_amount_due(self, invoice) -> float | None:
        data = self._stripe(invoice)
        return currency_units(data.get("amount_due"), data.get("currency"))

    def get_currency(self, invoice) -> str:
        return str(self._stripe(invoice).get("currency") or "").upper()

    def get_status(self, invoice) -> str | None:
        return self._stripe(invoice).get("status")

    def get_invoice_date(self, invoice) -> str | None:
        return iso_utc(invoice.created)

    def get_due_date(self, invoice) -> str | None:
        return iso_utc_of_timestamp(self._stripe(invoice).get("due_date"))

    def get_period_start(self, invoice) -> str | None:
        return iso_utc_of_timestamp(self._stripe(invoice).get("period_start"))

    def get_period_end(self, invoice) -> str | None:
        return iso_utc_of_timestamp(self._stripe(invoice).get("period_end"))

    def get_pdf_url(self, invoice) -> str | None:
        data = self._stripe(invoice)
        return data.get("invoice_pdf") or data.get("hosted_invoice_url")

    def get_hosted_invoice_url(self, invoice) -> str | None:
        return self._stripe(invoice).get("hosted_invoice_url")
