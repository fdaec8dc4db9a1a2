"""`manage.py issue_token`: a token the service accepts, for operators and local development (issue 11, item 4)."""

import json
from io import StringIO

import jwt
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tests.helpers import API

pytestmark = pytest.mark.django_db


def _issue(*args):
    out = StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue().strip()


def _claims(token):
    return jwt.decode(token, settings.SIMPLE_JWT["SIGNING_KEY"], algorithms=[settings.SIMPLE_JWT["ALGORITHM"]])


def test_the_printed_token_authenticates_the_user(workspace):
    token = _issue("--user", workspace.owner.email)

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get(f"{API}/{workspace.slug}")

    assert response.status_code == 200, response.content
    assert response.json()["slug"] == workspace.slug
    assert _claims(token)["sub"] == str(workspace.owner.pk)


def test_the_user_may_be_named_by_username_in_any_case(workspace):
    token = _issue("--user", workspace.owner.username.upper())

    assert _claims(token)["sub"] == str(workspace.owner.pk)


def test_the_lifetime_is_honoured(workspace):
    claims = _claims(_issue("--user", workspace.owner.email, "--lifetime", "86400"))

    assert claims["exp"] - claims["iat"] == 86_400


def test_by_default_it_lasts_as_long_as_the_sign_up_token(workspace):
    claims = _claims(_issue("--user", workspace.owner.email))

    assert claims["exp"] - claims["iat"] == settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()


def test_json_prints_the_token_with_its_expiry(workspace):
    summary = json.loads(_issue("--user", workspace.owner.email, "--lifetime", "60", "--json"))

    assert summary["user_id"] == str(workspace.owner.pk)
    assert _claims(summary["token"])["exp"] - _claims(summary["token"])["iat"] == 60
    assert summary["expires_at"].endswith("Z")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody@example.test"], "Unknown user: nobody@example.test."),
        (["--user", "OWNER", "--lifetime", "0"], "expected a whole number of at least 1"),
        (["--user", "OWNER", "--lifetime", "soon"], "expected a whole number of at least 1"),
        (["--user", "OWNER", "--lifetime", str(10 * 366 * 24 * 3600)], "--lifetime is at most"),
    ],
)
def test_a_wrong_argument_is_a_one_line_command_error(workspace, args, message):
    args = [workspace.owner.email if arg == "OWNER" else arg for arg in args]

    with pytest.raises(CommandError, match=message.replace(".", r"\.")) as raised:
        _issue(*args)

    assert "\n" not in str(raised.value)


def test_an_inactive_user_gets_no_token(workspace):
    workspace.owner.is_active = False
    workspace.owner.save(update_fields=["is_active"])

    with pytest.raises(CommandError, match="inactive"):
        _issue("--user", workspace.owner.email)
