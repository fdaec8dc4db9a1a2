"""The shared behaviour of provision_workspaces (OperatorCommand): one-line errors, --json, progress.

What it provisions is tested in test_provisioning.py; purge_deleted_workspaces in test_purge.py."""

import pytest
from django.core.management import CommandError

from tests.command_helpers import run_command
from tests.factories import WorkspaceFactory
from workspaces.models import ServiceProvisioning

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_services(settings):
    settings.WORKSPACE_PROVISIONERS = {
        "storage": {"class": "workspaces.provisioning.StorageProvisioner"},
        "search": {"class": "workspaces.provisioning.StorageProvisioner"},
    }


def test_an_unknown_slug_is_a_one_line_error_and_provisions_nothing(two_services):
    known = WorkspaceFactory.create()

    with pytest.raises(CommandError, match=r"^Unknown workspace: nope\.$"):
        run_command("provision_workspaces", known.slug, "nope")

    assert not ServiceProvisioning.objects.filter(workspace=known).exists()


def test_every_unknown_slug_is_named():
    with pytest.raises(CommandError, match=r"^Unknown workspaces: nope, nada\.$"):
        run_command("provision_workspaces", "nope", "nada", "nope")


def test_output_names_workspaces_by_slug(two_services, django_capture_on_commit_callbacks):
    workspace = WorkspaceFactory.create()
    ServiceProvisioning.objects.create(workspace=workspace, service="storage")

    with django_capture_on_commit_callbacks():
        done = run_command("provision_workspaces", workspace.slug)

    assert done.status == 0
    assert done.out.splitlines() == [
        f"{workspace.slug}: search",
        "1 workspace(s) given missing services (registered: storage, search).",
    ]


def test_the_json_summary_lists_what_each_workspace_was_given(two_services, django_capture_on_commit_callbacks):
    given, complete = WorkspaceFactory.create(), WorkspaceFactory.create()
    for service in ("storage", "search"):
        ServiceProvisioning.objects.create(workspace=complete, service=service)

    with django_capture_on_commit_callbacks():
        done = run_command("provision_workspaces", given.slug, complete.slug, "--json")

    assert done.summary == {
        "command": "provision_workspaces",
        "dry_run": False,
        "exit_status": 0,
        "workspaces_checked": 2,
        "registered": ["storage", "search"],
        "added": {given.slug: ["storage", "search"]},
    }


def test_progress_is_shown_on_a_terminal_only(two_services, django_capture_on_commit_callbacks):
    WorkspaceFactory.create_batch(2)

    with django_capture_on_commit_callbacks():
        assert "provisioning" in run_command("provision_workspaces", terminal=True).err
        assert run_command("provision_workspaces", "--no-progress", terminal=True).err == ""
        assert run_command("provision_workspaces").err == ""
