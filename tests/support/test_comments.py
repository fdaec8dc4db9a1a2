import pytest

from audit.models import AuditEvent
from support.models import Comment, CommentKind
from support.services import add_internal_note, add_staff_reply
from tests.helpers import API, assert_error, client_for
from tests.support.factories import CommentFactory, SupportIssueFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue(workspace):
    return SupportIssueFactory.create(workspace=workspace)


def _comments(issue):
    return f"{API}/{issue.workspace.slug}/support-issues/{issue.pk}/comments"


def _comment(comment):
    return f"{_comments(comment.issue)}/{comment.pk}"


def test_a_member_comments_and_gets_200_with_the_comment(issue, member, member_client):
    response = member_client.post(_comments(issue), {"comment": "Same here."}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body == {
        **body,
        "issueId": issue.pk,
        "comment": "Same here.",
        "type": "comment",
        "displayName": member.username,
        "authorId": str(member.pk),
        "editedAt": None,
    }
    assert isinstance(body["id"], int) and body["createdAt"].endswith("Z")


def test_a_comment_may_carry_a_display_name(issue, owner_client):
    body = owner_client.post(_comments(issue), {"comment": "Hi", "displayName": "Ada (CTO)"}, format="json").json()

    assert body["displayName"] == "Ada (CTO)"


@pytest.mark.parametrize(
    "display_name",
    ["Ada (Centrali Support)", "Ada (centrali  SUPPORT)", "Centrali Support", "Ada (Ｃｅｎｔｒａｌｉ Support)"],
)
def test_a_display_name_passing_for_centrali_support_is_a_400_naming_it(issue, owner_client, display_name):
    response = owner_client.post(_comments(issue), {"comment": "Hi", "displayName": display_name}, format="json")

    assert list(assert_error(response, status=400, code="VALIDATION_ERROR")["details"]) == ["displayName"]
    assert not Comment.objects.exists()


def test_a_member_whose_own_name_passes_for_centrali_support_comments_under_their_username(issue, member_of):
    client = member_of(issue.workspace)
    member = issue.workspace.memberships.exclude(user=issue.workspace.owner).get().user
    member.first_name, member.last_name = "Ada", "(Centrali Support)"
    member.save(update_fields=["first_name", "last_name"])

    body = client.post(_comments(issue), {"comment": "Hi"}, format="json").json()

    assert body["displayName"] == member.username


def test_commenting_is_audited(issue, member, member_client):
    comment_id = member_client.post(_comments(issue), {"comment": "Hi"}, format="json").json()["id"]

    event = AuditEvent.objects.get(workspace=issue.workspace, type="comment.added")
    assert (event.resource_id, event.metadata, event.actor_type) == (
        str(issue.pk),
        {"comment_id": str(comment_id)},
        "user",
    )


@pytest.mark.parametrize(
    "payload, field",
    [({}, "comment"), ({"comment": ""}, "comment"), ({"comment": "x", "type": "internal_note"}, "type")],
)
def test_an_invalid_comment_is_a_400_naming_the_field(issue, owner_client, payload, field):
    response = owner_client.post(_comments(issue), payload, format="json")

    assert field in assert_error(response, status=400, code="VALIDATION_ERROR")["details"]


def test_a_closed_issue_takes_no_more_comments(workspace, owner_client):
    closed = SupportIssueFactory.create(workspace=workspace, status="closed", closed_at="2026-11-01T00:00:00Z")

    assert_error(
        owner_client.post(_comments(closed), {"comment": "Hello?"}, format="json"), status=400, code="ISSUE_CLOSED"
    )


def test_comments_of_another_workspaces_issue_are_404(workspace, other_workspace, owner_client):
    foreign = SupportIssueFactory.create(workspace=other_workspace)
    CommentFactory.create(issue=foreign)
    url = f"{API}/{workspace.slug}/support-issues/{foreign.pk}/comments"

    assert_error(owner_client.get(url), status=404, code="ISSUE_NOT_FOUND")
    assert_error(owner_client.post(url, {"comment": "x"}, format="json"), status=404, code="ISSUE_NOT_FOUND")


def test_the_thread_pages_newest_first_by_cursor(issue, other_workspace, owner_client):
    comments = CommentFactory.create_batch(5, issue=issue)
    CommentFactory.create(issue=SupportIssueFactory.create(workspace=other_workspace))

    first = owner_client.get(_comments(issue), {"limit": 3}).json()
    second = owner_client.get(_comments(issue), {"limit": 3, "cursor": first["nextCursor"]}).json()

    assert [c["id"] for c in first["data"] + second["data"]] == [c.pk for c in reversed(comments)]
    assert (first["hasMore"], second["hasMore"], second["nextCursor"]) == (True, False, None)


def test_the_default_thread_page_holds_twenty(issue, owner_client):
    CommentFactory.create_batch(21, issue=issue)

    body = owner_client.get(_comments(issue)).json()

    assert len(body["data"]) == 20 and body["hasMore"] is True


@pytest.mark.parametrize(
    "params, code", [({"cursor": "nope"}, "INVALID_CURSOR"), ({"limit": 101}, "INVALID_PAGINATION")]
)
def test_bad_thread_paging_is_a_400(issue, owner_client, params, code):
    assert_error(owner_client.get(_comments(issue), params), status=400, code=code)


def test_reading_a_thread_page_takes_three_queries(issue, owner_client, django_assert_num_queries):
    CommentFactory.create_batch(3, issue=issue)

    # the membership with its user (the JWT's), the issue, the page
    with django_assert_num_queries(3):
        owner_client.get(_comments(issue))


def test_staff_internal_notes_never_appear_through_the_api(issue, owner_client, support_staff):
    note = add_internal_note(issue=issue, staff=support_staff, body="Customer is on a legacy cluster.")
    reply = add_staff_reply(issue=issue, staff=support_staff, body="We are on it.")

    listed = owner_client.get(_comments(issue))

    assert [c["id"] for c in listed.json()["data"]] == [reply.pk]
    assert "legacy cluster" not in listed.content.decode()
    assert_error(owner_client.get(_comment(note)), status=404, code="COMMENT_NOT_FOUND")
    assert_error(
        owner_client.put(_comment(note), {"comment": "x"}, format="json"), status=404, code="COMMENT_NOT_FOUND"
    )
    assert_error(owner_client.delete(_comment(note)), status=404, code="COMMENT_NOT_FOUND")


def test_a_staff_reply_shows_as_a_comment_signed_by_support(issue, owner_client, support_staff):
    reply = add_staff_reply(issue=issue, staff=support_staff, body="Fixed in 5.1.3.")

    body = owner_client.get(_comment(reply)).json()

    assert (body["type"], body["comment"], body["displayName"]) == (
        "staff_reply",
        "Fixed in 5.1.3.",
        "Sam Staff (Centrali Support)",
    )


def test_a_comment_of_another_issue_is_404_under_this_one(workspace, issue, owner_client):
    elsewhere = CommentFactory.create(issue=SupportIssueFactory.create(workspace=workspace))

    response = owner_client.get(f"{_comments(issue)}/{elsewhere.pk}")

    assert_error(response, status=404, code="COMMENT_NOT_FOUND")


def test_the_author_edits_their_comment_and_editedAt_is_set(issue, member, member_client):
    comment = CommentFactory.create(issue=issue, author=member, body="Teh bug")

    response = member_client.put(_comment(comment), {"comment": "The bug"}, format="json")

    assert response.status_code == 200
    assert response.json()["comment"] == "The bug" and response.json()["editedAt"].endswith("Z")
    event = AuditEvent.objects.get(workspace=issue.workspace, type="comment.edited")
    assert event.metadata["changes"] == {"comment": {"before": "Teh bug", "after": "The bug"}}
    assert (event.actor_type, event.actor_id) == ("user", str(member.pk))


@pytest.mark.parametrize("role", ["member", "admin"])
def test_nobody_but_the_author_edits_a_comment_not_even_an_admin(issue, member_of, role):
    comment = CommentFactory.create(issue=issue)

    response = member_of(issue.workspace, role).put(_comment(comment), {"comment": "rewritten"}, format="json")

    assert_error(response, status=403, code="NOT_COMMENT_AUTHOR")
    comment.refresh_from_db()
    assert comment.body != "rewritten"


def test_the_author_deletes_their_comment_then_it_is_gone(issue, member, member_client):
    comment = CommentFactory.create(issue=issue, author=member)

    assert member_client.delete(_comment(comment)).status_code == 204
    assert_error(member_client.get(_comment(comment)), status=404, code="COMMENT_NOT_FOUND")
    assert_error(member_client.delete(_comment(comment)), status=404, code="COMMENT_NOT_FOUND")
    assert AuditEvent.objects.filter(workspace=issue.workspace, type="comment.deleted").count() == 1


def test_nobody_but_the_author_deletes_a_comment(issue, member):
    comment = CommentFactory.create(issue=issue)  # written by the owner

    assert_error(client_for(member).delete(_comment(comment)), status=403, code="NOT_COMMENT_AUTHOR")
    assert Comment.objects.filter(pk=comment.pk, kind=CommentKind.COMMENT).exists()
