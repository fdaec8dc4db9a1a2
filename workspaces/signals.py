from django.dispatch import Signal

# Sent inside the purge transaction, just before a workspace's rows are hard-deleted.
# Receivers (e.g. billing: cancel the Stripe customer) get `workspace`; raising aborts the purge.
workspace_purging = Signal()

# Sent after the soft delete / restore has committed, with `workspace`. Receivers start
# their side effects from here (e.g. billing stops or resumes the subscription's renewal);
# they run outside the transaction, so a failing receiver cannot undo the user's change.
workspace_soft_deleted = Signal()
workspace_restored = Signal()
