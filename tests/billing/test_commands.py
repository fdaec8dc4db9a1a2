"""manage.py sync_plans_to_stripe and reconcile_billing, against the local Stripe."""

import json
from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from billing.models import Plan
from tests.billing.helpers import SECRET_KEY, add_card, subscribe
from tests.command_helpers import run_command
from tests.helpers import client_for


def run(command, *args):
    done = run_command(command, *args)
    assert done.status == 0, done
    return done.out


# --- sync_plans_to_stripe (the stripe_sandbox fixture has already synced the catalogue once)


def test_sync_creates_a_product_and_both_prices_per_paid_plan(stripe_sandbox):
    pro = Plan.objects.get(code="pro")
    product = stripe_sandbox.get(f"products/{pro.stripe_product_id}")
    monthly = stripe_sandbox.get(f"prices/{pro.stripe_price_monthly_id}")
    yearly = stripe_sandbox.get(f"prices/{pro.stripe_price_yearly_id}")

    assert product["metadata"]["plan_code"] == "pro"
    assert (monthly["unit_amount"], monthly["recurring"]["interval"]) == (9900, "month")
    assert (yearly["unit_amount"], yearly["recurring"]["interval"]) == (99000, "year")
    assert Plan.objects.get(code="free").stripe_product_id == ""


def test_sync_is_idempotent(stripe_sandbox):
    ids_before = list(
        Plan.objects.values_list("stripe_product_id", "stripe_price_monthly_id", "stripe_price_yearly_id")
    )
    prices_before = len(stripe_sandbox.get("prices")["data"])

    output = run("sync_plans_to_stripe")

    assert "pro: up to date" in output
    assert (
        list(Plan.objects.values_list("stripe_product_id", "stripe_price_monthly_id", "stripe_price_yearly_id"))
        == ids_before
    )
    assert len(stripe_sandbox.get("prices")["data"]) == prices_before


def test_a_changed_price_gets_a_new_stripe_price_and_the_old_one_is_archived(stripe_sandbox):
    old_price = Plan.objects.get(code="pro").stripe_price_monthly_id
    Plan.objects.filter(code="pro").update(price_monthly=119)

    output = run("sync_plans_to_stripe", "--plan", "pro")

    pro = Plan.objects.get(code="pro")
    assert "created monthly price" in output
    assert pro.stripe_price_monthly_id != old_price
    assert stripe_sandbox.get(f"prices/{pro.stripe_price_monthly_id}")["unit_amount"] == 11900
    assert stripe_sandbox.get(f"prices/{old_price}")["active"] is False


def test_sync_of_an_unknown_plan_is_a_one_line_error(stripe_sandbox):
    with pytest.raises(CommandError, match=r"^Unknown plans: bogus, nope\.$"):
        run("sync_plans_to_stripe", "--plan", "pro", "--plan", "bogus", "--plan", "nope")


def test_sync_gives_a_json_summary(stripe_sandbox):
    summary = run_command("sync_plans_to_stripe", "--plan", "pro", "--plan", "free", "--json").summary

    pro = Plan.objects.get(code="pro")
    assert summary["command"] == "sync_plans_to_stripe"
    assert summary["exit_status"] == 0
    assert summary["plans"] == [
        {
            "plan": "pro",
            "paid": True,
            "changes": [],
            "product": pro.stripe_product_id,
            "price_monthly": pro.stripe_price_monthly_id,
            "price_yearly": pro.stripe_price_yearly_id,
        },
        {"plan": "free", "paid": False, "changes": []},
    ]


def test_sync_shows_progress_on_a_terminal_only(stripe_sandbox):
    assert "syncing plans" in run_command("sync_plans_to_stripe", terminal=True).err
    assert "syncing plans" not in run_command("sync_plans_to_stripe", "--no-progress", terminal=True).err
    assert run_command("sync_plans_to_stripe").err == ""


def test_sync_needs_stripe_keys(settings):
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(CommandError, match="not configured"):
        run("sync_plans_to_stripe")


# --- reconcile_billing


@pytest.fixture
def drifted(stripe_sandbox, workspace):
    """Stripe bills 'pro' while the database says 'free' (a crash after Stripe answered)."""
    subscribe(client_for(workspace.owner), workspace, stripe_sandbox, plan="pro")
    type(workspace).objects.filter(pk=workspace.pk).update(plan=Plan.objects.get(code="free"))
    return workspace


def test_dry_run_reports_drift_exits_2_and_changes_nothing(drifted):
    done = run_command("reconcile_billing", "--dry-run")

    assert done.status == 2
    output = done.out
    assert f"{drifted.slug}: plan_mismatch: plan is 'free' but Stripe bills 'pro' [found]" in output
    assert "1 drift(s) (plan_mismatch 1); nothing changed (dry run)." in output
    drifted.refresh_from_db()
    assert drifted.plan.code == "free"


def test_a_dry_run_without_drift_exits_0(stripe_sandbox, workspace):
    subscribe(client_for(workspace.owner), workspace, stripe_sandbox, plan="pro")

    done = run_command("reconcile_billing", "--dry-run")

    assert done.status == 0
    assert "0 drift(s) (none); nothing changed (dry run)." in done.out


