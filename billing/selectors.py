import uuid

from django.conf import settings

from billing.models import Plan

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
