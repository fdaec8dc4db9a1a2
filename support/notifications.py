"""The emails of the support app, rendered from templates/support/email/ and sent with Django's mail framework."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from centrali.emails import render_subject
from support.roles import SUPPORT_GROUP_NAME


def staff_recipients() -> list[str]:
    """SUPPORT_STAFF_EMAILS plus every active member of the Support group who has an email."""
    group_emails = (
        get_user_model()
        .objects.filter(groups__name=SUPPORT_GROUP_NAME, is_active=True, is_staff=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    return sorted(set(settings.SUPPORT_STAFF_EMAILS) | set(group_emails))


def send(*, template: str, context: Mapping[str, Any], to: list[str]) -> int:
    """Render `support/email/<template>_subject.txt` and `_body.txt` and send them to `to`."""
    subject = render_subject(f"support/email/{template}_subject.txt", context)
    body = render_to_string(f"support/email/{template}_body.txt", context)
    return EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=to).send()
