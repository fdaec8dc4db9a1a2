"""Plans say how long the audit log keeps events; the seeded plans get the catalogue's values."""

import django.core.validators
from django.db import migrations, models

from billing.catalogue import PLANS


def set_catalogue_retention(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for fields in PLANS:
        Plan.objects.filter(code=fields["code"], audit_retention_days__isnull=True).update(
            audit_retention_days=fields.get("audit_retention_days")
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0010_webhook_events_applied_by_worker")]

    operations = [
        migrations.AddField(
            model_name="plan",
            name="audit_retention_days",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Days the audit log keeps events; empty: forever.",
                null=True,
                validators=[django.core.validators.MinValueValidator(1)],
            ),
        ),
        migrations.RunPython(set_catalogue_retention, migrations.RunPython.noop),
    ]
