"""The local Stripe used by tests and `make run` (devtools.stripe_sandbox) keeps to itself."""

import os
import tempfile

from devtools.stripe_sandbox import LOCAL_ENV

SHARED_PICKLE = os.path.join(tempfile.gettempdir(), "localstripe.pickle")


def _stat(path):
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return None


def test_writes_never_touch_localstripes_shared_pickle(stripe_sandbox):
    before = _stat(SHARED_PICKLE)
    stripe_sandbox.post("customers", email="someone@example.com")
    assert _stat(SHARED_PICKLE) == before


def test_it_listens_on_loopback_only(stripe_server):
    """The kernel's table of listening TCP sockets (Linux) shows the port bound to 127.0.0.1 alone."""
    port = f"{stripe_server.port:04X}"
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                if state == "0A" and local.endswith(f":{port}"):
                    listening.append(local.split(":")[0])
    assert listening == ["0100007F"]  # 127.0.0.1, little-endian hex


def test_it_answers_what_dj_stripe_asks_before_syncing(stripe_sandbox):
    assert stripe_sandbox.get("account")["object"] == "account"


def test_local_keys_have_the_shape_dj_stripe_requires():
    import re

    from djstripe.models.api import API_KEY_REGEX

    assert re.match(API_KEY_REGEX, LOCAL_ENV["STRIPE_SECRET_KEY"])
    assert re.match(API_KEY_REGEX, LOCAL_ENV["STRIPE_PUBLISHABLE_KEY"])
