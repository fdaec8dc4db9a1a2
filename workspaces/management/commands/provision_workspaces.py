"""`manage.py provision_workspaces`: give existing workspaces the services registered since they were created.

New workspaces get every service in WORKSPACE_PROVISIONERS at sign-up; after a service is added
to the registry, run this once so the others get it too (pending rows, tasks enqueued).
"""

from __future__ import annotations

from typing import Any

from centrali.commands import OperatorCommand, Outcome, named
from workspaces import services
from workspaces.models import Workspace
from workspaces.provisioning import registered_services
from workspaces.selectors import get_workspaces_by_refs


class Command(OperatorCommand):
    help = "Add and enqueue the registered provisioning services that existing workspaces lack."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("slugs", nargs="*", help="Only these workspaces (default: every active or suspended one).")

    def run(self, *args: Any, slugs: list[str], **options: Any) -> Outcome:
        if slugs:
            workspaces = named(slugs, get_workspaces_by_refs(slugs), what="workspace")
        else:
            workspaces = list(Workspace.objects.order_by("created_at"))
        added: dict[str, list[str]] = {}
        # One workspace at a time (each in its own transaction anyway), so that the bar moves.
        for workspace in self.progress(workspaces, desc="provisioning"):
            added.update(services.provision_missing_services(workspaces=Workspace.objects.filter(pk=workspace.pk)))
        for slug, missing in added.items():
            self.line(f"{slug}: {', '.join(missing)}")
        registered = registered_services()
        return Outcome(
            f"{len(added)} workspace(s) given missing services (registered: {', '.join(registered)}).",
            summary={"workspaces_checked": len(workspaces), "registered": registered, "added": added},
        )
