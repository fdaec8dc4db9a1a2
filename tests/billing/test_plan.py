"""GET /{slug}/plan and PATCH /{slug}/plan/{newPlan}: Stripe first, then the database."""

from django.utils import timezone

from audit.models import AuditEvent
from billing.models import Plan
from tests.billing.helpers import DECLINED, MASTERCARD, add_card, subscribe
from tests.helpers import API, assert_error
from usage.services import ingest_events


def _stripe_subscriptions(sandbox, workspace):
    customer = workspace.djstripe_customers.get().id
    return sandbox.get("subscriptions", customer=customer, status="all")["data"]


def test_plan_shows_the_current_plan_quota_and_the_offer(
    stripe_sandbox, workspace, member_of, django_assert_num_queries
):
    client = member_of(workspace, "member")
    with django_assert_num_queries(3):  # membership+user+workspace+plan, subscription, available plans
        response = client.get(f"{API}/{workspace.slug}/plan")

    body = response.json()
    assert body["currentPlan"] == "free"
    assert body["availablePlans"] == ["free", "starter", "pro", "enterprise"]
    assert body["quota"] == {"storageMB": 1024, "computeExecutions": 10_000, "smartQueries": 100}
    assert body["plan"]["limits"] == {
        "records": 10_000,
        "storage_gb": 1,
        "function_invocations": 10_000,
        "api_calls_per_month": 100_000,
    }
    assert body["subscription"] is None
    assert body["scheduledPlan"] is None


def test_unknown_plan_is_not_found(stripe_sandbox, workspace, owner_client):
    assert_error(owner_client.patch(f"{API}/{workspace.slug}/plan/platinum"), status=404, code="PLAN_NOT_FOUND")


def test_a_hidden_plan_is_not_offered(stripe_sandbox, workspace, owner_client):
    Plan.objects.filter(code="enterprise").update(is_public=False)
    assert_error(owner_client.patch(f"{API}/{workspace.slug}/plan/enterprise"), status=404, code="PLAN_NOT_FOUND")


def test_members_cannot_change_the_plan(stripe_sandbox, workspace, member_of):
    response = member_of(workspace, "member").patch(f"{API}/{workspace.slug}/plan/pro")
    assert_error(response, status=403, code="INSUFFICIENT_ROLE")


def test_a_paid_plan_without_any_card_says_to_add_one(stripe_sandbox, workspace, owner_client):
    body = assert_error(
        owner_client.patch(f"{API}/{workspace.slug}/plan/pro"), status=400, code="PAYMENT_METHOD_REQUIRED"
    )

    assert "add a card" in body["message"]
    assert body["details"] == {"newPlan": ["No default payment method."]}
    workspace.refresh_from_db()
    assert workspace.plan.code == "free"


def test_a_paid_plan_with_cards_but_no_default_says_how_to_choose_one(stripe_sandbox, workspace, owner_client):
    visa = add_card(owner_client, workspace, stripe_sandbox)
    add_card(owner_client, workspace, stripe_sandbox, number=MASTERCARD, make_default=False)
    owner_client.get(f"{API}/{workspace.slug}/payment-methods")  # the second card is known, not the default
    assert owner_client.delete(f"{API}/{workspace.slug}/payment-methods/{visa}").status_code == 200

    body = assert_error(
        owner_client.patch(f"{API}/{workspace.slug}/plan/pro"), status=400, code="DEFAULT_PAYMENT_METHOD_REQUIRED"
    )

    assert f"POST /{workspace.slug}/payment-methods/{{pmId}}/default" in body["message"]
    assert body["details"] == {"newPlan": ["No default payment method."]}
    workspace.refresh_from_db()
    assert workspace.plan.code == "free"


def test_free_to_paid_creates_the_subscription(stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="starter")

    [subscription] = _stripe_subscriptions(stripe_sandbox, workspace)
    assert subscription["status"] == "active"
    assert subscription["items"]["data"][0]["price"]["id"] == Plan.objects.get(code="starter").stripe_price_monthly_id
    workspace.refresh_from_db()
    assert workspace.plan.code == "starter"
    event = AuditEvent.objects.get(workspace_id=workspace.pk, type="plan.changed")
    assert event.metadata["plan"] == {"before": "free", "after": "starter"}
    assert event.actor_id == str(workspace.owner.pk)


