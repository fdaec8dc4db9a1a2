from typing import cast

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from centrali.api import fields
from centrali.api.output import OutputSerializer
from centrali.api.validators import single_line_text
from workspaces import storage as workspace_storage
from workspaces.models import User
from workspaces.provisioning import registered_services


class WorkspaceCreateSerializer(serializers.Serializer):
    name = fields.CharField(max_length=120, validators=[single_line_text])
    email = fields.EmailField(max_length=254)
    username = fields.RegexField(
        r"^[\w.@+-]+\Z",
        max_length=150,
        error_messages={"invalid": "Use only letters, digits and @/./+/-/_ characters."},
    )
    # Optional in the contract: an owner without a password signs in through the platform IAM.
    password = fields.CharField(write_only=True, trim_whitespace=False, required=False)
    passwordConfirmation = fields.CharField(write_only=True, trim_whitespace=False, required=False)
    description = fields.CharField(required=False, allow_blank=True, max_length=2000, default="")

    def validate(self, attrs):
        if "password" not in attrs and "passwordConfirmation" not in attrs:
            return attrs
        if attrs.get("password") != attrs.get("passwordConfirmation"):
            field = "passwordConfirmation" if "password" in attrs else "password"
            raise serializers.ValidationError({field: ["password and passwordConfirmation must match."]})
        candidate = User(username=attrs["username"], email=attrs["email"])
        try:
            password_validation.validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from None
        return attrs


class WorkspaceUpdateSerializer(serializers.Serializer):
    at_least_one_of = ("name", "description")  # in the schema too (centrali.api.schema.AutoSchema)

    name = fields.CharField(max_length=120, required=False, validators=[single_line_text])
    description = fields.CharField(max_length=2000, required=False, allow_blank=True)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                {"non_field_errors": [f"Provide at least one of: {', '.join(self.at_least_one_of)}."]}
            )
        return attrs


class WorkspaceSerializer(OutputSerializer):
    """def-0 Workspace, plus the plan's code, the caller's role and the deletion schedule."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    owner_id = serializers.UUIDField()
    plan_id = serializers.UUIDField()
    plan = serializers.CharField(source="plan.code")
    status = serializers.CharField()
    role = serializers.SerializerMethodField()
    deleted_at = serializers.DateTimeField(allow_null=True)
    restore_deadline = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_role(self, workspace) -> str | None:
        membership = self.context.get("membership")
        return membership.role if membership else None


class CreatedWorkspaceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    plan = serializers.CharField(source="plan.code")
    created_at = serializers.DateTimeField()


class WorkspaceCreatedResponseSerializer(serializers.Serializer):
    workspace = CreatedWorkspaceSerializer()
    auth_token = serializers.CharField()
    user_id = serializers.CharField()


class DeletionResponseSerializer(serializers.Serializer):
    message = serializers.CharField()
    workspace_slug = serializers.CharField()
    deleted_at = serializers.DateTimeField()
    restore_deadline = serializers.DateTimeField()
    grace_period_days = serializers.IntegerField()


class RestoreResponseSerializer(serializers.Serializer):
    message = serializers.CharField()
    workspace_slug = serializers.CharField()
    status = serializers.CharField()


class EnabledFlagSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()


class AiCapabilitySerializer(EnabledFlagSerializer):
    validation = serializers.BooleanField()
    anomalyInsights = serializers.BooleanField()


class ComputeCapabilitySerializer(EnabledFlagSerializer):
    orchestrations = serializers.BooleanField()


class StorageCapabilitySerializer(EnabledFlagSerializer):
    maxFileSizeBytes = serializers.IntegerField()


class CapabilitiesSerializer(serializers.Serializer):
    ai = AiCapabilitySerializer()
    compute = ComputeCapabilitySerializer()
    scheduler = EnabledFlagSerializer()
    storage = StorageCapabilitySerializer()
    search = EnabledFlagSerializer()
    billing = EnabledFlagSerializer()
    advancedRbac = EnabledFlagSerializer()
    supportTickets = EnabledFlagSerializer()
    backups = EnabledFlagSerializer()


class CapabilitiesResponseSerializer(serializers.Serializer):
    plan = serializers.CharField()
    capabilities = CapabilitiesSerializer()


class ProvisionedServiceDetailSerializer(serializers.Serializer):
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    lastError = serializers.CharField(allow_null=True)
    readyAt = serializers.DateTimeField(allow_null=True)
    updatedAt = serializers.DateTimeField()


class ProvisionStatusSerializer(serializers.Serializer):
    """The spec's provision-status shape; `details` (per-service attempts and last error) is an extra."""

    workspace_slug = serializers.CharField()
    status = serializers.CharField()
    services = serializers.DictField(child=serializers.CharField())
    updated_at = serializers.DateTimeField()
    details = serializers.DictField(child=ProvisionedServiceDetailSerializer())


class ProvisionRetryRequestSerializer(serializers.Serializer):
    service = fields.ChoiceField(choices=[], help_text="Service name to retry")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The services of this deployment (settings), read when the request (or the schema) is made.
        service = cast(fields.ChoiceField, self.fields["service"])
        service.choices = registered_services()


class ProvisionRetryResponseSerializer(serializers.Serializer):
    message = serializers.CharField()
    workspace_slug = serializers.CharField()
    service = serializers.CharField()
    status = serializers.CharField()


class ExportProgressSerializer(serializers.Serializer):
    stage = serializers.CharField()
    rowsDone = serializers.IntegerField()
    rowsTotal = serializers.IntegerField(allow_null=True)
    percent = serializers.IntegerField()


class ExportJobSerializer(serializers.Serializer):
    """The spec's export job; startedAt, finishedAt, fileSize, checksumSha256 and fileExpiresAt are extras.

    downloadUrl is a fresh expiring link on every read while the archive is kept (context: request).
    """

    jobId = serializers.UUIDField(source="pk")
    status = serializers.CharField()
    progress = ExportProgressSerializer()
    downloadUrl = serializers.SerializerMethodField()
    downloadExpiresAt = serializers.SerializerMethodField()
    errorMessage = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)
    fileSize = serializers.IntegerField(source="file_size", allow_null=True)
    checksumSha256 = serializers.CharField(source="checksum_sha256", allow_null=True)
    fileExpiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)

    def _link(self, job):
        links = self.context.setdefault("download_links", {})
        if job.pk not in links:
            links[job.pk] = workspace_storage.download_link(
                job, absolute_uri=self.context["request"].build_absolute_uri
            )
        return links[job.pk]

    def get_downloadUrl(self, job) -> str | None:
        return self._link(job)[0]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_downloadExpiresAt(self, job) -> str | None:
        expires_at = self._link(job)[1]
        return serializers.DateTimeField().to_representation(expires_at) if expires_at else None

    def get_errorMessage(self, job) -> str | None:
        return job.error_message or None


class ExportRequestedSerializer(serializers.Serializer):
    jobId = serializers.UUIDField(source="pk")
    status = serializers.CharField()
    message = serializers.CharField()
