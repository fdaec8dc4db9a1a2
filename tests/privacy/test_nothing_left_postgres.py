"""After a purge, and after erasing a person, the database and the export storage hold nothing of
them: every column of every table and every stored file are searched (PostgreSQL, with the audit
log's append-only trigger installed as migrations install it)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from audit.db import drop_append_only_trigger, install_append_only_trigger
from audit.selectors import verify_chain
from audit.services import record
from tests.command_helpers import run_command
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import API, client_for
from tests.privacy.scan import files_holding, media_files, table_count, tables_holding
from tests.usage.helpers import event
from usage.models import DailyUsage, UsageEvent
from usage.services import ingest_events
from workspaces import services
from workspaces.models import ExportJob, PurgedWorkspace, User, Workspace

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

USER_AGENT = "OliveBrowser/3.1 (scan-test)"
IP_ADDRESS = "198.51.100.23"


@pytest.fixture(autouse=True)
def append_only_trigger(transactional_db):
    assert connection.vendor == "postgresql", "these tests need DATABASE_URL=postgres://..."
    install_append_only_trigger(connection)
    yield
    drop_append_only_trigger(connection)


def _as(user, traced=()):
    """The user's API client; for the users in `traced`, from the IP address and browser the scan looks for."""
    client = client_for(user)
    if user in traced:
        client.defaults.update(HTTP_USER_AGENT=USER_AGENT, REMOTE_ADDR=IP_ADDRESS)
    return client


def _populate(workspace, owner, members, traced=()):
    """Support issues and comments by the owner and members, usage, a completed export in storage."""
    for author in (owner, *members):
        client = _as(author, traced)
        issue = client.post(
            f"{API}/{workspace.slug}/support-issues",
            {"title": f"Question from {author.username}", "description": f"Reach me at {author.email}."},
            format="json",
        ).json()["id"]
        client.post(f"{API}/{workspace.slug}/support-issues/{issue}/comments", {"comment": "Any news?"}, format="json")
    now = timezone.now()
    result = ingest_events(events=[event(workspace, "api_calls", 5, now), event(workspace, "storage_bytes", 12, now)])
    assert result.accepted == 2
    response = _as(owner, traced).post(f"{API}/{workspace.slug}/export", format="json")
    assert response.status_code == 202, response.content
    job = ExportJob.objects.get(workspace=workspace)
    assert job.status == "completed", job.error_message


def test_a_purged_workspace_leaves_only_its_tombstone(workspace_files):
    workspace, owner = services.create_workspace(
        name="Acme Purge Corp",
        email="olive.owner.3d9@acme-purge.test",
        username="olive-owner-3d9",
        password="a-long-passphrase-1",
    )
    members = [
        MembershipFactory.create(
            workspace=workspace,
            role=role,
            user__username=f"{role}-mona-3d9",
            user__email=f"{role}.mona@acme-purge.test",
        ).user
        for role in ("admin", "member")
    ]
    _populate(workspace, owner, members, traced=[owner, *members])
    needles = [
        str(workspace.pk),
        workspace.slug,
        workspace.name,
        *(user.email for user in (owner, *members)),
        *(user.username for user in (owner, *members)),
        *(str(user.pk) for user in (owner, *members)),
    ]
    assert {needle for _, _, needle in tables_holding(needles)} >= set(needles)  # the scan sees them before
    assert files_holding(needles)
    assert UsageEvent.objects.filter(workspace=workspace).exists() and DailyUsage.objects.filter(workspace=workspace)

    _as(owner).delete(f"{API}/{workspace.slug}")
    later = timezone.now() + timedelta(days=31)
    done = run_command("purge_deleted_workspaces", "--now", later.isoformat())
    assert done.status == 0, done

    assert not Workspace.objects.filter(pk=workspace.pk).exists()
    assert tables_holding(needles) == {("workspaces_purgedworkspace", "workspace_id", str(workspace.pk))}
    assert files_holding(needles) == set()
    assert media_files() == []
    assert table_count() > 30
    tombstone = PurgedWorkspace.objects.get(workspace_id=workspace.pk)
    assert tombstone.counts["accounts_erased"] == 3


def test_an_erased_person_leaves_nothing_behind(workspace_files):
    person = UserFactory.create(username="olive-erased-5e2", email="olive.erased.5e2@mail.test", first_name="Olive")
    home_owner = UserFactory.create(username="hugo-home-owner", email="hugo@home.test")
    home, _ = services.create_workspace(name="Home Erasure Corp", email=home_owner.email + ".x", username="hugo-2")
    other, _ = services.create_workspace(name="Other Erasure Corp", email="oscar@other.test", username="oscar-other")
    MembershipFactory.create(workspace=home, user=person, role="admin")
    MembershipFactory.create(workspace=other, user=person, role="member")
    _populate(home, home.owner, [person], traced=[person])
    client = _as(person, [person])
    issue = client.post(
        f"{API}/{other.slug}/support-issues", {"title": "Hello", "description": "Olive's issue."}, format="json"
    ).json()["id"]
    client.post(f"{API}/{other.slug}/support-issues/{issue}/comments", {"comment": "Bump."}, format="json")
    record(  # as sign-up records the owner joining (workspaces.services.lifecycle)
        workspace=other,
        event_type="member.added",
        resource_type="membership",
        resource_id=person.pk,
        summary=f"{person.username} joined as member",
        actor=person,
        metadata={"user_id": str(person.pk), "role": "member"},
    )
    needles = [person.email, person.username, str(person.pk), IP_ADDRESS, USER_AGENT]
    assert {needle for _, _, needle in tables_holding(needles)} == set(needles)
    assert files_holding(needles)  # the completed export of `home` lists its members

    done = run_command("erase_person", person.email, "--reason", "Asked by email")
    assert done.status == 0, done

    assert not User.objects.filter(pk=person.pk).exists()
    assert tables_holding(needles) == set()
    assert files_holding(needles) == set()
    assert verify_chain(workspace_id=home.pk) is None
    assert verify_chain(workspace_id=other.pk) is None
