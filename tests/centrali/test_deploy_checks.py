import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_with_production_like_env():
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": "x" * 30 + "-production-like-secret-key-with-entropy-Q7#kP2",
        "DJANGO_DEBUG": "false",
        "ALLOWED_HOSTS": "api.centrali.io",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_SSL_REDIRECT": "true",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
