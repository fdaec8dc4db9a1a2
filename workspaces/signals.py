from django.dispatch import Signal

# Sent inside the purge transaction, just before a workspace's rows are hard-deleted.
# Receivers (e.g. billing: cancel the Stripe customer) get `workspace`; raising aborts the purge.
workspace_purging = Signal()
