"""The "Support" staff group: exactly what the support console needs, nothing else.

Staff in it read issues and their threads, take/resolve/close issues (change) and
write replies and internal notes (add comment). They cannot add or delete issues,
edit or delete comments, or reach other admin pages.
"""

from centrali.staff_groups import sync_staff_group

SUPPORT_GROUP_NAME = "Support"

SUPPORT_GROUP_PERMISSIONS = [
    ("support", "view_supportissue"),
    ("support", "change_supportissue"),
    ("support", "view_comment"),
    ("support", "add_comment"),
]


def sync_support_group(*, group_model, permission_model):
    """Create or reset the group to exactly SUPPORT_GROUP_PERMISSIONS (used by migration 0002 and tests)."""
    return sync_staff_group(
        name=SUPPORT_GROUP_NAME,
        permissions=SUPPORT_GROUP_PERMISSIONS,
        group_model=group_model,
        permission_model=permission_model,
    )
