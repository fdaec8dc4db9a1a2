"""Reads of the privacy app: finding a person, what an erasure would change, what the service
holds about a person (the export), and whether an email ever owned a purged workspace."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db.models import QuerySet

from audit import selectors as audit_selectors
from billing import selectors as billing_selectors
from centrali.formats import parse_uuid
from centrali.models import IdempotencyRecord
from centrali.personal_data import email_hash
from support.models import Comment, SupportIssue
from workspaces.models import Membership, PurgedWorkspace, User, Workspace


def find_person(ref: str) -> User | None:
    """The account named by its id, its email or its username (case ignored), or None."""
    ref = ref.strip()
    if (user_id := parse_uuid(ref)) is not None:
        return User.objects.filter(pk=user_id).first()
    if "@" in ref:
        return User.objects.filter(email__iexact=ref).first()
    return User.objects.filter(username__iexact=ref).first()


def purged_workspaces_of(*, email: str) -> QuerySet[PurgedWorkspace]:
    """Tombstones of the workspaces this email owned: "was this customer here?"."""
    return PurgedWorkspace.objects.filter(owner_email_hash=email_hash(email)).order_by("-purged_at")


def person_audit_events(*, user: User) -> Iterator[dict[str, Any]]:
    return audit_selectors.events_of_person(actor_ids=[str(user.pk)], emails=[user.email])


def workspaces_touched_by(*, user: User) -> set[UUID]:
    """Every workspace that holds something of the person: a membership, an issue or comment
    they wrote, an audit event where they act."""
    touched = set(Membership.objects.filter(user=user).values_list("workspace_id", flat=True))
    touched |= set(SupportIssue.objects.filter(created_by=user).values_list("workspace_id", flat=True))
    touched |= set(Comment.objects.filter(author=user).values_list("issue__workspace_id", flat=True))
    touched |= {UUID(str(event["workspace_id"])) for event in person_audit_events(user=user)}
    return touched


@dataclass(frozen=True)
class ErasurePlan:
    """What erasing the person changes (or, for an owner, why it cannot yet)."""

    user_id: UUID
    owned_workspaces: list[str]
    memberships: list[dict[str, str]]
    support_issues: int
    comments: int
    audit_events: int
    idempotency_records: int
    workspaces: list[str] = field(default_factory=list)  # slugs of every workspace that gets an audit entry

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": str(self.user_id),
            "owned_workspaces": self.owned_workspaces,
            "memberships": self.memberships,
            "support_issues": self.support_issues,
            "comments": self.comments,
            "audit_events": self.audit_events,
            "idempotency_records": self.idempotency_records,
            "workspaces": self.workspaces,
        }


def erasure_plan(*, user: User) -> ErasurePlan:
    touched = workspaces_touched_by(user=user)
    return ErasurePlan(
        user_id=user.pk,
        owned_workspaces=list(Workspace.objects.filter(owner=user).order_by("slug").values_list("slug", flat=True)),
        memberships=[
            {"workspace": slug, "role": role}
            for slug, role in Membership.objects.filter(user=user)
            .order_by("workspace__slug")
            .values_list("workspace__slug", "role")
        ],
        support_issues=SupportIssue.objects.filter(created_by=user).count(),
        comments=Comment.objects.filter(author=user).count(),
        audit_events=sum(1 for _ in person_audit_events(user=user)),
        idempotency_records=IdempotencyRecord.objects.filter(scope=f"user:{user.pk}").count(),
        workspaces=list(Workspace.objects.filter(pk__in=touched).order_by("slug").values_list("slug", flat=True)),
    )


# --- the export of one person: each section a stream of JSON-ready rows


def _account(user: User) -> Iterator[dict[str, Any]]:
    yield {
        "id": str(user.pk),
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": user.is_active,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
    }


def _memberships(user: User, batch_size: int) -> Iterator[dict[str, Any]]:
    rows = Membership.objects.filter(user=user).select_related("workspace").order_by("pk")
    for membership in rows.iterator(chunk_size=batch_size):
        yield {
            "workspace_id": str(membership.workspace_id),
            "workspace_slug": membership.workspace.slug,
            "workspace_name": membership.workspace.name,
            "role": membership.role,
            "created_at": membership.created_at,
        }


def _support_issues(user: User, batch_size: int) -> Iterator[dict[str, Any]]:
    for issue in SupportIssue.objects.filter(created_by=user).order_by("pk").iterator(chunk_size=batch_size):
        yield {
            "id": str(issue.pk),
            "workspace_id": str(issue.workspace_id),
            "title": issue.title,
            "description": issue.description,
            "type": issue.type,
            "priority": issue.priority,
            "category": issue.category,
            "status": issue.status,
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "resolved_at": issue.resolved_at,
            "closed_at": issue.closed_at,
        }


def _comments(user: User, batch_size: int) -> Iterator[dict[str, Any]]:
    rows = Comment.objects.filter(author=user).select_related("issue").order_by("pk")
    for comment in rows.iterator(chunk_size=batch_size):
        yield {
            "id": str(comment.pk),
            "issue_id": str(comment.issue_id),
            "workspace_id": str(comment.issue.workspace_id),
            "kind": comment.kind,
            "display_name": comment.display_name,
            "body": comment.body,
            "created_at": comment.created_at,
            "updated_at": comment.updated_at,
            "edited_at": comment.edited_at,
        }


def _billing_contacts(user: User, batch_size: int) -> Iterator[dict[str, Any]]:
    """The workspaces the person owns bill their owner's email (Workspace.email); with the Stripe
    customer's own copy of the contact where billing has one."""
    for workspace in Workspace.objects.filter(owner=user).order_by("pk").iterator(chunk_size=batch_size):
        customer = billing_selectors.customer_for(workspace=workspace)
        yield {
            "workspace_id": str(workspace.pk),
            "workspace_slug": workspace.slug,
            "email": user.email,
            "stripe_customer_id": customer.id if customer else None,
            "stripe_customer_email": customer.email if customer else None,
            "stripe_customer_name": customer.name if customer else None,
        }


def person_sections(*, user: User, batch_size: int) -> list[tuple[str, Iterator[dict[str, Any]]]]:
    """The sections of the person's export, in archive order; each row generator streams."""
    return [
        ("account", _account(user)),
        ("memberships", _memberships(user, batch_size)),
        ("support_issues", _support_issues(user, batch_size)),
        ("comments", _comments(user, batch_size)),
        ("audit_events", person_audit_events(user=user)),
        ("billing_contacts", _billing_contacts(user, batch_size)),
    ]
