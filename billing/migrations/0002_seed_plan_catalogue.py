"""Seed the initial plan catalogue (billing/catalogue.py)."""

from django.db import migrations

from billing.catalogue import seed_plan_catalogue


def seed_plans(apps, schema_editor):
    seed_plan_catalogue(apps.get_model("billing", "Plan"))


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(seed_plans, migrations.RunPython.noop)]
