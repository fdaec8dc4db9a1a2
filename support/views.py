import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from centrali.api import conditional
from centrali.api.filters import FilterSet
from centrali.api.pagination import page_envelope, parse_cursor_params, parse_page_params
from centrali.api.schema import (
    ETAG_HEADER,
    error_response,
    limit_parameter,
    page_parameter,
    request_example,
    response_example,
)
from centrali.errors import PermissionDenied
from support import selectors, services
from support.models import Comment, IssuePriority, IssueStatus, IssueType, SupportIssue
from support.serializers import (
    CommentCreateSerializer,
    CommentPageSerializer,
    CommentSerializer,
    CommentUpdateSerializer,
    SupportIssueCreateSerializer,
    SupportIssuePageSerializer,
    SupportIssueSerializer,
    SupportIssueUpdateSerializer,
)
from workspaces.tenancy import ANY_MEMBER, WorkspaceAPIView

TAGS = ["Support"]
ISSUE_ID = OpenApiParameter("id", str, OpenApiParameter.PATH)
COMMENT_ID = OpenApiParameter("commentId", str, OpenApiParameter.PATH)
_COMMENT_ID_FIELD = Comment._meta.get_field("id")
CATEGORY_MAX_LENGTH = SupportIssue._meta.get_field("category").max_length

_ISSUE = {
    "id": 1042,
    "summary": "Exports stop at 80%",
    "description": "Since Monday every export of our workspace stays at 80% for hours.",
    "type": "bug",
    "priority": "high",
    "status": "open",
    "category": "exports",
    "workspaceSlug": "acme-analytics",
    "createdBy": "9b2e4c71-0a3d-4f5e-8b6c-1d2e3f4a5b6c",
    "assignedTo": None,
    "createdAt": "2026-02-02T08:15:00Z",
    "updatedAt": "2026-02-02T08:15:00Z",
    "resolvedAt": None,
    "closedAt": None,
}
_COMMENT = {
    "id": 88,
    "issueId": 1042,
    "comment": "It happens with every export since the weekend.",
    "type": "comment",
    "displayName": "Ada",
    "authorId": "9b2e4c71-0a3d-4f5e-8b6c-1d2e3f4a5b6c",
    "createdAt": "2026-02-02T08:20:00Z",
    "updatedAt": "2026-02-02T08:20:00Z",
    "editedAt": None,
}


class SupportIssueFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=IssueStatus.choices)
    priority = django_filters.ChoiceFilter(choices=IssuePriority.choices)
    type = django_filters.ChoiceFilter(choices=IssueType.choices)
    category = django_filters.CharFilter(max_length=CATEGORY_MAX_LENGTH)

    class Meta:
        model = SupportIssue
        fields = ["status", "priority", "type", "category"]


class SupportAPIView(WorkspaceAPIView):
    """Any member of the workspace reads, opens issues and comments (finer rules in the services)."""

    required_roles = dict.fromkeys(("GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE"), ANY_MEMBER)
    # A suspended customer still needs to reach support.
    allowed_when_suspended = frozenset({"POST", "PUT", "DELETE"})

    def issue(self):
        return selectors.get_issue(workspace=self.workspace, issue_id=self.kwargs["id"])


