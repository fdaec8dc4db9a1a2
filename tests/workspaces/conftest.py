"""Real collaborators for the workspaces tests: a platform service over HTTP on loopback,
a broker URL that can be pointed at a closed port, and the workspace file storage."""

import socket

import pytest

from centrali.celery import app as celery_app
from tests.workspaces.platform_service import PlatformService
from workspaces import storage as workspace_storage


@pytest.fixture
def platform_service(settings):
    """The `compute` service provisioned over HTTP against a loopback server (plus `storage`)."""
    service = PlatformService().start()
    settings.WORKSPACE_PROVISIONERS = {
        "storage": {"class": "workspaces.provisioning.StorageProvisioner"},
        "compute": {
            "class": "workspaces.provisioning.HttpProvisioner",
            "url": f"{service.base_url}/compute",
            "token": "platform-token",
            "timeout": 5.0,
        },
    }
    settings.PROVISIONING_MAX_ATTEMPTS = 3
    yield service
    service.stop()


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_at():
    """broker_at(url): publish tasks for real (not eagerly) to the broker at `url`."""
    keys = ("task_always_eager", "broker_url", "broker_connection_timeout")
    previous = {key: celery_app.conf[key] for key in keys}

    def use(url):
        celery_app.conf.update(task_always_eager=False, broker_url=url, broker_connection_timeout=1)
        # Drop pooled connections/producers bound to the previous broker URL (what Celery does after a fork).
        celery_app._after_fork()  # type: ignore[attr-defined]

    yield use
    celery_app.conf.update(previous)
    celery_app._after_fork()  # type: ignore[attr-defined]


@pytest.fixture
def workspace_files():
    return workspace_storage.workspace_files()
