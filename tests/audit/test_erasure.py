"""Erasing a person from the audit log (audit.services.erase_personal_data): their personal fields
go, every chain still verifies, and any other change to an event still breaks it."""

import pytest

from audit.chain import ERASED_ACTOR_ID, ERASED_EMAIL, ERASED_USER
from audit.models import AuditEvent
from audit.selectors import events_of_person, verify_chain
from audit.services import erase_personal_data
from tests.audit.helpers import add_event
from tests.command_helpers import run_command
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def person():
    return UserFactory(username="ada.lovelace", email="ada@example.com", first_name="Ada", last_name="Lovelace")


@pytest.fixture
def someone_else():
    return UserFactory(username="grace", email="grace@example.com")


def _acted(workspace, user, **overrides):
    fields = {"actor": user, "ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0 (Ada's laptop)"}
    return add_event(workspace, **{**fields, **overrides})


def _erase(person):
    return erase_personal_data(actor_ids=[str(person.pk)], emails=[person.email], reason="GDPR request #12")


def _fresh(event):
    return AuditEvent.objects.get(pk=event.pk)


def _intact(*workspaces):
    return all(verify_chain(workspace_id=workspace.pk) is None for workspace in workspaces)


def test_the_actor_fields_of_the_persons_events_are_erased_in_every_workspace(workspace, other_workspace, person):
    here, there = _acted(workspace, person), _acted(other_workspace, person)

    assert _erase(person) == 2

    for event in (_fresh(here), _fresh(there)):
        assert (event.actor_id, event.ip_address, event.user_agent) == (ERASED_ACTOR_ID, None, "")
        assert event.actor_type == "user"


def test_chains_verify_after_an_erasure(workspace, other_workspace, person, someone_else):
    add_event(workspace, actor=someone_else)
    _acted(workspace, person, summary="ada.lovelace joined as owner", metadata={"user_id": str(person.pk)})
    add_event(workspace, actor=someone_else, metadata={"invitee": "ada@example.com"})
    _acted(other_workspace, person)

    _erase(person)

    assert _intact(workspace, other_workspace)
    assert "OK: 2 audit chain(s) intact." in run_command("verify_audit_chain").out


def test_a_summary_and_metadata_naming_the_person_are_replaced_by_their_redacted_twin(workspace, person):
    event = _acted(
        workspace,
        person,
        summary="ada.lovelace joined as owner (Ada Lovelace, ada@example.com)",
        metadata={"user_id": str(person.pk), "role": "owner", "note": "invited by ada@example.com"},
    )

    _erase(person)

    erased = _fresh(event)
    assert erased.summary == f"{ERASED_USER} joined as owner ({ERASED_USER}, {ERASED_EMAIL})"
    assert erased.metadata == {"user_id": "[erased]", "role": "owner", "note": f"invited by {ERASED_EMAIL}"}
    assert erased.redacted is None and erased.personal_salt == ""


def test_an_event_that_only_names_the_person_keeps_its_actor(workspace, person, someone_else):
    event = add_event(
        workspace,
        actor=someone_else,
        ip_address="198.51.100.4",
        summary="Invitation sent to ada@example.com",
        metadata={"invitee": "ada@example.com"},
    )

    assert _erase(person) == 1

    erased = _fresh(event)
    assert erased.summary == f"Invitation sent to {ERASED_EMAIL}"
    assert erased.metadata == {"invitee": "[erased]"}
    assert (erased.actor_id, erased.ip_address) == (str(someone_else.pk), "198.51.100.4")
    assert _intact(workspace)


def test_other_peoples_events_are_untouched(workspace, person, someone_else):
    other = add_event(workspace, actor=someone_else, ip_address="198.51.100.4", summary="grace renamed it")
    before = _fresh(other)

    _erase(person)

    after = _fresh(other)
    assert (after.actor_id, after.ip_address, after.summary, after.personal_salt) == (
        before.actor_id,
        before.ip_address,
        before.summary,
        before.personal_salt,
    )


def test_erasing_twice_changes_nothing_the_second_time(workspace, person):
    _acted(workspace, person)
    _erase(person)

    assert _erase(person) == 0
    assert _intact(workspace)


