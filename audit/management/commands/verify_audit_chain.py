from __future__ import annotations

from typing import Any

from audit.selectors import verify_chain, workspaces_with_audit_log
from centrali.commands import WORK_FOUND_EXIT_STATUS, OperatorCommand, Outcome, named_one
from workspaces.selectors import get_workspace_by_ref, get_workspaces_by_refs


class Command(OperatorCommand):
    help = (
        "Recompute every workspace's audit hash chain and report the first broken link "
        f"(an altered or removed event). Exits with status {WORK_FOUND_EXIT_STATUS} when a chain is broken."
    )
    checks_only = True

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--workspace", help="Verify only this workspace (slug or id).")

    def run(self, *args: Any, workspace: str | None = None, **options: Any) -> Outcome:
        if workspace:
            workspace_ids = [named_one(workspace, get_workspace_by_ref(workspace), what="workspace").pk]
        else:
            workspace_ids = workspaces_with_audit_log()
        # A purged workspace's chain may outlive its row: it is then named by id.
        found = get_workspaces_by_refs(str(workspace_id) for workspace_id in workspace_ids)
        slug_of = {ref: each.slug for ref, each in found.items()}

        broken = []
        for workspace_id in self.progress(workspace_ids, desc="verifying"):
            chain_break = verify_chain(workspace_id=workspace_id)
            if chain_break is None:
                continue
            where = f"event #{chain_break.event_id}" if chain_break.event_id is not None else "chain head"
            name = slug_of.get(str(workspace_id), str(workspace_id))
            broken.append({"workspace": name, "event_id": chain_break.event_id, "reason": chain_break.reason})
            self.problem(f"BROKEN {name}: {where}: {chain_break.reason}")
        summary = {"workspaces_checked": len(workspace_ids), "broken": broken}
        if broken:
            return Outcome(
                f"{len(broken)} of {len(workspace_ids)} audit chain(s) broken.", summary=summary, work_found=True
            )
        return Outcome(f"OK: {len(workspace_ids)} audit chain(s) intact.", summary=summary)
