from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import AccessToken, Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from centrali import context
from centrali.context import ActorType

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from rest_framework.request import Request


VERIFIED_TOKENS_KEPT = 4096  # per process; the callers of the last minutes
_verified_tokens: dict[bytes, Token] = {}


def _valid_now(token: Token) -> bool:
    now = time.time()
    leeway = jwt_settings.LEEWAY.total_seconds() if isinstance(jwt_settings.LEEWAY, timedelta) else jwt_settings.LEEWAY
    payload = token.payload
    try:
        return bool(
            float(payload["exp"]) > now - leeway
            and float(payload.get("nbf", 0)) <= now + leeway
            and float(payload.get("iat", 0)) <= now + leeway
        )
    except (KeyError, TypeError, ValueError):
        return False


class BearerJWTAuthentication(JWTAuthentication):
    """`Authorization: Bearer <JWT>`, signed by the platform IAM (or by us for owners we create).

    The algorithm is fixed by settings, so `alg: none` and algorithm-confusion tokens
    fail verification like any badly signed token.
    """

    www_authenticate_realm = "workspace-api"

    # A correctly signed token can still carry claims our database or clock cannot take
    # (a `sub` that is no UUID, an `exp` past year 9999): that is a bad token, not a 500.
    #
    # A token verified before is not verified again: its signature and claims were checked for
    # these very bytes (the keys are the process's, fixed at start), so only the clock is read again (exp, and nbf/iat for a clock
    # that went back), as PyJWT reads it. Any doubt, and the token takes simplejwt's full path.
    def get_validated_token(self, raw_token: bytes) -> Token:
        token = _verified_tokens.get(raw_token)
        if token is not None and _valid_now(token):
            return token
        try:
            token = super().get_validated_token(raw_token)
        except (OverflowError, ValueError, TypeError) as exc:
            raise exceptions.AuthenticationFailed("Token claims are malformed.") from exc
        if len(_verified_tokens) >= VERIFIED_TOKENS_KEPT:
            _verified_tokens.clear()
        _verified_tokens[raw_token] = token
        return token

    # simplejwt types the user as a TypeVar its arguments do not bind.
    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, Token] | None:  # type: ignore[override]
        self.request = request  # DRF makes one authenticator per request
        return super().authenticate(request)

    # simplejwt's own checks around a lookup subclasses may widen (find_user); its TypeVar again.
    def get_user(self, validated_token: Token) -> AbstractBaseUser:  # type: ignore[override]
        try:
            user_id = validated_token[jwt_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(str(_("Token contained no recognizable user identification"))) from exc
        try:
            user = self.find_user(user_id)
        except (DjangoValidationError, ValueError, TypeError) as exc:
            raise exceptions.AuthenticationFailed("Token subject is not a valid user id.") from exc
        if user is None:
            raise exceptions.AuthenticationFailed(_("User not found"), code="user_not_found")
        if jwt_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise exceptions.AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if jwt_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            jwt_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise exceptions.AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        context.bind(actor=user, actor_type=ActorType.USER)
        return user

    def find_user(self, user_id: object) -> AbstractBaseUser | None:
        """The token's user (one query), or None."""
        user: AbstractBaseUser | None = self.user_model.objects.filter(**{jwt_settings.USER_ID_FIELD: user_id}).first()
        return user


def issue_access_token(user: AbstractBaseUser) -> str:
    """A JWT for `user`, verifiable by this service and by the platform."""
    return str(AccessToken.for_user(user))


class PlatformService:
    """The caller of the internal endpoints: another Centrali service, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    pk = id = None

    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        return f"service:{self.name}"


class PlatformServiceAuthentication(authentication.BaseAuthentication):
    """Internal endpoints: `Authorization: Bearer <PLATFORM_SERVICE_TOKEN>`, or a JWT with a
    `service` claim signed with the platform key. A workspace member's token never passes."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[PlatformService, AccessToken | None] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, credential = header.partition(" ")
        if scheme != self.keyword or not credential:
            return None
        expected = settings.PLATFORM_SERVICE_TOKEN
        token = None
        if expected and constant_time_compare(credential, expected):
            service = PlatformService(request.headers.get("X-Service-Name", "platform"))
        else:
            try:
                # simplejwt annotates the encoded token as a Token; it takes the JWT string.
                token = AccessToken(credential)  # type: ignore[arg-type]
            except Exception as exc:
                raise exceptions.AuthenticationFailed("Invalid service credentials.") from exc
            if not token.payload.get("service"):
                raise exceptions.AuthenticationFailed("A platform service credential is required.")
            service = PlatformService(str(token.payload["service"]))
        context.bind(actor=None, actor_type=ActorType.SERVICE, actor_id=str(service))
        return service, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="platform-services"'
