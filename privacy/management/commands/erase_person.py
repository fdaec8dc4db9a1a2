"""`manage.py erase_person EMAIL_OR_USER_ID --reason ...`: erase one person everywhere (GDPR art. 17).

The account, its memberships, its authorship of support issues and comments (the content stays,
signed "erased user"), the personal fields of its audit events; each workspace concerned records
that a person was erased. The owner of a workspace is refused until ownership passes to someone
else. --dry-run reports what would change and changes nothing (exit status 2 when there is a
person to erase). See PRIVACY.md.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from centrali.commands import OperatorCommand, Outcome, named_one
from centrali.errors import DomainError
from privacy import selectors, services


class Command(OperatorCommand):
    help = "Erase one person (by email, username or user id) from every workspace; see PRIVACY.md."
    takes_dry_run = True
    dry_run_help = "Report what would be erased; erase nothing."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("person", help="The person's email, username or user id.")
        parser.add_argument(
            "--reason",
            default="Erasure requested by the person.",
            help="Why (recorded in each workspace's audit log; do not name the person).",
        )

    def run(self, *args: Any, person: str, reason: str, dry_run: bool = False, **options: Any) -> Outcome:
        user = named_one(person, selectors.find_person(person), what="person")
        plan = selectors.erasure_plan(user=user)
        summary: dict[str, Any] = plan.as_dict()
        for line in _describe(plan):
            self.line(line)
        if dry_run:
            if plan.owned_workspaces:
                return Outcome(
                    "Cannot be erased yet (owns a workspace; dry run, nothing erased).",
                    summary=summary,
                    failure=_owner_refusal(plan.owned_workspaces),
                )
            return Outcome("Would erase this person (dry run, nothing erased).", summary=summary, work_found=True)
        try:
            erasure = services.erase_person(user=user, reason=reason)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        return Outcome(
            f"Erased person {plan.user_id} (erasure {erasure.erasure_id}).",
            summary={**summary, "erasure_id": erasure.erasure_id},
        )


def _owner_refusal(owned: list[str]) -> str:
    return (
        f"This person owns {len(owned)} workspace(s) ({', '.join(owned)}); "
        "transfer ownership to another member (or delete the workspace) before erasing them."
    )


def _describe(plan: selectors.ErasurePlan) -> list[str]:
    lines = [f"person {plan.user_id}"]
    if plan.owned_workspaces:
        lines.append(f"  owns: {', '.join(plan.owned_workspaces)} (must be transferred first)")
    for membership in plan.memberships:
        lines.append(f"  membership: {membership['workspace']} ({membership['role']})")
    lines.append(f"  support issues authored: {plan.support_issues} (kept, author erased)")
    lines.append(f"  comments authored: {plan.comments} (kept, signed 'erased user')")
    lines.append(f"  audit events as actor: {plan.audit_events} (personal fields erased)")
    lines.append(f"  workspaces told of the erasure: {', '.join(plan.workspaces) or 'none'}")
    return lines
