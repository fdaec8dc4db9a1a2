"""`manage.py provision_workspaces`: give existing workspaces the services registered since they were created.

New workspaces get every service in WORKSPACE_PROVISIONERS at sign-up; after a service is added
to the registry, run this once so the others get it too (pending rows, tasks enqueued).
"""

from centrali.commands import OperatorCommand
from workspaces import services
from workspaces.models import Workspace
from workspaces.provisioning import registered_services


class Command(OperatorCommand):
    help = "Add and enqueue the registered provisioning services that existing workspaces lack."

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", help="Only these workspaces (default: every active or suspended one).")

    def handle(self, *args, slugs, **options):
        workspaces = Workspace.objects.order_by("created_at")
        if slugs:
            workspaces = workspaces.filter(slug__in=slugs)
        added = services.provision_missing_services(workspaces=workspaces)
        for slug, missing in added.items():
            self.stdout.write(f"{slug}: {', '.join(missing)}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(added)} workspace(s) given missing services (registered: {', '.join(registered_services())})."
            )
        )
