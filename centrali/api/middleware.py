from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase

from centrali import context
from centrali.api.client import client_ip
from centrali.context import ActorType

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
ADMIN_PREFIX = "/admin/"  # as mounted in centrali.urls


class RequestContextMiddleware:
    """Open the acting context of each request (centrali.context) and echo its X-Request-ID.

    The request id is the caller's X-Request-ID when well formed, else a new one; the client's
    address and user agent come along. Admin pages act as the signed-in staff user; API views
    learn their caller at authentication (centrali.api.authentication).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        incoming = request.headers.get("X-Request-ID", "")
        fields: dict[str, Any] = {
            "ip_address": client_ip(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", ""),
        }
        if _VALID_REQUEST_ID.match(incoming):
            fields["request_id"] = incoming
        with context.fresh_context(**fields) as opened:
            response = self.get_response(request)
        response["X-Request-ID"] = opened.request_id
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponseBase],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        if isinstance(view_kwargs.get("slug"), str):
            # The log lines of a `/{slug}/...` request (and of the tasks it queues) name its workspace.
            context.bind(workspace_slug=view_kwargs["slug"])
        # After AuthenticationMiddleware, so the session's user is known here.
        if request.path.startswith(ADMIN_PREFIX):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and user.is_staff:
                context.bind(actor=user, actor_type=ActorType.STAFF)
