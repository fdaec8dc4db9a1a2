"""Shared set-up for benchmarks: Django on a throwaway database built without migrations.

Run a benchmark as `.venv/bin/python -m bench.<name>` from the repository root; set
DATABASE_URL to benchmark on PostgreSQL (a `test_` database is created and dropped).
Every benchmark reports a ratio against a baseline measured in the same run, because
absolute timings on shared machines are noise.
"""

import contextlib
import os
import statistics
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "centrali.settings")
os.environ.setdefault("RATE_LIMITS", "off")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402


@contextlib.contextmanager
def throwaway_database():
    settings.DATABASES["default"].setdefault("TEST", {})["MIGRATE"] = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from billing.catalogue import seed_plan_catalogue
        from billing.models import Plan

        seed_plan_catalogue(Plan)
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


def median_seconds(fn, *, repeat=200, warmup=20):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
