"""Every way a bearer token can be wrong answers 401 in the Error shape."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.tokens import AccessToken

from tests.helpers import API, assert_error

pytestmark = pytest.mark.django_db


def _claims(user, **overrides):
    now = timezone.now()
    return {
        "token_type": "access",
        "sub": str(user.pk),
        "jti": "test-jti",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        **overrides,
    }


def _get(token, slug):
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get(f"{API}/{slug}")


def _b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hs256_signed_with(secret, claims):
    """Algorithm confusion: an HS256 token keyed with the RSA public key (PyJWT refuses to make one)."""
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def test_no_token_is_401(workspace):
    response = _get(None, workspace.slug)

    assert_error(response, status=401, code="UNAUTHENTICATED")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_is_401(workspace):
    past = timezone.now() - timedelta(hours=2)
    token = jwt.encode(
        _claims(workspace.owner, iat=int(past.timestamp()), exp=int((past + timedelta(minutes=5)).timestamp())),
        settings.SIMPLE_JWT["SIGNING_KEY"],
        algorithm="HS256",
    )

    assert_error(_get(token, workspace.slug), status=401, code="INVALID_TOKEN")


def test_token_signed_with_another_key_is_401(workspace):
    token = jwt.encode(_claims(workspace.owner), "some-other-key-that-is-long-enough-1234", algorithm="HS256")

    assert_error(_get(token, workspace.slug), status=401, code="INVALID_TOKEN")


def test_alg_none_token_is_401(workspace):
    header, claims = {"alg": "none", "typ": "JWT"}, _claims(workspace.owner)
    token = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."

    assert_error(_get(token, workspace.slug), status=401, code="INVALID_TOKEN")


def test_malformed_token_is_401(workspace):
    assert_error(_get("not.a.jwt", workspace.slug), status=401, code="INVALID_TOKEN")


def test_token_of_an_unknown_user_is_401(workspace):
    token = jwt.encode(
        _claims(workspace.owner, sub="00000000-0000-0000-0000-000000000000"),
        settings.SIMPLE_JWT["SIGNING_KEY"],
        algorithm="HS256",
    )

    assert_error(_get(token, workspace.slug), status=401, code="INVALID_TOKEN")


def test_rs256_tokens_of_the_platform_iam_are_accepted_with_its_verifying_key(workspace, monkeypatch):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    # What JWT_ALGORITHM=RS256 and JWT_VERIFYING_KEY=<pem> configure at start-up.
    monkeypatch.setattr(AccessToken, "_token_backend", TokenBackend("RS256", "", public_pem))

    good = jwt.encode(_claims(workspace.owner), private_pem, algorithm="RS256")
    forged_hs = _hs256_signed_with(public_pem.encode(), _claims(workspace.owner))

    assert _get(good, workspace.slug).status_code == 200
    assert_error(_get(forged_hs, workspace.slug), status=401, code="INVALID_TOKEN")


@pytest.mark.parametrize("subject", ["not-a-uuid", "\u0000", "1" * 100])
def test_signed_token_whose_subject_is_no_user_id_is_401(workspace, subject):
    token = jwt.encode(_claims(workspace.owner, sub=subject), settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")

    assert_error(_get(token, workspace.slug), status=401, code="INVALID_TOKEN")


def test_signed_token_expiring_past_the_calendar_is_401(workspace):
    token = jwt.encode(_claims(workspace.owner, exp=10**30), settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")

    assert_error(_get(token, workspace.slug), status=401, code="INVALID_TOKEN")


def _signed(user, **overrides):
    return jwt.encode(_claims(user, **overrides), settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")


def test_a_token_is_verified_once_per_process(workspace, monkeypatch):
    token = _signed(workspace.owner)
    verified = []
    real_decode = TokenBackend.decode

    def counted_decode(*args, **kwargs):
        verified.append(1)
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(TokenBackend, "decode", counted_decode)

    answers = [_get(token, workspace.slug).status_code for _ in range(3)]

    assert (answers, len(verified)) == ([200, 200, 200], 1)


def test_a_token_verified_before_is_refused_once_it_expires(workspace):
    token = _signed(workspace.owner)
    assert _get(token, workspace.slug).status_code == 200

    with freeze_time(timezone.now() + timedelta(minutes=5, seconds=31)):  # past exp and the 30 s leeway
        assert_error(_get(token, workspace.slug), status=401, code="INVALID_TOKEN")


def test_a_token_verified_before_is_refused_on_a_clock_before_it_was_issued(workspace):
    token = _signed(workspace.owner)
    assert _get(token, workspace.slug).status_code == 200

    with freeze_time(timezone.now() - timedelta(minutes=10)):
        assert_error(_get(token, workspace.slug), status=401, code="INVALID_TOKEN")
