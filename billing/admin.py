"""The billing console: per-workspace billing pages, the service's own invoice pages, the staff actions
(all through billing.services), the billing panel of the dashboard and the billing sections of the
customer page.

dj-stripe's admin of its ~45 mirror models stays for superusers (the console lists it last, folded
away): its pages refuse other staff, and its displays of model properties, which raise KeyError
for fields the synced Stripe JSON leaves out, show "—" instead.
"""

from __future__ import annotations

from typing import Any

import djstripe.admin  # noqa: F401  registers dj-stripe's admin before it is guarded below
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Model, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from djstripe.models import Customer

from billing import console as billing_console
from billing import gateway, selectors, services, webhooks
from billing.formats import card_label
from billing.models import OverageCharge, Plan, StripeWebhookEvent, StripeWebhookFailure, WorkspaceBilling
from centrali import console
from centrali.admin import NoAddOrDeleteAdminMixin, ReadOnlyAdminMixin
from centrali.errors import DomainError
from support import selectors as support_selectors

BILLING_VIEW = "billing.view_workspacebilling"
CUSTOMER_PAGE = "admin:workspaces_workspace_change"


# --- dj-stripe's mirror: superusers only, and no page crashes on a field Stripe left out


class StripeMirrorGuard:
    """Mixed into each dj-stripe ModelAdmin: only superusers reach these pages."""

    model: type[Model]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        # Some of dj-stripe's search fields name JSON keys, not columns: searching them is a FieldError.
        fields = super().get_search_fields(request)  # type: ignore[misc]
        return [name for name in fields if _is_column_path(self.model, name)]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.has_module_permission(request) and super().has_view_permission(request, obj)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.has_module_permission(request) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self.has_module_permission(request) and super().has_add_permission(request, *args)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.has_module_permission(request) and super().has_delete_permission(request, obj)  # type: ignore[misc]


def _is_column_path(model: type[Model], search_field: str) -> bool:
    current: Any = model
    for part in search_field.lstrip("^=@").split("__"):
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if not field.is_relation:
            return True
        current = field.related_model
    return True


def _safe_property(name: str) -> Any:
    """An admin display of the model property `name` that shows "—" when the stored JSON lacks its field."""

    def show(model_admin: Any, obj: Model) -> Any:
        try:
            return getattr(obj, name)
        except (KeyError, TypeError, AttributeError, ValueError):
            return "—"

    show.__name__ = name
    return admin.display(description=name.replace("_", " "))(show)


def _guarded(admin_class: type[admin.ModelAdmin[Any]], model: type[Model]) -> type[admin.ModelAdmin[Any]]:
    # The admin looks a display name up on the ModelAdmin before the model: a method of the same name
    # as a property replaces it in lists and on the change page.
    safe = {
        name: _safe_property(name)
        for name in dir(model)
        if isinstance(getattr(model, name, None), property) and not hasattr(admin.ModelAdmin, name)
    }
    return type(f"Guarded{admin_class.__name__}", (StripeMirrorGuard, admin_class), safe)


def _guard_stripe_mirror(site: admin.AdminSite) -> None:
    for model, model_admin in list(site._registry.items()):
        if model._meta.app_label == console.STRIPE_MIRROR_APP_LABEL and not isinstance(model_admin, StripeMirrorGuard):
            site.unregister(model)
            site.register(model, _guarded(type(model_admin), model))


_guard_stripe_mirror(admin.site)


# --- the plan catalogue


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "price_monthly",
        "price_yearly",
        "is_public",
        "sort_order",
        "stripe_price_monthly_id",
    )
    list_editable = ("is_public", "sort_order")
    search_fields = ("code", "name")
    readonly_fields = ("stripe_product_id", "stripe_price_monthly_id", "stripe_price_yearly_id")


# --- workspace billing


class ChangePlanForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.none(), empty_label=None)
    reason = forms.CharField(
        max_length=500,
        strip=True,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="Recorded in the workspace's audit log with your name.",
    )

    def __init__(self, *args: Any, current_plan_ids: set[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The public catalogue, and the plans the selected workspaces are on (so the current one shows).
        self.fields["plan"].queryset = Plan.objects.filter(Q(is_public=True) | Q(pk__in=current_plan_ids))  # type: ignore[attr-defined]


def _customers() -> QuerySet[Customer]:
    return Customer.objects.filter(livemode=gateway.livemode(), date_purged__isnull=True).select_related(
        "default_payment_method"
    )


def _customer_page_link(workspace: Any) -> str:
    return format_html(
        '<a href="{}">Customer page of {}</a>', reverse(CUSTOMER_PAGE, args=[workspace.pk]), workspace.slug
    )


@admin.register(WorkspaceBilling)
class WorkspaceBillingAdmin(NoAddOrDeleteAdminMixin, admin.ModelAdmin):
    list_display = ("slug", "name", "plan", "status", "stripe_customer", "overage")
    list_filter = ("plan", "status")
    search_fields = ("slug", "name", "owner__email", "djstripe_customers__id")
    fields = (
        "customer_page",
        "slug",
        "name",
        "owner_email",
        "plan",
        "status",
        "stripe_customer",
        "subscription",
        "payment_methods",
        "invoices",
        "overage",
        "overage_charges",
        "support_issues",
    )
    readonly_fields = fields
    actions = ["sync_from_stripe", "change_plan"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WorkspaceBilling]:
        return (
            super()
            .get_queryset(request)
            .select_related("owner", "plan", "overage_settings")
            .prefetch_related(Prefetch("djstripe_customers", queryset=_customers(), to_attr="billing_customers"))
        )

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("invoices/", view(self.invoice_list_view), name="billing_invoices"),
            path("invoices/<int:djstripe_id>/", view(self.invoice_detail_view), name="billing_invoice"),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # A read-only page: changes go through the list's actions (and so through Stripe).
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False}
        return super().change_view(request, object_id, form_url, extra_context)

    @staticmethod
    def _customer(workspace: Any) -> Customer | None:
        customers = getattr(workspace, "billing_customers", None)
        if customers is None:
            return selectors.customer_for(workspace=workspace)
        return customers[0] if customers else None

    @admin.display(description="Customer page")
    def customer_page(self, workspace: Any) -> str:
        return _customer_page_link(workspace)

    @admin.display(description="Owner email")
    def owner_email(self, workspace: Any) -> str:
        return str(workspace.owner.email)

    @admin.display(description="Stripe customer")
    def stripe_customer(self, workspace: Any) -> str:
        customer = self._customer(workspace)
        return "—" if customer is None else customer.id

    @admin.display(description="Overage")
    def overage(self, workspace: Any) -> str:
        settings_row = getattr(workspace, "overage_settings", None)
        if settings_row is None or not settings_row.enabled:
            return "off"
        cap = settings_row.spending_cap_cents
        return f"on since {settings_row.enabled_at:%Y-%m-%d}, cap " + ("none" if cap is None else f"{cap / 100:.2f}")

    @admin.display(description="Subscription")
    def subscription(self, workspace: Any) -> str:
        subscription = selectors.live_subscription(workspace=workspace)
        if subscription is None:
            return "none (free plan)"
        _, end = selectors.subscription_period(subscription)
        ending = " — cancels at period end" if subscription.cancel_at_period_end else ""
        renews = f"{end:%Y-%m-%d}" if end else "?"
        return f"{subscription.id}: {subscription.stripe_data.get('status')}, period ends {renews}{ending}"

    @admin.display(description="Payment methods")
    def payment_methods(self, workspace: Any) -> str:
        customer = self._customer(workspace)
        default_id = customer.default_payment_method_id if customer else None
        cards = selectors.payment_methods(workspace=workspace)
        if not cards:
            return "none"
        return format_html_join(
            format_html("<br>"),
            "{} (exp. {}/{}){}",
            (
                (
                    card_label(card.stripe_data),
                    (card.stripe_data.get("card") or {}).get("exp_month", "?"),
                    (card.stripe_data.get("card") or {}).get("exp_year", "?"),
                    " — default" if card.id == default_id else "",
                )
                for card in cards
            ),
        )

    @admin.display(description="Invoices (latest 20)")
    def invoices(self, workspace: Any) -> str:
        views = billing_console.workspace_invoice_views(workspace=workspace, limit=20)
        if not views:
            return "none"
        return format_html_join(
            format_html("<br>"),
            '<a href="{}">{}</a> {} {} {} {}',
            (
                (
                    reverse("admin:billing_invoice", args=[view.djstripe_id]),
                    view.number or view.id,
                    f"{view.created:%Y-%m-%d}" if view.created else "",
                    view.status,
                    view.total,
                    "(past due)" if view.past_due else "",
                )
                for view in views
            ),
        )

    @admin.display(description="Overage charges")
    def overage_charges(self, workspace: Any) -> str:
        charges = billing_console.overage_charges(workspace=workspace)
        if not charges:
            return "none"
        return format_html_join(
            format_html("<br>"),
            "{} {}: {} cents ({})",
            ((f"{c.period_start:%Y-%m-%d}", c.metric, c.amount_cents, c.stripe_invoice_item_id) for c in charges),
        )

    @admin.display(description="Open support issues")
    def support_issues(self, workspace: Any) -> str:
        issues = [
            issue
            for issue in support_selectors.issues_of(workspace=workspace)[:50]
            if issue.status in ("open", "in_progress")
        ]
        if not issues:
            return "none"
        return format_html_join(
            format_html("<br>"),
            '<a href="{}">#{} {}</a> ({}, {})',
            (
                (
                    reverse("admin:support_supportissue_change", args=[issue.pk]),
                    issue.pk,
                    issue.title,
                    issue.priority,
                    issue.status,
                )
                for issue in issues
            ),
        )

    # -- actions

    @admin.action(description="Sync selected workspaces from Stripe", permissions=["change"])
    def sync_from_stripe(self, request: HttpRequest, queryset: QuerySet[WorkspaceBilling]) -> None:
        for workspace in queryset:
            try:
                drifts = services.sync_workspace_from_stripe(workspace=workspace)
            except DomainError as exc:
                self.message_user(request, f"{workspace.slug}: {exc.message}", messages.ERROR)
            else:
                found = "; ".join(drift.detail for drift in drifts) or "already in sync"
                self.message_user(request, f"{workspace.slug}: {found}.", messages.SUCCESS)

    @admin.action(description="Change plan of selected workspaces…", permissions=["change"])
    def change_plan(self, request: HttpRequest, queryset: QuerySet[WorkspaceBilling]) -> TemplateResponse | None:
        """Choose the plan (the current one preselected) and give a reason, see the proration, confirm."""
        workspaces = list(queryset.select_related("plan", "owner"))
        current = {workspace.plan_id for workspace in workspaces}
        submitted = "preview" in request.POST or "apply" in request.POST
        initial = {"plan": next(iter(current))} if len(current) == 1 else {}
        form = ChangePlanForm(request.POST if submitted else None, initial=initial, current_plan_ids=current)
        previews: list[tuple[Any, billing_console.ProrationPreview]] = []
        if form.is_bound and form.is_valid():
            plan, reason = form.cleaned_data["plan"], form.cleaned_data["reason"]
            if "apply" in request.POST:
                self._change_plans(request, workspaces, plan, reason)
                return None
            now = timezone.now()
            previews = [
                (workspace, billing_console.proration_preview(workspace=workspace, plan=plan, now=now))
                for workspace in workspaces
            ]
        return TemplateResponse(
            request,
            "admin/billing/workspacebilling/change_plan.html",
            {
                **self.admin_site.each_context(request),
                "title": "Change plan",
                "opts": self.model._meta,
                "workspaces": workspaces,
                "form": form,
                "previews": previews,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )

    def _change_plans(self, request: HttpRequest, workspaces: list[Any], plan: Plan, reason: str) -> None:
        for workspace in workspaces:
            try:
                change = services.change_plan(workspace=workspace, plan=plan, reason=reason)
            except DomainError as exc:
                self.message_user(request, f"{workspace.slug}: {exc.message}", messages.ERROR)
                continue
            outcome = (
                f"moves to '{plan.code}' at the period end" if change.scheduled_plan else f"now on '{change.plan.code}'"
            )
            self.message_user(request, f"{workspace.slug}: {outcome}.", messages.SUCCESS)

    # -- the service's own invoice pages (read-only, from the stored Stripe JSON)

    def _require_view(self, request: HttpRequest) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied

    def invoice_list_view(self, request: HttpRequest) -> HttpResponse:
        self._require_view(request)
        status = request.GET.get("status", "")
        if status not in (*billing_console.INVOICE_STATUSES, billing_console.PAST_DUE):
            status = ""
        slug = request.GET.get("workspace", "").strip()
        now = timezone.now()
        page = Paginator(billing_console.invoices(status=status, workspace_slug=slug, now=now), 50).get_page(
            request.GET.get("p")
        )
        return TemplateResponse(
            request,
            "admin/billing/invoices.html",
            {
                **self.admin_site.each_context(request),
                "title": "Invoices",
                "opts": self.model._meta,
                "page": page,
                "invoices": [billing_console.invoice_view(invoice, now=now) for invoice in page.object_list],
                "statuses": [
                    ("", "All"),
                    *((s, s) for s in billing_console.INVOICE_STATUSES),
                    (billing_console.PAST_DUE, "past due"),
                ],
                "status": status,
                "workspace_slug": slug,
            },
        )

    def invoice_detail_view(self, request: HttpRequest, djstripe_id: int) -> HttpResponse:
        self._require_view(request)
        invoice = billing_console.get_invoice(djstripe_id=djstripe_id)
        if invoice is None:
            raise Http404("No such invoice.")
        view = billing_console.invoice_view(invoice)
        return TemplateResponse(
            request,
            "admin/billing/invoice.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Invoice {view.number or view.id}",
                "opts": self.model._meta,
                "invoice": view,
            },
        )


class PaymentFailureFilter(admin.SimpleListFilter):
    title = "payment failures"
    parameter_name = "failed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("7d", "Payment failures, last 7 days"), ("all", "Payment failures, all")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[StripeWebhookEvent]) -> QuerySet[StripeWebhookEvent]:
        if self.value() in ("7d", "all"):
            queryset = queryset.filter(type__in=billing_console.FAILED_PAYMENT_EVENT_TYPES)
        if self.value() == "7d":
            queryset = queryset.filter(processed_at__gte=timezone.now() - billing_console.FAILED_EVENTS_WINDOW)
        return queryset


@admin.register(StripeWebhookEvent)
class StripeWebhookEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("stripe_event_id", "type", "status", "attempts", "workspace", "processed_at", "applied_at")
    list_filter = (PaymentFailureFilter, "status", "type")
    search_fields = ("stripe_event_id", "workspace__slug")
    list_select_related = ("workspace",)
    exclude = ("payload",)
    actions = ["retry_failed"]

    @admin.action(description="Retry the selected failed events")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[StripeWebhookEvent]) -> None:
        ids = list(queryset.filter(status=StripeWebhookEvent.Status.FAILED).values_list("stripe_event_id", flat=True))
        queued = webhooks.retry_failed(stripe_event_ids=ids)
        self.message_user(request, f"{queued} failed event(s) queued for a new round of attempts.", messages.SUCCESS)


