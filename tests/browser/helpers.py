"""Helpers of the browser tests: the browser's settings, step screenshots, signing in, and the
localstripe sandbox's card confirmation (what Stripe.js does in the customer's browser)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

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