def test_the_plan_can_be_named_by_its_uuid(stripe_sandbox, workspace, owner_client):
    add_card(owner_client, workspace, stripe_sandbox)
    pro = Plan.objects.get(code="pro")

    response = owner_client.patch(f"{API}/{workspace.slug}/plan/{pro.pk}")

    assert response.json()["currentPlan"] == "pro"


def test_paid_to_paid_swaps_the_price_on_the_same_subscription(stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="starter")

    response = owner_client.patch(f"{API}/{workspace.slug}/plan/pro")

    assert response.status_code == 200, response.content
    assert (response.json()["previousPlan"], response.json()["currentPlan"]) == ("starter", "pro")
    [subscription] = _stripe_subscriptions(stripe_sandbox, workspace)
    assert subscription["items"]["data"][0]["price"]["id"] == Plan.objects.get(code="pro").stripe_price_monthly_id
    proration = stripe_sandbox.get("invoiceitems", customer=subscription["customer"])["data"]
    assert [item["description"] for item in proration] == ["Unused time"]


def test_paid_to_free_cancels_at_the_period_end_and_keeps_the_paid_plan_until_then(
    stripe_sandbox, workspace, owner_client
):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")

    response = owner_client.patch(f"{API}/{workspace.slug}/plan/free")

    body = response.json()
    assert (body["currentPlan"], body["scheduledPlan"]) == ("pro", "free")
    assert body["subscription"]["cancelAtPeriodEnd"] is True
    assert body["effectiveAt"] == body["subscription"]["currentPeriodEnd"]
    [subscription] = _stripe_subscriptions(stripe_sandbox, workspace)
    assert subscription["cancel_at_period_end"] is True
    plan = owner_client.get(f"{API}/{workspace.slug}/plan").json()
    assert (plan["currentPlan"], plan["scheduledPlan"]) == ("pro", "free")