def test_the_json_summary_lists_each_drift_by_slug(drifted):
    done = run_command("reconcile_billing", "--dry-run", "--json", "--workspace", drifted.slug)

    assert done.status == 2
    assert done.summary == {
        "command": "reconcile_billing",
        "dry_run": True,
        "exit_status": 2,
        "workspaces_checked": 1,
        "drifts": [
            {
                "workspace": drifted.slug,
                "kind": "plan_mismatch",
                "detail": "plan is 'free' but Stripe bills 'pro'",
                "repaired": False,
            }
        ],
        "drift_counts": {"plan_mismatch": 1},
        "repaired": 0,
        "failures": [],
    }


def test_reconcile_shows_progress_on_a_terminal_only(drifted):
    assert "reconciling" in run_command("reconcile_billing", "--dry-run", terminal=True).err
    assert "reconciling" not in run_command("reconcile_billing", "--dry-run", "--no-progress", terminal=True).err


def test_reconcile_repairs_the_plan_from_the_subscription(drifted):
    output = run("reconcile_billing", "--workspace", drifted.slug)

    assert "[repaired]" in output
    assert "Checked 1 workspace(s): 1 drift(s) (plan_mismatch 1); 1 repaired." in output
    drifted.refresh_from_db()
    assert drifted.plan.code == "pro"
    change = AuditEvent.objects.filter(workspace_id=drifted.pk, type="plan.changed").latest("id")
    assert (change.actor_type, change.actor_id) == ("system", "command:reconcile_billing")
    assert "0 drift(s) (none); 0 repaired." in run("reconcile_billing", "--workspace", drifted.slug)


def test_reconcile_finds_a_customer_that_was_never_synced(stripe_sandbox, workspace):
    stripe_sandbox.post("customers", email=workspace.email, **{"metadata[djstripe_subscriber]": str(workspace.pk)})

    output = run("reconcile_billing", "--workspace", workspace.slug)

    assert "missing_customer" in output
    assert workspace.djstripe_customers.exists()


def test_reconcile_syncs_invoices_and_cards_it_had_missed(stripe_sandbox, workspace):
    client = client_for(workspace.owner)
    subscribe(client, workspace, stripe_sandbox, plan="starter")
    customer = workspace.djstripe_customers.get()
    customer.invoices.all().delete()
    add_card(client, workspace, stripe_sandbox, make_default=False)  # attached in Stripe, never listed here

    output = run("reconcile_billing", "--workspace", workspace.slug)

    assert "unsynced_invoice" in output and "unsynced_payment_method" in output
    assert customer.invoices.count() == 1
    assert customer.payment_methods.count() == 2


def test_a_paid_plan_without_any_stripe_customer_falls_back_to_free(stripe_sandbox, workspace):
    type(workspace).objects.filter(pk=workspace.pk).update(plan=Plan.objects.get(code="pro"))

    output = run("reconcile_billing")

    assert "plan 'pro' is paid but there is no Stripe customer" in output
    workspace.refresh_from_db()
    assert workspace.plan.code == "free"


def test_reconcile_reports_workspaces_it_could_not_reach_stripe_for(drifted, stripe_unreachable):
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match=r"^1 workspace\(s\) could not be reconciled\.$"):
        call_command("reconcile_billing", "--json", stdout=out, stderr=err)

    summary = json.loads(out.getvalue())
    assert summary["exit_status"] == 1
    assert [failure["workspace"] for failure in summary["failures"]] == [drifted.slug]
    assert f"failed: {drifted.slug}: " in err.getvalue()
    drifted.refresh_from_db()
    assert drifted.plan.code == "free"


def test_reconcile_leaves_other_workspaces_alone(drifted, other_workspace):
    run("reconcile_billing", "--workspace", other_workspace.slug)
    drifted.refresh_from_db()
    assert drifted.plan.code == "free"


def test_unknown_workspace_is_a_one_line_error(stripe_sandbox, workspace):
    with pytest.raises(CommandError, match=r"^Unknown workspace: nope\.$"):
        run("reconcile_billing", "--workspace", workspace.slug, "--workspace", "nope")


def test_a_customer_deleted_in_stripe_is_reported(stripe_sandbox, workspace):
    add_card(client_for(workspace.owner), workspace, stripe_sandbox)
    customer = workspace.djstripe_customers.get()
    requests.delete(f"{stripe_sandbox.url}/v1/customers/{customer.id}", auth=(SECRET_KEY, ""), timeout=10)

    assert "customer_gone" in (output := run("reconcile_billing", "--workspace", workspace.slug))
    assert "[needs a person]" in output


def test_the_nightly_task_repairs_the_drift_of_every_workspace(drifted, other_workspace):
    from billing.tasks import reconcile_billing

    type(other_workspace).objects.filter(pk=other_workspace.pk).update(plan=Plan.objects.get(code="pro"))

    assert reconcile_billing() == 2  # drifted: plan_mismatch; other_workspace: paid without a customer
    drifted.refresh_from_db()
    other_workspace.refresh_from_db()
    assert (drifted.plan.code, other_workspace.plan.code) == ("pro", "free")


def test_the_nightly_task_does_nothing_without_stripe(settings, workspace):
    from billing.tasks import reconcile_billing

    settings.STRIPE_SECRET_KEY = ""
    assert reconcile_billing() == 0
