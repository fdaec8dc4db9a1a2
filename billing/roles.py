"""The "Billing" staff group: exactly what the billing console needs.

Staff in it see every workspace's billing page and run its actions (sync from Stripe,
change plan: the proxy's change permission), read the plan catalogue and the local
billing records, and read dj-stripe's synced Stripe objects in its admin. They cannot
edit Stripe objects directly, edit plans, or reach other admin pages.
"""

from centrali.staff_groups import sync_staff_group

BILLING_GROUP_NAME = "Billing"

BILLING_GROUP_PERMISSIONS = [
    ("billing", "view_workspacebilling"),
    ("billing", "change_workspacebilling"),
    ("billing", "view_plan"),
    ("billing", "view_overagesettings"),
    ("billing", "view_overagecharge"),
    ("billing", "view_stripewebhookevent"),
    ("djstripe", "view_customer"),
    ("djstripe", "view_subscription"),
    ("djstripe", "view_subscriptionitem"),
    ("djstripe", "view_invoice"),
    ("djstripe", "view_paymentmethod"),
    ("djstripe", "view_paymentintent"),
    ("djstripe", "view_charge"),
    ("djstripe", "view_price"),
    ("djstripe", "view_product"),
    ("djstripe", "view_event"),
]


def sync_billing_group(*, group_model, permission_model):
    """Create or reset the group to exactly BILLING_GROUP_PERMISSIONS (migration 0006 and tests)."""
    return sync_staff_group(
        name=BILLING_GROUP_NAME,
        permissions=BILLING_GROUP_PERMISSIONS,
        group_model=group_model,
        permission_model=permission_model,
    )
