import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower


class User(AbstractUser):
    """A person: a workspace owner we created, or a platform IAM user (same id as in IAM)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)

    class Meta:
        db_table = "workspaces_user"
        constraints = [
            # Sign-up treats Ada@x and ada@x (and usernames alike) as the same person; so does the database.
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ignoring_case"),
            models.UniqueConstraint(Lower("username"), name="user_username_unique_ignoring_case"),
        ]


class WorkspaceStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    CANCELLED = "cancelled", "Cancelled (pending deletion)"


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    BILLING = "billing", "Billing"
    MEMBER = "member", "Member"


# Who may do what (docs/DESIGN.md): reads any member; settings, deletion, exports and
# provisioning owners and admins; billing writes owners, admins and the billing role.
ANY_MEMBER = frozenset(Role.values)
WORKSPACE_ADMINS = frozenset({Role.OWNER, Role.ADMIN})
BILLING_MANAGERS = frozenset({Role.OWNER, Role.ADMIN, Role.BILLING})


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
    suspension_reason = models.CharField(
        max_length=500,
        blank=True,
        default="",
        help_text="Why staff suspended the workspace, as its members are told; empty for a billing suspension.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "restore_deadline"], name="workspace_status_deadline"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=WorkspaceStatus.values), name="workspace_status_valid"),
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

    @property
    def is_suspended(self):
        return self.status == WorkspaceStatus.SUSPENDED

    @property
    def is_suspended_by_staff(self):
        return self.is_suspended and bool(self.suspension_reason)


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


class ProvisioningStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROVISIONING = "provisioning", "Provisioning"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class ServiceProvisioning(models.Model):
    """One platform service (storage, compute, …) set up for a workspace by a Celery task.

    pending -> provisioning -> ready | failed; transient failures stay `provisioning` while the
    task waits to retry, and `attempts` counts the calls of the current round.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="provisioned_services")
    service = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=ProvisioningStatus.choices, default=ProvisioningStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    ready_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service"]
        indexes = [models.Index(fields=["status", "updated_at"], name="provisioning_status_updated")]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "service"], name="provisioning_one_row_per_service"),
            models.CheckConstraint(condition=Q(status__in=ProvisioningStatus.values), name="provisioning_status_valid"),
            models.CheckConstraint(
                condition=~Q(status=ProvisioningStatus.READY) | Q(ready_at__isnull=False),
                name="provisioning_ready_has_timestamp",
            ),
        ]

    def __str__(self):
        return f"{self.service} for {self.workspace_id}: {self.status}"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired (file deleted)"


ACTIVE_EXPORT_STATUSES = (ExportStatus.QUEUED, ExportStatus.RUNNING)


class ExportJob(models.Model):
    """A full-data export of one workspace into a zip archive in the workspace file storage."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="export_jobs")
    requested_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="requested_exports"
    )
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    stage = models.CharField(max_length=64, default="queued")
    rows_done = models.PositiveBigIntegerField(default=0)
    rows_total = models.PositiveBigIntegerField(null=True, blank=True)
    file_name = models.CharField(max_length=255, blank=True, default="", help_text="Key in the workspace file storage.")
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    checksum_sha256 = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of the running task.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="When the retention sweep deletes the file.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="export_ws_created"),
            models.Index(fields=["status", "heartbeat_at"], name="export_status_heartbeat"),
            models.Index(fields=["status", "expires_at"], name="export_status_expires"),
        ]
        constraints = [
            # At most one export queued or running per workspace: concurrent requests race on this index.
            models.UniqueConstraint(
                fields=["workspace"],
                condition=Q(status__in=ACTIVE_EXPORT_STATUSES),
                name="export_one_active_per_workspace",
            ),
            models.CheckConstraint(condition=Q(status__in=ExportStatus.values), name="export_status_valid"),
            models.CheckConstraint(
                condition=~Q(status=ExportStatus.COMPLETED) | (~Q(file_name="") & Q(expires_at__isnull=False)),
                name="export_completed_has_file",
            ),
        ]

    def __str__(self):
        return f"export {self.pk} of {self.workspace_id}: {self.status}"

    @property
    def progress(self):
        if self.status == ExportStatus.COMPLETED or self.status == ExportStatus.EXPIRED:
            percent = 100
        elif self.rows_total:
            percent = min(99, self.rows_done * 100 // self.rows_total)
        else:
            percent = 0
        return {"stage": self.stage, "rowsDone": self.rows_done, "rowsTotal": self.rows_total, "percent": percent}


class PurgedWorkspace(models.Model):
    """Tombstone of a hard-deleted workspace: what was purged and when. Not linked to deleted rows.

    It keeps no personal data and nothing that names the customer: ids, dates, counts, and keyed
    hashes (centrali.personal_data) of the owner's email and of the slug, enough to answer "was this
    customer here?" for someone who already knows the email (privacy.selectors.purged_workspaces_of).
    """

    workspace_id = models.UUIDField(unique=True)
    owner_email_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    slug_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    restore_deadline = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField()
    counts = models.JSONField(default=dict, help_text="Rows deleted per kind, and export files removed.")

    class Meta:
        ordering = ["-purged_at"]

    def __str__(self):
        return f"{self.workspace_id} (purged {self.purged_at:%Y-%m-%d})"
