"""`manage.py export_person`: everything the service holds about one person, as JSON Lines in a zip."""

import json
import zipfile

import pytest
from django.core.management import CommandError

from support.models import Comment, SupportIssue
from tests.command_helpers import run_command
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db

PERSON = "ada.lovelace.7f3@acme-corp.test"
SECTIONS = ["account", "memberships", "support_issues", "comments", "audit_events", "billing_contacts"]


def export(tmp_path, ref=PERSON):
    output = tmp_path / "ada.zip"
    done = run_command("export_person", ref, "--output", str(output), "--json")
    assert done.status == 0, done
    archive = zipfile.ZipFile(output)
    sections = {
        name: [json.loads(line) for line in archive.read(f"{name}.jsonl").decode().splitlines()] for name in SECTIONS
    }
    return json.loads(archive.read("manifest.json")), sections, done.summary


def test_the_manifest_lists_each_section_with_its_rows_and_checksum(traces, tmp_path):
    manifest, sections, summary = export(tmp_path)

    assert (manifest["format"], manifest["formatVersion"]) == ("centrali.person-export", 2)
    assert manifest["person"] == {"id": str(traces.person.pk)}
    assert manifest["counts"] == {name: len(rows) for name, rows in sections.items()}
    assert sorted(manifest["files"]) == sorted(f"{name}.jsonl" for name in SECTIONS)
    assert summary["counts"] == manifest["counts"]


def test_the_account_section_is_the_person(traces, tmp_path):
    _, sections, _ = export(tmp_path)

    (account,) = sections["account"]
    assert account == {
        **account,
        "id": str(traces.person.pk),
        "username": "ada-lovelace-7f3",
        "email": PERSON,
        "first_name": "Ada",
        "last_name": "Lovelace",
    }
    assert "password" not in account


def test_memberships_list_each_workspace_and_role(traces, tmp_path):
    _, sections, _ = export(tmp_path)

    assert sorted((row["workspace_slug"], row["role"]) for row in sections["memberships"]) == [
        ("acme-home", "admin"),
        ("beta-other", "member"),
    ]


def test_issues_and_comments_are_theirs_only(traces, bystander, tmp_path):
    _, sections, _ = export(tmp_path)

    assert [(row["id"], row["title"]) for row in sections["support_issues"]] == [
        (str(traces.issue.pk), "Exports are slow")
    ]
    assert sorted(row["body"] for row in sections["comments"]) == ["Me too.", "Still slow."]
    assert {row["workspace_id"] for row in sections["comments"]} == {str(traces.home.pk), str(traces.other.pk)}


def test_audit_events_are_those_where_they_act(traces, bystander, tmp_path):
    _, sections, _ = export(tmp_path)

    events = sections["audit_events"]
    assert {event["type"] for event in events} >= {"support_issue.created", "comment.added"}
    assert {event["workspace_id"] for event in events} == {str(traces.home.pk), str(traces.other.pk)}
    assert all(event["actor_id"] == str(traces.person.pk) for event in events if event["acted"])


def test_billing_contacts_are_the_workspaces_they_own(traces, tmp_path):
    owned = WorkspaceFactory.create(owner=traces.person, slug="ada-own")

    _, sections, _ = export(tmp_path)

    assert [(row["workspace_slug"], row["email"]) for row in sections["billing_contacts"]] == [("ada-own", PERSON)]
    assert sections["billing_contacts"][0]["workspace_id"] == str(owned.pk)


def test_nothing_of_another_person_or_tenant_is_in_it(traces, bystander, tmp_path):
    output = tmp_path / "ada.zip"
    run_command("export_person", PERSON, "--output", str(output))

    with zipfile.ZipFile(output) as archive:
        everything = b"".join(archive.read(name) for name in archive.namelist()).decode()
    for foreign in (
        bystander.email,
        bystander.username,
        str(bystander.pk),
        "gamma-bystander",
        "Grace here.",
        "Thanks.",
        traces.other.owner.email,
        "Billing question",
    ):
        assert foreign not in everything


def test_the_queries_do_not_grow_with_the_rows(traces, tmp_path, django_assert_max_num_queries):
    """Rows stream through chunked iterators: a section costs the same queries however long it is."""
    run_command("export_person", PERSON, "--output", str(tmp_path / "warm.zip"))
    with django_assert_max_num_queries(40) as few:
        run_command("export_person", PERSON, "--output", str(tmp_path / "one.zip"))
    SupportIssue.objects.bulk_create(
        SupportIssue(workspace=traces.home, created_by=traces.person, title=f"t{n}", description="d") for n in range(50)
    )
    Comment.objects.bulk_create(
        Comment(issue=traces.issue, author=traces.person, body=f"c{n}", display_name="Ada") for n in range(50)
    )

    with django_assert_max_num_queries(len(few.captured_queries)):
        run_command("export_person", PERSON, "--output", str(tmp_path / "many.zip"))


def test_the_default_output_is_named_after_the_person(traces, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    summary = run_command("export_person", "ada-lovelace-7f3", "--json").summary

    assert summary["output"] == f"person-{traces.person.pk}.zip"
    assert (tmp_path / summary["output"]).exists()


def test_an_unknown_person_is_a_one_line_error(tmp_path):
    with pytest.raises(CommandError, match=r"^Unknown person: nobody\.$"):
        run_command("export_person", "nobody", "--output", str(tmp_path / "x.zip"))
