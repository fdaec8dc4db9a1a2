"""System checks of this service's own settings, run by `manage.py check` (and `--deploy` by `release`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def privacy_hash_key_is_set(**kwargs: Any) -> list[Warning]:
    if not settings.PRIVACY_HASH_KEY_IS_DERIVED:
        return []
    return [
        Warning(
            "PRIVACY_HASH_KEY is not set, so it is derived from DJANGO_SECRET_KEY: rotating the secret key would "
            "make every audit event fail verification and every purged customer's email hash unmatchable.",
            hint="Set PRIVACY_HASH_KEY to a long random value of its own (PRIVACY.md), and keep it.",
            id="centrali.W001",
        )
    ]
