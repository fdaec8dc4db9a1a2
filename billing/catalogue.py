"""The plan catalogue the service starts with. Staff edit plans in the admin afterwards.

Plain data, so that the seeding migration and the test suite (which runs without
migrations) insert the same catalogue.
"""

from decimal import Decimal

GB = 1024 * 1024 * 1024

PLANS = [
    {
        "code": "free",
        "name": "Free",
        "description": "For side projects and evaluation.",
        "sort_order": 0,
        "price_monthly": Decimal("0"),
        "price_yearly": Decimal("0"),
        "limit_records": 10_000,
        "limit_storage_gb": 1,
        "limit_function_invocations": 10_000,
        "limit_api_calls_per_month": 100_000,
        "quota_storage_mb": 1_024,
        "quota_compute_executions": 10_000,
        "quota_smart_queries": 100,
        "audit_retention_days": 90,
        "features": {
            "ai": {"enabled": False, "validation": False, "anomalyInsights": False},
            "compute": {"enabled": True, "orchestrations": False},
            "scheduler": {"enabled": False},
            "storage": {"enabled": True, "maxFileSizeBytes": 10 * 1024 * 1024},
            "search": {"enabled": True},
            "billing": {"enabled": True},
            "advancedRbac": {"enabled": False},
            "supportTickets": {"enabled": True},
            "backups": {"enabled": False},
        },
    },
    {
        "code": "starter",
        "name": "Starter",
        "description": "For small teams shipping to production.",
        "sort_order": 10,
        "price_monthly": Decimal("29"),
        "price_yearly": Decimal("290"),
        "limit_records": 250_000,
        "limit_storage_gb": 25,
        "limit_function_invocations": 250_000,
        "limit_api_calls_per_month": 2_000_000,
        "quota_storage_mb": 25_600,
        "quota_compute_executions": 250_000,
        "quota_smart_queries": 2_500,
        "audit_retention_days": 365,
        "overage_rate_executions": Decimal("0.000020"),
        "overage_rate_cpu_seconds": Decimal("0.000050"),
        "overage_rate_memory_gb_seconds": Decimal("0.000017"),
        "overage_rate_storage_per_gb": Decimal("0.250000"),
        "overage_rate_blob_storage_per_gb": Decimal("0.050000"),
        "features": {
            "ai": {"enabled": True, "validation": True, "anomalyInsights": False},
            "compute": {"enabled": True, "orchestrations": True},
            "scheduler": {"enabled": True},
            "storage": {"enabled": True, "maxFileSizeBytes": 100 * 1024 * 1024},
            "search": {"enabled": True},
            "billing": {"enabled": True},
            "advancedRbac": {"enabled": False},
            "supportTickets": {"enabled": True},
            "backups": {"enabled": True},
        },
    },
    {
        "code": "pro",
        "name": "Pro",
        "description": "For growing products with serious workloads.",
        "sort_order": 20,
        "price_monthly": Decimal("99"),
        "price_yearly": Decimal("990"),
        "limit_records": 2_000_000,
        "limit_storage_gb": 200,
        "limit_function_invocations": 2_000_000,
        "limit_api_calls_per_month": 20_000_000,
        "quota_storage_mb": 204_800,
        "quota_compute_executions": 2_000_000,
        "quota_smart_queries": 25_000,
        "audit_retention_days": 365,
        "overage_rate_executions": Decimal("0.000015"),
        "overage_rate_cpu_seconds": Decimal("0.000040"),
        "overage_rate_memory_gb_seconds": Decimal("0.000014"),
        "overage_rate_storage_per_gb": Decimal("0.200000"),
        "overage_rate_blob_storage_per_gb": Decimal("0.040000"),
        "features": {
            "ai": {"enabled": True, "validation": True, "anomalyInsights": True},
            "compute": {"enabled": True, "orchestrations": True},
            "scheduler": {"enabled": True},
            "storage": {"enabled": True, "maxFileSizeBytes": 1024 * 1024 * 1024},
            "search": {"enabled": True},
            "billing": {"enabled": True},
            "advancedRbac": {"enabled": True},
            "supportTickets": {"enabled": True},
            "backups": {"enabled": True},
        },
    },
    {
        "code": "enterprise",
        "name": "Enterprise",
        "description": "Custom limits, contracts and support. Unlimited usage within fair use.",
        "sort_order": 30,
        "price_monthly": Decimal("499"),
        "price_yearly": Decimal("4990"),
        "audit_retention_days": 7 * 365,
        "overage_rate_executions": Decimal("0.000010"),
        "overage_rate_cpu_seconds": Decimal("0.000030"),
        "overage_rate_memory_gb_seconds": Decimal("0.000010"),
        "overage_rate_storage_per_gb": Decimal("0.150000"),
        "overage_rate_blob_storage_per_gb": Decimal("0.030000"),
        "features": {
            "ai": {"enabled": True, "validation": True, "anomalyInsights": True},
            "compute": {"enabled": True, "orchestrations": True},
            "scheduler": {"enabled": True},
            "storage": {"enabled": True, "maxFileSizeBytes": 5 * GB},
            "search": {"enabled": True},
            "billing": {"enabled": True},
            "advancedRbac": {"enabled": True},
            "supportTickets": {"enabled": True},
            "backups": {"enabled": True},
        },
    },
]


def seed_plan_catalogue(plan_model):
    """Insert the plans whose code is missing; never overwrite a plan staff have edited.

    Only the fields `plan_model` has: an early migration's Plan lacks fields added since (their
    own migration fills them in for the catalogue's plans)."""
    known = {field.name for field in plan_model._meta.get_fields()}
    for fields in PLANS:
        plan_model.objects.get_or_create(
            code=fields["code"], defaults={name: value for name, value in fields.items() if name in known}
        )
