from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import Group, Permission


def sync_staff_group(
    *,
    name: str,
    permissions: Iterable[tuple[str, str]],
    group_model: type[Group],
    permission_model: type[Permission],
) -> Group:
    """Create the staff group `name`, or reset it, to hold exactly `permissions` ((app_label, codename) pairs).

    Takes the models as arguments so data migrations can pass their historical ones.
    """
    group, _created = group_model.objects.get_or_create(name=name)
    group.permissions.set(
        [
            permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in permissions
        ]
    )
    return group
