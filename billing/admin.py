"""The billing console: per-workspace billing pages and the staff actions, all through billing.services."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Prefetch
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from djstripe.models import Customer

from billing import gateway, selectors, services
from billing.formats import card_label
from billing.models import OverageCharge, Plan, StripeWebhookEvent, WorkspaceBilling
from centrali.admin import NoAddOrDeleteAdminMixin, ReadOnlyAdminMixin
from centrali.errors import DomainError


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


class ChangePlanForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.filter(is_public=True), empty_label=None)


def _customers():
    return Customer.objects.filter(livemode=gateway.livemode(), date_purged__isnull=True).select_related(
        "default_payment_method"
    )


@admin.register(WorkspaceBilling)
class WorkspaceBillingAdmin(NoAddOrDeleteAdminMixin, admin.ModelAdmin):
    list_display = ("slug", "name", "plan", "status", "stripe_customer", "overage")
    list_filter = ("plan", "status")
    search_fields = ("slug", "name", "owner__email", "djstripe_customers__id")
    fields = (
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
    )
    readonly_fields = fields
    actions = ["sync_from_stripe", "change_plan"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("owner", "plan", "overage_settings")
            .prefetch_related(Prefetch("djstripe_customers", queryset=_customers(), to_attr="billing_customers"))
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # A read-only page: changes go through the list's actions (and so through Stripe).
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False}
        return super().change_view(request, object_id, form_url, extra_context)

    @staticmethod
    def _customer(workspace):
        customers = getattr(workspace, "billing_customers", None)
        if customers is None:
            return selectors.customer_for(workspace=workspace)
        return customers[0] if customers else None

    @admin.display(description="Owner email")
    def owner_email(self, workspace):
        return workspace.owner.email

    @admin.display(description="Stripe customer")
    def stripe_customer(self, workspace):
        customer = self._customer(workspace)
        if customer is None:
            return "—"
        url = reverse("admin:djstripe_customer_change", args=[customer.djstripe_id])
        return format_html('<a href="{}">{}</a>', url, customer.id)

    @admin.display(description="Overage")
    def overage(self, workspace):
        settings_row = getattr(workspace, "overage_settings", None)
        if settings_row is None or not settings_row.enabled:
            return "off"
        cap = settings_row.spending_cap_cents
        return f"on since {settings_row.enabled_at:%Y-%m-%d}, cap " + ("none" if cap is None else f"{cap / 100:.2f}")

    @admin.display(description="Subscription")
    def subscription(self, workspace):
        subscription = selectors.live_subscription(workspace=workspace)
        if subscription is None:
            return "none (free plan)"
        _, end = selectors.subscription_period(subscription)
        ending = " — cancels at period end" if subscription.cancel_at_period_end else ""
        return f"{subscription.id}: {subscription.status}, period ends {end:%Y-%m-%d}{ending}"

    @admin.display(description="Payment methods")
    def payment_methods(self, workspace):
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
    def invoices(self, workspace):
        invoices = selectors.workspace_invoices(workspace=workspace)[:20]
        if not invoices:
            return "none"
        return format_html_join(
            format_html("<br>"),
            '<a href="{}">{}</a> {} {} {} {}',
            (
                (
                    reverse("admin:djstripe_invoice_change", args=[invoice.djstripe_id]),
                    invoice.id,
                    f"{invoice.created:%Y-%m-%d}",
                    invoice.stripe_data.get("status"),
                    f"{(invoice.stripe_data.get('total') or 0) / 100:.2f}",
                    str(invoice.stripe_data.get("currency", "")).upper(),
                )
                for invoice in invoices
            ),
        )

    @admin.display(description="Overage charges")
    def overage_charges(self, workspace):
        charges = OverageCharge.objects.filter(workspace=workspace)[:20]
        if not charges:
            return "none"
        return format_html_join(
            format_html("<br>"),
            "{} {}: {} cents ({})",
            ((f"{c.period_start:%Y-%m-%d}", c.metric, c.amount_cents, c.stripe_invoice_item_id) for c in charges),
        )

    @admin.action(description="Sync selected workspaces from Stripe", permissions=["change"])
    def sync_from_stripe(self, request, queryset):
        for workspace in queryset:
            try:
                drifts = services.sync_workspace_from_stripe(workspace=workspace)
            except DomainError as exc:
                self.message_user(request, f"{workspace.slug}: {exc.message}", messages.ERROR)
            else:
                found = "; ".join(drift.detail for drift in drifts) or "already in sync"
                self.message_user(request, f"{workspace.slug}: {found}.", messages.SUCCESS)

    @admin.action(description="Change plan of selected workspaces…", permissions=["change"])
    def change_plan(self, request, queryset):
        form = ChangePlanForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            plan = form.cleaned_data["plan"]
            for workspace in queryset:
                try:
                    change = services.change_plan(workspace=workspace, plan=plan)
                except DomainError as exc:
                    self.message_user(request, f"{workspace.slug}: {exc.message}", messages.ERROR)
                    continue
                outcome = (
                    f"moves to '{plan.code}' at the period end"
                    if change.scheduled_plan
                    else f"now on '{change.plan.code}'"
                )
                self.message_user(request, f"{workspace.slug}: {outcome}.", messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/billing/workspacebilling/change_plan.html",
            {
                **self.admin_site.each_context(request),
                "title": "Change plan",
                "opts": self.model._meta,
                "workspaces": queryset,
                "form": form,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )


@admin.register(StripeWebhookEvent)
class StripeWebhookEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("stripe_event_id", "type", "workspace", "stripe_created_at", "processed_at")
    list_filter = ("type",)
    search_fields = ("stripe_event_id", "workspace__slug")
    list_select_related = ("workspace",)


@admin.register(OverageCharge)
class OverageChargeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("workspace", "period_start", "metric", "units", "amount_cents", "stripe_invoice_item_id")
    list_filter = ("metric",)
    search_fields = ("workspace__slug", "stripe_invoice_item_id")
    list_select_related = ("workspace",)
