"""Erasing one person everywhere: `manage.py erase_person` and the staff action on the user list."""

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError

from audit.models import AuditEvent
from audit.selectors import events_of_person
from centrali.models import IdempotencyRecord
from support.models import Comment, SupportIssue
from tests.command_helpers import run_command
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import API, client_for
from workspaces.models import ExportJob, Membership, User

pytestmark = pytest.mark.django_db

PERSON = "ada.lovelace.7f3@acme-corp.test"


def erase(*args, status=0):
    done = run_command("erase_person", *args)
    assert done.status == status, done
    return done


def test_erases_the_account_and_its_memberships(traces, bystander):
    erase(PERSON)

    assert not User.objects.filter(pk=traces.person.pk).exists()
    assert not Membership.objects.filter(user_id=traces.person.pk).exists()
    assert User.objects.filter(pk=bystander.pk).exists()


@pytest.mark.parametrize("ref", ["ADA.Lovelace.7f3@acme-corp.test", "ada-lovelace-7f3", "id"])
def test_the_person_is_named_by_email_username_or_id(traces, ref):
    erase(str(traces.person.pk) if ref == "id" else ref)

    assert not User.objects.filter(pk=traces.person.pk).exists()


def test_their_issues_and_comments_stay_with_the_workspace_signed_erased_user(traces):
    erase(PERSON)

    issue = client_for(traces.home.owner).get(f"{API}/{traces.home.slug}/support-issues/{traces.issue.pk}").json()
    comments = (
        client_for(traces.home.owner)
        .get(f"{API}/{traces.home.slug}/support-issues/{traces.issue.pk}/comments")
        .json()["data"]
    )
    assert (issue["summary"], issue["description"], issue["createdBy"]) == (
        "Exports are slow",
        "It takes an hour.",
        None,
    )
    assert [(c["comment"], c["displayName"], c["authorId"]) for c in comments] == [("Still slow.", "erased user", None)]


def test_other_peoples_comments_in_the_same_thread_are_untouched(traces):
    erase(PERSON)

    foreign = Comment.objects.get(pk=traces.foreign_comment.pk)
    assert (foreign.author_id, foreign.display_name) == (traces.other.owner_id, traces.other.owner.username)
    assert SupportIssue.objects.get(pk=traces.foreign_issue.pk).created_by_id == traces.other.owner_id


def test_the_personal_fields_of_their_audit_events_are_erased(traces):
    assert any(event["acted"] for event in events_of_person(actor_ids=[str(traces.person.pk)], emails=[PERSON]))

    erase(PERSON)

    assert not list(events_of_person(actor_ids=[str(traces.person.pk)], emails=[PERSON]))
    assert not AuditEvent.objects.filter(user_agent__contains="AdaBrowser").exists()
    assert not AuditEvent.objects.filter(ip_address="203.0.113.77").exists()


def test_each_workspace_concerned_records_that_a_person_was_erased_naming_nobody(traces, bystander):
    done = erase(PERSON, "--reason", "Asked through the privacy form", "--json")

    entries = AuditEvent.objects.filter(type="person.erased")
    assert {entry.workspace_id for entry in entries} == {traces.home.pk, traces.other.pk}
    for entry in entries:
        assert entry.resource_id == done.summary["erasure_id"]
        assert entry.metadata == {"erasure_id": done.summary["erasure_id"], "reason": "Asked through the privacy form"}
        assert entry.actor_id == "command:erase_person"
        flat = f"{entry.summary} {entry.metadata} {entry.resource_id}"
        assert str(traces.person.pk) not in flat and "ada" not in flat.lower()


def test_an_owner_is_refused_until_ownership_passes_to_someone_else(traces):
    owner = traces.home.owner

    with pytest.raises(CommandError, match=r"owns 1 workspace\(s\) \(acme-home\); transfer ownership"):
        run_command("erase_person", owner.email)

    assert User.objects.filter(pk=owner.pk).exists()
    assert not AuditEvent.objects.filter(type="person.erased").exists()


def test_a_dry_run_reports_what_would_change_and_changes_nothing(traces):
    before = list(AuditEvent.objects.order_by("pk").values())

    done = erase(PERSON, "--dry-run", "--json", status=2)

    assert done.summary == {
        "command": "erase_person",
        "dry_run": True,
        "exit_status": 2,
        "user_id": str(traces.person.pk),
        "owned_workspaces": [],
        "memberships": [{"workspace": "acme-home", "role": "admin"}, {"workspace": "beta-other", "role": "member"}],
        "support_issues": 1,
        "comments": 2,
        "audit_events": done.summary["audit_events"],
        "idempotency_records": 0,
        "workspaces": ["acme-home", "beta-other"],
    }
    assert done.summary["audit_events"] >= 3  # the issue and the two comments
    assert User.objects.filter(pk=traces.person.pk).exists()
    assert Comment.objects.filter(author=traces.person).count() == 2
    assert list(AuditEvent.objects.order_by("pk").values()) == before


