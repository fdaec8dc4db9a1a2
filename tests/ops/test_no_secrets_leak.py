"""No secret the service is configured with ends up where it writes for others: the JSON log
stream, the API's answers (error bodies included) and export archives (SECURITY.md).

A representative run, through the API with Stripe, the platform service token and a member's
password all configured: sign-up, bad credentials of each kind, billing calls that reach for Stripe
(which is unreachable: every call sends the secret key and fails), Stripe webhooks (forged and
signed), usage ingestion, support, a readiness probe with its broker down, a database fault, and
a full export. (The local Stripe sandbox runs once per process, in tests/billing/conftest.py.)
"""

import io
import json
import logging
import zipfile
from datetime import UTC, datetime
from unittest import mock
from urllib.parse import urlsplit

import jwt
import pytest
import structlog
from django.db import OperationalError
from rest_framework.test import APIClient

from billing.models import Plan
from centrali.celery import app as celery_app
from tests.billing.helpers import SECRET_KEY as STRIPE_SECRET_KEY
from tests.billing.helpers import WEBHOOK_SECRET, closed_loopback_url, sign, stripe_event
from tests.helpers import API
from workspaces.models import ExportJob

pytestmark = pytest.mark.django_db

SERVICE_TOKEN = "platform-service-token-" + "kept-out-of-every-log"
PASSWORD = "correct-horse-" + "battery-staple-417"
SIGN_UP = {
    "name": "Vandelay Industries",
    "email": "art@vandelay.test",
    "username": "art",
    "password": PASSWORD,
    "passwordConfirmation": PASSWORD,
}


@pytest.fixture
def configured(settings):
    settings.STRIPE_SECRET_KEY = settings.STRIPE_TEST_SECRET_KEY = STRIPE_SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = closed_loopback_url()  # Stripe down: each call sends the key, then fails
    settings.PLATFORM_SERVICE_TOKEN = SERVICE_TOKEN
    Plan.objects.filter(code="pro").update(stripe_price_monthly_id="price_pro_monthly")  # purchasable
    return {
        "JWT signing key": settings.SIMPLE_JWT["SIGNING_KEY"],
        "Django secret key": settings.SECRET_KEY,
        "Stripe secret key": STRIPE_SECRET_KEY,
        "Stripe webhook secret": WEBHOOK_SECRET,
        "platform service token": SERVICE_TOKEN,
        "a member's password": PASSWORD,
    }


@pytest.fixture
def log_stream():
    """Every log line of the run, rendered by the JSON formatter the service logs with (settings.LOGGING)."""
    # Celery's Django fixup runs django.setup() (so logging's configuration, dropping any handler
    # added since) when the first task runs in this process: let it happen before ours is added.
    celery_app.loader.import_default_modules()
    root = logging.getLogger()
    formatter = next(h.formatter for h in root.handlers if isinstance(h.formatter, structlog.stdlib.ProcessorFormatter))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous_level)


