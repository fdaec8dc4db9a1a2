from collections import Counter

from django.core.management.base import CommandError
from tqdm import tqdm

from billing import gateway, selectors, services
from centrali.commands import OperatorCommand
from centrali.errors import DomainError
from workspaces import selectors as workspace_selectors


class Command(OperatorCommand):
    help = (
        "Pull customers, payment methods, subscriptions and invoices from Stripe, report every drift "
        "from the local billing state, and repair it (unless --dry-run)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="Only this workspace (slug).")
        parser.add_argument("--dry-run", action="store_true", help="Report drift, change nothing.")

    def handle(self, *args, workspace=None, dry_run=False, **options):
        if not gateway.is_configured():
            raise CommandError("Billing is not configured: set STRIPE_SECRET_KEY.")
        workspaces = selectors.workspaces_with_billing()
        if workspace:
            workspaces = workspace_selectors.workspaces_with_plans().filter(slug=workspace)
            if not workspaces.exists():
                raise CommandError(f"No workspace '{workspace}'.")
        kinds: Counter[str] = Counter()
        failures: list[str] = []
        repaired = 0
        progress = tqdm(list(workspaces), desc="reconciling", unit="workspace", file=self.stderr, disable=None)
        for each in progress:
            try:
                drifts = services.reconcile_workspace(workspace=each, dry_run=dry_run)
            except DomainError as exc:
                failures.append(f"{each.slug}: {exc.message}")
                continue
            for drift in drifts:
                kinds[drift.kind] += 1
                repaired += drift.repaired
                verb = "repaired" if drift.repaired else ("found" if dry_run else "needs a person")
                progress.write(f"{drift.workspace}: {drift.kind}: {drift.detail} [{verb}]", file=self.stdout)
        breakdown = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())) or "none"
        outcome = "nothing changed (dry run)" if dry_run else f"{repaired} repaired"
        self.stdout.write(
            f"Checked {len(progress)} workspace(s): {sum(kinds.values())} drift(s) ({breakdown}); {outcome}."
        )
        for failure in failures:
            self.stderr.write(f"failed: {failure}")
        if failures:
            raise CommandError(f"{len(failures)} workspace(s) could not be reconciled.")
