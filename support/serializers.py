from rest_framework import serializers

from centrali.api import fields
from centrali.api.output import OutputSerializer
from support.models import CommentKind, IssuePriority, IssueStatus, IssueType
from support.services import claims_to_be_staff


class SupportIssueCreateSerializer(serializers.Serializer):
    title = fields.CharField(max_length=200)
    description = fields.CharField(max_length=10000)
    type = fields.ChoiceField(choices=IssueType.choices, default=IssueType.QUESTION)
    priority = fields.ChoiceField(choices=IssuePriority.choices, default=IssuePriority.MEDIUM)
    category = fields.CharField(max_length=64, required=False, allow_blank=True, default="")


class SupportIssueUpdateSerializer(serializers.Serializer):
    at_least_one_of = ("title", "description", "status", "priority")  # in the schema too

    title = fields.CharField(max_length=200, required=False)
    description = fields.CharField(max_length=10000, required=False)
    status = fields.ChoiceField(choices=IssueStatus.choices, required=False)
    priority = fields.ChoiceField(choices=IssuePriority.choices, required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                {"non_field_errors": [f"Provide at least one of: {', '.join(self.at_least_one_of)}."]}
            )
        return attrs


class SupportIssueSerializer(OutputSerializer):
    """The spec's issue: `summary` is the title the issue was created with."""

    id = serializers.IntegerField()
    summary = serializers.CharField(source="title")
    description = serializers.CharField()
    type = serializers.CharField()
    priority = serializers.CharField()
    status = serializers.CharField()
    category = serializers.CharField()
    workspaceSlug = serializers.CharField(source="workspace.slug")
    createdBy = serializers.CharField(source="created_by_id", allow_null=True)
    assignedTo = serializers.CharField(source="assigned_to_id", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    resolvedAt = serializers.DateTimeField(source="resolved_at", allow_null=True)
    closedAt = serializers.DateTimeField(source="closed_at", allow_null=True)


class PaginationSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total = serializers.IntegerField()
    totalPages = serializers.IntegerField()


class SupportIssuePageSerializer(serializers.Serializer):
    # The spec names the list `data`; the field only shadows Serializer.data in the type stubs
    # (DRF moves declared fields off the class).
    data = SupportIssueSerializer(many=True)  # type: ignore[assignment]
    pagination = PaginationSerializer()


class CommentCreateSerializer(serializers.Serializer):
    comment = fields.CharField(max_length=10000)
    type = fields.ChoiceField(
        choices=[CommentKind.COMMENT], default=CommentKind.COMMENT, help_text="Members write `comment`s."
    )
    displayName = fields.CharField(max_length=120, required=False, allow_blank=True, default="")

    def validate_displayName(self, value):
        if claims_to_be_staff(value):
            raise serializers.ValidationError("Only Centrali Support staff replies are signed as Centrali Support.")
        return value


class CommentUpdateSerializer(serializers.Serializer):
    comment = fields.CharField(max_length=10000)


class CommentSerializer(OutputSerializer):
    """A comment as the workspace sees it: members' comments and staff replies (`type` staff_reply)."""

    id = serializers.IntegerField()
    issueId = serializers.IntegerField(source="issue_id")
    comment = serializers.CharField(source="body")
    type = serializers.CharField(source="kind")
    displayName = serializers.CharField(source="display_name")
    authorId = serializers.CharField(source="author_id", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    editedAt = serializers.DateTimeField(source="edited_at", allow_null=True)


class CommentPageSerializer(OutputSerializer):
    data = CommentSerializer(many=True)  # type: ignore[assignment]  # the spec's name; see SupportIssuePageSerializer
    nextCursor = serializers.CharField(allow_null=True)
    hasMore = serializers.BooleanField()
