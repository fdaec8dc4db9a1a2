import uuid

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from workspaces.models import Workspace


class Plan(models.Model):
    """A commercial plan: prices, limits, quotas, overage rates and feature flags.

    The catalogue is data (seeded by a migration, edited in the admin); code never
    branches on a plan's code, only on these fields.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.SlugField(max_length=32, unique=True, help_text="Short stable name: free, pro, …")
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True, default="")
    is_public = models.BooleanField(default=True, help_text="Offered to workspaces as an available plan.")
    sort_order = models.PositiveSmallIntegerField(default=0)

    currency = models.CharField(max_length=3, default="usd")
    price_monthly = models.DecimalField(max_digits=10, decimal_places=2, default=0, validators=[MinValueValidator(0)])
    price_yearly = models.DecimalField(max_digits=10, decimal_places=2, default=0, validators=[MinValueValidator(0)])

    # def-2 limits; null = unlimited.
    limit_records = models.BigIntegerField(null=True, blank=True)
    limit_storage_gb = models.BigIntegerField(null=True, blank=True)
    limit_function_invocations = models.BigIntegerField(null=True, blank=True)
    limit_api_calls_per_month = models.BigIntegerField(null=True, blank=True)

    # The quota shown by GET /{slug}/plan; null = unlimited.
    quota_storage_mb = models.BigIntegerField(null=True, blank=True)
    quota_compute_executions = models.BigIntegerField(null=True, blank=True)
    quota_smart_queries = models.BigIntegerField(null=True, blank=True)

    # Overage rates in currency units per unit; all null = overage not offered on this plan.
    overage_rate_executions = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    overage_rate_cpu_seconds = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    overage_rate_memory_gb_seconds = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    overage_rate_storage_per_gb = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    overage_rate_blob_storage_per_gb = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)

    # Audit events older than this are dropped nightly (audit.services.apply_audit_retention); null = kept.
    audit_retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Days the audit log keeps events; empty: forever.",
    )

    # Feature flags behind /capabilities, shaped like its `capabilities` object.
    features = models.JSONField(default=dict, blank=True)

    # Set by `manage.py sync_plans_to_stripe`; empty until the plan exists in Stripe.
    stripe_product_id = models.CharField(max_length=255, blank=True, default="")
    stripe_price_monthly_id = models.CharField(max_length=255, blank=True, default="")
    stripe_price_yearly_id = models.CharField(max_length=255, blank=True, default="")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_order", "price_monthly"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price_monthly__gte=0) & Q(price_yearly__gte=0), name="plan_prices_non_negative"
            ),
        ]

    def __str__(self):
        return self.code

    @property
    def is_paid(self):
        return self.price_monthly > 0 or self.price_yearly > 0

    @property
    def overage_rates(self):
        """The spec's overageRates object, or None when the plan offers no overage."""
        rates = {
            "executions": self.overage_rate_executions,
            "cpuSeconds": self.overage_rate_cpu_seconds,
            "memoryGbSeconds": self.overage_rate_memory_gb_seconds,
            "storagePerGb": self.overage_rate_storage_per_gb,
            "blobStoragePerGb": self.overage_rate_blob_storage_per_gb,
        }
        if all(rate is None for rate in rates.values()):
            return None
        return {name: float(rate or 0) for name, rate in rates.items()}

    @property
    def limits(self):
        return {
            "records": self.limit_records,
            "storage_gb": self.limit_storage_gb,
            "function_invocations": self.limit_function_invocations,
            "api_calls_per_month": self.limit_api_calls_per_month,
        }


class OverageSettings(models.Model):
    """Whether a workspace may go past its plan's limits at the plan's overage rates, and up to what cap."""

    workspace = models.OneToOneField(
        "workspaces.Workspace", on_delete=models.CASCADE, primary_key=True, related_name="overage_settings"
    )
    enabled = models.BooleanField(default=False)
    spending_cap_cents = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Most overage billed per period, in cents; empty = no cap."
    )
    enabled_at = models.DateTimeField(null=True, blank=True)
    unbilled_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Start of the oldest billing period overage was on in and that is not billed yet "
        "(set when overage is turned off, so turning it off before the period-end charge does not skip it).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "overage settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(enabled=False) | Q(enabled_at__isnull=False), name="overage_enabled_has_timestamp"
            ),
        ]

    def __str__(self):
        return f"overage for {self.workspace_id}: {'on' if self.enabled else 'off'}"


