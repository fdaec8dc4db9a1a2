"""Every API POST honours `Idempotency-Key` (centrali.idempotency), once for all views.

The middleware runs around the view (after routing, so it knows the view and its
authentication classes): it resolves the caller the way the view will, claims the key in that
caller's scope, lets the view run, and keeps its answer for the retries, or answers a retry with
the stored answer without running the view. Sign-up (no authentication) has no caller to scope
by: its keys are scoped by a hash of the request, so only the same body sent again replays.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import structlog
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView

from centrali.api.authentication import PlatformService
from centrali.api.errors import API_PREFIX, database_unavailable, domain_error_response, error_body
from centrali.idempotency import store
from centrali.models import IDEMPOTENCY_KEY_MAX_LENGTH

logger = structlog.get_logger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Answers a retry should not get back: it may succeed (authentication fixed, the limit reset,
# a dependency back). Every 5xx is in the same case.
NOT_FINAL_STATUSES = frozenset({401, 408, 425, 429})
# The headers that belong to the answer (not to the exchange, like X-Request-ID).
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag", "Link", "X-Total-Count")
IN_PROGRESS_RETRY_AFTER_SECONDS = 1


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            response = self.get_response(request)
        except BaseException:
            claim = getattr(request, "idempotency_claim", None)
            if claim is not None:
                store.release(claim)
            raise
        claim = getattr(request, "idempotency_claim", None)
        if claim is not None:
            _settle(claim, response)
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponseBase],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        key = request.headers.get(HEADER)
        view_class = getattr(view_func, "cls", None)
        if (
            key is None
            or request.method != "POST"
            or not request.path.startswith(API_PREFIX)
            or not (isinstance(view_class, type) and issubclass(view_class, APIView))
        ):
            return None
        if not (0 < len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH and key.isascii() and key.isprintable()):
            return _error(
                request,
                400,
                "INVALID_IDEMPOTENCY_KEY",
                f"`{HEADER}` must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters.",
            )
        try:
            fingerprint = _fingerprint(request)
        except RequestDataTooBig:
            return None  # the view refuses it (413) the same way every time
        scope = _caller_scope(request, view_class, fingerprint)
        if scope is None:
            return None  # bad credentials: the view answers 401, nothing to keep
        try:
            outcome = store.begin(scope=scope, key=key, fingerprint=fingerprint)
        except store.KeyReused:
            return _error(
                request,
                422,
                "IDEMPOTENCY_KEY_REUSED",
                f"This `{HEADER}` was already used with a different request; use a new key for a new request.",
            )
        except (OperationalError, InterfaceError):
            # Process_view is outside what the database fault handlers see; answer as they do.
            return domain_error_response(request, database_unavailable())
        except store.RequestInProgress:
            response = _error(
                request,
                409,
                "IDEMPOTENCY_REQUEST_IN_PROGRESS",
                f"A request with this `{HEADER}` is still in progress; retry once it has answered.",
            )
            response["Retry-After"] = str(IN_PROGRESS_RETRY_AFTER_SECONDS)
            return response
        if isinstance(outcome, store.StoredResponse):
            logger.info("idempotency.replayed", path=request.path, status=outcome.status)
            return _replay(outcome)
        request.idempotency_claim = outcome  # type: ignore[attr-defined]
        return None


def _fingerprint(request: HttpRequest) -> str:
    """What makes two requests the same: method, path, query and body (JSON compared by value)."""
    body = request.body
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (request.method or "").encode(), request.get_full_path().encode(), canonical:
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _caller_scope(request: HttpRequest, view_class: type[APIView], fingerprint: str) -> str | None:
    """Whose key this is, authenticated as the view will: None when the credentials are bad."""
    authenticators = [authenticator() for authenticator in view_class.authentication_classes]
    if not authenticators:
        return f"anonymous:{fingerprint}"
    try:
        user = Request(request, authenticators=authenticators).user
    except exceptions.APIException:
        return None
    if isinstance(user, PlatformService):
        return f"service:{user.name}"
    if user is not None and getattr(user, "pk", None) is not None:
        return f"user:{user.pk}"
    return f"anonymous:{fingerprint}"


def _settle(claim: store.Claim, response: HttpResponseBase) -> None:
    status = response.status_code
    if response.streaming or not isinstance(response, HttpResponse) or status >= 500 or status in NOT_FINAL_STATUSES:
        store.release(claim)
        return
    headers = {name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)}
    store.complete(claim, store.StoredResponse(status=status, headers=headers, body=response.content))


def _replay(stored: store.StoredResponse) -> HttpResponse:
    response = HttpResponse(stored.body, status=stored.status)
    for name, value in stored.headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def _error(request: HttpRequest, status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(request, status_code=status, code=code, message=message), status=status)
