"""`manage.py export_person EMAIL_OR_USER_ID [--output PATH]`: everything the service holds about one
person, across workspaces, as a zip of JSON Lines files with a manifest (GDPR art. 15 and 20).

Sections: account, memberships, support_issues, comments, audit_events (where they act),
billing_contacts (the workspaces they own). Rows stream from the database into the archive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from centrali.commands import OperatorCommand, Outcome, named_one
from privacy import selectors, services


class Command(OperatorCommand):
    help = "Write a zip of everything held about one person (by email, username or user id); see PRIVACY.md."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("person", help="The person's email, username or user id.")
        parser.add_argument(
            "--output", type=Path, default=None, help="Where to write the zip (default: ./person-<user id>.zip)."
        )

    def run(self, *args: Any, person: str, output: Path | None = None, **options: Any) -> Outcome:
        user = named_one(person, selectors.find_person(person), what="person")
        path = output or Path(f"person-{user.pk}.zip")
        with path.open("wb") as fileobj:
            manifest = services.write_person_archive(user=user, fileobj=fileobj, batch_size=settings.EXPORT_BATCH_SIZE)
        for section, rows in manifest["counts"].items():
            self.line(f"  {section}: {rows} row(s)")
        return Outcome(
            f"Wrote {path} ({sum(manifest['counts'].values())} row(s)).",
            summary={"output": str(path), "person": str(user.pk), "counts": manifest["counts"]},
        )
