from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class ConfiguredRateThrottle(SimpleRateThrottle):
    """Rate limits from the RATE_LIMITS env var, by scope.

    A view's `throttle_scope` names its scope (e.g. `workspace_create`); other requests
    fall under `user` or `anon`. A scope with no configured rate is not limited.
    """

    def __init__(self) -> None:
        pass  # the rate depends on the view, so it is resolved in allow_request

    def get_scope(self, request: Request, view: APIView) -> str:
        explicit: str | None = getattr(view, "throttle_scope", None)
        if explicit:
            return explicit
        return "user" if request.user and request.user.is_authenticated else "anon"

    def allow_request(self, request: Request, view: APIView) -> bool:
        self.scope = self.get_scope(request, view)
        self.rate = settings.RATE_LIMITS.get(self.scope)
        if not self.rate:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: APIView) -> str:
        user = request.user
        if user is not None and getattr(user, "pk", None) is not None:
            ident = f"user:{user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