def test_choosing_a_paid_plan_again_undoes_a_scheduled_downgrade(stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")
    owner_client.patch(f"{API}/{workspace.slug}/plan/free")

    response = owner_client.patch(f"{API}/{workspace.slug}/plan/pro")

    assert response.json()["subscription"]["cancelAtPeriodEnd"] is False
    assert _stripe_subscriptions(stripe_sandbox, workspace)[0]["cancel_at_period_end"] is False


def test_the_same_plan_changes_nothing(stripe_sandbox, workspace, owner_client):
    response = owner_client.patch(f"{API}/{workspace.slug}/plan/free")

    assert response.status_code == 200
    assert response.json()["message"] == "The workspace is already on plan 'free'."
    assert not AuditEvent.objects.filter(workspace_id=workspace.pk, type="plan.changed").exists()


def test_a_downgrade_below_current_usage_is_refused_naming_the_limits(stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")
    now = timezone.now().isoformat()
    ingest_events(
        events=[
            {"id": "r1", "workspace": workspace.slug, "metric": "records", "value": 300_000, "timestamp": now},
            {
                "id": "f1",
                "workspace": workspace.slug,
                "metric": "function_invocations",
                "value": 300_000,
                "timestamp": now,
            },
        ]
    )

    body = assert_error(
        owner_client.patch(f"{API}/{workspace.slug}/plan/starter"), status=400, code="PLAN_LIMITS_EXCEEDED"
    )

    assert body["details"] == {
        "newPlan": ["Usage exceeds the 'records' limit.", "Usage exceeds the 'function_invocations' limit."]
    }
    assert _stripe_subscriptions(stripe_sandbox, workspace)[0]["items"]["data"][0]["price"]["id"] == (
        Plan.objects.get(code="pro").stripe_price_monthly_id
    )


def test_a_plan_not_yet_in_stripe_cannot_be_bought(stripe_sandbox, workspace, owner_client):
    add_card(owner_client, workspace, stripe_sandbox)
    Plan.objects.filter(code="pro").update(stripe_price_monthly_id="")

    assert_error(owner_client.patch(f"{API}/{workspace.slug}/plan/pro"), status=503, code="PLAN_NOT_PURCHASABLE")


def test_retrying_an_upgrade_whose_answer_was_lost_creates_one_subscription(
    stripe_sandbox, workspace, owner_client, settings
):
    add_card(owner_client, workspace, stripe_sandbox)
    settings.STRIPE_TIMEOUT_SECONDS = 1
    # Stripe creates the subscription, but its answer arrives after the client gave up.
    stripe_sandbox.on_request("POST", "/v1/subscriptions", delay=3, times=1)
    assert owner_client.patch(f"{API}/{workspace.slug}/plan/pro").status_code == 503

    retry = owner_client.patch(f"{API}/{workspace.slug}/plan/pro")

    assert retry.status_code == 200, retry.content
    assert len(_stripe_subscriptions(stripe_sandbox, workspace)) == 1
    workspace.refresh_from_db()
    assert workspace.plan.code == "pro"


def test_retrying_a_lost_upgrade_with_another_plan_moves_the_same_subscription(
    stripe_sandbox, workspace, owner_client, settings
):
    add_card(owner_client, workspace, stripe_sandbox)
    settings.STRIPE_TIMEOUT_SECONDS = 1
    stripe_sandbox.on_request("POST", "/v1/subscriptions", delay=3, times=1)
    assert owner_client.patch(f"{API}/{workspace.slug}/plan/pro").status_code == 503

    retry = owner_client.patch(f"{API}/{workspace.slug}/plan/enterprise")

    assert retry.status_code == 200, retry.content
    [subscription] = _stripe_subscriptions(stripe_sandbox, workspace)
    assert (
        subscription["items"]["data"][0]["price"]["id"] == Plan.objects.get(code="enterprise").stripe_price_monthly_id
    )


def test_a_declined_upgrade_can_be_retried_with_a_new_card(stripe_sandbox, workspace, owner_client):
    add_card(owner_client, workspace, stripe_sandbox, number=DECLINED)
    assert_error(owner_client.patch(f"{API}/{workspace.slug}/plan/pro"), status=400, code="CARD_DECLINED")
    add_card(owner_client, workspace, stripe_sandbox)

    response = owner_client.patch(f"{API}/{workspace.slug}/plan/pro")

    assert response.status_code == 200, response.content


def test_an_invoice_that_fails_to_sync_does_not_undo_the_upgrade(stripe_sandbox, workspace, owner_client):
    add_card(owner_client, workspace, stripe_sandbox)
    broken_listing = {
        "object": "list",
        "url": "/v1/invoices",
        "has_more": False,
        "data": [{"id": "in_broken", "object": "invoice"}],
    }
    stripe_sandbox.on_request("GET", "/v1/invoices", answer=(200, broken_listing))

    response = owner_client.patch(f"{API}/{workspace.slug}/plan/pro")

    assert response.status_code == 200, response.content
    workspace.refresh_from_db()
    assert workspace.plan.code == "pro"


# --- the catalogue and the billing interval (issue 11, item 6)


def test_plan_lists_the_catalogue_with_prices_limits_and_features(
    stripe_sandbox, workspace, member_of, django_assert_num_queries
):
    client = member_of(workspace, "member")
    with django_assert_num_queries(3):  # the same reads as before: the catalogue is the available plans
        body = client.get(f"{API}/{workspace.slug}/plan").json()

    assert [plan["code"] for plan in body["catalogue"]] == body["availablePlans"]
    pro = next(plan for plan in body["catalogue"] if plan["code"] == "pro")
    assert (pro["name"], pro["price_monthly"], pro["price_yearly"], pro["currency"]) == ("Pro", 99.0, 990.0, "usd")
    assert pro["limits"] == {
        "records": 2_000_000,
        "storage_gb": 200,
        "function_invocations": 2_000_000,
        "api_calls_per_month": 20_000_000,
    }
    assert pro["quota"] == {"storageMB": 204_800, "computeExecutions": 2_000_000, "smartQueries": 25_000}
    assert pro["features"]["advancedRbac"] == {"enabled": True}
    free = next(plan for plan in body["catalogue"] if plan["code"] == "free")
    assert free["features"]["ai"] == {"enabled": False, "validation": False, "anomalyInsights": False}
    assert body["interval"] is None


def _subscribed_price(sandbox, workspace):
    [subscription] = _stripe_subscriptions(sandbox, workspace)
    return subscription["items"]["data"][0]["price"]["id"]


def test_a_yearly_plan_is_billed_at_the_yearly_price(stripe_sandbox, workspace, owner_client):
    add_card(owner_client, workspace, stripe_sandbox)

    response = owner_client.patch(f"{API}/{workspace.slug}/plan/pro", {"interval": "year"}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["currentPlan"], response.json()["interval"]) == ("pro", "year")
    assert _subscribed_price(stripe_sandbox, workspace) == Plan.objects.get(code="pro").stripe_price_yearly_id
    [invoice] = owner_client.get(f"{API}/{workspace.slug}/invoices").json()
    assert invoice["amount"] == 990.0
    assert owner_client.get(f"{API}/{workspace.slug}/plan").json()["interval"] == "year"


def test_the_interval_may_be_given_in_the_query(stripe_sandbox, workspace, owner_client):
    add_card(owner_client, workspace, stripe_sandbox)

    response = owner_client.patch(f"{API}/{workspace.slug}/plan/starter?interval=year")

    assert response.status_code == 200, response.content
    assert _subscribed_price(stripe_sandbox, workspace) == Plan.objects.get(code="starter").stripe_price_yearly_id


def test_without_an_interval_a_new_subscription_is_monthly(stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")

    assert _subscribed_price(stripe_sandbox, workspace) == Plan.objects.get(code="pro").stripe_price_monthly_id
    assert owner_client.get(f"{API}/{workspace.slug}/plan").json()["interval"] == "month"


def test_switching_the_interval_of_the_same_plan_swaps_the_price(stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")
    [before] = _stripe_subscriptions(stripe_sandbox, workspace)

    response = owner_client.patch(f"{API}/{workspace.slug}/plan/pro", {"interval": "year"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["previousPlan"], body["currentPlan"], body["interval"]) == ("pro", "pro", "year")
    [after] = _stripe_subscriptions(stripe_sandbox, workspace)
    assert after["id"] == before["id"]
    assert after["items"]["data"][0]["price"]["id"] == Plan.objects.get(code="pro").stripe_price_yearly_id
    event = AuditEvent.objects.get(workspace_id=workspace.pk, type="subscription.updated")
    assert event.metadata["interval"] == {"before": "month", "after": "year"}
    assert event.actor_id == str(workspace.owner.pk)
    assert not AuditEvent.objects.filter(workspace_id=workspace.pk, type="plan.changed", resource_id="pro").exists()


def test_a_plan_change_keeps_the_yearly_interval_unless_told_otherwise(stripe_sandbox, workspace, owner_client):
    add_card(owner_client, workspace, stripe_sandbox)
    owner_client.patch(f"{API}/{workspace.slug}/plan/starter", {"interval": "year"}, format="json")

    response = owner_client.patch(f"{API}/{workspace.slug}/plan/pro")

    assert response.json()["interval"] == "year"
    assert _subscribed_price(stripe_sandbox, workspace) == Plan.objects.get(code="pro").stripe_price_yearly_id


def test_the_same_plan_and_interval_changes_nothing(stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")

    response = owner_client.patch(f"{API}/{workspace.slug}/plan/pro", {"interval": "month"}, format="json")

    assert response.json()["message"] == "The workspace is already on plan 'pro'."
    assert not AuditEvent.objects.filter(workspace_id=workspace.pk, type="subscription.updated").exists()


def test_an_unknown_interval_is_refused_naming_the_field(stripe_sandbox, workspace, owner_client):
    add_card(owner_client, workspace, stripe_sandbox)

    for response in (
        owner_client.patch(f"{API}/{workspace.slug}/plan/pro", {"interval": "week"}, format="json"),
        owner_client.patch(f"{API}/{workspace.slug}/plan/pro?interval=yearly"),
        owner_client.patch(f"{API}/{workspace.slug}/plan/pro?interval=month", {"interval": "year"}, format="json"),
    ):
        body = assert_error(response, status=400, code="VALIDATION_ERROR")
        assert set(body["details"]) == {"interval"}
    workspace.refresh_from_db()
    assert workspace.plan.code == "free"
    assert stripe_sandbox.get("subscriptions", status="all")["data"] == []


def test_a_yearly_plan_not_yet_in_stripe_cannot_be_bought(stripe_sandbox, workspace, owner_client):
    add_card(owner_client, workspace, stripe_sandbox)
    Plan.objects.filter(code="pro").update(stripe_price_yearly_id="")

    response = owner_client.patch(f"{API}/{workspace.slug}/plan/pro", {"interval": "year"}, format="json")

    assert_error(response, status=503, code="PLAN_NOT_PURCHASABLE")
