"""billing.gateway: which Stripe mode the configured key opens."""

import pytest

from billing import gateway


@pytest.mark.parametrize(
    ("key", "live"),
    [("sk_live_abc", True), ("rk_live_abc", True), ("sk_test_abc", False), ("rk_test_abc", False)],
)
def test_restricted_live_keys_are_live_mode(settings, key, live):
    settings.STRIPE_SECRET_KEY = key

    assert gateway.livemode() is live
