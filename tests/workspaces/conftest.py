"""Real collaborators for the workspaces tests: a platform service over HTTP on loopback and the
workspace file storage (a broker on a closed port is tests/conftest.py's `broker_at`)."""

import pytest

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
def workspace_files():
    return workspace_storage.workspace_files()
