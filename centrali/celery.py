from __future__ import annotations

import os
import time
from typing import Any, ParamSpec, TypeVar

import structlog
from celery import Celery, Task, signals
from celery.canvas import Signature
from celery.result import AsyncResult
from kombu import Producer

from centrali import context, tracing
from centrali.context import ActorType
from centrali.prometheus_dir import clear_multiprocess_dir

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "centrali.settings")

# The header that carries the publishing request's id into the task.
REQUEST_ID_HEADER = "centrali_request_id"
# And the slug of the workspace that request was about, for the task's log lines.
WORKSPACE_HEADER = "centrali_workspace"

# The runs (by task id) that called retry(): they ended by scheduling a retry, even with throw=False.
_retrying: set[str] = set()

logger = structlog.get_logger(__name__)

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
        acting = context.current_context()
        headers.setdefault(REQUEST_ID_HEADER, acting.request_id)
        if acting.workspace_slug:
            headers.setdefault(WORKSPACE_HEADER, acting.workspace_slug)
        return super().apply_async(
            args, kwargs, task_id, producer, link, link_error, shadow, headers=headers, **options
        )

    def retry(self, *args: Any, **kwargs: Any) -> Any:
        _retrying.add(str(self.request.id))
        return super().retry(*args, **kwargs)

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        request_id = queued_by_request_id(self)
        fields: dict[str, Any] = {"actor_type": ActorType.SYSTEM, "actor_id": f"task:{self.name}"}
        if request_id:
            fields["request_id"] = request_id
        workspace_slug = self.request.get(WORKSPACE_HEADER) or (self.request.headers or {}).get(WORKSPACE_HEADER)
        if workspace_slug:
            fields["workspace_slug"] = str(workspace_slug)
        if self.request.is_eager:
            # Run in-process (tests, a broker-less call): inside the caller's context, narrowed.
            with context.acting(**fields), structlog.contextvars.bound_contextvars(**_task_log_fields(self)):
                logger.info("task_started")
                return super().__call__(*args, **kwargs)
        with context.fresh_context(**fields):
            structlog.contextvars.bind_contextvars(**_task_log_fields(self))
            logger.info("task_started")
            return super().__call__(*args, **kwargs)


def queued_by_request_id(task: Task[Any, Any]) -> str:
    """The request id of the request (or task) that queued `task`, from its message headers."""
    return str(task.request.get(REQUEST_ID_HEADER) or (task.request.headers or {}).get(REQUEST_ID_HEADER) or "")


def _task_log_fields(task: Task[Any, Any]) -> dict[str, str]:
    return {"task": task.name, "task_id": str(task.request.id or "")}


app = Celery("centrali", task_cls=ContextTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# --- Metrics of the tasks (centrali.metrics), counted by Celery's signals in the process that runs
# them: a prefork pool's children write to PROMETHEUS_MULTIPROC_DIR, and the worker's main
# process serves them all on CELERY_METRICS_PORT.

_TASK_OUTCOMES = {
    "SUCCESS": "success",
    "FAILURE": "failure",
    "RETRY": "retry",
    "IGNORED": "ignored",
    "REJECTED": "rejected",
}
_started: dict[str, float] = {}


def _task_label(task: Task[Any, Any] | None) -> str:
    name = getattr(task, "name", "") or ""
    return name if name in app.tasks else "other"


@signals.task_prerun.connect
def _count_task_start(task_id: str | None = None, task: Task[Any, Any] | None = None, **kwargs: Any) -> None:
    from centrali.metrics import CELERY_TASKS_RUNNING

    _started[str(task_id)] = time.perf_counter()
    CELERY_TASKS_RUNNING.labels(_task_label(task)).inc()


@signals.task_postrun.connect
def _count_task_end(
    task_id: str | None = None, task: Task[Any, Any] | None = None, state: str | None = None, **kwargs: Any
) -> None:
    from centrali.metrics import CELERY_TASK_DURATION, CELERY_TASKS, CELERY_TASKS_RUNNING

    label = _task_label(task)
    started = _started.pop(str(task_id), None)
    duration = time.perf_counter() - started if started is not None else 0.0
    retrying = str(task_id) in _retrying
    _retrying.discard(str(task_id))
    # No state: the run raised and an eager caller re-raised it before Celery named the outcome.
    outcome = _TASK_OUTCOMES.get(state or "FAILURE", "other")
    if outcome == "success" and retrying:
        outcome = "retry"
    CELERY_TASKS.labels(label, outcome).inc()
    CELERY_TASK_DURATION.labels(label).observe(duration)
    CELERY_TASKS_RUNNING.labels(label).dec()
    # After the task's own acting context ended: its request id comes from the message again.
    logger.info(
        "task_finished",
        task=label,
        task_id=str(task_id or ""),
        request_id=queued_by_request_id(task) if task is not None else "",
        outcome=outcome,
        duration_seconds=round(duration, 6),
    )


@signals.worker_init.connect
def _start_worker_observability(sender: Any = None, **kwargs: Any) -> None:
    """In the worker's main process, before the pool starts: the metrics endpoint on
    CELERY_METRICS_PORT (if set), and tracing unless prefork children set it up themselves."""
    if "prefork" not in str(getattr(sender, "pool_cls", "prefork")):
        tracing.configure_tracing(service_name="centrali-worker")
    port = os.environ.get("CELERY_METRICS_PORT")
    if not port:
        return
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = REGISTRY
    if clear_multiprocess_dir() is not None:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        logger.warning(
            "worker_metrics_single_process",
            reason="PROMETHEUS_MULTIPROC_DIR is not set: a prefork pool's children's counts are not served",
        )
    start_http_server(int(port), addr=os.environ.get("CELERY_METRICS_ADDR", "0.0.0.0"), registry=registry)  # noqa: S104
    logger.info("worker_metrics_serving", port=int(port))


@signals.worker_process_init.connect
def _start_pool_process_tracing(**kwargs: Any) -> None:
    tracing.configure_tracing(service_name="centrali-worker")


@signals.worker_process_shutdown.connect
def _mark_pool_process_dead(pid: int | None = None, **kwargs: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())