class RecordingClient(APIClient):
    """An API client that keeps every answer's body."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.bodies: list[bytes] = []

    def request(self, **kwargs):
        response = super().request(**kwargs)
        if response.streaming:
            content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
            response.streaming_content = [content]  # type: ignore[attr-defined]
        else:
            content = response.content
        self.bodies.append(content)
        return response


def representative_run(client, settings, broker_at, capture_on_commit):
    """The requests of the run; returns the export archive's bytes."""
    with capture_on_commit(execute=True):
        signed_up = client.post(f"{API}/", SIGN_UP, format="json")
    assert signed_up.status_code == 201, signed_up.content
    slug = signed_up.json()["workspace"]["slug"]
    owner = {"HTTP_AUTHORIZATION": f"Bearer {signed_up.json()['auth_token']}"}

    client.post(f"{API}/", SIGN_UP, format="json")  # 409: taken
    client.post(f"{API}/", {**SIGN_UP, "email": "x@vandelay.test", "password": "short"}, format="json")
    client.get(f"{API}/{slug}", HTTP_AUTHORIZATION="Bearer not-a-jwt")
    forged = jwt.encode({"sub": "1", "exp": 4102444800}, "some-other-key-long-enough-for-hs256-0000", algorithm="HS256")
    client.get(f"{API}/{slug}", HTTP_AUTHORIZATION=f"Bearer {forged}")
    client.get(f"{API}/{slug}", **owner)

    client.post(f"{API}/{slug}/create-setup-session", **owner)
    client.patch(f"{API}/{slug}/plan/pro", **owner)
    client.get(f"{API}/{slug}/invoices", **owner)
    client.get(f"{API}/{slug}/payment-methods", **owner)

    event = json.dumps(stripe_event("customer.created", {"id": "cus_unknown", "object": "customer"}))
    client.post(f"{API}/webhooks/stripe", event, content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=00")
    client.post(f"{API}/webhooks/stripe", event, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(event))

    usage = {
        "events": [
            {"id": "evt-1", "workspace": slug, "metric": "storage_gb", "value": 1, "timestamp": _now()},
        ]
    }
    client.post(f"{API}/internal/usage-events", usage, format="json", HTTP_AUTHORIZATION="Bearer wrong-token")
    client.post(f"{API}/internal/usage-events", usage, format="json", HTTP_AUTHORIZATION=f"Bearer {SERVICE_TOKEN}")

    issue = {"title": "Latex order", "description": "Importing and exporting.", "type": "bug", "priority": "low"}
    client.post(f"{API}/{slug}/support-issues", issue, format="json", **owner)

    lost = OperationalError('connection to server at "db.internal" (10.0.0.5), port 5432 failed')
    with mock.patch("workspaces.views.services.update_workspace", side_effect=lost):
        client.put(f"{API}/{slug}", {"name": "Vandelay"}, format="json", **owner)  # a database fault: 503

    with capture_on_commit(execute=True):
        requested = client.post(f"{API}/{slug}/export", **owner)
    assert requested.status_code == 202, requested.content
    job = client.get(f"{API}/{slug}/export/{requested.json()['jobId']}", **owner).json()
    assert job["status"] == "completed", job
    link = urlsplit(job["downloadUrl"])
    archive = client.get(f"{link.path}?{link.query}")
    assert archive.status_code == 200
    assert ExportJob.objects.filter(status="completed").count() == 1
    archive_bytes = client.bodies[-1]

    broker_at(closed_loopback_url().replace("http", "redis") + "/0")  # publishing is real from here on
    client.get(f"{API}/readyz")  # 503: the broker is down
    return archive_bytes


def _now():
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def test_no_configured_secret_appears_in_logs_answers_or_export_archives(
    configured, log_stream, settings, broker_at, django_capture_on_commit_callbacks
):
    client = RecordingClient()

    archive_bytes = representative_run(client, settings, broker_at, django_capture_on_commit_callbacks)

    archive = zipfile.ZipFile(io.BytesIO(archive_bytes))
    written = {
        "the JSON log stream": log_stream.getvalue(),
        "the API's answers": b"\n".join(client.bodies).decode(errors="replace"),
        **{f"the export's {name}": archive.read(name).decode(errors="replace") for name in archive.namelist()},
    }
    logged = log_stream.getvalue()
    assert '"database_unavailable"' in logged and '"readiness.check_failed"' in logged  # the run was logged
    codes = {json.loads(body).get("error") for body in client.bodies if body.startswith(b"{")}
    # The run answered the errors whose paths handle secrets (the check is not vacuous either).
    assert {"INVALID_TOKEN", "INVALID_SIGNATURE", "STRIPE_UNAVAILABLE", "DATABASE_UNAVAILABLE"} <= codes, codes
    leaks = [
        f"{secret_name} in {where}"
        for secret_name, secret in configured.items()
        for where, text in written.items()
        if secret and secret in text
    ]
    assert not leaks, leaks
