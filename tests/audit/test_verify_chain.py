import pytest
from django.core.management import CommandError, call_command

from audit.chain import entry_hash
from audit.models import AuditEvent
from audit.tasks import verify_audit_chains
from tests.audit.helpers import add_event

pytestmark = pytest.mark.django_db

# These tests tamper with rows the way an attacker with database access would. On PostgreSQL
# the append-only trigger is installed by migrations, which the test database skips
# (--nomigrations), so the tampering below is possible there too.


@pytest.fixture
def logged(workspace, other_workspace):
    events = [add_event(workspace, summary=f"event {n}") for n in range(5)]
    add_event(other_workspace)
    return events


def _verify(*args):
    call_command("verify_audit_chain", *args)


def test_intact_chains_pass(logged, capsys):
    _verify()

    assert "OK: 2 audit chain(s) intact." in capsys.readouterr().out


def test_an_altered_row_is_reported_at_that_row(logged, capsys):
    AuditEvent.objects.filter(pk=logged[2].pk).update(summary="nothing to see here")

    with pytest.raises(CommandError, match="1 of 2 audit chain"):
        _verify()

    err = capsys.readouterr().err
    assert f"event #{logged[2].pk}: content does not match its hash" in err


def test_an_altered_hash_is_caught_by_the_next_link(logged, capsys):
    tampered = logged[1]
    tampered.summary = "rewritten"
    AuditEvent.objects.filter(pk=tampered.pk).update(summary="rewritten", entry_hash=entry_hash(tampered))

    with pytest.raises(CommandError):
        _verify()

    assert f"event #{logged[2].pk}: previous_hash does not match" in capsys.readouterr().err


def test_a_removed_row_is_reported_at_the_row_after_it(logged, capsys):
    AuditEvent.objects.filter(pk=logged[1].pk).delete()

    with pytest.raises(CommandError):
        _verify()

    assert f"event #{logged[2].pk}: previous_hash does not match" in capsys.readouterr().err


def test_removing_the_newest_rows_is_caught_at_the_head(logged, capsys):
    AuditEvent.objects.filter(pk__in=[logged[3].pk, logged[4].pk]).delete()

    with pytest.raises(CommandError):
        _verify()

    assert "chain head: the chain ends at 3 event(s) but 5 were appended" in capsys.readouterr().err


def test_workspace_option_checks_only_that_workspace(logged, workspace, other_workspace, capsys):
    AuditEvent.objects.filter(pk=logged[0].pk).update(resource_id="forged")

    _verify("--workspace", other_workspace.slug)

    assert "OK: 1 audit chain(s) intact." in capsys.readouterr().out
    with pytest.raises(CommandError):
        _verify("--workspace", str(workspace.pk))


def test_an_unknown_workspace_is_an_error(logged):
    with pytest.raises(CommandError, match="No workspace"):
        _verify("--workspace", "no-such-workspace")


def test_the_nightly_task_counts_broken_chains(logged):
    assert verify_audit_chains() == 0

    AuditEvent.objects.filter(pk=logged[0].pk).update(metadata={"forged": True})

    assert verify_audit_chains() == 1
