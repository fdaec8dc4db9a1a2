"""Writes of the support app. Each is one transaction that records its audit event (who acts comes
from the acting context); notifications leave through Celery once the transaction commits.

- issues: opening an issue, who may change it, its status workflow;
- comments: members' comments, and how names are signed;
- console: what staff do (take an issue, reply, leave internal notes);
- notifications: queueing the support emails after commit;
- erasure: a person's threads when the person is erased (content kept, author "erased user",
  their email and username in the text "[erased]").
"""

from support.services.comments import add_comment, claims_to_be_staff, delete_comment, edit_comment
from support.services.console import add_internal_note, add_staff_reply, assign_issue
from support.services.erasure import ERASED_AUTHOR, AuthorshipErased, erase_authorship
from support.services.issues import create_issue, may_update_issue, update_issue

__all__ = [
    "ERASED_AUTHOR",
    "AuthorshipErased",
    "add_comment",
    "add_internal_note",
    "add_staff_reply",
    "assign_issue",
    "claims_to_be_staff",
    "create_issue",
    "delete_comment",
    "edit_comment",
    "erase_authorship",
    "may_update_issue",
    "update_issue",
]
