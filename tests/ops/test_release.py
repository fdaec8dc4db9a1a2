"""`manage.py release`: migrate, then the Stripe plan sync when Stripe is configured, then
`check --deploy` unless DEBUG; idempotent; the first failing step stops it with a non-zero exit."""

import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

REPO = Path(__file__).resolve().parents[2]
STEPS = "centrali.management.commands.release.call_command"


def steps_run(**settings_changes):
    with mock.patch(STEPS) as step:
        call_command("release")
    return [(c.args[0], {k: v for k, v in c.kwargs.items() if k != "stdout"}) for c in step.call_args_list]


def test_a_production_release_with_stripe_migrates_then_syncs_plans_then_checks_the_deployment(settings):
    settings.STRIPE_SECRET_KEY, settings.DEBUG = "sk_test_release", False

    assert steps_run() == [
        ("migrate", {"interactive": False}),
        ("sync_plans_to_stripe", {}),
        ("check", {"deploy": True}),
    ]


def test_without_stripe_the_plan_sync_is_skipped(settings):
    settings.STRIPE_SECRET_KEY, settings.DEBUG = "", False

    assert [name for name, _ in steps_run()] == ["migrate", "check"]


def test_with_debug_on_the_deployment_check_is_skipped(settings):
    settings.STRIPE_SECRET_KEY, settings.DEBUG = "sk_test_release", True

    assert [name for name, _ in steps_run()] == ["migrate", "sync_plans_to_stripe"]


def test_a_failing_step_stops_the_release(settings):
    settings.STRIPE_SECRET_KEY, settings.DEBUG = "sk_test_release", False

    def step(name, **kwargs):
        if name == "sync_plans_to_stripe":
            raise CommandError("basic: Stripe answered 401")

    with mock.patch(STEPS, side_effect=step) as called, pytest.raises(CommandError, match="sync_plans_to_stripe"):
        call_command("release")
    assert [c.args[0] for c in called.call_args_list] == ["migrate", "sync_plans_to_stripe"]


def release(database_url, tmp_path):
    """`manage.py release` in a process of its own, as docker-compose's one-off service runs it."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "STRIPE_", "DJANGO_"))
    }
    env.update(DATABASE_URL=database_url, DJANGO_DEBUG="false", MEDIA_ROOT=str(tmp_path / "media"))
    return subprocess.run(
        [sys.executable, "manage.py", "release"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def test_release_is_idempotent_on_a_fresh_database(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'release.sqlite3'}"

    first = release(database_url, tmp_path)
    second = release(database_url, tmp_path)

    assert first.returncode == 0, first.stdout + first.stderr
    assert "Applying workspaces.0001_initial" in first.stdout
    assert second.returncode == 0, second.stdout + second.stderr
    assert "No migrations to apply" in second.stdout
    assert "Release done: migrate, check_deploy." in second.stdout


def test_release_exits_non_zero_when_the_database_is_unreachable(tmp_path, closed_port):
    result = release(f"postgres://release@127.0.0.1:{closed_port}/release", tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "release step migrate failed" in result.stderr
