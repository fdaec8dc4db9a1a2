"""Reads of the billing app: the plan catalogue, billing periods, and the Stripe state as
dj-stripe last synced it (no Stripe call here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import F, OuterRef, Q, Subquery
from djstripe.models import Customer, Invoice, PaymentMethod, Subscription
from djstripe.utils import convert_tstamp

from billing import gateway
from billing.models import OverageSettings, Plan
from centrali.compiled import CompiledQuery
from centrali.formats import parse_uuid
from centrali.paging import first_page_result, with_total
from workspaces import selectors as workspace_selectors
from workspaces.models import Membership, User, Workspace

if TYPE_CHECKING:
    from django.db.models import QuerySet

# Subscription states in which the workspace is being billed for its plan.
LIVE_SUBSCRIPTION_STATUSES = ("active", "trialing", "past_due", "unpaid", "incomplete")

# The full shape of /capabilities; a plan's `features` override these defaults.
CAPABILITY_DEFAULTS: dict[str, dict[str, Any]] = {
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


def get_default_plan() -> Plan:
    return Plan.objects.get(code=settings.WORKSPACE_DEFAULT_PLAN)


def get_plan_by_ref(ref: str) -> Plan | None:
    """A plan by code, or by uuid (DESIGN.md: both are accepted); None when unknown."""
    plan_id = parse_uuid(ref)
    if plan_id is not None:
        return Plan.objects.filter(pk=plan_id).first()
    return Plan.objects.filter(code=str(ref)).first()


def available_plans() -> list[Plan]:
    return list(Plan.objects.filter(is_public=True))


def capabilities_for_plan(plan: Plan) -> dict[str, dict[str, Any]]:
    features = plan.features or {}
    return {
        name: {**defaults, **{k: v for k, v in features.get(name, {}).items() if k in defaults}}
        for name, defaults in CAPABILITY_DEFAULTS.items()
    }


def get_overage_settings(*, workspace: Workspace) -> OverageSettings:
    """The workspace's overage settings; an unsaved default (off, no cap) when none were ever set."""
    saved = next(iter(OverageSettings.objects.filter(workspace=workspace).order_by()[:1]), None)  # one per workspace
    return saved or OverageSettings(workspace=workspace)


# --- billing periods


@dataclass(frozen=True)
class BillingPeriod:
    start: datetime
    end: datetime  # exclusive


def calendar_month_period(moment: datetime) -> BillingPeriod:
    start = moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return BillingPeriod(start=start, end=end)


def current_billing_period(*, workspace: Workspace, now: datetime) -> BillingPeriod:
    """The period usage is measured and billed in, the one containing `now`.

    With a live Stripe subscription: its monthly cycle (anchored on the subscription's
    current period start); otherwise the calendar month (UTC).
    """
    subscription = live_subscription(workspace=workspace)
    return _period_containing(now, subscription_data=subscription.stripe_data if subscription else None)


def _period_containing(now: datetime, *, subscription_data: Mapping[str, Any] | None) -> BillingPeriod:
    anchor = subscription_period(subscription_data)[0] if subscription_data is not None else None
    if anchor is None:
        return calendar_month_period(now)
    months = (now.year - anchor.year) * 12 + (now.month - anchor.month)
    if anchor + relativedelta(months=months) > now:
        months -= 1
    return BillingPeriod(start=anchor + relativedelta(months=months), end=anchor + relativedelta(months=months + 1))


@dataclass(frozen=True)
class BillingTerms:
    """What the usage reads need of billing: the current period and the overage settings."""

    period: BillingPeriod
    overage: OverageSettings


_OVERAGE_COLUMNS = [field.attname for field in OverageSettings._meta.concrete_fields]


def _live_subscription_data(*, livemode: bool, workspace: str = "pk") -> Subquery:
    # The Stripe JSON of the live subscription of the outer row's `workspace` (NULL without one).
    live = _live_subscriptions(livemode=livemode).filter(customer__subscriber=OuterRef(workspace)).values("stripe_data")
    return Subquery(live[:1])


def _billing_terms_rows(*, workspace_id: UUID, variant: bool) -> QuerySet[Workspace, tuple[Any, ...]]:
    return (
        Workspace.objects.filter(pk=workspace_id)
        .annotate(live_subscription_data=_live_subscription_data(livemode=variant))
        .values_list("live_subscription_data", *(f"overage_settings__{column}" for column in _OVERAGE_COLUMNS))
    )


# Read by every usage and quota read: compiled once (centrali.compiled); the Stripe mode is its variant.
_BILLING_TERMS = CompiledQuery(
    _billing_terms_rows,
    placeholders={"workspace_id": (Workspace, "id", UUID(int=0))},
)


