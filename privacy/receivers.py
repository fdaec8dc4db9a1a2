"""Privacy's reactions to other apps' signals."""

from django.dispatch import receiver

from privacy import services
from workspaces.signals import account_erasing


@receiver(account_erasing, dispatch_uid="privacy-erase-traces-of-person")
def erase_traces(sender, user, reason, erasure_id, **kwargs):
    """Whoever erases an account (erase_person, or a purge that leaves it in no workspace), the
    person's support authorship and audit personal fields go in the same transaction."""
    services.erase_traces_of(user=user, reason=reason, erasure_id=erasure_id)
