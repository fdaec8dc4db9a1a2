import json
from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from audit.events import PLATFORM_EVENT_TYPE_PATTERN, ActorType
from centrali.api import fields
from centrali.api.output import OutputSerializer

MAX_METADATA_BYTES = 16_384
MAX_METADATA_DEPTH = 16


def _nesting_depth(value: Any) -> int:
    """How deeply lists and objects nest, measured without recursion (the input is the client's)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children: Iterable[Any]
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_METADATA_DEPTH:
            break
        pending.extend((child, depth + 1) for child in children)
    return deepest


def _contains_nul(value: Any) -> bool:
    """PostgreSQL text and jsonb refuse NUL characters, in keys and values alike."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(key) or _contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


class AuditEntrySerializer(OutputSerializer):
    id = serializers.CharField()
    type = serializers.CharField()
    resourceType = serializers.CharField(source="resource_type")
    resourceId = serializers.CharField(source="resource_id")
    actorId = serializers.CharField(source="actor_id")
    actorType = serializers.CharField(source="actor_type")
    summary = serializers.CharField()
    metadata = serializers.JSONField()
    ipAddress = serializers.CharField(source="ip_address", allow_null=True)
    userAgent = serializers.CharField(source="user_agent")
    requestId = serializers.CharField(source="request_id")
    createdAt = serializers.DateTimeField(source="created_at")
    hash = serializers.CharField(source="entry_hash")
    previousHash = serializers.CharField(source="previous_hash")


class AuditPageSerializer(OutputSerializer):
    """The spec's audit page: {entries, nextCursor, hasMore}."""

    entries = AuditEntrySerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)
    hasMore = serializers.BooleanField()


# Validated, an event is an audit.services.PlatformEvent (its fields' sources are the snake_case keys).
class PlatformEventSerializer(serializers.Serializer):
    eventId = fields.CharField(max_length=64, source="event_id")
    workspace = fields.CharField(max_length=63, help_text="Workspace slug or id")
    type = fields.RegexField(
        PLATFORM_EVENT_TYPE_PATTERN,
        max_length=64,
        error_messages={"invalid": "Use a dotted lowercase name such as `structure.created`."},
    )
    resourceType = fields.CharField(max_length=64, source="resource_type")
    resourceId = fields.CharField(max_length=128, source="resource_id")
    summary = fields.CharField(max_length=500)
    actorId = fields.CharField(max_length=128, required=False, allow_blank=True, default="", source="actor_id")
    actorType = fields.ChoiceField(
        choices=[ActorType.USER, ActorType.SYSTEM, ActorType.SERVICE], default=ActorType.SERVICE, source="actor_type"
    )
    metadata = serializers.DictField(required=False, default=dict)
    occurredAt = fields.DateTimeField(required=False, source="occurred_at")
    ipAddress = fields.IPAddressField(required=False, allow_null=True, default=None, source="ip_address")
    userAgent = fields.CharField(max_length=400, required=False, allow_blank=True, default="", source="user_agent")
    requestId = fields.CharField(max_length=128, required=False, allow_blank=True, default="", source="request_id")

    def validate_metadata(self, metadata):
        if _nesting_depth(metadata) > MAX_METADATA_DEPTH:
            raise serializers.ValidationError(f"At most {MAX_METADATA_DEPTH} levels of nesting.")
        if _contains_nul(metadata):
            raise serializers.ValidationError("May not contain NUL characters.")
        if len(json.dumps(metadata)) > MAX_METADATA_BYTES:
            raise serializers.ValidationError(f"At most {MAX_METADATA_BYTES} bytes of JSON.")
        return metadata


class PlatformEventBatchSerializer(serializers.Serializer):
    events: serializers.ListSerializer[Any] = serializers.ListSerializer(
        child=PlatformEventSerializer(), allow_empty=False, max_length=500
    )


class PlatformEventBatchResultSerializer(serializers.Serializer):
    accepted = serializers.ListField(child=serializers.CharField(), help_text="Event ids recorded now")
    duplicates = serializers.ListField(child=serializers.CharField(), help_text="Event ids already recorded")
