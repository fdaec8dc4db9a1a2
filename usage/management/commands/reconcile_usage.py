from datetime import date

from django.core.management.base import CommandError
from django.utils import timezone

from centrali.commands import OperatorCommand
from centrali.errors import InvalidInput
from usage import services
from workspaces.selectors import get_workspace_by_ref


class Command(OperatorCommand):
    help = (
        "Rebuild the daily usage rollups from the raw usage events and report every difference. "
        "Raw events are kept USAGE_RAW_EVENT_RETENTION_DAYS, so only days since then can be rebuilt."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="Slug or id of one workspace (default: all).")
        parser.add_argument("--since", help="First day to rebuild, YYYY-MM-DD (default: the retention cutoff).")
        parser.add_argument("--dry-run", action="store_true", help="Report the differences without fixing them.")

    def handle(self, *args, workspace=None, since=None, dry_run=False, **options):
        now = timezone.now()
        target = None
        if workspace:
            target = get_workspace_by_ref(workspace)
            if target is None:
                raise CommandError(f"Unknown workspace {workspace!r}.")
        try:
            first_day = date.fromisoformat(since) if since else services.raw_event_retention_cutoff(now).date()
        except ValueError:
            raise CommandError("--since must be a date, YYYY-MM-DD.") from None
        try:
            differences = services.reconcile_rollups(since=first_day, workspace=target, apply=not dry_run, now=now)
        except InvalidInput as refused:
            raise CommandError(str(refused)) from None

        for difference in differences:
            self.stdout.write(
                f"{difference.workspace_id} {difference.metric} {difference.day}: "
                f"stored {_show(difference.stored)}, raw events say {_show(difference.rebuilt)}"
            )
        verb = "found" if dry_run else "fixed"
        style = self.style.WARNING if differences else self.style.SUCCESS
        self.stdout.write(style(f"{len(differences)} rollup difference(s) {verb} since {first_day}."))


def _show(value):
    return "nothing" if value is None else f"{value.normalize():f}"
