"""Writes of the privacy app: erasing one person everywhere, and writing the archive of what the
service holds about them.

Erasure, in one transaction: workspaces.services.erase_account refuses an owner (ownership must
pass to someone else first), then sends account_erasing, whose receiver (privacy.receivers) runs
erase_traces_of: each workspace that holds something of the person records that *a* person was
erased (no personal data in the entry), support keeps their issues and comments signed "erased
user", the completed export archives of those workspaces (which list the person) are deleted, and
the audit log erases the personal fields of their events (its chain stays verifiable).
Then the account and its memberships go. A purge that leaves an account in no workspace erases it
through the same path.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from typing import IO, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from audit import services as audit_services
from audit.services import record
from centrali.exports import write_jsonl_entry
from privacy import selectors
from privacy.selectors import ErasurePlan
from support import services as support_services
from workspaces import services as workspace_services
from workspaces.models import User, Workspace

PERSON_ERASED = "person.erased"
PERSON_ARCHIVE_FORMAT = "centrali.person-export"
# The workspace export's format version: the same JSON Lines rows with snake_case keys.
PERSON_ARCHIVE_FORMAT_VERSION = 2
MANIFEST_NAME = "manifest.json"
_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+")


@dataclass(frozen=True)
class Erasure:
    erasure_id: str
    plan: ErasurePlan


def erase_person(*, user: User, reason: str) -> Erasure:
    """Erase the person everywhere (see the module docstring); returns what was erased.
    Raises workspaces.services.PersonOwnsWorkspace for the owner of a workspace."""
    with transaction.atomic():
        workspace_services.refuse_if_owner(user=user)
        plan = selectors.erasure_plan(user=user)
        erasure_id = workspace_services.erase_account(user=user, reason=reason)
    return Erasure(erasure_id=erasure_id, plan=plan)


def erase_traces_of(*, user: User, reason: str, erasure_id: str) -> None:
    """What other apps hold of the person, erased inside the account's erasure transaction."""
    touched = selectors.workspaces_touched_by(user=user)
    reason = _EMAIL.sub("[erased email]", reason)[:500]  # staff may paste a request that names the person
    for workspace in Workspace.objects.filter(pk__in=touched).order_by("pk"):
        record(
            workspace=workspace,
            event_type=PERSON_ERASED,
            resource_type="person",
            resource_id=erasure_id,
            summary="A person's personal data was erased",
            metadata={"erasure_id": erasure_id, "reason": reason},
        )
    support_services.erase_authorship(user=user)
    workspace_services.discard_export_archives(workspace_ids=touched)
    audit_services.erase_personal_data(actor_ids=[str(user.pk)], emails=[user.email], reason=reason)


def write_person_archive(*, user: User, fileobj: IO[bytes], batch_size: int) -> dict[str, Any]:
    """Write everything the service holds about the person into `fileobj` (a zip of JSON Lines
    files and manifest.json, rows streamed from the database); returns the manifest."""
    files = {}
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, rows in selectors.person_sections(user=user, batch_size=batch_size):
            entry_name = f"{name}.jsonl"
            files[entry_name] = {"section": name, **write_jsonl_entry(archive, entry_name, rows)}
        manifest = {
            "format": PERSON_ARCHIVE_FORMAT,
            "formatVersion": PERSON_ARCHIVE_FORMAT_VERSION,
            "person": {"id": str(user.pk)},
            "generatedAt": timezone.now(),
            "counts": {meta["section"]: meta["rows"] for meta in files.values()},
            "files": files,
        }
        archive.writestr(MANIFEST_NAME, json.dumps(manifest, cls=DjangoJSONEncoder, indent=2))
    return manifest
