import pytest

from centrali.exports import export_sections
from tests.audit.helpers import add_event

pytestmark = pytest.mark.django_db


def _export(workspace):
    section = next(section for section in export_sections() if section.name == "audit_events")
    return [section.serialize(row) for row in section.queryset(workspace).iterator()]


def test_audit_events_are_in_the_export_with_their_hashes(workspace, other_workspace):
    first, second = add_event(workspace), add_event(workspace)
    add_event(other_workspace)

    rows = _export(workspace)

    assert [row["id"] for row in rows] == [str(first.pk), str(second.pk)]
    assert set(rows[0]) == {
        "id",
        "type",
        "resource_type",
        "resource_id",
        "actor_id",
        "actor_type",
        "summary",
        "metadata",
        "ip_address",
        "user_agent",
        "request_id",
        "created_at",
        "previous_hash",
        "hash",
    }
    assert rows[0]["created_at"].endswith("Z")
    assert rows[1]["previous_hash"] == rows[0]["hash"] == first.entry_hash
