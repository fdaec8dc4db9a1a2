"""POST with `Idempotency-Key` (centrali.idempotency): retries replay the first answer, once per caller."""

from datetime import timedelta

import pytest
from django.utils import timezone

from centrali.idempotency.tasks import purge_idempotency_records
from centrali.models import IdempotencyRecord
from support.models import Comment, SupportIssue
from tests.factories import MembershipFactory
from tests.helpers import API, assert_error, client_for
from tests.support.factories import SupportIssueFactory
from workspaces.models import ExportJob, Workspace

pytestmark = pytest.mark.django_db

SIGN_UP = {
    "name": "Acme Robotics",
    "email": "ada@acme.test",
    "username": "ada",
    "password": "a-long-and-unusual-passphrase",
    "passwordConfirmation": "a-long-and-unusual-passphrase",
    "description": "Robots, mostly.",
}
NEW_ISSUE = {"title": "Exports stall at 90%", "description": "Since Monday.", "type": "bug", "priority": "low"}


def _issues(workspace):
    return f"{API}/{workspace.slug}/support-issues"


def test_a_retried_sign_up_replays_the_first_answer_and_creates_one_workspace(api_client):
    first = api_client.post(f"{API}/", SIGN_UP, format="json", HTTP_IDEMPOTENCY_KEY="signup-1")
    retry = api_client.post(f"{API}/", SIGN_UP, format="json", HTTP_IDEMPOTENCY_KEY="signup-1")

    assert first.status_code == retry.status_code == 201, retry.content
    assert retry.content == first.content
    assert retry["Content-Type"] == first["Content-Type"]
    assert retry["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Workspace.objects.count() == 1


def test_an_anonymous_key_with_another_body_is_another_request(api_client):
    """Sign-up has no caller: its keys are scoped by the body, so one visitor never gets another's answer."""
    first = api_client.post(f"{API}/", SIGN_UP, format="json", HTTP_IDEMPOTENCY_KEY="same-key")
    other = {**SIGN_UP, "name": "Other Co", "email": "bob@other.test", "username": "bob"}
    second = api_client.post(f"{API}/", other, format="json", HTTP_IDEMPOTENCY_KEY="same-key")

    assert first.status_code == second.status_code == 201
    assert first.json()["workspace"]["slug"] != second.json()["workspace"]["slug"]
    assert Workspace.objects.count() == 2


def test_a_retried_support_issue_is_opened_once(workspace, owner_client):
    first = owner_client.post(_issues(workspace), NEW_ISSUE, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    retry = owner_client.post(_issues(workspace), NEW_ISSUE, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert SupportIssue.objects.filter(workspace=workspace).count() == 1


def test_the_same_key_with_a_different_body_is_refused_in_the_error_shape(workspace, owner_client):
    owner_client.post(_issues(workspace), NEW_ISSUE, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    response = owner_client.post(
        _issues(workspace), {**NEW_ISSUE, "title": "Something else"}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )

    assert_error(response, status=422, code="IDEMPOTENCY_KEY_REUSED")
    assert SupportIssue.objects.filter(workspace=workspace).count() == 1


def test_the_same_key_on_another_path_is_refused(workspace, owner_client):
    issue = SupportIssueFactory.create(workspace=workspace, created_by=workspace.owner)
    owner_client.post(_issues(workspace), NEW_ISSUE, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    response = owner_client.post(
        f"{_issues(workspace)}/{issue.pk}/comments", {"comment": "Hi", "displayName": "Ada"},
        format="json", HTTP_IDEMPOTENCY_KEY="k1",
    )  # fmt: skip

    assert_error(response, status=422, code="IDEMPOTENCY_KEY_REUSED")
    assert not Comment.objects.exists()


def test_json_compared_by_value_not_by_spelling(workspace, owner_client):
    url = _issues(workspace)
    body = '{"title": "Exports stall at 90%", "description": "Since Monday.", "type": "bug", "priority": "low"}'
    reordered = '{"priority":"low","type":"bug","description":"Since Monday.","title":"Exports stall at 90%"}'
    first = owner_client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1")
    retry = owner_client.post(url, reordered, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1")

    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()


def test_keys_are_scoped_to_the_caller(workspace, owner_client):
    colleague = client_for(MembershipFactory(workspace=workspace, role="member").user)
    mine = owner_client.post(_issues(workspace), NEW_ISSUE, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    theirs = colleague.post(_issues(workspace), NEW_ISSUE, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert not theirs.has_header("Idempotent-Replayed")


def test_a_retried_comment_is_added_once(workspace, owner_client):
    issue = SupportIssueFactory.create(workspace=workspace, created_by=workspace.owner)
    url = f"{_issues(workspace)}/{issue.pk}/comments"
    body = {"comment": "Any news?", "displayName": "Ada"}
    first = owner_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="c1")
    retry = owner_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="c1")

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert Comment.objects.filter(issue=issue).count() == 1


def test_a_retried_export_queues_one_job_and_replays_its_location(workspace, owner_client):
    first = owner_client.post(f"{API}/{workspace.slug}/export", HTTP_IDEMPOTENCY_KEY="e1")
    retry = owner_client.post(f"{API}/{workspace.slug}/export", HTTP_IDEMPOTENCY_KEY="e1")

    assert first.status_code == retry.status_code == 202
    assert retry["Location"] == first["Location"]
    assert retry.json() == first.json()
    assert ExportJob.objects.filter(workspace=workspace).count() == 1


def test_a_final_4xx_is_replayed(workspace, owner_client):
    invalid = {**NEW_ISSUE, "type": "nonsense"}
    first = owner_client.post(_issues(workspace), invalid, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    retry = owner_client.post(_issues(workspace), invalid, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert first.status_code == retry.status_code == 400
    assert retry.content == first.content
    assert retry["Idempotent-Replayed"] == "true"


def test_a_5xx_is_not_kept_so_a_retry_runs_again(workspace, owner_client, settings):
    """Billing not configured answers 503 to a setup session: the retry tries again, and succeeds
    or fails on its own (here: the same 503, not a replay)."""
    settings.STRIPE_SECRET_KEY = ""
    url = f"{API}/{workspace.slug}/create-setup-session"
    first = owner_client.post(url, HTTP_IDEMPOTENCY_KEY="s1")
    retry = owner_client.post(url, HTTP_IDEMPOTENCY_KEY="s1")

    assert first.status_code == retry.status_code == 503
    assert not retry.has_header("Idempotent-Replayed")
    assert not IdempotencyRecord.objects.exists()


def test_a_throttled_answer_is_not_kept(api_client, settings):
    settings.RATE_LIMITS = {"workspace_create": "1/min"}
    api_client.post(f"{API}/", {**SIGN_UP, "username": "x", "email": "x@x.test"}, format="json")
    throttled = api_client.post(f"{API}/", SIGN_UP, format="json", HTTP_IDEMPOTENCY_KEY="t1")
    assert throttled.status_code == 429

    settings.RATE_LIMITS = {}
    retry = api_client.post(f"{API}/", SIGN_UP, format="json", HTTP_IDEMPOTENCY_KEY="t1")
    assert retry.status_code == 201
    assert not retry.has_header("Idempotent-Replayed")


def test_a_duplicate_while_the_first_is_running_waits_then_answers_409(workspace, owner_client, settings):
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.2
    owner_client.post(_issues(workspace), NEW_ISSUE, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    # As if the first request were still running: its claim has no answer yet.
    IdempotencyRecord.objects.update(completed_at=None, response_status=None)

    response = owner_client.post(_issues(workspace), NEW_ISSUE, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert_error(response, status=409, code="IDEMPOTENCY_REQUEST_IN_PROGRESS")
    assert response["Retry-After"] == "1"
    assert SupportIssue.objects.filter(workspace=workspace).count() == 1


def test_a_claim_abandoned_by_a_dead_process_is_taken_over(workspace, owner_client, settings):
    owner_client.post(_issues(workspace), NEW_ISSUE, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    IdempotencyRecord.objects.update(
        completed_at=None, response_status=None, created_at=timezone.now() - settings.IDEMPOTENCY_STALE_AFTER * 2
    )

    response = owner_client.post(_issues(workspace), NEW_ISSUE, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert response.status_code == 201 and not response.has_header("Idempotent-Replayed")


def test_a_bad_key_is_refused(workspace, owner_client):
    response = owner_client.post(_issues(workspace), NEW_ISSUE, format="json", HTTP_IDEMPOTENCY_KEY="x" * 256)

    assert_error(response, status=400, code="INVALID_IDEMPOTENCY_KEY")
    assert not SupportIssue.objects.exists()


def test_bad_credentials_are_answered_401_and_keep_nothing(workspace, api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = api_client.post(_issues(workspace), NEW_ISSUE, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert response.status_code == 401
    assert not IdempotencyRecord.objects.exists()


def test_without_the_header_every_post_is_a_new_request(workspace, owner_client):
    owner_client.post(_issues(workspace), NEW_ISSUE, format="json")
    owner_client.post(_issues(workspace), NEW_ISSUE, format="json")

    assert SupportIssue.objects.filter(workspace=workspace).count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_keys_expire_after_24_hours(workspace, owner_client, settings):
    owner_client.post(_issues(workspace), NEW_ISSUE, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    IdempotencyRecord.objects.update(created_at=timezone.now() - settings.IDEMPOTENCY_KEY_TTL - timedelta(seconds=1))

    # Expired but not purged yet: the key is free again.
    again = owner_client.post(_issues(workspace), NEW_ISSUE, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert again.status_code == 201 and not again.has_header("Idempotent-Replayed")
    assert SupportIssue.objects.filter(workspace=workspace).count() == 2

    IdempotencyRecord.objects.update(created_at=timezone.now() - settings.IDEMPOTENCY_KEY_TTL - timedelta(seconds=1))
    assert purge_idempotency_records() == 1
    assert not IdempotencyRecord.objects.exists()
