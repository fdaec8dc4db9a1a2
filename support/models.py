from django.conf import settings
from django.db import models
from django.db.models import Q


class IssueType(models.TextChoices):
    BUG = "bug", "Bug"
    FEATURE_REQUEST = "feature-request", "Feature request"
    QUESTION = "question", "Question"


class IssuePriority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class IssueStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


# The status workflow. A resolved issue can be reopened if the fix did not help;
# closed is final (open a new issue instead). Setting the current status is a no-op.
ALLOWED_TRANSITIONS = {
    IssueStatus.OPEN: {IssueStatus.IN_PROGRESS, IssueStatus.RESOLVED, IssueStatus.CLOSED},
    IssueStatus.IN_PROGRESS: {IssueStatus.OPEN, IssueStatus.RESOLVED, IssueStatus.CLOSED},
    IssueStatus.RESOLVED: {IssueStatus.OPEN, IssueStatus.CLOSED},
    IssueStatus.CLOSED: set(),
}

URGENT_PRIORITIES = frozenset({IssuePriority.HIGH, IssuePriority.URGENT})


class SupportIssue(models.Model):
    id = models.BigAutoField(primary_key=True)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="support_issues")
    title = models.CharField(max_length=200)
    description = models.TextField()
    type = models.CharField(max_length=20, choices=IssueType.choices, default=IssueType.QUESTION)
    priority = models.CharField(max_length=10, choices=IssuePriority.choices, default=IssuePriority.MEDIUM)
    category = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=16, choices=IssueStatus.choices, default=IssueStatus.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="support_issues_created"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="support_issues_assigned",
        limit_choices_to={"is_staff": True},
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="support_issue_ws_created"),
            models.Index(fields=["workspace", "status", "-created_at", "-id"], name="support_issue_ws_status"),
            models.Index(fields=["status", "priority"], name="support_issue_console"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(type__in=IssueType.values), name="support_issue_type_valid"),
            models.CheckConstraint(condition=Q(priority__in=IssuePriority.values), name="support_issue_priority_valid"),
            models.CheckConstraint(condition=Q(status__in=IssueStatus.values), name="support_issue_status_valid"),
            models.CheckConstraint(
                condition=~Q(status=IssueStatus.CLOSED) | Q(closed_at__isnull=False),
                name="support_issue_closed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_closed(self) -> bool:
        return self.status == IssueStatus.CLOSED


class CommentKind(models.TextChoices):
    COMMENT = "comment", "Comment"
    STAFF_REPLY = "staff_reply", "Staff reply"
    INTERNAL_NOTE = "internal_note", "Staff internal note"


# What a workspace sees of a thread: everything but staff internal notes.
PUBLIC_COMMENT_KINDS = (CommentKind.COMMENT, CommentKind.STAFF_REPLY)


class Comment(models.Model):
    id = models.BigAutoField(primary_key=True)
    issue = models.ForeignKey(SupportIssue, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    kind = models.CharField(max_length=16, choices=CommentKind.choices, default=CommentKind.COMMENT)
    body = models.TextField()
    display_name = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["issue", "-id"], name="support_comment_issue")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=CommentKind.values), name="support_comment_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} on issue #{self.issue_id}"