def billing_terms(*, workspace: Workspace, now: datetime) -> BillingTerms:
    """`current_billing_period` and `get_overage_settings` of the workspace, in one query: the
    live subscription's Stripe JSON as a subquery, the overage settings by a left join. None when
    the workspace was read with them (`with_billing_terms`, `get_membership_with_billing_terms`)."""
    if hasattr(workspace, "live_subscription_data"):
        return billing_terms_of(workspace, now=now)
    [(subscription, *overage_values)] = _BILLING_TERMS.fetch_rows(workspace_id=workspace.pk, variant=gateway.livemode())
    if overage_values[0] is None:  # never set: the unsaved default, as get_overage_settings answers
        overage = OverageSettings(workspace=workspace)
    else:
        overage = OverageSettings.from_db("default", _OVERAGE_COLUMNS, overage_values)
        overage.workspace = workspace
    return BillingTerms(period=_period_containing(now, subscription_data=subscription), overage=overage)


def stripe_livemode() -> bool:
    """The Stripe mode whose objects this service reads: what `with_billing_terms` takes."""
    return gateway.livemode()


def with_billing_terms(workspaces: QuerySet[Workspace], *, livemode: bool) -> QuerySet[Workspace]:
    """`workspaces` reading, in the same query, what `billing_terms_of` needs: the live subscription's
    Stripe JSON as a subquery and the overage settings by a left join. For a reader that fetches the
    workspace anyway (the platform's quota check): the billing terms then cost no query of their own."""
    return workspaces.select_related("overage_settings").annotate(
        live_subscription_data=_live_subscription_data(livemode=livemode)
    )


def billing_terms_of(workspace: Workspace, *, now: datetime) -> BillingTerms:
    """`billing_terms` of a workspace read through `with_billing_terms`, without a query."""
    overage = getattr(workspace, "overage_settings", None)  # None: never set (the reverse one-to-one raises)
    return BillingTerms(
        period=_period_containing(now, subscription_data=workspace.live_subscription_data),  # type: ignore[attr-defined]
        overage=overage or OverageSettings(workspace=workspace),
    )


def _membership_with_billing_terms(*, slug: str, user_id: UUID | str, variant: bool) -> QuerySet[Membership]:
    # workspaces.selectors' membership read, the workspace's billing terms beside it.
    return (
        Membership.objects.select_related("user", "workspace__plan", "workspace__overage_settings")
        .filter(workspace__slug=slug, user_id=user_id)
        .annotate(live_subscription_data=_live_subscription_data(livemode=variant, workspace="workspace_id"))
        .order_by()[:1]
    )


_MEMBERSHIP_WITH_BILLING_TERMS = CompiledQuery(
    _membership_with_billing_terms,
    placeholders={"slug": (Workspace, "slug", "\0slug"), "user_id": (User, "id", UUID(int=0))},
)


def get_membership_with_billing_terms(*, slug: str, user_id: UUID | str) -> Membership | None:
    """`workspaces.selectors.get_membership_of_user_id` with the workspace read as `with_billing_terms`
    reads it, in the same one query: the membership read of a view that needs the billing terms
    (`billing_terms` then costs no query)."""
    rows = _MEMBERSHIP_WITH_BILLING_TERMS.fetch(slug=slug, user_id=user_id, variant=gateway.livemode(), limit=1)
    if not rows:
        return None
    membership = rows[0]
    membership.workspace.live_subscription_data = membership.live_subscription_data  # type: ignore[attr-defined]
    return membership


def previous_billing_period(*, workspace: Workspace, now: datetime) -> BillingPeriod:
    """The last period that ended before `now`."""
    current = current_billing_period(workspace=workspace, now=now)
    start = current.start - relativedelta(months=1)
    return BillingPeriod(start=start, end=current.start)


# --- Stripe state, as dj-stripe last synced it


def customer_for(*, workspace: Workspace) -> Customer | None:
    """The workspace's Stripe customer (dj-stripe), or None before the first billing action."""
    return (
        Customer.objects.filter(subscriber=workspace, livemode=gateway.livemode(), date_purged__isnull=True)
        .select_related("default_payment_method")
        .first()
    )


def workspace_for_customer(*, customer_id: str) -> Workspace | None:
    """The workspace a Stripe customer bills, or None (a customer of no workspace of ours)."""
    customer = Customer.objects.filter(id=customer_id).select_related("subscriber").first()
    if customer is None:
        return None
    workspace: Workspace = customer.subscriber
    return workspace


def live_subscription(*, workspace: Workspace) -> Subscription | None:
    """The subscription that bills the workspace's paid plan, or None (free plan)."""
    return _live_subscriptions(livemode=gateway.livemode()).filter(customer__subscriber=workspace).first()


def _live_subscriptions(*, livemode: bool) -> QuerySet[Subscription]:
    """Subscriptions in that Stripe mode that bill their plan, newest first."""
    subscriptions: QuerySet[Subscription] = (
        Subscription.objects.filter(livemode=livemode)
        .filter(stripe_data__status__in=LIVE_SUBSCRIPTION_STATUSES)
        .order_by("-created")
    )
    return subscriptions


