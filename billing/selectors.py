import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from django.conf import settings

from billing.models import OverageSettings, Plan

# The full shape of /capabilities; a plan's `features` override these defaults.
CAPABILITY_DEFAULTS = {
    "ai": {"enabled": False, "validation": False, "anomalyInsights": False},
    "compute": {"enabled": False, "orchestrations": False},
    "scheduler": {"enabled": False},
    "storage": {"enabled": False, "maxFileSizeBytes": 0},
    "search": {"enabled": False},
    "billing": {"enabled": False},
    "advancedRbac": {"enabled": False},
    "supportTickets": {"enabled": False},
    "backups": {"enabled": False},
}


def get_default_plan():
    return Plan.objects.get(code=settings.WORKSPACE_DEFAULT_PLAN)


def get_plan_by_ref(ref):
    """A plan by code, or by uuid (DESIGN.md: both are accepted); None when unknown."""
    try:
        return Plan.objects.filter(pk=uuid.UUID(str(ref))).first()
    except ValueError:
        return Plan.objects.filter(code=str(ref)).first()


def capabilities_for_plan(plan):
    features = plan.features or {}
    return {
        name: {**defaults, **{k: v for k, v in features.get(name, {}).items() if k in defaults}}
        for name, defaults in CAPABILITY_DEFAULTS.items()
    }


def get_overage_settings(*, workspace):
    """The workspace's overage settings; an unsaved default (off, no cap) when none were ever set."""
    return OverageSettings.objects.filter(workspace=workspace).first() or OverageSettings(workspace=workspace)


@dataclass(frozen=True)
class BillingPeriod:
    start: datetime
    end: datetime  # exclusive


def calendar_month_period(moment):
    start = moment.astimezone(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return BillingPeriod(start=start, end=end)


def current_billing_period(*, workspace, now):
    """The period usage is measured and billed in: the calendar month (UTC) of `now`."""
    return calendar_month_period(now)
