"""`make run` (devtools.runlocal): the sandbox's values, a local service token and an env file another
shell can source (issue 11, item 5)."""

import stat
import subprocess

import pytest

from devtools.runlocal import LocalService
from devtools.stripe_sandbox import LOCAL_ENV


@pytest.fixture
def local(tmp_path, monkeypatch):
    for name in ("PLATFORM_SERVICE_TOKEN", "DATABASE_URL", "REDIS_URL", "JWT_SIGNING_KEY", *LOCAL_ENV):
        monkeypatch.delenv(name, raising=False)
    return LocalService(bind="127.0.0.1:8766", var_dir=tmp_path)


def _sourced(env_file, *names):
    """The values of `names` in a fresh shell that sourced `env_file`."""
    script = f"source {env_file} && " + " && ".join(f'echo "${name}"' for name in names)
    answer = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True, env={})
    return answer.stdout.splitlines()


def test_the_sandbox_settings_and_a_local_service_token_are_given_to_the_processes(local):
    env = local.environment()

    assert {name: env[name] for name in LOCAL_ENV} == LOCAL_ENV
    assert len(env["PLATFORM_SERVICE_TOKEN"]) >= 32


def test_the_service_token_is_generated_once_and_kept(local, tmp_path):
    first = local.environment()["PLATFORM_SERVICE_TOKEN"]

    assert LocalService(bind="127.0.0.1:8000", var_dir=tmp_path).environment()["PLATFORM_SERVICE_TOKEN"] == first
    assert stat.S_IMODE((tmp_path / "platform-service-token").stat().st_mode) == 0o600


def test_settings_from_the_environment_win(local, monkeypatch):
    monkeypatch.setenv("PLATFORM_SERVICE_TOKEN", "from-the-environment")
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_real")

    env = local.environment()

    assert (env["PLATFORM_SERVICE_TOKEN"], env["STRIPE_SECRET_KEY"]) == ("from-the-environment", "sk_test_real")
    assert "STRIPE_API_BASE" not in env
    assert "stripe" not in local.processes()


def test_the_env_file_can_be_sourced_by_another_shell(local, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/centrali local")
    env = local.environment()

    local.write_env_file(env)

    names = [*LOCAL_ENV, "PLATFORM_SERVICE_TOKEN", "DATABASE_URL"]
    assert _sourced(local.env_file, *names) == [env[name] for name in names]
    assert "REDIS_URL" not in local.env_file.read_text()
    assert stat.S_IMODE(local.env_file.stat().st_mode) == 0o600


def test_the_announcement_states_the_sandbox_values(local, capsys):
    env = local.environment()

    local.announce(env, sandbox=True)

    out = capsys.readouterr().out
    assert LOCAL_ENV["STRIPE_PUBLISHABLE_KEY"] in out
    assert LOCAL_ENV["STRIPE_WEBHOOK_SECRET"] in out
    assert env["PLATFORM_SERVICE_TOKEN"] in out
    assert f"source {local.env_file}" in out
