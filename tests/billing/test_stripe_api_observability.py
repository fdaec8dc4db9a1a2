"""Stripe API calls are counted by operation and outcome and timed (centrali.metrics), and traced
as client spans without their query strings (centrali.tracing), against the local Stripe."""

import pytest
import stripe
from prometheus_client import REGISTRY

from billing.gateway import stripe_call
from tests.billing.helpers import VISA, add_card
from tests.helpers import API
from tests.observability.conftest import spans  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def metric():
    def read(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0.0

    return read


def test_stripe_calls_are_counted_and_timed_by_operation(metric, stripe_sandbox, workspace, owner_client):
    created = metric("centrali_stripe_api_calls_total", operation="Customer.create", outcome="ok")
    timed = metric("centrali_stripe_api_duration_seconds_count", operation="SetupIntent.create")

    add_card(owner_client, workspace, stripe_sandbox, number=VISA)

    assert metric("centrali_stripe_api_calls_total", operation="Customer.create", outcome="ok") == created + 1
    assert metric("centrali_stripe_api_duration_seconds_count", operation="SetupIntent.create") >= timed + 1


def test_a_stripe_that_cannot_be_reached_counts_as_unavailable(metric, stripe_unreachable, workspace, owner_client):
    before = metric("centrali_stripe_api_calls_total", operation="Customer.create", outcome="unavailable")

    response = owner_client.post(f"{API}/{workspace.slug}/create-setup-session")

    assert response.status_code == 503
    assert metric("centrali_stripe_api_calls_total", operation="Customer.create", outcome="unavailable") == before + 1


def test_a_stripe_call_is_a_client_span_without_its_search_terms(spans, stripe_sandbox):  # noqa: F811
    stripe_call(stripe.Customer.list, email="searched-for@initech.test", limit=1)

    http_calls = [
        span
        for span in spans.get_finished_spans()
        if span.kind.name == "CLIENT" and "customers" in span.name + str(span.attributes)
    ]
    (call,) = http_calls
    assert call.attributes.get("http.status_code", call.attributes.get("http.response.status_code")) == 200
    assert not any("searched-for" in str(value) for value in call.attributes.values())
