import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


PRODUCTION_LIKE = {
    "DJANGO_SECRET_KEY": "x" * 30 + "-production-like-secret-key-with-entropy-Q7#kP2",
    "DJANGO_DEBUG": "false",
    "ALLOWED_HOSTS": "api.centrali.io",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_SSL_REDIRECT": "true",
    "PRIVACY_HASH_KEY": "p" * 40 + "-its-own-random-key",
}


def _check_deploy(env):
    environment = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SECRET_KEY", "PRIVACY_HASH_KEY")}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_production_like_env():
    result = _check_deploy(PRODUCTION_LIKE)

    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_fails_on_the_public_local_secret_key():
    result = _check_deploy({k: v for k, v in PRODUCTION_LIKE.items() if k != "DJANGO_SECRET_KEY"})

    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_check_deploy_warns_when_the_privacy_key_is_derived_from_the_secret_key():
    result = _check_deploy({k: v for k, v in PRODUCTION_LIKE.items() if k != "PRIVACY_HASH_KEY"})

    assert result.returncode != 0
    assert "centrali.W001" in result.stdout + result.stderr
