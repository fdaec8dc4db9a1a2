import pytest

from audit.chain import entry_hash
from audit.models import AuditChain, AuditEvent
from audit.services import record
from centrali.context import acting
from tests.audit.helpers import add_event
from tests.factories import UserFactory
from tests.helpers import API, client_for

pytestmark = pytest.mark.django_db


def test_an_event_holds_who_what_where_and_when_from_the_acting_context(workspace):
    with acting(actor=workspace.owner, ip_address="203.0.113.9", user_agent="pytest-agent", request_id="req-123"):
        event = record(
            workspace=workspace,
            event_type="workspace.updated",
            resource_type="workspace",
            resource_id=workspace.pk,
            summary="Renamed",
            metadata={"changes": {"name": {"before": "a", "after": "b"}}},
        )

    event.refresh_from_db()
    assert (event.type, event.resource_type, event.resource_id) == ("workspace.updated", "workspace", str(workspace.pk))
    assert (event.actor_id, event.actor_type) == (str(workspace.owner.pk), "user")
    assert event.metadata == {"changes": {"name": {"before": "a", "after": "b"}}}
    assert (event.ip_address, event.user_agent, event.request_id) == ("203.0.113.9", "pytest-agent", "req-123")
    assert event.created_at is not None


def test_without_an_actor_the_actor_type_is_system(workspace):
    assert add_event(workspace).actor_type == "system"


def test_a_staff_user_acting_through_the_api_is_recorded_as_a_user(workspace):
    staff = UserFactory.create(is_staff=True)

    assert add_event(workspace, actor=staff).actor_type == "user"


def test_an_explicit_actor_type_alone_replaces_the_contexts_actor(workspace):
    with acting(actor=workspace.owner):
        event = add_event(workspace, actor_type="system")

    assert (event.actor_type, event.actor_id) == ("system", "")


@pytest.mark.parametrize("actor_type", ["staff", "system", "service", "user"])
def test_an_explicit_actor_type_is_kept(workspace, actor_type):
    assert add_event(workspace, actor=UserFactory.create(), actor_type=actor_type).actor_type == actor_type


def test_an_unknown_actor_type_is_refused(workspace):
    with pytest.raises(ValueError, match="actor type"):
        add_event(workspace, actor_type="robot")


def test_an_unregistered_event_type_is_refused(workspace):
    with pytest.raises(ValueError, match="EVENT_TYPES"):
        add_event(workspace, event_type="workspace.renamed_somehow")


def test_platform_services_may_report_their_own_dotted_event_types(workspace):
    event = add_event(workspace, event_type="structure.created", actor_id="iam-1", reported_by="structures")

    assert (event.type, event.actor_id, event.metadata) == ("structure.created", "iam-1", {"reported_by": "structures"})


def test_only_reported_events_may_use_types_outside_the_registry(workspace):
    with pytest.raises(ValueError, match="EVENT_TYPES"):
        add_event(workspace, event_type="structure.created", actor_type="service")


def test_secrets_never_reach_the_metadata(workspace):
    event = add_event(workspace, metadata={"password": "hunter2", "nested": {"api_token": "t"}, "name": "ok"})

    event.refresh_from_db()
    assert event.metadata == {"password": "[redacted]", "nested": {"api_token": "[redacted]"}, "name": "ok"}


def test_metadata_with_uuids_and_decimals_is_stored_as_json_and_still_verifies(workspace):
    from decimal import Decimal

    event = add_event(workspace, metadata={"user": workspace.owner.pk, "amount": Decimal("12.50")})

    event.refresh_from_db()
    assert event.metadata == {"user": str(workspace.owner.pk), "amount": "12.50"}
    assert entry_hash(event) == event.entry_hash


def test_an_address_that_is_no_ip_is_left_empty(workspace):
    with acting(ip_address="not-an-ip"):
        assert add_event(workspace).ip_address is None


def test_each_event_links_to_the_one_before_it_in_its_workspace(workspace, other_workspace):
    first = add_event(workspace)
    add_event(other_workspace)
    second = add_event(workspace)

    assert first.previous_hash == ""
    assert second.previous_hash == first.entry_hash
    chain = AuditChain.objects.get(workspace=workspace)
    assert (chain.head_hash, chain.length) == (second.entry_hash, 2)


def test_an_append_takes_four_queries(workspace, django_assert_num_queries):
    add_event(workspace)

    # lock the workspace row, read the chain head, insert the event, move the head
    with django_assert_num_queries(4):
        add_event(workspace)
    assert AuditEvent.objects.filter(workspace=workspace).count() == 2


def _open_issue_from(workspace, **headers):
    client_for(workspace.owner).post(
        f"{API}/{workspace.slug}/support-issues", {"title": "Hi", "description": "Hello"}, format="json", **headers
    )
    return AuditEvent.objects.get(workspace=workspace, type="support_issue.created")


def test_without_a_proxy_a_forwarded_for_header_is_not_the_recorded_ip(workspace, other_workspace):
    event = _open_issue_from(workspace, HTTP_X_FORWARDED_FOR="198.51.100.66", REMOTE_ADDR="203.0.113.9")

    assert event.ip_address == "203.0.113.9"


def test_behind_one_proxy_the_recorded_ip_is_the_one_the_proxy_saw(workspace, other_workspace, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    # The client forged the first hop; the proxy appended the address it saw.
    event = _open_issue_from(workspace, HTTP_X_FORWARDED_FOR="198.51.100.66, 203.0.113.9", REMOTE_ADDR="10.0.0.2")

    assert event.ip_address == "203.0.113.9"
