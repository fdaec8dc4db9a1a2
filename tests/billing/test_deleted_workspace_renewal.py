"""A soft-deleted workspace stops renewing its subscription; restoring it renews again."""

from audit.models import AuditEvent
from billing import services
from tests.billing.helpers import subscribe
from tests.helpers import API


def _subscription(sandbox, workspace):
    [subscription] = sandbox.get("subscriptions", customer=workspace.djstripe_customers.get().id)["data"]
    return subscription


def _delete(client, workspace, capture):
    with capture(execute=True):  # the workspaces app announces the deletion after its commit
        assert client.delete(f"{API}/{workspace.slug}").status_code == 200


def test_deleting_the_workspace_ends_the_subscription_at_the_period_end(
    stripe_sandbox, workspace, owner_client, django_capture_on_commit_callbacks
):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")

    _delete(owner_client, workspace, django_capture_on_commit_callbacks)

    subscription = _subscription(stripe_sandbox, workspace)
    assert (subscription["status"], subscription["cancel_at_period_end"]) == ("active", True)
    assert AuditEvent.objects.filter(workspace_id=workspace.pk, type="subscription.updated").exists()


def test_restoring_the_workspace_renews_the_subscription_again(
    stripe_sandbox, workspace, owner_client, django_capture_on_commit_callbacks
):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")
    _delete(owner_client, workspace, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.post(f"{API}/{workspace.slug}/restore").status_code == 200

    assert _subscription(stripe_sandbox, workspace)["cancel_at_period_end"] is False


def test_restoring_keeps_a_downgrade_the_customer_scheduled(
    stripe_sandbox, workspace, owner_client, django_capture_on_commit_callbacks
):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")
    assert owner_client.patch(f"{API}/{workspace.slug}/plan/free").status_code == 200
    _delete(owner_client, workspace, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"{API}/{workspace.slug}/restore")

    assert _subscription(stripe_sandbox, workspace)["cancel_at_period_end"] is True


def test_reconciliation_stops_the_renewal_when_the_task_never_ran(stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")
    owner_client.delete(f"{API}/{workspace.slug}")  # on-commit announcement never delivered (broker down)
    workspace.refresh_from_db()

    drifts = services.reconcile_workspace(workspace=workspace)

    assert [(d.kind, d.repaired) for d in drifts] == [("renewal_mismatch", True)]
    assert _subscription(stripe_sandbox, workspace)["cancel_at_period_end"] is True
