"""`manage.py purge_deleted_workspaces`: hard-delete workspaces whose restore deadline has passed.

Runs daily from Celery beat (workspaces.purge_deleted_workspaces); run it by hand with --dry-run
to see what would go. A workspace still inside its grace period is never touched.
"""

from datetime import UTC

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from centrali.commands import OperatorCommand
from workspaces import selectors, services


def _moment(value):
    moment = parse_datetime(value)
    if moment is None:
        raise CommandError(f"--now expects an ISO 8601 date-time, e.g. 2026-05-01T00:00:00Z; got {value!r}")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)


class Command(OperatorCommand):
    help = "Hard-delete cancelled workspaces whose restore deadline has passed (keeps a tombstone for each)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List what would be purged; delete nothing.")
        parser.add_argument(
            "--now", type=_moment, default=None, help="Purge as if it were this ISO 8601 time (testing, catch-up)."
        )
        parser.add_argument("--batch-size", type=int, default=None, help="Workspaces fetched per batch.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (e.g. in cron logs).")

    def handle(self, *args, dry_run, now, batch_size, no_progress, **options):
        now = now or timezone.now()
        batch_size = batch_size or settings.PURGE_BATCH_SIZE
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        due = selectors.workspaces_due_for_purge(now=now)
        total = due.count()
        if dry_run:
            for workspace in due.iterator(chunk_size=batch_size):
                self.stdout.write(
                    f"would purge {workspace.slug} ({workspace.pk}), restore deadline "
                    f"{workspace.restore_deadline:%Y-%m-%dT%H:%M:%SZ}"
                )
            self.stdout.write(f"{total} workspace(s) would be purged (dry run, nothing deleted).")
            return

        self.stderr.ending = ""  # tqdm redraws its line with \r; the wrapper must not add newlines
        try:
            with tqdm(total=total, unit="workspace", desc="purging", file=self.stderr, disable=no_progress) as bar:

                def purged(tombstone):
                    bar.update(1)
                    bar.write(f"purged {tombstone.slug} ({tombstone.workspace_id})", file=self.stdout, end="")

                def failed(workspace, exc):
                    bar.update(1)
                    bar.write(f"FAILED {workspace.slug}: {exc.__class__.__name__}: {exc}\n", file=self.stderr, end="")

                purged_count, failed_count = services.purge_due_workspaces(
                    now=now, batch_size=batch_size, on_purged=purged, on_error=failed
                )
        finally:
            self.stderr.ending = "\n"
        self.stdout.write(self.style.SUCCESS(f"Purged {purged_count} workspace(s)."))
        if failed_count:
            raise CommandError(f"{failed_count} workspace(s) could not be purged; see the errors above.")
