"""`manage.py release`: what a deploy runs once, before the new version serves (docker-compose's
one-off `release` service). Every step is idempotent, so a release may be run again after a failure.

In order: apply migrations; sync the plan catalogue to Stripe when Stripe is configured (otherwise
upgrades answer 503 PLAN_NOT_PURCHASABLE); `check --deploy` unless DEBUG. The first step that fails
stops the release with exit status 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from django.conf import settings
from django.core.management import call_command

from centrali.commands import OperatorCommand, Outcome

logger = structlog.get_logger(__name__)


class Command(OperatorCommand):
    help = "Run a deploy's steps in order: migrate, sync plans to Stripe (when configured), check --deploy."

    def steps(self) -> list[tuple[str, Callable[[], object]]]:
        # With --json the steps' own lines go to stderr: stdout carries the one summary.
        out = self._stderr_stream if self.json_output else self._stdout_stream
        steps: list[tuple[str, Callable[[], object]]] = [
            ("migrate", lambda: call_command("migrate", interactive=False, stdout=out)),
        ]
        if settings.STRIPE_SECRET_KEY:
            steps.append(("sync_plans_to_stripe", lambda: call_command("sync_plans_to_stripe", stdout=out)))
        if not settings.DEBUG:
            steps.append(("check_deploy", lambda: call_command("check", deploy=True, stdout=out)))
        return steps

    def run(self, *args: Any, **options: Any) -> Outcome:
        done: list[str] = []
        for name, step in self.steps():
            self.line(f"release: {name}")
            logger.info("release.step_started", step=name)
            try:
                step()
            except (Exception, SystemExit) as exc:
                logger.error("release.step_failed", step=name, error=type(exc).__name__)
                return Outcome(
                    f"Release stopped at {name}.",
                    summary={"steps_done": done, "failed_step": name},
                    failure=f"release step {name} failed: {exc}",
                )
            done.append(name)
        logger.info("release.done", steps=done)
        return Outcome(f"Release done: {', '.join(done)}.", summary={"steps_done": done})
