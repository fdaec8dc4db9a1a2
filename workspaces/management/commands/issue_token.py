"""`manage.py issue_token --user EMAIL_OR_USERNAME [--lifetime SECONDS]`: an access token for a user.

In production the platform IAM issues the tokens; this is for operators and local development
(`make run`: the sign-up's token lasts an hour). The token is signed like the ones this service
issues at sign-up (JWT_SIGNING_KEY), so the service accepts it until it expires.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.db.models import Q
from rest_framework_simplejwt.tokens import AccessToken

from centrali.commands import OperatorCommand, Outcome, named_one, positive_int
from centrali.formats import iso_utc
from workspaces.models import User

# simplejwt cannot encode an expiry past year 9999; a year is plenty for local work and automation.
MAX_LIFETIME_SECONDS = 366 * 24 * 3600


class Command(OperatorCommand):
    help = "Print an access token (JWT) for a user, which this service accepts until it expires."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--user", required=True, metavar="EMAIL_OR_USERNAME", help="Whose token (case-insensitive)."
        )
        parser.add_argument(
            "--lifetime",
            type=positive_int,
            metavar="SECONDS",
            help=(
                f"How long the token is valid (default JWT_ACCESS_TOKEN_LIFETIME, "
                f"{int(settings.SIMPLE_JWT['ACCESS_TOKEN_LIFETIME'].total_seconds())} s; "
                f"at most {MAX_LIFETIME_SECONDS} s)."
            ),
        )

    def run(self, *args: Any, user: str, lifetime: int | None, **options: Any) -> Outcome:
        person = named_one(
            user, User.objects.filter(Q(email__iexact=user) | Q(username__iexact=user)).first(), what="user"
        )
        if not person.is_active:
            raise CommandError(f"User {user} is inactive: the service refuses its tokens.")
        if lifetime is not None and lifetime > MAX_LIFETIME_SECONDS:
            raise CommandError(f"--lifetime is at most {MAX_LIFETIME_SECONDS} seconds; got {lifetime}.")
        token = AccessToken.for_user(person)
        if lifetime is not None:
            token.set_exp(lifetime=timedelta(seconds=lifetime))
        expires_at = iso_utc(datetime.fromtimestamp(token["exp"], UTC))
        # The token alone on stdout, so that `TOKEN=$(manage.py issue_token --user ada)` works; who and
        # until when on stderr.
        self.stderr.write(f"Access token for {person.username} ({person.pk}), expires {expires_at}.")
        return Outcome(str(token), summary={"user_id": str(person.pk), "token": str(token), "expires_at": expires_at})
