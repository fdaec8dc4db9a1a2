"""centrali.commands.OperatorCommand: the behaviour every management command shares, as cron sees it."""

import json

import pytest
from django.core.management import CommandError, load_command_class

from centrali.commands import WORK_FOUND_EXIT_STATUS, OperatorCommand, Outcome, iso_datetime, named


class _Probe(OperatorCommand):
    """A command whose outcome each test chooses."""

    takes_dry_run = True
    outcome = Outcome("done.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--at", type=iso_datetime)

    def run(self, *args, **options):
        self.line("a line for people")
        return self.outcome


def _run_from_the_command_line(command, *argv):
    """What `manage.py <command> ...` does; returns the exit status."""
    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(["manage.py", "probe", *argv])
        raise SystemExit(0)
    return exited.value.code


@pytest.mark.parametrize(
    ("outcome", "argv", "status"),
    [
        (Outcome("nothing to do."), ["--dry-run"], 0),
        (Outcome("3 drift(s) found.", work_found=True), ["--dry-run"], WORK_FOUND_EXIT_STATUS),
        (Outcome("3 drift(s) repaired.", work_found=True), [], 0),
        (Outcome("2 failed.", work_found=True, failure="2 workspace(s) failed."), ["--dry-run"], 1),
    ],
)
def test_the_exit_status_says_what_a_run_found(outcome, argv, status, capsys):
    command = _Probe()
    command.outcome = outcome

    assert _run_from_the_command_line(command, *argv) == status
    out, err = capsys.readouterr()
    assert out == f"a line for people\n{outcome.message}\n"
    assert err == ("CommandError: 2 workspace(s) failed.\n" if outcome.failure else "")


@pytest.mark.parametrize(
    ("app", "name"),
    [("billing", "reconcile_billing"), ("usage", "reconcile_usage"), ("workspaces", "purge_deleted_workspaces")],
)
def test_the_dry_run_help_names_its_exit_status(app, name):
    command = load_command_class(app, name)
    assert isinstance(command, OperatorCommand)
    help_text = " ".join(command.create_parser("manage.py", name).format_help().split())

    assert f"--dry-run {command.dry_run_help} Exits with status 2 when" in help_text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--at", "tomorrow"],
            "argument --at: expected an ISO 8601 date-time, e.g. 2026-05-01T00:00:00Z; got 'tomorrow'",
        ),
        (["--nope"], "unrecognized arguments: --nope"),
    ],
)
def test_a_malformed_argument_is_one_line_and_exit_status_1_from_the_command_line(argv, message, capsys):
    assert _run_from_the_command_line(_Probe(), *argv) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"CommandError: Error: {message}\n")


def test_json_prints_only_the_summary(capsys):
    command = _Probe()
    command.outcome = Outcome("1 found.", summary={"found": ["acme"]}, work_found=True)

    assert _run_from_the_command_line(command, "--dry-run", "--json") == WORK_FOUND_EXIT_STATUS
    out = capsys.readouterr().out
    assert json.loads(out) == {"command": "test_operator_command", "dry_run": True, "exit_status": 2, "found": ["acme"]}


def test_named_keeps_the_order_asked_for_and_names_every_unknown_one():
    assert named(["b", "a", "b"], {"a": 1, "b": 2}, what="plan") == [2, 1]
    with pytest.raises(CommandError, match=r"^Unknown plans: x, y\.$"):
        named(["x", "a", "y"], {"a": 1}, what="plan")
