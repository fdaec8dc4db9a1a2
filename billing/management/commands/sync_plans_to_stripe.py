from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from billing import gateway, services
from billing.models import Plan
from centrali.commands import OperatorCommand, Outcome, named
from centrali.errors import DomainError


class Command(OperatorCommand):
    help = "Create or update the Stripe product and monthly/yearly prices of every paid plan (idempotent)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--plan", action="append", default=[], help="Only this plan code (repeatable).")

    def run(self, *args: Any, plan: list[str], **options: Any) -> Outcome:
        if not gateway.is_configured():
            raise CommandError("Billing is not configured: set STRIPE_SECRET_KEY.")
        if plan:
            plans = named(plan, {each.code: each for each in Plan.objects.filter(code__in=plan)}, what="plan")
        else:
            plans = list(Plan.objects.all())

        synced: list[dict[str, Any]] = []
        for each in self.progress(plans, desc="syncing plans"):
            if not each.is_paid:
                synced.append({"plan": each.code, "paid": False, "changes": []})
                self.line(f"{each.code}: free, nothing to sell in Stripe")
                continue
            try:
                changes = services.sync_plan_to_stripe(plan=each)
            except DomainError as exc:
                raise CommandError(f"{each.code}: {exc.message}") from exc
            synced.append(
                {
                    "plan": each.code,
                    "paid": True,
                    "changes": changes,
                    "product": each.stripe_product_id,
                    "price_monthly": each.stripe_price_monthly_id,
                    "price_yearly": each.stripe_price_yearly_id,
                }
            )
            summary = "; ".join(changes) if changes else "up to date"
            self.line(
                f"{each.code}: {summary} (product {each.stripe_product_id}, monthly {each.stripe_price_monthly_id}, "
                f"yearly {each.stripe_price_yearly_id})"
            )
        return Outcome("Plans synced to Stripe.", summary={"plans": synced})
