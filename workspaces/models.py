import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class User(AbstractUser):
    """A person: a workspace owner we created, or a platform IAM user (same id as in IAM)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)

    class Meta:
        db_table = "workspaces_user"


class WorkspaceStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    CANCELLED = "cancelled", "Cancelled (pending deletion)"


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    BILLING = "billing", "Billing"
    MEMBER = "member", "Member"


class Workspace(models.Model):
    """A tenant. `cancelled` means soft-deleted: restorable until `restore_deadline`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=63, unique=True)
    description = models.TextField(blank=True, default="")
    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="owned_workspaces")
    plan = models.ForeignKey("billing.Plan", on_delete=models.PROTECT, related_name="workspaces")
    status = models.CharField(max_length=16, choices=WorkspaceStatus.choices, default=WorkspaceStatus.ACTIVE)
    deleted_at = models.DateTimeField(null=True, blank=True)
    restore_deadline = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "restore_deadline"], name="workspace_status_deadline"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=WorkspaceStatus.values), name="workspace_status_valid"
            ),
            # Soft-deleted <=> both timestamps are set.
            models.CheckConstraint(
                condition=(
                    Q(status=WorkspaceStatus.CANCELLED, deleted_at__isnull=False, restore_deadline__isnull=False)
                    | (~Q(status=WorkspaceStatus.CANCELLED) & Q(deleted_at__isnull=True, restore_deadline__isnull=True))
                ),
                name="workspace_deletion_timestamps_consistent",
            ),
        ]

    def __str__(self):
        return self.slug

    @property
    def email(self):
        """The billing contact (dj-stripe's subscriber model must have an email)."""
        return self.owner.email

    @property
    def is_pending_deletion(self):
        return self.status == WorkspaceStatus.CANCELLED


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user_per_workspace"),
            models.UniqueConstraint(
                fields=["workspace"], condition=Q(role=Role.OWNER), name="membership_one_owner_per_workspace"
            ),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self):
        return f"{self.user} in {self.workspace} ({self.role})"