class StripeWebhookFailure(models.Model):
    """A Stripe event whose processing failed and has not applied since: what staff watch.

    Written by the worker after each failed attempt (outside the rolled-back transaction of the
    attempt), deleted in the transaction that finally applies the event; the event itself
    (StripeWebhookEvent) says whether it is still retried (`received`) or given up (`failed`).
    `error` names the error's class and code only (never its message: it may quote Stripe's answer).
    """

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=250)
    error = models.CharField(max_length=255)
    attempts = models.PositiveIntegerField(default=1)
    first_failed_at = models.DateTimeField(auto_now_add=True)
    last_failed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["last_failed_at"], name="billing_webhook_failure_at")]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id}"


class StripeWebhookEvent(models.Model):
    """A Stripe event this service acknowledged. The unique id is what makes redelivery harmless.

    POST /webhooks/stripe records the verified event (`received`) and a worker applies it
    (billing.webhooks.apply_event): the row turns `applied` in the same transaction as the
    event's effects, so it says `applied` exactly when those effects were committed. An event
    whose attempts ran out is `failed` (its last error is its StripeWebhookFailure row).
    """

    class Status(models.TextChoices):
        RECEIVED = "received"
        APPLIED = "applied"
        FAILED = "failed"

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=250)
    livemode = models.BooleanField(default=False)
    workspace = models.ForeignKey(
        "workspaces.Workspace", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stripe_created_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(auto_now_add=True, help_text="When the event was first received.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    payload = models.JSONField(default=dict, blank=True, help_text="The verified event, as Stripe signed it.")
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts to apply it started (this round).")
    applied_at = models.DateTimeField(null=True, blank=True)
    sweep_after = models.DateTimeField(
        null=True, blank=True, help_text="A `received` event still unapplied then is queued again by the sweep."
    )

    class Meta:
        ordering = ["-processed_at"]
        indexes = [
            models.Index(fields=["sweep_after"], name="billing_webhook_pending", condition=Q(status="received")),
        ]

    def __str__(self):
        return f"{self.type} ({self.stripe_event_id})"


class BillingSuspension(models.Model):
    """A workspace suspended because this invoice became uncollectible; paying it lifts the suspension."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="billing_suspensions")
    stripe_invoice_id = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "stripe_invoice_id"], name="billing_suspension_unique_invoice"
            ),
        ]

    def __str__(self):
        return f"{self.workspace_id} suspended for {self.stripe_invoice_id}"


class OverageCharge(models.Model):
    """One overage line billed to Stripe (an invoice item) for a workspace's ended period."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="overage_charges")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    metric = models.CharField(max_length=64)
    units = models.DecimalField(max_digits=20, decimal_places=6)
    amount_cents = models.PositiveBigIntegerField()
    description = models.CharField(max_length=500, blank=True, default="")
    stripe_invoice_item_id = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "period_start", "metric"], name="overage_charge_once_per_period_metric"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=models.F("period_start")), name="overage_charge_period_valid"
            ),
        ]

    def __str__(self):
        return f"{self.metric} {self.period_start:%Y-%m-%d}: {self.amount_cents}c"


class BillingChangeLease(models.Model):
    """A billing change of the workspace in flight; one at a time per workspace.

    Changes whose checks depend on each other (an upgrade needs the default card; the
    default card cannot be removed while a paid plan or overage needs it) take turns
    through this row instead of holding the workspace row locked while Stripe answers.
    It expires, so a worker that died mid-change does not block the workspace.
    """

    workspace = models.OneToOneField(
        "workspaces.Workspace", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    token = models.UUIDField()
    operation = models.CharField(max_length=64)
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"{self.operation} of {self.workspace_id} until {self.expires_at:%H:%M:%S}"


class WorkspaceBilling(Workspace):
    """The billing console's view of a workspace (admin only; the workspaces app owns the model)."""

    class Meta:
        proxy = True
        verbose_name = "workspace billing"
        verbose_name_plural = "workspace billing"
