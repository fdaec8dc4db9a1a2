from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from centrali.commands import OperatorCommand, Outcome, iso_date, named_one
from centrali.errors import InvalidInput
from usage import services
from workspaces.selectors import get_workspace_by_ref, get_workspaces_by_refs


class Command(OperatorCommand):
    help = (
        "Rebuild the daily usage rollups from the raw usage events and report every difference. "
        "Raw events are kept USAGE_RAW_EVENT_RETENTION_DAYS, so only days since then can be rebuilt."
    )
    takes_dry_run = True
    dry_run_help = "Report the differences without fixing them."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--workspace", help="Slug or id of one workspace (default: all).")
        parser.add_argument(
            "--since", type=iso_date, help="First day to rebuild, YYYY-MM-DD (default: the retention cutoff)."
        )

    def run(
        self, *args: Any, workspace: str | None = None, since: date | None = None, dry_run: bool = False, **options: Any
    ) -> Outcome:
        now = timezone.now()
        target = named_one(workspace, get_workspace_by_ref(workspace), what="workspace") if workspace else None
        first_day = since or services.raw_event_retention_cutoff(now).date()
        try:
            differences = services.reconcile_rollups(since=first_day, workspace=target, apply=not dry_run, now=now)
        except InvalidInput as refused:
            raise CommandError(str(refused)) from None

        found = get_workspaces_by_refs({str(difference.workspace_id) for difference in differences})
        rows = []
        for difference in differences:
            slug = found[str(difference.workspace_id)].slug
            rows.append(
                {
                    "workspace": slug,
                    "metric": difference.metric,
                    "day": difference.day.isoformat(),
                    "stored": _number(difference.stored),
                    "rebuilt": _number(difference.rebuilt),
                }
            )
            self.line(
                f"{slug} {difference.metric} {difference.day}: "
                f"stored {_show(difference.stored)}, raw events say {_show(difference.rebuilt)}"
            )
        verb = "found" if dry_run else "fixed"
        return Outcome(
            f"{len(differences)} rollup difference(s) {verb} since {first_day}.",
            summary={"since": first_day.isoformat(), "differences": rows, "fixed": 0 if dry_run else len(rows)},
            work_found=bool(differences),
        )


def _show(value: Decimal | None) -> str:
    return "nothing" if value is None else f"{value.normalize():f}"


def _number(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"