@admin.register(StripeWebhookFailure)
class StripeWebhookFailureAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Events whose apply by the worker fails (retried with backoff, then kept as failed); gone once one applies.

    A failed event is retried from the webhook events list (its action) or by resending it from Stripe.
    """

    list_display = ("stripe_event_id", "type", "event_status", "error", "attempts", "first_failed_at", "last_failed_at")
    list_filter = ("type",)
    search_fields = ("stripe_event_id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[StripeWebhookFailure]:
        events = StripeWebhookEvent.objects.filter(stripe_event_id=OuterRef("stripe_event_id"))
        return super().get_queryset(request).annotate(status_of_event=Subquery(events.values("status")[:1]))

    @admin.display(description="Event status")
    def event_status(self, failure: StripeWebhookFailure) -> str:
        status = getattr(failure, "status_of_event", None)
        return {"received": "retrying", "failed": "given up"}.get(status or "", status or "—")


@admin.register(OverageCharge)
class OverageChargeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("workspace", "period_start", "metric", "units", "amount_cents", "stripe_invoice_item_id")
    list_filter = ("metric",)
    search_fields = ("workspace__slug", "stripe_invoice_item_id")
    list_select_related = ("workspace",)


# --- the dashboard and the customer page


def _billing_panel() -> console.Panel:
    figures = billing_console.billing_figures(now=timezone.now())
    invoices = reverse("admin:billing_invoices")
    tiles = [
        console.Tile(
            label=f"{status.capitalize()} invoices",
            count=figures.invoices_by_status[status],
            url=f"{invoices}?status={status}",
            alert=status == "uncollectible" and figures.invoices_by_status[status] > 0,
        )
        for status in ("open", "uncollectible")
    ]
    tiles.insert(
        1,
        console.Tile(
            label="Past-due invoices",
            count=figures.past_due,
            url=f"{invoices}?status={billing_console.PAST_DUE}",
            alert=figures.past_due > 0,
        ),
    )
    tiles.append(
        console.Tile(
            label="Webhook events failing",
            count=figures.failing_webhook_events,
            url=reverse("admin:billing_stripewebhookfailure_changelist"),
            alert=figures.failing_webhook_events > 0,
        )
    )
    tiles.append(
        console.Tile(
            label="Failed payment webhooks (7 days)",
            count=figures.failed_payment_events,
            url=reverse("admin:billing_stripewebhookevent_changelist") + "?failed=7d",
            alert=figures.failed_payment_events > 0,
        )
    )
    return console.Panel(title="Billing", key="billing", tiles=tiles)


console.register_panel(_billing_panel, permission=BILLING_VIEW, order=30)


def _billing_section(workspace: Any) -> console.Section:
    subscription = selectors.live_subscription(workspace=workspace)
    customer = selectors.customer_for(workspace=workspace)
    default_card = customer.default_payment_method_id if customer is not None else None
    cards = [
        {
            "label": card_label(card.stripe_data),
            "expires": "{}/{}".format(
                (card.stripe_data.get("card") or {}).get("exp_month", "?"),
                (card.stripe_data.get("card") or {}).get("exp_year", "?"),
            ),
            "is_default": card.id == default_card,
        }
        for card in selectors.payment_methods(workspace=workspace)
    ]
    return console.Section(
        title="Plan, subscription, cards and overage",
        template="admin/console/section_billing.html",
        key="billing",
        context={
            "plan": workspace.plan,
            "subscription": subscription,
            "subscription_status": subscription.stripe_data.get("status") if subscription is not None else None,
            "renewal": selectors.subscription_period(subscription)[1] if subscription is not None else None,
            "cards": cards,
            "customer_id": customer.id if customer is not None else None,
            "overage": selectors.get_overage_settings(workspace=workspace),
            "charges": billing_console.overage_charges(workspace=workspace, limit=10),
        },
        links=[("Billing page", reverse("admin:billing_workspacebilling_change", args=[workspace.pk]))],
    )


def _invoices_section(workspace: Any) -> console.Section:
    return console.Section(
        title="Invoices",
        template="admin/console/section_invoices.html",
        key="invoices",
        context={"invoices": billing_console.workspace_invoice_views(workspace=workspace, limit=10)},
        links=[("All invoices of this workspace", reverse("admin:billing_invoices") + f"?workspace={workspace.slug}")],
    )


console.register_customer_section(_billing_section, permission=BILLING_VIEW, order=20)
console.register_customer_section(_invoices_section, permission=BILLING_VIEW, order=30)
