"""A provisioning attempt survives its worker: a real Celery worker is SIGKILLed while it waits on a
platform service; the sweeper enqueues the stalled attempt again and another worker completes it.
(tests/e2e/test_provisioning_and_export.py does the same for an export.)"""

from datetime import timedelta

import pytest
import requests

from tests.e2e.harness import wait_for
from workspaces import services
from workspaces.models import ServiceProvisioning

pytestmark = pytest.mark.e2e

SIGN_UP = {
    "name": "Hooli",
    "email": "gavin@hooli.test",
    "username": "gavin",
    "password": "a-long-and-unusual-passphrase",
    "passwordConfirmation": "a-long-and-unusual-passphrase",
}


def test_a_worker_killed_mid_provisioning_leaves_an_attempt_the_sweeper_retries(
    start_celery_worker, platform_service, live_api, settings
):
    worker_env = {
        "PROVISIONING_HTTP_BASE_URL": platform_service.base_url,
        "PROVISIONING_HTTP_SERVICES": "compute",
        "PROVISIONING_HTTP_TIMEOUT_SECONDS": "60",  # the worker waits on compute until it is killed
    }
    platform_service.hang_first(1)
    worker = start_celery_worker(**worker_env)
    signed_up = requests.post(f"{live_api}/", json=SIGN_UP, timeout=30)
    assert signed_up.status_code == 201, signed_up.text
    slug = signed_up.json()["workspace"]["slug"]
    auth = {"Authorization": f"Bearer {signed_up.json()['auth_token']}"}

    wait_for(lambda: platform_service.calls_for("compute"), "the worker to call the compute service")
    worker.kill()

    attempt = ServiceProvisioning.objects.get(workspace__slug=slug, service="compute")
    assert (attempt.status, attempt.attempts) == ("provisioning", 1)
    stalled = attempt.updated_at + settings.PROVISIONING_STALLED_AFTER + timedelta(seconds=1)
    assert services.sweep_stalled_provisioning(now=stalled) >= 1  # publishes the attempt again

    start_celery_worker(**worker_env)

    def provisioned():
        body = requests.get(f"{live_api}/{slug}/provision-status", headers=auth, timeout=30).json()
        return body if body["status"] == "ready" else None

    status = wait_for(provisioned, "another worker to finish provisioning")
    assert status["services"] == {"compute": "ready", "storage": "ready"}
    assert status["details"]["compute"]["attempts"] == 2
    assert len(platform_service.calls_for("compute")) == 2
