"""Helpers of the browser tests: the browser's settings, step screenshots, signing in, and the
localstripe sandbox's card confirmation (what Stripe.js does in the customer's browser)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import requests

from tests.billing.helpers import PUBLISHABLE_KEY, VISA
from tests.factories import TEST_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 900}  # the width issue 10 asks the console to fit
TIMEOUT_MS = 15_000


class Screenshots:
    """Numbered full-page screenshots of each step, in `directory` (and in `mirror` when set)."""

    def __init__(self, directory: Path, mirror: Path | None):
        self.directory = directory
        self.mirror = mirror
        self.taken: list[Path] = []

    def take(self, page, step: str) -> Path:
        name = f"{len(self.taken) + 1:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower()).strip('-')}.png"
        path = self.directory / name
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        if self.mirror is not None:
            shutil.copy(path, self.mirror / name)
        return path


def sign_in(page, user, screenshots):
    page.goto("/admin/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    screenshots.take(page, "sign in")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")


class Sandbox:
    """The part of tests/billing/conftest.py's Sandbox these tests need (that one is a fixture's class there)."""

    def __init__(self, url: str):
        self.url = url

    def confirm_card(self, client_secret, number=VISA, exp_month=12, exp_year=2034):
        """What Stripe.js does in the customer's browser: confirm the SetupIntent with a card."""
        intent_id = client_secret.split("_secret_")[0]
        response = requests.post(
            f"{self.url}/v1/setup_intents/{intent_id}/confirm",
            data={
                "key": PUBLISHABLE_KEY,
                "client_secret": client_secret,
                "payment_method_data[type]": "card",
                "payment_method_data[card][number]": number,
                "payment_method_data[card][exp_month]": str(exp_month),
                "payment_method_data[card][exp_year]": str(exp_year),
                "payment_method_data[card][cvc]": "123",
            },
            timeout=10,
        )
        response.raise_for_status()
        return response.json()
