"""While billing waits for Stripe, the workspace row (and on SQLite the database) stays free.

Each test asks, from another connection at the moment Stripe is handling the request,
whether the workspace row can be locked right away (audit.record locks it for every
audited write of the workspace).
"""

import pytest
from django.db import OperationalError, connection, transaction

from tests.billing.helpers import add_card, subscribe
from tests.helpers import API
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)


class RowProbe:
    def __init__(self, workspace):
        self.workspace_id = workspace.pk
        self.free = []

    def __call__(self):
        """Lock the workspace row without waiting; record whether that was possible."""
        if connection.vendor == "sqlite":
            connection.ensure_connection()
            connection.connection.execute("PRAGMA busy_timeout = 0")
        try:
            with transaction.atomic():
                Workspace.objects.select_for_update(nowait=connection.vendor == "postgresql").get(pk=self.workspace_id)
        except OperationalError:
            self.free.append(False)
        else:
            self.free.append(True)


def test_creating_the_stripe_customer(stripe_sandbox, workspace, owner_client):
    probe = RowProbe(workspace)
    stripe_sandbox.on_request("POST", "/v1/customers", before=probe, times=1)

    assert owner_client.post(f"{API}/{workspace.slug}/create-setup-session").status_code == 200

    assert probe.free == [True]


def test_changing_the_plan(stripe_sandbox, workspace, owner_client):
    add_card(owner_client, workspace, stripe_sandbox)
    probe = RowProbe(workspace)
    stripe_sandbox.on_request("POST", "/v1/subscriptions", before=probe, times=1)

    assert owner_client.patch(f"{API}/{workspace.slug}/plan/pro").status_code == 200

    assert probe.free == [True]


def test_deleting_a_card(stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")
    spare = add_card(owner_client, workspace, stripe_sandbox, make_default=False)
    probe = RowProbe(workspace)
    stripe_sandbox.on_request("POST", f"/v1/payment_methods/{spare}/detach", before=probe, times=1)

    assert owner_client.delete(f"{API}/{workspace.slug}/payment-methods/{spare}").status_code == 200

    assert probe.free == [True]
