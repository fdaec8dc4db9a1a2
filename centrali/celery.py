from __future__ import annotations

import os
from typing import Any, ParamSpec, TypeVar

from celery import Celery, Task
from celery.canvas import Signature
from celery.result import AsyncResult
from kombu import Producer

from centrali import context
from centrali.context import ActorType

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "centrali.settings")

# The header that carries the publishing request's id into the task.
REQUEST_ID_HEADER = "centrali_request_id"

_P = ParamSpec("_P")
_R = TypeVar("_R")


class ContextTask(Task[_P, _R]):
    """Every task runs in an acting context of its own: the system acts, under the request id
    of the request (or task) that queued it, so its audit entries and log lines tie back to it."""

    def apply_async(
        self,
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
        task_id: str | None = None,
        producer: Producer | None = None,
        link: Signature[Any] | list[Signature[Any]] | None = None,
        link_error: Signature[Any] | list[Signature[Any]] | None = None,
        shadow: str | None = None,
        **options: Any,
    ) -> AsyncResult[_R]:
        headers: dict[str, str] = dict(options.pop("headers", None) or {})
        headers.setdefault(REQUEST_ID_HEADER, context.current_context().request_id)
        return super().apply_async(
            args, kwargs, task_id, producer, link, link_error, shadow, headers=headers, **options
        )

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        request_id = self.request.get(REQUEST_ID_HEADER) or (self.request.headers or {}).get(REQUEST_ID_HEADER)
        fields: dict[str, Any] = {"actor_type": ActorType.SYSTEM, "actor_id": f"task:{self.name}"}
        if request_id:
            fields["request_id"] = request_id
        if self.request.is_eager:
            # Run in-process (tests, a broker-less call): inside the caller's context, narrowed.
            with context.acting(**fields):
                return super().__call__(*args, **kwargs)
        with context.fresh_context(**fields):
            return super().__call__(*args, **kwargs)


app = Celery("centrali", task_cls=ContextTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
