from django.dispatch import Signal

# Sent inside the purge transaction, just before a workspace's rows are hard-deleted.
# Receivers (e.g. billing: cancel the Stripe customer) get `workspace`; raising aborts the purge.
workspace_purging = Signal()

# Sent after the soft delete / restore has committed, with `workspace`. Receivers start
# their side effects from here (e.g. billing stops or resumes the subscription's renewal);
# they run outside the transaction, so a failing receiver cannot undo the user's change.
workspace_soft_deleted = Signal()
workspace_restored = Signal()

# Sent inside the erasure transaction (workspaces.services.erase_account), just before a person's
# account and memberships are deleted, with `user`, `reason` and `erasure_id` (random, names nobody). Receivers erase what other apps
# hold of that person (support authorship, the personal fields of audit events); raising aborts it.
account_erasing = Signal()
