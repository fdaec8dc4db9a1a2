"""Keyed hashes of personal data: what the service keeps where it must recognise a person again
without storing who they are (a purged workspace's owner, "was this customer here?").

HMAC-SHA256 under settings.PRIVACY_HASH_KEY, so the hash of an email cannot be looked up in a
table of hashed addresses by someone without the key.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def keyed_hash(value: str) -> str:
    """The hex HMAC-SHA256 of `value` under PRIVACY_HASH_KEY."""
    return hmac.new(settings.PRIVACY_HASH_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def normalized_email(email: str) -> str:
    """Sign-up treats Ada@x and ada@x as one person; so does the hash."""
    return email.strip().lower()


def email_hash(email: str) -> str:
    return keyed_hash(f"email:{normalized_email(email)}")


def slug_hash(slug: str) -> str:
    return keyed_hash(f"slug:{slug.strip().lower()}")
