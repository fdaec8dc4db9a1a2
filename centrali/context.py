"""Who is acting, from where, under which request id: one context for everything that writes.

Services take no `request`. The audit log (and the logs) read the acting context from here,
and each entry point sets it once:

- the request middleware (`centrali.api.middleware.RequestContextMiddleware`): request id,
  client IP and user agent for every request, and the staff user for admin pages;
- API authentication (`centrali.api.authentication`): the authenticated user or platform service;
- the Celery task base (`centrali.celery.ContextTask`): the request id of the request that
  queued the task, with the system acting;
- management commands (`centrali.commands.OperatorCommand`): the system acting as that command.

Code that acts on someone else's behalf narrows it for a block:

    with acting(actor_type=ActorType.SYSTEM):
        record(...)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

import structlog
from django.db import models


class ActorType(models.TextChoices):
    USER = "user", "User"
    STAFF = "staff", "Staff"
    SYSTEM = "system", "System"
    SERVICE = "service", "Platform service"


@dataclass(frozen=True)
class ActionContext:
    """The acting party and where the action came from; every field may be unknown."""

    actor: Any = None  # the acting User, when there is one
    actor_type: str | None = None  # an ActorType; None: "user" with an actor, else "system"
    actor_id: str = ""  # names an actor that is no local User (a platform service, a command)
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""
    workspace_slug: str = ""  # the workspace a `/{slug}/...` request (or the task it queued) is about

    @property
    def resolved_actor_type(self) -> str:
        if self.actor_type:
            return self.actor_type
        return ActorType.USER if self.actor is not None else ActorType.SYSTEM

    @property
    def resolved_actor_id(self) -> str:
        if self.actor_id:
            return self.actor_id
        pk = getattr(self.actor, "pk", None)
        return str(pk) if pk is not None else ""


_current: ContextVar[ActionContext] = ContextVar("centrali_action_context", default=ActionContext())  # noqa: B039 -- frozen


def current_context() -> ActionContext:
    return _current.get()


def _log_fields(context: ActionContext) -> dict[str, str]:
    # actor_id always, even empty: a narrower block must not keep showing the outer actor.
    fields = {
        "request_id": context.request_id,
        "actor_type": context.resolved_actor_type,
        "actor_id": context.resolved_actor_id,
    }
    if context.workspace_slug:
        fields["workspace"] = context.workspace_slug
    return fields


def bind(**changes: Any) -> None:
    """Change the current context until the enclosing `acting()` block (or request) ends."""
    context = replace(_current.get(), **changes)
    _current.set(context)
    structlog.contextvars.bind_contextvars(**_log_fields(context))


@contextmanager
def acting(**changes: Any) -> Iterator[ActionContext]:
    """The current context with `changes`, for the duration of the block.

    Naming an `actor_type` without an `actor` means nobody in particular of that type (the
    system, a service): the enclosing actor is not inherited.
    """
    if "actor_type" in changes and "actor" not in changes:
        changes.setdefault("actor", None)
        changes.setdefault("actor_id", "")
    with restored(replace(_current.get(), **changes)) as context:
        yield context


@contextmanager
def restored(context: ActionContext) -> Iterator[ActionContext]:
    """Act again in a context captured earlier (work deferred to a transaction's commit)."""
    token = _current.set(context)
    log_token = structlog.contextvars.bind_contextvars(**_log_fields(context))
    try:
        yield context
    finally:
        structlog.contextvars.reset_contextvars(**log_token)
        _current.reset(token)


@contextmanager
def fresh_context(**fields: Any) -> Iterator[ActionContext]:
    """A context of its own for one unit of work (a request, a task, a command)."""
    fields.setdefault("request_id", str(uuid.uuid4()))
    token = _current.set(ActionContext(**fields))
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**_log_fields(_current.get()))
    try:
        yield _current.get()
    finally:
        structlog.contextvars.clear_contextvars()
        _current.reset(token)
