"""`manage.py purge_deleted_workspaces`: hard-delete workspaces whose restore deadline has passed.

Runs daily from Celery beat (workspaces.purge_deleted_workspaces); run it by hand with --dry-run
to see what would go. A workspace still inside its grace period is never touched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from centrali.commands import OperatorCommand, Outcome, iso_datetime, positive_int
from centrali.formats import iso_utc
from workspaces import selectors, services
from workspaces.models import PurgedWorkspace, Workspace


class Command(OperatorCommand):
    help = "Hard-delete cancelled workspaces whose restore deadline has passed (keeps a tombstone for each)."
    takes_dry_run = True
    dry_run_help = "List what would be purged; delete nothing."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--now", type=iso_datetime, default=None, help="Purge as if it were this ISO 8601 time (testing, catch-up)."
        )
        parser.add_argument("--batch-size", type=positive_int, default=None, help="Workspaces fetched per batch.")

    def run(
        self,
        *args: Any,
        dry_run: bool = False,
        now: datetime | None = None,
        batch_size: int | None = None,
        **options: Any,
    ) -> Outcome:
        now = now or timezone.now()
        batch_size = batch_size or settings.PURGE_BATCH_SIZE
        if dry_run:
            return self._list_due(now=now, batch_size=batch_size)

        purged: list[dict[str, str]] = []
        failed: list[dict[str, str]] = []
        with self.progress(total=selectors.workspaces_due_for_purge(now=now).count(), desc="purging") as bar:

            def on_purged(workspace: Workspace, tombstone: PurgedWorkspace) -> None:
                bar.update(1)
                purged.append({"workspace": workspace.slug, "id": str(tombstone.workspace_id)})
                self.line(f"purged {workspace.slug} ({tombstone.workspace_id})")

            def on_error(workspace: Workspace, exc: Exception) -> None:
                bar.update(1)
                failed.append({"workspace": workspace.slug, "error": f"{exc.__class__.__name__}: {exc}"})
                self.problem(f"FAILED {workspace.slug}: {exc.__class__.__name__}: {exc}")

            services.purge_due_workspaces(now=now, batch_size=batch_size, on_purged=on_purged, on_error=on_error)
        return Outcome(
            f"Purged {len(purged)} workspace(s).",
            summary={"now": iso_utc(now), "purged": purged, "failed": failed},
            failure=f"{len(failed)} workspace(s) could not be purged; see the errors above." if failed else None,
        )

    def _list_due(self, *, now: datetime, batch_size: int) -> Outcome:
        due = []
        for workspace in selectors.workspaces_due_for_purge(now=now).iterator(chunk_size=batch_size):
            deadline = iso_utc(workspace.restore_deadline)
            due.append({"workspace": workspace.slug, "id": str(workspace.pk), "restore_deadline": deadline})
            self.line(f"would purge {workspace.slug} ({workspace.pk}), restore deadline {deadline}")
        return Outcome(
            f"{len(due)} workspace(s) would be purged (dry run, nothing deleted).",
            summary={"now": iso_utc(now), "due": due},
            work_found=bool(due),
        )
