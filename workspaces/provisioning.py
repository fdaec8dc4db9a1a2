"""Provisioners: how each platform service is set up for a new workspace.

settings.WORKSPACE_PROVISIONERS maps a service name to {"class": dotted path, **options}.
A provisioner's `provision(workspace)` must be idempotent (it may run again after a timeout
whose request did succeed) and raises TransientProvisioningError for failures worth retrying,
PermanentProvisioningError for the rest.
"""

from __future__ import annotations

import abc
from typing import Any

import requests
import structlog
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils.module_loading import import_string

from workspaces import storage as workspace_storage
from workspaces.models import Workspace

logger = structlog.get_logger(__name__)


class ProvisioningError(Exception):
    pass


class TransientProvisioningError(ProvisioningError):
    """Worth retrying: timeouts, refused connections, 5xx, 429."""


class PermanentProvisioningError(ProvisioningError):
    """Retrying would not help (e.g. the service rejected the request)."""


class Provisioner(abc.ABC):
    def __init__(self, name: str, **options: Any) -> None:
        self.name = name
        self.options = options

    @abc.abstractmethod
    def provision(self, workspace: Workspace) -> None: ...


class StorageProvisioner(Provisioner):
    """Creates the workspace's area in the workspace file storage (a marker object under its prefix)."""

    def provision(self, workspace: Workspace) -> None:
        storage = storages[workspace_storage.ALIAS]
        marker = workspace_storage.area_marker(workspace.pk)
        try:
            if not storage.exists(marker):
                storage.save(marker, ContentFile(b""))
        except OSError as exc:
            raise TransientProvisioningError(f"storage unavailable: {exc}") from exc


class HttpProvisioner(Provisioner):
    """POSTs the workspace to a platform service; the idempotency key makes repeats harmless."""

    RETRYABLE_STATUSES = frozenset({408, 409, 425, 429}) | frozenset(range(500, 600))

    def provision(self, workspace: Workspace) -> None:
        headers = {"Idempotency-Key": f"workspace-{workspace.pk}-{self.name}"}
        if self.options.get("token"):
            headers["Authorization"] = f"Bearer {self.options['token']}"
        payload = {
            "workspace_id": str(workspace.pk),
            "slug": workspace.slug,
            "plan": workspace.plan.code,
            "service": self.name,
        }
        try:
            response = requests.post(
                self.options["url"], json=payload, headers=headers, timeout=self.options.get("timeout", 10.0)
            )
        except requests.RequestException as exc:
            # Members can read last_error: name the failure, keep the service's address in the logs only.
            logger.warning(
                "provisioning_unreachable", service=self.name, workspace_id=str(workspace.pk), error=str(exc)
            )
            raise TransientProvisioningError(
                f"{self.name}: {exc.__class__.__name__} (unreachable or timed out)"
            ) from exc
        if response.ok:
            return
        # The body is the platform service's, not the member's: log it, show only the status.
        logger.warning(
            "provisioning_refused",
            service=self.name,
            workspace_id=str(workspace.pk),
            status_code=response.status_code,
            body=response.text[:500],
        )
        message = f"{self.name}: the service answered HTTP {response.status_code}"
        if response.status_code in self.RETRYABLE_STATUSES:
            raise TransientProvisioningError(message)
        raise PermanentProvisioningError(message)


def registered_services() -> list[str]:
    """Names of the services every workspace gets, in settings order."""
    return list(settings.WORKSPACE_PROVISIONERS)


def provisioner_for(service: str) -> Provisioner:
    """The configured provisioner of `service`; KeyError when it is not in WORKSPACE_PROVISIONERS."""
    config = dict(settings.WORKSPACE_PROVISIONERS[service])
    return import_string(config.pop("class"))(service, **config)
