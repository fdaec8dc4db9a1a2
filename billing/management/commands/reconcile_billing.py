from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import CommandError

from billing import gateway, selectors, services
from centrali.commands import OperatorCommand, Outcome, named
from centrali.errors import DomainError
from workspaces import selectors as workspace_selectors


class Command(OperatorCommand):
    help = (
        "Pull customers, payment methods, subscriptions and invoices from Stripe, report every drift "
        "from the local billing state, and repair it (unless --dry-run)."
    )
    takes_dry_run = True
    dry_run_help = "Report drift, change nothing."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--workspace", action="append", default=[], help="Only this workspace (slug; repeatable).")

    def run(self, *args: Any, workspace: list[str], dry_run: bool = False, **options: Any) -> Outcome:
        if not gateway.is_configured():
            raise CommandError("Billing is not configured: set STRIPE_SECRET_KEY.")
        if workspace:
            by_slug = {
                each.slug: each for each in workspace_selectors.workspaces_with_plans().filter(slug__in=workspace)
            }
            workspaces = named(workspace, by_slug, what="workspace")
        else:
            workspaces = list(selectors.workspaces_with_billing())

        kinds: Counter[str] = Counter()
        drifts: list[dict[str, Any]] = []
        failures: list[dict[str, str]] = []
        for each in self.progress(workspaces, desc="reconciling"):
            try:
                found = services.reconcile_workspace(workspace=each, dry_run=dry_run)
            except DomainError as exc:
                failures.append({"workspace": each.slug, "error": exc.message})
                self.problem(f"failed: {each.slug}: {exc.message}")
                continue
            for drift in found:
                kinds[drift.kind] += 1
                drifts.append(
                    {
                        "workspace": drift.workspace,
                        "kind": drift.kind,
                        "detail": drift.detail,
                        "repaired": drift.repaired,
                    }
                )
                verb = "repaired" if drift.repaired else ("found" if dry_run else "needs a person")
                self.line(f"{drift.workspace}: {drift.kind}: {drift.detail} [{verb}]")

        repaired = sum(drift["repaired"] for drift in drifts)
        breakdown = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())) or "none"
        outcome = "nothing changed (dry run)" if dry_run else f"{repaired} repaired"
        return Outcome(
            f"Checked {len(workspaces)} workspace(s): {len(drifts)} drift(s) ({breakdown}); {outcome}.",
            summary={
                "workspaces_checked": len(workspaces),
                "drifts": drifts,
                "drift_counts": dict(sorted(kinds.items())),
                "repaired": repaired,
                "failures": failures,
            },
            work_found=bool(drifts),
            failure=f"{len(failures)} workspace(s) could not be reconciled." if failures else None,
        )
