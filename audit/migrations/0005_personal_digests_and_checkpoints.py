"""Personal fields committed by keyed digests, and retention checkpoints (audit.chain).

Every existing chain is verified the way it was hashed until now, then rehashed the new way
(salt, digests, redacted twin, new entry hashes, the head moved to match), with the append-only
trigger off for the rewrite. A chain that does not verify is not laundered: the migration stops
and names the workspace. Irreversible (the old hashes are gone).
"""

import hashlib
import json
from datetime import UTC

import django.db.models.deletion
from django.db import migrations, models

from audit.chain import entry_hash, identifiers_of, seal_personal_data
from audit.db import DISABLE_APPEND_ONLY_TRIGGER, ENABLE_APPEND_ONLY_TRIGGER, install_append_only_trigger

_REWRITTEN = ["personal_salt", "personal_digest", "content_digest", "redacted", "previous_hash", "entry_hash"]


def _version_1_hash(event):
    """How entries were hashed before this migration (SHA-256 over every field, personal ones too)."""
    content = {
        "workspace": str(event.workspace_id),
        "event_id": event.event_id or "",
        "type": event.type,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "actor_id": event.actor_id,
        "actor_type": event.actor_type,
        "summary": event.summary,
        "metadata": event.metadata,
        "ip_address": str(event.ip_address or ""),
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "created_at": event.created_at.astimezone(UTC).isoformat(),
        "previous_hash": event.previous_hash,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def rehash_chains(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditChain = apps.get_model("audit", "AuditChain")
    User = apps.get_model("workspaces", "User")
    users = {str(user.pk): user for user in User.objects.all()}
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute(DISABLE_APPEND_ONLY_TRIGGER)
    workspace_ids = AuditEvent.objects.order_by().values_list("workspace_id", flat=True).distinct()
    for workspace_id in sorted(set(workspace_ids), key=str):
        old_previous = new_previous = ""
        for event in AuditEvent.objects.filter(workspace_id=workspace_id).order_by("id").iterator(chunk_size=2000):
            if event.previous_hash != old_previous or _version_1_hash(event) != event.entry_hash:
                raise RuntimeError(
                    f"The audit chain of workspace {workspace_id} is broken at event #{event.pk} "
                    "(manage.py verify_audit_chain on the previous release); not rehashed."
                )
            old_previous = event.entry_hash
            seal_personal_data(event, identifiers=identifiers_of(users.get(event.actor_id)))
            event.previous_hash = new_previous
            event.entry_hash = entry_hash(event)
            event.save(update_fields=_REWRITTEN)
            new_previous = event.entry_hash
        AuditChain.objects.filter(workspace_id=workspace_id, head_hash=old_previous).update(head_hash=new_previous)
    if postgres:
        schema_editor.execute(ENABLE_APPEND_ONLY_TRIGGER)


def install_erasure_aware_trigger(apps, schema_editor):
    install_append_only_trigger(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_event_id_unique_per_workspace"),
        ("workspaces", "0004_workspace_suspension_reason"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="content_digest",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="erasure_seal",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="personal_digest",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="personal_salt",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="redacted",
            field=models.JSONField(
                blank=True,
                help_text="Summary and metadata with personal values masked, when they name someone.",
                null=True,
            ),
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("head_hash", models.CharField(max_length=64)),
                ("events_dropped", models.PositiveBigIntegerField()),
                ("complete_from", models.DateTimeField(help_text="Every event since this moment is still in the log.")),
                ("signature", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField()),
                (
                    "workspace",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="audit_checkpoints",
                        to="workspaces.workspace",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["workspace", "-events_dropped"], name="audit_checkpoint_ws")],
            },
        ),
        migrations.RunPython(rehash_chains),
        migrations.RunPython(install_erasure_aware_trigger),
    ]