def plan_for_price(price_id: str | None) -> Plan | None:
    """The catalogue plan a Stripe price belongs to, or None."""
    if not price_id:
        return None
    return Plan.objects.filter(Q(stripe_price_monthly_id=price_id) | Q(stripe_price_yearly_id=price_id)).first()


def subscription_price_id(subscription_data: Mapping[str, Any]) -> str | None:
    """The price id of a (single-item) subscription, from Stripe's JSON."""
    items = (subscription_data.get("items") or {}).get("data") or []
    if not items:
        return None
    price = items[0].get("price") or items[0].get("plan")
    if price is None or isinstance(price, str):
        return price
    return str(price.get("id")) if price.get("id") is not None else None


# The billing intervals a plan is sold at: its monthly and its yearly price.
BILLING_INTERVALS = ("month", "year")


def subscription_interval(subscription: Subscription | Mapping[str, Any]) -> str | None:
    """How often a (single-item) subscription bills: "month" or "year", from its price in Stripe's JSON."""
    data = subscription.stripe_data if hasattr(subscription, "stripe_data") else subscription
    items = (data.get("items") or {}).get("data") or []
    if not items:
        return None
    price = items[0].get("price") or items[0].get("plan") or {}
    if isinstance(price, str):
        return None
    interval = (price.get("recurring") or {}).get("interval") or price.get("interval")
    return str(interval) if interval else None


def subscription_period(subscription: Subscription | Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    """(start, end) of a subscription's current period. Newer Stripe API versions keep it on the items."""
    data = subscription.stripe_data if hasattr(subscription, "stripe_data") else subscription
    start, end = data.get("current_period_start"), data.get("current_period_end")
    if start is None:
        items = (data.get("items") or {}).get("data") or [{}]
        start, end = items[0].get("current_period_start"), items[0].get("current_period_end")
    return convert_tstamp(start), convert_tstamp(end)


def has_default_payment_method(*, workspace: Workspace) -> bool:
    customer = customer_for(workspace=workspace)
    return customer is not None and customer.default_payment_method_id is not None


def payment_methods(*, workspace: Workspace) -> list[PaymentMethod]:
    """The workspace's cards as last synced, oldest first."""
    return list(
        PaymentMethod.objects.filter(
            customer__subscriber=workspace, stripe_data__type="card", livemode=gateway.livemode()
        ).order_by("created")
    )


def workspace_invoices(*, workspace: Workspace, status: str | None = None) -> QuerySet[Invoice]:
    """The workspace's invoices, newest first, optionally of one Stripe status."""
    invoices: QuerySet[Invoice] = (
        Invoice.objects.filter(customer__subscriber=workspace, livemode=gateway.livemode())
        .select_related("customer")
        .annotate(workspace_id=F("customer__subscriber_id"))  # what the API answers as workspaceId
    )
    if status:
        invoices = invoices.filter(stripe_data__status=status)
    return invoices.order_by("-created", "-djstripe_id")


def _newest_invoices(*, workspace_id: UUID, variant: tuple[bool, int]) -> QuerySet[Invoice]:
    livemode, limit = variant
    invoices = Invoice.objects.filter(customer__subscriber_id=workspace_id, livemode=livemode)
    # What billing.serializers.InvoiceSerializer reads: no customer instance to build per row.
    invoices = invoices.only("id", "created", "stripe_data").annotate(workspace_id=F("customer__subscriber_id"))
    return with_total(invoices.order_by("-created", "-djstripe_id"))[:limit]


_NEWEST_INVOICES = CompiledQuery(_newest_invoices, placeholders={"workspace_id": (Customer, "subscriber", UUID(int=0))})


def first_invoices_page(*, workspace: Workspace, limit: int) -> tuple[list[Invoice], int]:
    """The first page of `workspace_invoices` and the total, in one compiled query per mode and page size."""
    return first_page_result(_NEWEST_INVOICES.fetch(workspace_id=workspace.pk, variant=(gateway.livemode(), limit)))


def get_workspace_invoice(*, workspace: Workspace, invoice_id: str) -> Invoice | None:
    """One of the workspace's invoices by its Stripe id; None for unknown ids and other tenants' invoices."""
    return workspace_invoices(workspace=workspace).filter(id=invoice_id).first()


# --- workspaces with billing work to do


def workspaces_billing_overage() -> QuerySet[Workspace]:
    """Workspaces with overage billing on, or turned off with a period still to bill, and a Stripe customer."""
    return (
        workspace_selectors.workspaces_with_plans()
        .filter(
            Q(overage_settings__enabled=True) | Q(overage_settings__unbilled_since__isnull=False),
            djstripe_customers__isnull=False,
        )
        .distinct()
    )


def workspaces_with_billing() -> QuerySet[Workspace]:
    """Workspaces that Stripe may know about: with a customer, or on a paid plan."""
    return (
        workspace_selectors.workspaces_with_plans()
        .filter(Q(djstripe_customers__isnull=False) | Q(plan__price_monthly__gt=0) | Q(plan__price_yearly__gt=0))
        .distinct()
        .order_by("slug")
    )
