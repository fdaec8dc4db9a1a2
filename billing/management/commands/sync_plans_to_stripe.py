from django.core.management.base import CommandError

from billing import gateway, services
from billing.models import Plan
from centrali.commands import OperatorCommand
from centrali.errors import DomainError


class Command(OperatorCommand):
    help = "Create or update the Stripe product and monthly/yearly prices of every paid plan (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--plan", action="append", default=[], help="Only this plan code (repeatable).")

    def handle(self, *args, plan, **options):
        if not gateway.is_configured():
            raise CommandError("Billing is not configured: set STRIPE_SECRET_KEY.")
        plans = Plan.objects.all()
        if plan:
            plans = plans.filter(code__in=plan)
        for each in plans:
            if not each.is_paid:
                self.stdout.write(f"{each.code}: free, nothing to sell in Stripe")
                continue
            try:
                changes = services.sync_plan_to_stripe(plan=each)
            except DomainError as exc:
                raise CommandError(f"{each.code}: {exc.message}") from exc
            summary = "; ".join(changes) if changes else "up to date"
            self.stdout.write(
                f"{each.code}: {summary} (product {each.stripe_product_id}, monthly {each.stripe_price_monthly_id}, "
                f"yearly {each.stripe_price_yearly_id})"
            )
        self.stdout.write(self.style.SUCCESS("Plans synced to Stripe."))
