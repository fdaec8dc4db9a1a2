"""Browser tests of the staff console: Playwright for Python driving Debian's Chromium (the system
browser, never a downloaded one), headless, against pytest-django's live server and the localstripe
sandbox.

Run them with `pytest -m browser`. They fail, never skip, when Playwright or Chromium is missing:
`.ci/run` installs both (apt `chromium chromium-driver`, pip `playwright`). Each step's screenshot is
written under the test's tmp path and, when BROWSER_SCREENSHOTS_DIR is set, there too (one directory
per test), for CI to keep.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission

from billing import services as billing_services
from billing.models import Plan
from devtools.stripe_sandbox import wait_until_listening
from tests.billing.helpers import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET, Sandbox
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, VIEWPORT, Screenshots
from tests.factories import UserFactory


def pytest_configure(config):
    # pytest.ini should list this marker too (it is registered here because this directory owns it).
    config.addinivalue_line("markers", "browser: drives Debian's Chromium with Playwright against the live server")


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


# --- the browser


@pytest.fixture
def chromium(monkeypatch):
    """Debian's Chromium under Playwright; a missing Playwright or Chromium fails the test.

    One per test: Playwright's sync API runs an event loop in this thread while it is started, and
    Django refuses ORM calls in a thread with a running loop, so the test's own (synchronous) database
    calls are allowed explicitly for that span only; the database teardown comes after it stops."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is not installed: pip install playwright (see requirements-dev.txt)")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium chromium-driver")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def expect(chromium):
    """Playwright's assertions (imported here, so that a missing Playwright fails only these tests)."""
    from playwright.sync_api import expect

    return expect


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(viewport=VIEWPORT, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshots(request, tmp_path):
    directory = tmp_path / "screenshots"
    directory.mkdir()
    mirror = None
    if os.environ.get("BROWSER_SCREENSHOTS_DIR"):
        mirror = Path(os.environ["BROWSER_SCREENSHOTS_DIR"]) / re.sub(r"[^\w.-]+", "_", request.node.name)
        mirror.mkdir(parents=True, exist_ok=True)
    return Screenshots(directory, mirror)


# --- staff


@pytest.fixture
def staff_in():
    """staff_in(group_sync) -> a staff user (password TEST_PASSWORD) in the group that function creates."""

    def make(sync_group, **fields):
        group = sync_group(group_model=Group, permission_model=Permission)
        user = UserFactory.create(is_staff=True, **fields)
        user.groups.add(group)
        return user

    return make


# --- Stripe: localstripe in a process of its own, one per test. tests/billing's sandbox runs inside the
# test process, and localstripe's aiohttp app serves one event loop per process only, so the two cannot
# both start in one pytest process (xdist runs billing and browser tests in the same workers).


@pytest.fixture
def stripe_sandbox(settings, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "localstripe.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.stripe_sandbox", "--port", str(port)],
        cwd=settings.BASE_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        if not wait_until_listening(port):
            pytest.fail(f"localstripe did not start; see {log.name}")
        url = f"http://127.0.0.1:{port}"
        settings.STRIPE_SECRET_KEY = SECRET_KEY
        settings.STRIPE_TEST_SECRET_KEY = SECRET_KEY
        settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_API_BASE = url
        for plan in Plan.objects.all():
            if plan.is_paid:
                billing_services.sync_plan_to_stripe(plan=plan)
        yield Sandbox(url)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
