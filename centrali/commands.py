"""The base of this service's management commands: each run acts in a context of its own."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from centrali import context
from centrali.context import ActorType


class OperatorCommand(BaseCommand):
    """A command an operator (or cron) runs: what it changes is audited as the system, named
    `command:<name>`, under a request id of its own that its log lines carry too."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        name = type(self).__module__.rsplit(".", 1)[-1]
        with context.fresh_context(actor_type=ActorType.SYSTEM, actor_id=f"command:{name}"):
            return super().execute(*args, **options)