def test_events_that_name_nobody_have_no_twin(workspace):
    event = add_event(workspace, summary="Workspace settings updated: name", metadata={"changes": {"name": "x"}})

    assert event.redacted is None and event.content_digest == ""


# --- any other change to an event still breaks the chain, erased or not


@pytest.fixture
def erased_event(workspace, person):
    event = _acted(workspace, person, summary="ada.lovelace joined as owner", metadata={"role": "owner"})
    add_event(workspace)
    _erase(person)
    return _fresh(event)


@pytest.mark.parametrize(
    "change",
    [
        {"summary": "someone joined as owner"},
        {"metadata": {"role": "admin"}},
        {"type": "member.removed"},
        {"resource_id": "forged"},
        {"actor_type": "staff"},
        {"personal_digest": "0" * 64},
        {"content_digest": "0" * 64},
        {"actor_id": "someone-else"},
        {"ip_address": "192.0.2.1"},
    ],
)
def test_any_other_change_to_an_erased_event_breaks_the_chain(erased_event, workspace, change):
    AuditEvent.objects.filter(pk=erased_event.pk).update(**change)

    chain_break = verify_chain(workspace_id=workspace.pk)

    assert chain_break is not None and chain_break.event_id == erased_event.pk


@pytest.mark.parametrize(
    "change",
    [
        {"ip_address": "192.0.2.1"},
        {"user_agent": "curl/8"},
        {"actor_id": "someone-else"},
        {"summary": "grace joined as owner"},
        {"redacted": {"summary": "nobody joined", "metadata": {"role": "owner"}}},
    ],
)
def test_a_changed_personal_field_of_a_live_event_breaks_the_chain(workspace, person, change):
    event = _acted(workspace, person, summary="ada.lovelace joined as owner", metadata={"role": "owner"})

    AuditEvent.objects.filter(pk=event.pk).update(**change)

    chain_break = verify_chain(workspace_id=workspace.pk)
    assert chain_break is not None and chain_break.event_id == event.pk


def test_personal_fields_blanked_outside_the_erasure_path_break_the_chain(workspace, person):
    event = _acted(workspace, person, summary="ada.lovelace joined as owner")
    # What an erasure writes, minus the seal only the service's key can make.
    AuditEvent.objects.filter(pk=event.pk).update(
        actor_id=ERASED_ACTOR_ID,
        ip_address=None,
        user_agent="",
        personal_salt="",
        summary=event.redacted["summary"],
        metadata=event.redacted["metadata"],
        redacted=None,
    )

    chain_break = verify_chain(workspace_id=workspace.pk)

    assert chain_break is not None
    assert chain_break.reason == "personal fields were erased outside the erasure path: the event was altered"


# --- what the service holds about a person (export_person)


def test_events_of_person_lists_where_they_act_and_where_they_are_named(
    workspace, other_workspace, person, someone_else
):
    acted = _acted(other_workspace, person)
    named = add_event(workspace, actor=someone_else, metadata={"invitee": "ADA@example.com"})
    add_event(workspace, actor=someone_else)

    rows = list(events_of_person(actor_ids=[str(person.pk)], emails=[person.email]))

    assert [(row["id"], row["acted"], row["workspace_slug"]) for row in rows] == [
        (str(acted.pk), True, other_workspace.slug),
        (str(named.pk), False, workspace.slug),
    ]
    assert rows[0]["workspace_id"] == str(other_workspace.pk)
    assert rows[0]["ip_address"] == "203.0.113.7"


def test_a_twin_longer_than_the_summary_column_is_cut_to_fit(workspace, person):
    event = _acted(workspace, person, summary=" ".join(["a@b.io"] * 70))

    _erase(person)

    assert len(_fresh(event).summary) == AuditEvent._meta.get_field("summary").max_length
    assert _intact(workspace)


def test_a_resource_that_is_the_person_loses_its_id(workspace, person, someone_else):
    own = _acted(workspace, person, event_type="member.added", resource_type="membership", resource_id=person.pk)
    added_by_another = add_event(
        workspace, actor=someone_else, event_type="member.added", resource_type="membership", resource_id=person.pk
    )

    assert _erase(person) == 2

    assert _fresh(own).resource_id == _fresh(added_by_another).resource_id == "[erased]"
    assert _fresh(added_by_another).actor_id == str(someone_else.pk)
    assert _intact(workspace)
