import pytest
from django.core.management import CommandError

from audit.chain import entry_hash
from audit.models import AuditEvent
from audit.tasks import verify_audit_chains
from tests.audit.helpers import add_event
from tests.command_helpers import run_command

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
    return run_command("verify_audit_chain", *args)


def _broken(*args):
    """A run that found a broken chain: exit status 2, the breaks on stderr."""
    done = _verify(*args)
    assert done.status == 2, done
    return done


def test_intact_chains_pass(logged):
    done = _verify()

    assert done.status == 0
    assert "OK: 2 audit chain(s) intact." in done.out


def test_an_altered_row_is_reported_at_that_row_by_slug(logged, workspace):
    AuditEvent.objects.filter(pk=logged[2].pk).update(summary="nothing to see here")

    done = _broken()

    assert "1 of 2 audit chain(s) broken." in done.out
    assert f"BROKEN {workspace.slug}: event #{logged[2].pk}: content does not match its hash" in done.err


def test_an_altered_hash_is_caught_by_the_next_link(logged):
    tampered = logged[1]
    tampered.summary = "rewritten"
    AuditEvent.objects.filter(pk=tampered.pk).update(summary="rewritten", entry_hash=entry_hash(tampered))

    assert f"event #{logged[2].pk}: previous_hash does not match" in _broken().err


def test_a_removed_row_is_reported_at_the_row_after_it(logged):
    AuditEvent.objects.filter(pk=logged[1].pk).delete()

    assert f"event #{logged[2].pk}: previous_hash does not match" in _broken().err


def test_removing_the_newest_rows_is_caught_at_the_head(logged):
    AuditEvent.objects.filter(pk__in=[logged[3].pk, logged[4].pk]).delete()

    assert "chain head: the chain ends at 3 event(s) but 5 were appended" in _broken().err


def test_workspace_option_checks_only_that_workspace(logged, workspace, other_workspace):
    AuditEvent.objects.filter(pk=logged[0].pk).update(resource_id="forged")

    assert "OK: 1 audit chain(s) intact." in _verify("--workspace", other_workspace.slug).out
    _broken("--workspace", str(workspace.pk))


def test_an_unknown_workspace_is_a_one_line_error(logged):
    with pytest.raises(CommandError, match=r"^Unknown workspace: no-such-workspace\.$"):
        _verify("--workspace", "no-such-workspace")


def test_the_json_summary_names_each_broken_chain(logged, workspace):
    AuditEvent.objects.filter(pk=logged[3].pk).update(summary="forged")

    done = _broken("--json")

    assert done.summary == {
        "command": "verify_audit_chain",
        "dry_run": False,
        "exit_status": 2,
        "workspaces_checked": 2,
        "broken": [
            {
                "workspace": workspace.slug,
                "event_id": logged[3].pk,
                "reason": "content does not match its hash: the event was altered",
            }
        ],
    }


def test_progress_is_shown_on_a_terminal_only(logged):
    assert "verifying" in run_command("verify_audit_chain", terminal=True).err
    assert "verifying" not in run_command("verify_audit_chain", "--no-progress", terminal=True).err
    assert _verify().err == ""


def test_the_nightly_task_counts_broken_chains(logged):
    assert verify_audit_chains() == 0

    AuditEvent.objects.filter(pk=logged[0].pk).update(metadata={"forged": True})

    assert verify_audit_chains() == 1