class SupportIssueListView(SupportAPIView):
    @extend_schema(
        parameters=[
            page_parameter(),
            limit_parameter(default=20),
            OpenApiParameter("status", str, enum=IssueStatus.values),
            OpenApiParameter("priority", str, enum=IssuePriority.values),
            OpenApiParameter("type", str, enum=IssueType.values),
            OpenApiParameter(
                "category", {"type": "string", "maxLength": CATEGORY_MAX_LENGTH}, description="Exact category"
            ),
        ],
        summary="List support issues",
        description=(
            "The workspace's support issues, newest first, page by page; filter by `status`, `priority`, `type` "
            "and `category` (a value that is not one of the filter's is a 400 naming it). Any member."
        ),
        examples=[
            response_example({"data": [_ISSUE], "pagination": {"page": 1, "limit": 20, "total": 1, "totalPages": 1}})
        ],
        # GETs document their 400 here: the schema hook adds one to writes only.
        responses={
            200: SupportIssuePageSerializer,
            400: error_response("INVALID_PAGINATION or INVALID_FILTER: bad paging or filter value"),
        },
        tags=TAGS,
        operation_id="support_issues_list",
    )
    def get(self, request, slug):
        params = parse_page_params(request.query_params)
        issues, total = SupportIssueFilter.page(
            request.query_params,
            params,
            rows=lambda: selectors.issues_of(workspace=self.workspace),
            first_page=lambda limit: selectors.first_issues_page(workspace=self.workspace, limit=limit),
        )
        return Response(page_envelope(SupportIssueSerializer(issues, many=True).data, params, total))

    @extend_schema(
        summary="Open a support issue",
        description=(
            "Opens an issue with Centrali Support; `type` defaults to question and `priority` to medium (high and "
            "urgent issues page the support team). Any member, also while the workspace is suspended."
        ),
        request=SupportIssueCreateSerializer,
        responses={201: SupportIssueSerializer},
        examples=[
            request_example(
                {
                    "title": "Exports stop at 80%",
                    "description": "Since Monday every export of our workspace stays at 80% for hours.",
                    "type": "bug",
                    "priority": "high",
                    "category": "exports",
                }
            ),
            response_example(_ISSUE, status=201),
        ],
        tags=TAGS,
    )
    def post(self, request, slug):
        serializer = SupportIssueCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        issue = services.create_issue(
            workspace=self.workspace,
            author=request.user,
            title=data["title"],
            description=data["description"],
            issue_type=data["type"],
            priority=data["priority"],
            category=data["category"],
        )
        return Response(SupportIssueSerializer(issue).data, status=status.HTTP_201_CREATED)


class SupportIssueDetailView(SupportAPIView):
    @extend_schema(
        summary="Get a support issue",
        description="One of the workspace's support issues. Any member.",
        parameters=[ISSUE_ID, ETAG_HEADER],
        responses={200: SupportIssueSerializer, 404: error_response("ISSUE_NOT_FOUND: no such issue here")},
        examples=[response_example(_ISSUE)],
        tags=TAGS,
    )
    def get(self, request, slug, id):
        issue = self.issue()
        return conditional.with_etag(Response(SupportIssueSerializer(issue).data), issue)

    @extend_schema(
        summary="Update a support issue",
        description=(
            "Changes the title, description, status or priority (at least one). The issue's creator, owners and "
            "admins; status moves only along the allowed transitions (e.g. open → resolved → closed)."
        ),
        parameters=[ISSUE_ID, ETAG_HEADER],
        request=SupportIssueUpdateSerializer,
        examples=[
            request_example({"status": "resolved", "priority": "medium"}),
            response_example(
                {**_ISSUE, "status": "resolved", "priority": "medium", "resolvedAt": "2026-02-03T10:00:00Z"}
            ),
        ],
        responses={
            200: SupportIssueSerializer,
            403: error_response("NOT_ISSUE_CREATOR, or the workspace-wide 403s"),
            404: error_response("ISSUE_NOT_FOUND: no such issue here"),
            412: error_response("PRECONDITION_FAILED: If-Match names a version the issue has moved on from"),
        },
        tags=TAGS,
    )
    def put(self, request, slug, id):
        issue = self.issue()
        if not services.may_update_issue(user=request.user, role=self.membership.role, issue=issue):
            raise PermissionDenied(
                "Only the issue's creator, an owner or an admin may update it.", code="NOT_ISSUE_CREATOR"
            )
        serializer = SupportIssueUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issue = services.update_issue(
            issue=issue,
            actor=request.user,
            expected_version=conditional.expected_version(request, issue),
            **serializer.validated_data,
        )
        return conditional.with_etag(Response(SupportIssueSerializer(issue).data), issue)