def test_a_dry_run_for_an_owner_exits_1_with_the_refusal(traces):
    with pytest.raises(CommandError, match="transfer ownership"):
        run_command("erase_person", traces.home.owner.email, "--dry-run")


def test_an_unknown_person_is_a_one_line_error():
    with pytest.raises(CommandError, match=r"^Unknown person: nobody@nowhere.test\.$"):
        run_command("erase_person", "nobody@nowhere.test")


def test_their_idempotency_records_and_the_export_jobs_they_asked_for_forget_them(traces):
    IdempotencyRecord.objects.create(scope=f"user:{traces.person.pk}", key="k1", fingerprint="f")
    kept = IdempotencyRecord.objects.create(scope=f"user:{traces.home.owner_id}", key="k1", fingerprint="f")
    job = ExportJob.objects.create(workspace=traces.home, requested_by=traces.person, status="failed")

    erase(PERSON)

    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [kept.pk]
    assert ExportJob.objects.get(pk=job.pk).requested_by_id is None


def test_completed_export_archives_of_their_workspaces_are_deleted(
    traces, workspace_files, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(traces.home.owner).post(f"{API}/{traces.home.slug}/export", format="json")
    job = ExportJob.objects.get(workspace=traces.home)
    assert job.status == "completed" and workspace_files.exists(job.file_name)

    with django_capture_on_commit_callbacks(execute=True):
        erase(PERSON)

    assert not workspace_files.exists(job.file_name)
    assert ExportJob.objects.get(pk=job.pk).status == "expired"


def test_a_staff_member_is_asked_for_a_reason_then_erases_audited_as_staff(traces, staff_client):
    changelist = "/admin/workspaces/user/"
    form = staff_client.post(changelist, {"action": "erase_people", "_selected_action": [traces.person.pk]})
    assert form.status_code == 200 and b'name="reason"' in form.content
    assert User.objects.filter(pk=traces.person.pk).exists()

    staff_client.post(
        changelist,
        {"action": "erase_people", "_selected_action": [traces.person.pk], "apply": "1", "reason": "Ticket 4711"},
    )

    assert not User.objects.filter(pk=traces.person.pk).exists()
    entry = AuditEvent.objects.filter(type="person.erased", workspace=traces.home).get()
    assert (entry.actor_type, entry.metadata["reason"]) == ("staff", "Ticket 4711")


def test_the_staff_action_refuses_an_owner_with_the_reason(traces, staff_client):
    owner = traces.home.owner

    response = staff_client.post(
        "/admin/workspaces/user/",
        {"action": "erase_people", "_selected_action": [owner.pk], "apply": "1", "reason": "Ticket 4712"},
        follow=True,
    )

    assert User.objects.filter(pk=owner.pk).exists()
    page = response.content.decode().lower()  # the admin capitalizes its messages
    assert f"{owner.username}: this person owns 1 workspace(s)" in page
    assert "transfer ownership" in page


def test_staff_without_the_permission_to_delete_users_do_not_get_the_action(client, traces):
    viewer = UserFactory.create(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
    client.force_login(viewer)

    response = client.get("/admin/workspaces/user/")

    assert response.status_code == 200 and b"erase_people" not in response.content


def test_a_member_left_in_no_workspace_by_a_leave_is_still_erasable(traces):
    lone = MembershipFactory.create(workspace=traces.home).user
    Membership.objects.filter(user=lone).delete()

    erase(lone.email)

    assert not User.objects.filter(pk=lone.pk).exists()


def test_their_email_and_username_in_any_thread_become_erased(traces):
    traces.foreign_comment.body = (
        "Ada (ada-lovelace-7f3, ADA.Lovelace.7f3@acme-corp.test) said so; ada-lovelace-7f30 did not."
    )
    traces.foreign_comment.save()

    erase(PERSON)

    assert Comment.objects.get(pk=traces.foreign_comment.pk).body == (
        "Ada ([erased], [erased]) said so; ada-lovelace-7f30 did not."
    )


def test_an_email_in_the_reason_is_masked_in_the_audit_entries(traces):
    erase(PERSON, "--reason", f"Request from {PERSON} (ticket 12)")

    reasons = set(AuditEvent.objects.filter(type="person.erased").values_list("metadata__reason", flat=True))
    assert reasons == {"Request from [erased email] (ticket 12)"}
