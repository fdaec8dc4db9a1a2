from django.core.management.base import CommandError

from audit.selectors import verify_chain, workspaces_with_audit_log
from centrali.commands import OperatorCommand
from workspaces.selectors import get_workspace_by_ref


class Command(OperatorCommand):
    help = (
        "Recompute every workspace's audit hash chain and report the first broken link "
        "(an altered or removed event). Exits non-zero when a chain is broken."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="Verify only this workspace (slug or id).")

    def handle(self, *args, workspace=None, **options):
        if workspace:
            found = get_workspace_by_ref(workspace)
            if found is None:
                raise CommandError(f"No workspace {workspace!r}.")
            workspace_ids = [found.pk]
        else:
            workspace_ids = workspaces_with_audit_log()

        broken = []
        for workspace_id in workspace_ids:
            chain_break = verify_chain(workspace_id=workspace_id)
            if chain_break is not None:
                broken.append(chain_break)
                self.stderr.write(self.style.ERROR(f"BROKEN {chain_break}"))
        if broken:
            raise CommandError(f"{len(broken)} of {len(workspace_ids)} audit chain(s) broken.")
        self.stdout.write(self.style.SUCCESS(f"OK: {len(workspace_ids)} audit chain(s) intact."))