class CommentListView(SupportAPIView):
    @extend_schema(
        parameters=[
            ISSUE_ID,
            OpenApiParameter("cursor", str),
            limit_parameter(default=20),
        ],
        responses={
            200: CommentPageSerializer,
            400: error_response("INVALID_PAGINATION or INVALID_CURSOR: bad paging"),
            404: error_response("ISSUE_NOT_FOUND: no such issue here"),
        },
        summary="List an issue's comments",
        description=(
            "The issue's comments and Centrali Support's replies, newest first; pass `nextCursor` as `cursor` for "
            "the next page. Any member."
        ),
        examples=[response_example({"data": [_COMMENT], "nextCursor": None, "hasMore": False})],
        tags=TAGS,
        operation_id="support_issue_comments_list",
    )
    def get(self, request, slug, id):
        issue = self.issue()
        cursor = parse_cursor_params(request.query_params, model_field=_COMMENT_ID_FIELD, default_limit=20)
        comments, next_cursor, has_more = selectors.public_comments_page(issue=issue, cursor=cursor)
        return Response(CommentPageSerializer({"data": comments, "nextCursor": next_cursor, "hasMore": has_more}).data)

    @extend_schema(
        summary="Comment on an issue",
        description="Adds a comment to the issue, signed with `displayName` (or the author's name). Any member.",
        parameters=[ISSUE_ID],
        request=CommentCreateSerializer,
        responses={200: CommentSerializer, 404: error_response("ISSUE_NOT_FOUND: no such issue here")},
        examples=[
            request_example(
                {"comment": "It happens with every export since the weekend.", "type": "comment", "displayName": "Ada"}
            ),
            response_example(_COMMENT),
        ],
        tags=TAGS,
    )
    def post(self, request, slug, id):
        serializer = CommentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.add_comment(
            issue=self.issue(),
            author=request.user,
            body=serializer.validated_data["comment"],
            display_name=serializer.validated_data["displayName"],
        )
        # The spec answers comment creation with 200.
        return Response(CommentSerializer(comment).data, status=status.HTTP_200_OK)


class CommentDetailView(SupportAPIView):
    def comment(self):
        return selectors.get_public_comment(issue=self.issue(), comment_id=self.kwargs["commentId"])

    @extend_schema(
        summary="Get a comment",
        description="One comment of the issue. Any member.",
        parameters=[ISSUE_ID, COMMENT_ID],
        responses={200: CommentSerializer, 404: error_response("ISSUE_NOT_FOUND or COMMENT_NOT_FOUND")},
        examples=[response_example(_COMMENT)],
        tags=TAGS,
    )
    def get(self, request, slug, id, commentId):
        return Response(CommentSerializer(self.comment()).data)

    @extend_schema(
        summary="Edit a comment",
        description="Replaces the comment's text; only its author may, and `editedAt` records when.",
        parameters=[ISSUE_ID, COMMENT_ID],
        request=CommentUpdateSerializer,
        responses={200: CommentSerializer, 404: error_response("ISSUE_NOT_FOUND or COMMENT_NOT_FOUND")},
        examples=[
            request_example({"comment": "It happens with every export since Saturday."}),
            response_example(
                {
                    **_COMMENT,
                    "comment": "It happens with every export since Saturday.",
                    "editedAt": "2026-02-02T08:25:00Z",
                }
            ),
        ],
        tags=TAGS,
    )
    def put(self, request, slug, id, commentId):
        comment = self.comment()
        serializer = CommentUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.edit_comment(comment=comment, actor=request.user, body=serializer.validated_data["comment"])
        return Response(CommentSerializer(comment).data)

    @extend_schema(
        summary="Delete a comment",
        description="Deletes the comment; only its author may. Answers no body.",
        parameters=[ISSUE_ID, COMMENT_ID],
        responses={204: None, 404: error_response("ISSUE_NOT_FOUND or COMMENT_NOT_FOUND")},
        tags=TAGS,
    )
    def delete(self, request, slug, id, commentId):
        services.delete_comment(comment=self.comment(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
