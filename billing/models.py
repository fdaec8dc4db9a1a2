import uuid

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q


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

    # Feature flags behind /capabilities, shaped like its `capabilities` object.
    features = models.JSONField(default=dict, blank=True)

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
